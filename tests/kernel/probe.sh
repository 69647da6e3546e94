#!/bin/bash
# ktls probe inside a kernel with kTLS: the TLS ULP is found, every cipher is
# offloadable both ways for both versions (both UML kernels have gcm, ccm and
# chacha20poly1305), the optional features match what the kernel answers to
# direct setsockopt calls, and the table says so in both output formats.
. "$KTLS_SRC/tests/kernel/lib.sh"

"$ktls" probe --json > "$work/probe.json" 2> "$work/probe.err"
if grep -q '"ulp_available": true' "$work/probe.json"; then
	ok "probe --json: TLS ULP available"
else
	not_ok "probe --json: TLS ULP available" "$work/probe.json" "$work/probe.err"
fi
for v in 1.2 1.3; do
	for c in $CIPHERS; do
		line="{\"version\": \"TLS$v\", \"cipher\": \"$c\", \"tx\": true, \"rx\": true}"
		if grep -qF "$line" "$work/probe.json"; then
			ok "probe --json: TLS $v $c offloadable TX and RX"
		else
			not_ok "probe --json: TLS $v $c offloadable TX and RX" "$work/probe.json"
		fi
	done
done
# The optional features are the kernel's to have or not (6.1: zero-copy
# sendfile only; 7.x: rekey and the TX payload limit too): ktls probe must
# agree with a second opinion that asks the kernel with Python's sockets.
python3 "$KTLS_SRC/tests/kernel/probe-check.py" > "$work/check.json" 2> "$work/check.err"
for flag in tls13_rekey tx_max_payload_len tx_zerocopy_sendfile rx_expect_no_pad; do
	want=$(grep -o "\"$flag\": [a-z]*" "$work/check.json" | cut -d' ' -f2)
	if [ -n "$want" ] && grep -q "\"$flag\": $want" "$work/probe.json"; then
		ok "probe --json: $flag $want, as the kernel answers a direct setsockopt"
	else
		not_ok "probe --json: $flag (the kernel says '${want:-?}')" "$work/probe.json" "$work/check.json" "$work/check.err"
	fi
done
"$ktls" probe > "$work/probe.txt"
rekey_word=no; probe_has tls13_rekey && rekey_word=yes
limit_word=no; probe_has tx_max_payload_len && limit_word=yes
if grep -q "kernel TLS available" "$work/probe.txt" && grep -Eq "^AES-128-CCM +TLS1.3 +yes +yes" "$work/probe.txt" &&
	grep -Eq "^TLS 1.3 rekey \(KeyUpdate on kTLS sockets\): +$rekey_word$" "$work/probe.txt" &&
	grep -Eq "^TX record size limit \(TLS_TX_MAX_PAYLOAD_LEN\): +$limit_word$" "$work/probe.txt"; then
	ok "probe table for people"
else
	not_ok "probe table for people" "$work/probe.txt"
fi
done_testing
