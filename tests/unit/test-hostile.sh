#!/bin/bash
# A hostile client (tests/lib/hostile-peer) against ktls serve and the
# blocking API on the build host, whose kernel has no kTLS: every record
# goes through GnuTLS.  The same cases as the kernel tiers' hostile.sh
# (tests/lib/hostile-cases.sh).
# Arguments: the build directory, the source directory.
set -u
build=$1
src=$2
ktls=$build/tools/ktls
peer=$build/tests/lib/ktls-peer
hostile=$build/tests/lib/hostile-peer
command -v curl > /dev/null || { echo "1..0 # SKIP curl is not installed"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-hostile.XXXXXX")
pki=$work/pki
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT
"$src/tests/lib/make-certs.sh" "$pki" || { echo "Bail out! cannot make certificates"; exit 1; }

. "$src/tests/lib/unit-lib.sh"

HOSTILE_RX_KERNEL=0
HOSTILE_REKEY=0
. "$src/tests/lib/hostile-cases.sh"
hostile_start_serve
hostile_run_all
hostile_stop
hostile_start_peer
hostile_run_all
hostile_stop
echo "1..$case_no"
[ "$failed" -eq 0 ]
