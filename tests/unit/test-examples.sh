#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The example programs on the build host, whose kernel has no kTLS: the
# library carries every record through GnuTLS, and each program says so.
# The same cases run with the kernel holding the keys in tests/kernel/examples.sh.
# usage: test-examples.sh EXAMPLES_BUILD_DIR SOURCE_DIR
set -u
ex=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-examples.XXXXXX")
pki=$work/pki
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT
"$src/tests/lib/make-certs.sh" "$pki" || { echo "Bail out! cannot make certificates"; exit 1; }

case_no=0 failed=0
ok() { echo "ok $((case_no += 1)) - $1"; }
not_ok() {
	echo "not ok $((case_no += 1)) - $1"
	failed=$((failed + 1))
	shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f" | head -40; done
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

EXAMPLE_KEYS=any
EXAMPLE_BIG=$((4 << 20))
. "$src/tests/lib/example-cases.sh"

case_epoll_psk
case_ring_files

echo "1..$case_no"
[ "$failed" -eq 0 ]
