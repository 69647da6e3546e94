# The example programs (examples/), end to end.  Sourced by
# tests/unit/test-examples.sh (the build host: no kTLS, GnuTLS records) and
# tests/kernel/examples.sh (user-mode Linux: the kernel holds the keys).
#
# The caller defines ok, not_ok, sha, and:
#   ex            the examples' build directory
#   work, pki     a scratch directory and the test PKI in it (make-certs.sh)
#   EXAMPLE_KEYS  "kernel": every key must be in the kernel, and the kernel's
#                 counters must show exactly those (stat_get and the probe's
#                 JSON from tests/kernel/lib.sh); "any": the host, where
#                 each direction says where its key went and why
#   EXAMPLE_BIG   bytes of the big echo and the big file

PSK_ID=storage-node-7
PSK_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

# example_start LOG COMMAND...: start a server in the background and wait
# for its "listening on 127.0.0.1:PORT" line: $srv_pid, $srv_port.
example_start() {
	local log=$1
	shift
	"$@" > "$log" 2>&1 &
	srv_pid=$!
	for _ in $(seq 1 200); do
		srv_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
		[ -n "$srv_port" ] && return 0
		kill -0 "$srv_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# keys_ok FILE: every "TX key: X" / "RX key: X" in FILE names the kernel
# (EXAMPLE_KEYS=kernel), or the kernel or userspace (any); at least one of each.
keys_ok() {
	local got
	got=$(grep -o '[TR]X key: [a-z]*' "$1" | sort | uniq -c | tr -s ' \n' '  ')
	if ! grep -q 'TX key: ' "$1" || ! grep -q 'RX key: ' "$1"; then
		echo "# $1: no key lines"
		return 1
	fi
	if [ "$EXAMPLE_KEYS" = kernel ]; then
		grep -o '[TR]X key: [a-z]*' "$1" | grep -qv 'key: kernel$' &&
			{ echo "# $1: $got"; return 1; }
	else
		grep -o '[TR]X key: [a-z]*' "$1" | grep -qvE 'key: (kernel|userspace)$' &&
			{ echo "# $1: $got"; return 1; }
	fi
	return 0
}

# counters_before / counters_ok WHAT: the kernel's key counters over one
# client run: its own probe (a new process), plus one TX and one RX key on
# each side, and no record that failed to decrypt.  Only with kTLS.
# A process's capability probe installs one key per cipher and version the
# kernel offloads, each way (the "tx"/"rx": true entries of ktls probe's
# JSON); lib.sh's probe_tx counts one more, the io_uring zero-copy probe
# that ktls_caps_get() makes and a blocking-API client never does.
client_probe() { grep -c "\"$1\": true" "$work/probe.json"; }
counters_before() {
	[ "$EXAMPLE_KEYS" = kernel ] || return 0
	c_tx=$(stat_get TlsTxSw) c_rx=$(stat_get TlsRxSw) c_err=$(stat_get TlsDecryptError)
}
counters_ok() {
	[ "$EXAMPLE_KEYS" = kernel ] || return 0
	local dtx=$(($(stat_get TlsTxSw) - c_tx)) drx=$(($(stat_get TlsRxSw) - c_rx))
	local derr=$(($(stat_get TlsDecryptError) - c_err))
	local ptx prx
	ptx=$(client_probe tx) prx=$(client_probe rx)
	if [ $dtx -eq $((2 + ptx)) ] && [ $drx -eq $((2 + prx)) ] && [ $derr -eq 0 ]; then
		ok "$1: /proc/net/tls_stat TlsTxSw +$dtx, TlsRxSw +$drx (a key each way on each side, and the client's probe: $ptx, $prx), TlsDecryptError +0"
	else
		not_ok "$1: /proc/net/tls_stat TlsTxSw +$dtx, TlsRxSw +$drx (want +$((2 + ptx)), +$((2 + prx))), TlsDecryptError +$derr"
	fi
}

# ---- epoll-psk-server / epoll-psk-client ------------------------------------
case_epoll_psk() {
	local srv=$work/epoll-server.log out=$work/echo.out err=$work/echo.err
	local msg="hello from a storage node, over TLS 1.3 with an external PSK"

	printf '%s:%s\n' "$PSK_ID" "$PSK_KEY" > "$work/psk"
	chmod 600 "$work/psk"
	if ! example_start "$srv" "$ex/epoll-psk-server" -k "$PSK_ID:$PSK_KEY" 0; then
		not_ok "epoll-psk-server starts" "$srv"
		return
	fi

	timeout 60 "$ex/epoll-psk-client" -k "$PSK_ID:$PSK_KEY" 127.0.0.1 "$srv_port" "$msg" \
		> "$out" 2> "$err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(cat "$out")" = "$msg" ] && keys_ok "$err" &&
		grep -q '^TLS1.3 .*PSK identity "'"$PSK_ID"'"$' "$err" &&
		grep -q 'closed with close_notify both ways' "$err"; then
		ok "epoll PSK echo: the message comes back, TLS 1.3 PSK \"$PSK_ID\", $(grep -o 'TX key: [a-z]*' "$err"), $(grep -o 'RX key: [a-z]*' "$err"), close_notify both ways"
	else
		not_ok "epoll PSK echo of a message (exit $rc)" "$out" "$err" "$srv"
	fi

	# Bigger than every socket buffer: the client must read while it sends.
	head -c "$EXAMPLE_BIG" /dev/urandom > "$work/echo.in"
	counters_before
	timeout 120 "$ex/epoll-psk-client" -f "$work/psk" localhost "$srv_port" - \
		< "$work/echo.in" > "$out" 2> "$err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(sha "$out")" = "$(sha "$work/echo.in")" ] && keys_ok "$err"; then
		ok "epoll PSK echo of $EXAMPLE_BIG random bytes (key from a file): sha256 identical"
	else
		not_ok "epoll PSK echo of $EXAMPLE_BIG bytes (exit $rc, $(stat -c %s "$out") bytes back)" "$err" "$srv"
	fi
	counters_ok "epoll PSK echo"

	# The wrong key fails the handshake on both sides, and the server goes on.
	timeout 30 "$ex/epoll-psk-client" -k "$PSK_ID:ffeeddccbbaa99887766554433221100" 127.0.0.1 \
		"$srv_port" "no" > "$out" 2> "$err"
	rc=$?
	if [ $rc -ne 0 ] && ! [ -s "$out" ] && grep -q 'failed' "$srv" &&
		timeout 60 "$ex/epoll-psk-client" -k "$PSK_ID:$PSK_KEY" 127.0.0.1 "$srv_port" again \
			> "$out" 2>> "$err" && [ "$(cat "$out")" = again ]; then
		ok "epoll PSK: a wrong key is refused ($(grep -m1 -o 'epoll-psk-client: .*' "$err" | cut -c1-80)), the next client is served"
	else
		not_ok "epoll PSK with a wrong key (exit $rc)" "$out" "$err" "$srv"
	fi

	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	if [ "$(grep -c 'closed with close_notify both ways' "$srv")" -eq 3 ] && keys_ok "$srv"; then
		ok "epoll-psk-server: three clean closes, $(grep -o '[TR]X key: [a-z]*' "$srv" | sort -u | tr '\n' ' ')"
	else
		not_ok "epoll-psk-server's log" "$srv"
	fi
}

# ---- ring-file-server / adopt-gnutls -----------------------------------------
case_ring_files() {
	local srv=$work/ring-server.log root=$work/root out=$work/file.out err=$work/file.err

	mkdir -p "$root/sub" "$work/outside"
	head -c "$EXAMPLE_BIG" /dev/urandom > "$root/big.bin"
	printf 'hello\n' > "$root/small.txt"
	printf 'inner\n' > "$root/sub/inner.txt"
	: > "$root/empty"
	echo secret > "$work/outside/secret"
	ln -sf ../outside/secret "$root/link-out"
	ln -sf small.txt "$root/link-in"

	if ! example_start "$srv" "$ex/ring-file-server" "$pki/server.pem" "$pki/server-key.pem" \
		"$root" 0; then
		not_ok "ring-file-server starts" "$srv"
		return
	fi

	# A first connection: the server's own once-per-process probes are done
	# before the counters are read.
	timeout 60 "$ex/adopt-gnutls" "$pki/ca.pem" localhost "$srv_port" small.txt > "$out" 2> "$err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(cat "$out")" = hello ] && keys_ok "$err" &&
		grep -q 'closed with close_notify' "$err"; then
		ok "adopt-gnutls: own GnuTLS handshake, ktls_conn_adopt(), $(grep -o 'TX key: [a-z]*' "$err"), $(grep -o 'RX key: [a-z]*' "$err"); small.txt fetched"
	else
		not_ok "adopt-gnutls fetches small.txt (exit $rc)" "$out" "$err" "$srv"
	fi

	counters_before
	timeout 300 "$ex/adopt-gnutls" "$pki/ca.pem" localhost "$srv_port" big.bin > "$out" 2> "$err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(sha "$out")" = "$(sha "$root/big.bin")" ] && keys_ok "$err"; then
		ok "ring-file-server -> adopt-gnutls: $EXAMPLE_BIG bytes, sha256 identical"
	else
		not_ok "big.bin through the ring server (exit $rc, $(stat -c %s "$out") bytes)" "$err" "$srv"
	fi
	counters_ok "ring-file-server sendfile"

	local p want got bad=""
	for p in "empty:OK" "sub/inner.txt:OK" "link-in:OK" "../outside/secret:ERR outside the root directory" \
		"/etc/passwd:ERR outside the root directory" "link-out:ERR outside the root directory" \
		"sub/../../outside/secret:ERR outside the root directory" "nothing:ERR No such file or directory" \
		"sub:ERR not a regular file"; do
		want=${p#*:} p=${p%%:*}
		timeout 60 "$ex/adopt-gnutls" "$pki/ca.pem" localhost "$srv_port" "$p" > "$out" 2> "$err"
		rc=$?
		case $want in
		OK) [ $rc -eq 0 ] && cmp -s "$out" "$root/$p" || bad="$bad $p(exit $rc)" ;;
		*) [ $rc -ne 0 ] && grep -q "server: $want" "$err" && ! [ -s "$out" ] || bad="$bad $p(exit $rc)" ;;
		esac
	done
	if [ -z "$bad" ]; then
		ok "ring-file-server confines paths to its root (openat2 RESOLVE_BENEATH): .., absolute and symlinks out refused"
	else
		not_ok "ring-file-server paths:$bad" "$err" "$srv"
	fi

	# An independent client: OpenSSL speaks the same one-line protocol.
	if command -v openssl > /dev/null; then
		printf 'small.txt\n' | timeout 30 openssl s_client -quiet -connect "127.0.0.1:$srv_port" \
			-servername localhost -CAfile "$pki/ca.pem" -verify_return_error > "$out" 2> "$err"
		if [ "$(cat "$out")" = "$(printf 'OK 6\nhello')" ]; then
			ok "openssl s_client fetches from ring-file-server"
		else
			not_ok "openssl s_client against ring-file-server" "$out" "$err" "$srv"
		fi
	fi

	# A client that vanishes in the middle of the file: the server's splice
	# meets a closed socket (SIGPIPE, kept from the process by the engine)
	# and it goes on serving.
	if command -v openssl > /dev/null; then
		printf 'big.bin\n' | timeout 30 openssl s_client -quiet -connect "127.0.0.1:$srv_port" \
			-servername localhost -CAfile "$pki/ca.pem" 2> /dev/null | head -c 100000 > /dev/null
		sleep 0.5
		if kill -0 "$srv_pid" 2>/dev/null &&
			timeout 60 "$ex/adopt-gnutls" "$pki/ca.pem" localhost "$srv_port" small.txt \
				> "$out" 2> "$err" && [ "$(cat "$out")" = hello ]; then
			ok "ring-file-server: a client gone in the middle of big.bin, the next one served"
		else
			not_ok "ring-file-server after a client vanished mid-file" "$err" "$srv"
		fi
	fi

	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	local via=kernel
	[ "$EXAMPLE_KEYS" = kernel ] || via='(kernel TLS|GnuTLS)'
	if keys_ok "$srv" && grep -q '"big.bin" OK' "$srv" &&
		! grep '" OK' "$srv" | grep -qvE "via $via"; then
		ok "ring-file-server's log: $(grep -o '[TR]X key: [a-z]*' "$srv" | sort -u | tr '\n' ' ')every file $(grep -m1 -o 'via .*' "$srv")"
	else
		not_ok "ring-file-server's log" "$srv"
	fi
}
