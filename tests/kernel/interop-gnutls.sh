#!/bin/bash
# libktls against GnuTLS's own tools, every version and cipher, 16 MiB each way:
#   our server <- gnutls-cli    (gnutls-cli sends A and prints what it gets)
#   our client -> gnutls-serv --echo (what we send comes back)
# Every case: the kernel holds both our keys (getsockopt(SOL_TLS)), the
# bytes match by SHA-256, and close_notify ends the connection.
. "$KTLS_SRC/tests/kernel/lib.sh"

size=$((16 << 20))
# gnutls-cli 3.7.9 writes what it receives one byte per write(2), about
# 40 KB/s inside user-mode Linux (sending is fast), so it downloads 64 KiB
# while it uploads 16 MiB.  Our 16 MiB download paths are checked against
# gnutls-serv below and against OpenSSL in interop-openssl.sh.
down=$((64 << 10))
make_payload "$work/a" $size
make_payload "$work/b" $down
# gnutls-serv --echo handles text only (it stops at a NUL byte): base64 lines.
head -c $((12 << 20)) /dev/urandom | base64 -w 76 > "$work/text"
sha_a=$(sha "$work/a") sha_b=$(sha "$work/b") sha_text=$(sha "$work/text")
text_size=$(stat -c %s "$work/text")

for v in $VERSIONS; do
	for c in $CIPHERS; do
		# --- our server, gnutls-cli client --------------------------------
		name="our server <- gnutls-cli, TLS $v $c, 16 MiB up, 64 KiB down"
		next_port
		"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
			--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both \
			--send "$work/b" --recv-bytes $size --shutdown > "$work/s.out" 2> "$work/s.err" &
		spid=$!
		wait_port $port
		# At the end of its input gnutls-cli sends close_notify, and our peer
		# stops sending when it reads one: keep the input open until
		# everything has arrived; gnutls-cli exits on our close_notify.
		: > "$work/cli.out"
		{ cat "$work/a"; hold_until_size "$work/cli.out" $down 60; } |
			timeout 120 gnutls-cli -p $port 127.0.0.1 --verify-hostname localhost \
				--x509cafile "$pki/ca.pem" --priority "$(gnutls_prio "$v" "$c")" \
				--logfile "$work/cli.log" > "$work/cli.out" 2> "$work/cli.err"
		wait_pid $spid 60
		src=$?
		if [ $src -eq 0 ] && check_peer server "$work/s.out" "$v" "$c" "$sha_a" &&
			[ "$(sha "$work/cli.out")" = "$sha_b" ] &&
			grep -q "Peer has closed the GnuTLS connection" "$work/cli.log" "$work/cli.err"; then
			ok "$name; gnutls-cli saw our close_notify"
		else
			not_ok "$name" "$work/s.out" "$work/s.err" "$work/cli.log" "$work/cli.err"
		fi

		# --- gnutls-cli's close_notify at the end of its input -------------
		name="our server <- gnutls-cli, TLS $v $c: its close_notify ends our stream cleanly"
		next_port
		"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
			--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both --strict-close \
			> "$work/s.out" 2> "$work/s.err" &
		spid=$!
		wait_port $port
		timeout 60 gnutls-cli -p $port 127.0.0.1 --verify-hostname localhost \
			--x509cafile "$pki/ca.pem" --priority "$(gnutls_prio "$v" "$c")" \
			--logfile "$work/cli.log" < "$work/b" > /dev/null 2> "$work/cli.err"
		wait_pid $spid 30
		if [ $? -eq 0 ] && check_peer server "$work/s.out" "$v" "$c" "$sha_b" &&
			[ "$(field "$work/s.out" end)" = close_notify ]; then
			ok "$name"
		else
			not_ok "$name" "$work/s.out" "$work/s.err" "$work/cli.err"
		fi

		# --- our client, gnutls-serv --echo --------------------------------
		name="our client -> gnutls-serv --echo, TLS $v $c, 16 MiB echoed"
		next_port
		gnutls-serv --echo -p $port --x509certfile "$pki/server.pem" \
			--x509keyfile "$pki/server-key.pem" --priority "$(gnutls_prio "$v" "$c")" \
			> "$work/gs.log" 2>&1 &
		gpid=$!
		wait_port $port
		"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost \
			--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both \
			--send "$work/text" --recv-bytes $text_size --shutdown --timeout 120 \
			> "$work/c.out" 2> "$work/c.err"
		crc=$?
		kill $gpid 2>/dev/null; wait $gpid 2>/dev/null
		if [ $crc -eq 0 ] && check_peer client "$work/c.out" "$v" "$c" "$sha_text"; then
			ok "$name"
		else
			not_ok "$name" "$work/c.out" "$work/c.err" "$work/gs.log"
		fi
	done
done

done_testing
