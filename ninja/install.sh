#!/bin/sh
# install.sh PREFIX BUILDDIR - install deft's header, libraries and
# pkg-config file under $DESTDIR$PREFIX.  Called by `ninja install`.
set -eu
prefix=$1
build=$2
dest=${DESTDIR:-}
inc=$dest$prefix/include
lib=$dest$prefix/lib
pc=$lib/pkgconfig
mkdir -p "$inc" "$lib" "$pc"
install -m 644 include/deft.h "$inc/deft.h"
install -m 644 "$build/libdeft.a" "$lib/libdeft.a"
install -m 755 "$build/libdeft.so.0" "$lib/libdeft.so.0"
ln -sf libdeft.so.0 "$lib/libdeft.so"
sed "s|@PREFIX@|$prefix|" deft.pc.in > "$pc/deft.pc"
echo "installed deft under $dest$prefix"
