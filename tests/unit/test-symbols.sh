#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shared library exports exactly what lib/libktls.sym lists, each symbol
# in the version node the script puts it in, and nothing else.
# Every function the public headers declare is in the script, exported as
# the default version of its name.  A name the headers define as a static
# inline wrapper (ktls_conn_get_info() calling ktls_conn_get_info_sized())
# may be listed only as a compatibility symbol of an older node: exported,
# but never the default, so that nothing new links against it.
# usage: test-symbols.sh NM LIBKTLS_SO LIBKTLS_SYM HEADER...
set -eu

nm=$1
lib=$2
map=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ktls-symbols-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# "name VERSION" for every global in every section of the version script.
awk '
	{ sub(/\/\*.*\*\//, ""); sub(/#.*/, "") }
	/^[ \t]*[A-Za-z0-9_.]+[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); mode = ""; next }
	/^[ \t]*global:/ { mode = "global"; next }
	/^[ \t]*local:/ { mode = "local"; next }
	/^[ \t]*\}/ { node = ""; mode = ""; next }
	node != "" && mode == "global" {
		for (i = 1; i <= NF; i++) {
			s = $i; gsub(/;/, "", s)
			if (s != "") print s, node
		}
	}
' "$map" | LC_ALL=C sort >"$tmp/want"

# Version nodes are absolute symbols ("A LIBKTLS_0.1"); the rest are
# name@@NODE (the default version) or name@NODE (compatibility only).
"$nm" -D --defined-only "$lib" | awk '
	$2 == "A" { next }
	{
		name = $3; node = "(unversioned)"
		if (index(name, "@") > 0) { node = name; sub(/^[^@]*@+/, "", node); sub(/@.*/, "", name) }
		print name, node
	}
' | LC_ALL=C sort >"$tmp/got"
"$nm" -D --defined-only "$lib" | awk '$2 != "A" && $3 ~ /@@/ { sub(/@.*/, "", $3); print $3 }' |
	LC_ALL=C sort -u >"$tmp/default"
"$nm" -D --defined-only "$lib" | awk '$2 != "A" && $3 ~ /[^@]@[^@]/ { sub(/@.*/, "", $3); print $3 }' |
	LC_ALL=C sort -u >"$tmp/compat"

"$nm" -D --defined-only "$lib" | awk '$2 == "A" { print $3 }' | LC_ALL=C sort >"$tmp/nodes_got"
awk '{ print $2 }' "$tmp/want" | LC_ALL=C sort -u >"$tmp/nodes_want"

# Declarations start a line with their return type: "int ktls_conn_new(";
# inline wrappers with "static inline".
for h in "$@"; do
	grep -hE '^[a-z][a-z_ ]*[ *]ktls_[a-z0-9_]+\(' "$h" | grep -v '^static inline' |
		sed -E 's/.*[ *](ktls_[a-z0-9_]+)\(.*/\1/'
done | LC_ALL=C sort -u >"$tmp/declared"
for h in "$@"; do
	grep -hE '^static inline [a-z][a-z_ ]*[ *]ktls_[a-z0-9_]+\(' "$h" |
		sed -E 's/.*[ *](ktls_[a-z0-9_]+)\(.*/\1/'
done | LC_ALL=C sort -u >"$tmp/inline"
awk '{ print $1 }' "$tmp/want" | LC_ALL=C sort -u >"$tmp/listed"
LC_ALL=C comm -12 "$tmp/listed" "$tmp/inline" >"$tmp/listed_inline"
LC_ALL=C sort -u "$tmp/declared" "$tmp/listed_inline" >"$tmp/expected_listed"

status=0
if [ $# -gt 0 ] && ! cmp -s "$tmp/expected_listed" "$tmp/listed"; then
	echo "public headers and $map disagree ('-' declared only, '+' listed only):" >&2
	diff -u "$tmp/expected_listed" "$tmp/listed" | sed -n '/^[-+][^-+]/p' >&2 || true
	status=1
fi
if [ $# -gt 0 ] && ! LC_ALL=C comm -23 "$tmp/declared" "$tmp/default" | cmp -s - /dev/null; then
	echo "declared in the headers but not exported as the default version:" >&2
	LC_ALL=C comm -23 "$tmp/declared" "$tmp/default" >&2
	status=1
fi
if ! cmp -s "$tmp/listed_inline" "$tmp/compat"; then
	echo "inline wrappers listed in $map must be compatibility symbols, and only they:" >&2
	diff -u "$tmp/listed_inline" "$tmp/compat" | sed -n '/^[-+][^-+]/p' >&2 || true
	status=1
fi
if ! [ -s "$tmp/want" ]; then
	echo "no global symbols found in $map" >&2
	status=1
fi
if ! cmp -s "$tmp/want" "$tmp/got"; then
	echo "exported symbols of $lib differ from $map ('-' listed only, '+' exported only):" >&2
	diff -u "$tmp/want" "$tmp/got" | sed -n '/^[-+][^-+]/p' >&2 || true
	status=1
fi
if ! cmp -s "$tmp/nodes_want" "$tmp/nodes_got"; then
	echo "version nodes differ: script has $(tr '\n' ' ' <"$tmp/nodes_want")," >&2
	echo "library has $(tr '\n' ' ' <"$tmp/nodes_got")" >&2
	status=1
fi
[ $status -eq 0 ] && echo "$(wc -l <"$tmp/got") symbols: headers, version script and library agree"
exit $status
