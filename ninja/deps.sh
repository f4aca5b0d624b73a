#!/bin/sh
# deps.sh - install, on Debian, what building and testing deft needs and
# the machine lacks.  Uses sudo when not run as root.
set -eu
packages="gcc g++ clang libclang-rt-dev ninja-build pkg-config python3 libffi-dev libbsd-dev libxml2-utils gotestsum golang-go chromium meson cmake perl time gdb valgrind"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
