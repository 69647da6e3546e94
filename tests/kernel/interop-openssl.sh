#!/bin/bash
# libktls against OpenSSL 3's tools with OpenSSL's own kTLS switched on
# (Options = KTLS), every version and cipher, 16 MiB each way:
#   our server <- openssl s_client -quiet   (sends A, prints what it gets)
#   our client -> openssl s_server -quiet   (sends B, prints what it gets)
# Every case: the kernel holds both our keys (getsockopt(SOL_TLS)), both
# sides' bytes match by SHA-256, and our close_notify ends the connection.
. "$KTLS_SRC/tests/kernel/lib.sh"

cat > "$work/openssl.cnf" <<'CNF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = ssl_defaults
[ssl_defaults]
Options = KTLS
CNF
export OPENSSL_CONF=$work/openssl.cnf

size=$((16 << 20))
make_payload "$work/a" $size
make_payload "$work/b" $size
sha_a=$(sha "$work/a") sha_b=$(sha "$work/b")

for v in $VERSIONS; do
	for c in $CIPHERS; do
		# shellcheck disable=SC2207
		ossl=($(openssl_args "$v" "$c"))

		name="our server <- openssl s_client, TLS $v $c, 16 MiB each way"
		next_port
		"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
			--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both \
			--send "$work/b" --recv-bytes $size --shutdown > "$work/s.out" 2> "$work/s.err" &
		spid=$!
		wait_port $port
		# -quiet implies -ign_eof: s_client keeps reading after its input ends.
		timeout 120 openssl s_client -quiet -connect 127.0.0.1:$port "${ossl[@]}" \
			-CAfile "$pki/ca.pem" -verify_hostname localhost -verify_return_error \
			< "$work/a" > "$work/oc.out" 2> "$work/oc.err"
		wait_pid $spid 60
		src=$?
		if [ $src -eq 0 ] && check_peer server "$work/s.out" "$v" "$c" "$sha_a" &&
			[ "$(sha "$work/oc.out")" = "$sha_b" ]; then
			ok "$name"
		else
			not_ok "$name" "$work/s.out" "$work/s.err" "$work/oc.err"
		fi

		name="our client -> openssl s_server, TLS $v $c, 16 MiB each way"
		next_port
		# s_server (OpenSSL 3.0 has no -ign_eof for it) closes the connection
		# when its input ends: keep the input open until it has received all.
		: > "$work/os.out"
		{ cat "$work/b"; hold_until_size "$work/os.out" $size 100; } |
			timeout 120 openssl s_server -quiet -naccept 1 -accept $port "${ossl[@]}" \
				-cert "$pki/server.pem" -key "$pki/server-key.pem" \
				> "$work/os.out" 2> "$work/os.err" &
		opid=$!
		wait_port $port
		"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost \
			--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both \
			--send "$work/a" --recv-bytes $size --shutdown --timeout 120 \
			> "$work/c.out" 2> "$work/c.err"
		crc=$?
		wait_pid $opid 30
		if [ $crc -eq 0 ] && check_peer client "$work/c.out" "$v" "$c" "$sha_b" &&
			[ "$(sha "$work/os.out")" = "$sha_a" ]; then
			ok "$name"
		else
			echo "# s_server wrote $(stat -c %s "$work/os.out") bytes"
			not_ok "$name" "$work/c.out" "$work/c.err" "$work/os.err"
		fi
	done
done

done_testing
