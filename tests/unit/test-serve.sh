#!/bin/bash
# ktls serve on the build host, whose kernel has no kTLS: every byte goes
# through GnuTLS records on the io_uring engine.  The same cases as the
# kernel suite's serve.sh (tests/lib/serve-cases.sh), with a smaller file.
# Arguments: the ktls binary, coalesce-peer, the source directory.
set -u
ktls=$1
coalesce=$2
src=$3
for tool in curl wget openssl gnutls-cli; do
	command -v $tool > /dev/null || { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-serve.XXXXXX")
pki=$work/pki
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT
"$src/tests/lib/make-certs.sh" "$pki" || { echo "Bail out! cannot make certificates"; exit 1; }

. "$src/tests/lib/unit-lib.sh"

SERVE_BIG=$((8 << 20))
SERVE_VIA=userspace
. "$src/tests/lib/serve-cases.sh"
serve_make_root

serve_start --header-timeout 1 --idle-timeout 2 --handshake-timeout 2
case_downloads
case_ranges
case_head_conditional
case_keepalive
case_pipeline
case_tls12
case_errors
case_http10_keepalive
case_log_escape
case_fifo
case_file_cache
case_coalesce
case_vanish
case_handshake_timeout
case_slowloris
case_sigterm
case_sigterm_handshake
case_drain
case_static_rsa
case_handshake_shape
next_port
case_selfsigned
many_get=$(dirname "$coalesce")/many-get
next_port
serve_start --quiet
case_many 300
serve_stop
check_peak 300
next_port
serve_start --threads 2 --quiet
case_threads
next_port
serve_start --ca "$pki/ca.pem"
case_client_cert
serve_stop
next_port
"$ktls" serve -r "$www" -b 127.0.0.1 -p "$port" --psk ktls-test:00112233445566778899aabbccddeeff \
	> "$work/psk.log" 2> "$work/psk.err" &
srv_pid=$! srv_err=$work/psk.err
wait_port "$port"
case_psk
serve_stop
# An NVMe-style identity has colons: the key starts after the last one.
next_port
nqn="nqn.2014-08.org.nvmexpress:uuid:0a1b2c3d-0000-1111-2222-333344445555"
printf '%s:00112233445566778899aabbccddeeff\n' "$nqn" > "$work/psk.txt"
"$ktls" serve "$www" -b 127.0.0.1 -p "$port" --psk-file "$work/psk.txt" \
	> "$work/pskf.log" 2> "$work/pskf.err" &
srv_pid=$! srv_err=$work/pskf.err
wait_port "$port"
case_psk "$nqn" "--psk-file and the root as an argument"
serve_stop
next_port
case_emfile

echo "1..$case_no"
[ "$failed" -eq 0 ]
