#!/bin/bash
# ktls serve inside a kernel with kTLS: curl, wget and openssl s_client
# download a 256 MiB file (sha256-checked, ranges included) through kernel
# TLS splice, and the kernel's counters prove it: one TX and one RX key per
# connection (TlsTxSw/TlsRxSw deltas), no decrypt errors, and ktls stat lists
# the server's socket with both directions in the kernel.  Then the robustness
# cases of the host test (tests/lib/serve-cases.sh) under kTLS: malformed
# requests and traversal, a request in the same segment as Finished (the
# kernel takes RX after GnuTLS decrypted it), slowloris, idle timeout, a
# client that vanishes mid-transfer, SIGTERM with close_notify.
. "$KTLS_SRC/tests/kernel/lib.sh"

SERVE_BIG=${KTLS_SERVE_BIG:-$((256 << 20))}
SERVE_VIA=kernel-splice
. "$KTLS_SRC/tests/lib/serve-cases.sh"
serve_make_root
next_port
serve_start --header-timeout 1 --idle-timeout 2 --handshake-timeout 2
grep -q "serving" "$srv_err" || { echo "Bail out! ktls serve did not start"; cat "$srv_err"; exit 1; }

# ---- one connection = one TX and one RX key in the kernel -----------------
t0=$(stat_get TlsTxSw) r0=$(stat_get TlsRxSw) e0=$(stat_get TlsDecryptError)
code=$(get /index.html -o /dev/null -w '%{http_code}')
t1=$(stat_get TlsTxSw) r1=$(stat_get TlsRxSw)
if [ "$code" = 200 ] && [ $((t1 - t0)) -eq 1 ] && [ $((r1 - r0)) -eq 1 ] &&
	grep -F '"GET /index.html"' "$srv_log" | grep -q " via=kernel-send$"; then
	ok "one request: the kernel took one TX and one RX key (TlsTxSw +1, TlsRxSw +1)"
else
	not_ok "kTLS key counters for one connection (status $code, TX +$((t1 - t0)), RX +$((r1 - r0)))" \
		"$srv_log" "$srv_err"
fi

# ---- ktls stat sees the server's socket while it sends ---------------------
n0=$(log_lines /big.bin | wc -l)
get /big.bin --limit-rate 4M -o /dev/null &
cpid=$!
for _ in $(seq 1 50); do
	"$ktls" stat --json --port "$port" > "$work/st.json" 2> "$work/st.err"
	grep -q "\"local_port\": $port," "$work/st.json" && break
	sleep 0.1
done
line=$(grep -F "\"local_port\": $port," "$work/st.json")
# get is a function: $cpid is its subshell, and curl a child of that.
pkill -P $cpid curl 2>/dev/null
kill $cpid 2>/dev/null
wait $cpid 2>/dev/null
# The cut transfer is logged before the next case reads the log.
log_wait /big.bin "$n0"
if printf '%s' "$line" | grep -q '"process": "ktls"' &&
	printf '%s' "$line" | grep -q '"tx": "sw"' && printf '%s' "$line" | grep -q '"rx": "sw"' &&
	log_lines /big.bin | tail -1 | grep -Eq ' 200 [0-9]+ via=kernel-splice$' &&
	! log_lines /big.bin | tail -1 | grep -q " 200 $SERVE_BIG "; then
	ok "ktls stat lists the server's socket: process ktls, TX sw, RX sw; the cut download is logged short"
else
	not_ok "ktls stat during a download" "$work/st.json" "$work/st.err" "$srv_log"
fi

# ---- the big downloads, counted ---------------------------------------------
t0=$(stat_get TlsTxSw) r0=$(stat_get TlsRxSw)
case_downloads
t1=$(stat_get TlsTxSw) r1=$(stat_get TlsRxSw)
if [ $((t1 - t0)) -eq 3 ] && [ $((r1 - r0)) -eq 3 ]; then
	ok "three downloads, three connections: TlsTxSw +3, TlsRxSw +3"
else
	not_ok "key counters over the downloads (TX +$((t1 - t0)), RX +$((r1 - r0)))"
fi
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
t0=$(stat_get TlsRxSw)
case_coalesce
t1=$(stat_get TlsRxSw)
if [ $((t1 - t0)) -eq 1 ]; then
	ok "the kernel took RX on that connection after GnuTLS had decrypted the early request (TlsRxSw +1)"
else
	not_ok "RX offload after a coalesced request (TlsRxSw +$((t1 - t0)))"
fi
case_vanish
case_handshake_timeout
case_slowloris
e1=$(stat_get TlsDecryptError)
if [ "$e1" = "$e0" ] && ! grep -q "via=userspace" "$srv_log"; then
	ok "no record failed authentication (TlsDecryptError unchanged); no body went through userspace"
else
	not_ok "decrypt errors $e0 -> $e1, or a userspace body" "$srv_log"
fi
case_sigterm
case_sigterm_handshake
case_drain
case_static_rsa
case_handshake_shape
next_port
case_selfsigned

# ---- --offload off: the same bytes through GnuTLS, no kernel key ----------
next_port
serve_start --offload off
t0=$(stat_get TlsTxSw) r0=$(stat_get TlsRxSw)
code=$(get /small.bin -o "$work/off.bin" -w '%{http_code}')
t1=$(stat_get TlsTxSw) r1=$(stat_get TlsRxSw)
serve_stop
if [ "$code" = 200 ] && cmp -s "$work/off.bin" "$www/small.bin" && [ "$t1" = "$t0" ] &&
	[ "$r1" = "$r0" ] && grep -q '"GET /small.bin" 200 65536 via=userspace$' "$srv_log"; then
	ok "--offload off: identical bytes via=userspace, no kTLS key installed"
else
	not_ok "--offload off (status $code, TX +$((t1 - t0)), RX +$((r1 - r0)))" "$srv_log"
fi

# ---- 1,000 connections at once on one thread ------------------------------
many_get=$KTLS_BUILD/tests/lib/many-get
next_port
serve_start --threads 1 --idle-timeout 120
t0=$(stat_get TlsTxSw)
# Both keys in the kernel: the GnuTLS session is gone (lib/summary.c).
MANY_HEAP_MAX=4096 case_many 1000
t1=$(stat_get TlsTxSw)
serve_stop
check_peak 1000
if [ $((t1 - t0)) -ge 1001 ]; then
	ok "their keys went to the kernel: TlsTxSw +$((t1 - t0))"
else
	not_ok "TlsTxSw +$((t1 - t0)) for 1000 connections"
fi

done_testing
