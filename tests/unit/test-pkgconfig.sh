#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install into a scratch DESTDIR, then build and run a small consumer the way
# a user would: flags from pkg-config only, the library found at run time
# through its SONAME.
# usage: test-pkgconfig.sh MESON BUILDDIR SRCDIR "CC" "SANITIZE_FLAGS"
set -eu

meson=$1
builddir=$2
srcdir=$3
cc=$4
sanitize=${5:-}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v pkg-config >/dev/null || { echo "pkg-config not found" >&2; exit 77; }
command -v readelf >/dev/null || { echo "readelf not found" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ktls-pkgconfig-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

"$meson" install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "meson install --destdir failed"; }

pc=$(find "$dest" -name libktls.pc | head -n 1)
[ -n "$pc" ] || fail "libktls.pc was not installed"
pcdir=$(dirname "$pc")
lib=$(find "$dest" -name 'libktls.so.*.*.*' | head -n 1)
[ -n "$lib" ] || fail "libktls.so.X.Y.Z was not installed"
libdir=$(dirname "$lib")
for h in ktls.h ktls-gnutls.h; do
	[ -n "$(find "$dest" -path "*/include/$h")" ] || fail "$h was not installed"
done
[ -L "$libdir/libktls.so" ] && [ -L "$libdir/libktls.so.0" ] ||
	fail "the libktls.so and libktls.so.0 links are missing in $libdir"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libktls.so.0" ] || fail "SONAME is '$soname', want libktls.so.0"

# The sysroot makes every -I/-L pkg-config prints point into DESTDIR.
flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs libktls) ||
	fail "pkg-config --cflags --libs libktls"
echo "pkg-config: $flags"
case "$flags" in
*"-I$dest/"*) ;;
*) fail "the cflags do not point at the installed headers: $flags" ;;
esac

# A sanitized library needs a sanitized program, so that the runtime loads first.
# shellcheck disable=SC2086 # CC and the flags are word lists
$cc -Wall -Wextra -Werror $sanitize -o "$tmp/consumer" "$srcdir/consumer.c" $flags ||
	fail "the consumer does not build against the installed library"

needed=$(readelf -d "$tmp/consumer" | sed -n 's/.*(NEEDED).*\[\(libktls[^]]*\)\]/\1/p')
[ "$needed" = "libktls.so.0" ] || fail "the consumer needs '$needed', want libktls.so.0"

LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/consumer" >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out" >&2; fail "the consumer failed"; }
cat "$tmp/out"
grep -q '^first cipher: AES-128-GCM$' "$tmp/out" || fail "unexpected consumer output"
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer" | sed -n 's/.*libktls\.so\.0 => \([^ ]*\).*/\1/p')
case "$resolved" in
"$libdir"/*) ;;
*) fail "libktls.so.0 resolved to '$resolved', not the installed copy in $libdir" ;;
esac

# The installed ktls finds the installed libktls: outside the system's
# libdirs (the default prefix /usr/local included) through a RUNPATH that is
# exactly PREFIX/LIBDIR.  A DESTDIR copy cannot use that path (it points
# outside DESTDIR), so the run below gives the loader the staged libdir.
tool=$(find "$dest" -path '*/bin/ktls' -type f | head -n 1)
[ -n "$tool" ] || fail "bin/ktls was not installed"
want=${libdir#"$dest"}
runpath=$(readelf -d "$tool" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
case "$want" in
/usr/lib* | /lib*) [ -z "$runpath" ] || fail "ktls has RUNPATH '$runpath' into the system libdir $want" ;;
*) [ "$runpath" = "$want" ] || fail "ktls's RUNPATH is '$runpath', want the installed libdir $want" ;;
esac
readelf -d "$tool" | grep -q '(RUNPATH)' || [ -z "$runpath" ] || fail "ktls has a DT_RPATH, not a DT_RUNPATH"
case "$runpath" in *"$builddir"*) fail "ktls's RUNPATH still names the build directory: $runpath" ;; esac
version=$(LD_LIBRARY_PATH=$libdir "$tool" --version) ||
	fail "the installed ktls does not run with the installed libktls"
[ "$version" = "ktls $("$meson" introspect "$builddir" --projectinfo | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')" ] ||
	fail "installed ktls --version printed '$version'"
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$tool" | sed -n 's/.*libktls\.so\.0 => \([^ ]*\).*/\1/p')
case "$resolved" in
"$libdir"/*) ;;
*) fail "the installed ktls loads libktls.so.0 from '$resolved', not $libdir" ;;
esac
echo "installed ktls: RUNPATH '${runpath:-none}' (libdir $want), '$version' with the installed libktls"
echo "installed, built with pkg-config, ran: SONAME $soname"
