#!/bin/sh
# deps.sh - install, on Debian, the other test frameworks bench/run.py
# compares deft with (Criterion and Check) when the machine lacks them.
# Kept apart from ninja/deps.sh: building and testing deft do not need
# them.  Uses sudo when not run as root.
set -eu
packages="libcriterion-dev check pkg-config"
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
