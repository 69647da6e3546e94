#!/bin/bash
# ktls probe inside a kernel with kTLS: the TLS ULP is found, every cipher is
# offloadable both ways for both versions (Debian's 6.1 UML has gcm, ccm and
# chacha20poly1305), and the table says so in both output formats.
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
# TLS 1.3 rekey arrived in Linux 6.14; this kernel must report it absent.
if grep -q '"tls13_rekey": false' "$work/probe.json" &&
	grep -q '"tx_zerocopy_sendfile": true' "$work/probe.json"; then
	ok "probe --json: no TLS 1.3 rekey, zero-copy sendfile available (as Linux 6.1 has)"
else
	not_ok "probe --json: rekey/zerocopy flags" "$work/probe.json"
fi
"$ktls" probe > "$work/probe.txt"
if grep -q "kernel TLS available" "$work/probe.txt" && grep -Eq "^AES-128-CCM +TLS1.3 +yes +yes" "$work/probe.txt"; then
	ok "probe table for people"
else
	not_ok "probe table for people" "$work/probe.txt"
fi
done_testing
