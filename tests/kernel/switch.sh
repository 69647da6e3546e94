#!/bin/bash
# The moment of the switch and what follows it: application data that arrives
# in the same segment as the last handshake message, NewSessionTicket
# records after the switch, a peer's record size limit, and a peer that
# vanishes during sendfile.  (KeyUpdate: keyupdate.sh.)
. "$KTLS_SRC/tests/kernel/lib.sh"

msg="hello after Finished, in the same write"
msg_sha=$(printf %s "$msg" | sha256sum | cut -d' ' -f1)

# 1. TLS 1.3: the client's Finished and its first record in one write (our server reads).
next_port
"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
	--tls 1.3 --recv-bytes ${#msg} --expect-kernel both --shutdown \
	> "$work/s.out" 2> "$work/s.err" &
spid=$!
wait_port $port
"$coalesce" --tls 1.3 --port $port --ca "$pki/ca.pem" --message "$msg" 2> "$work/c.err"
if wait_pid $spid 30 && check_peer server "$work/s.out" 1.3 AES-128-GCM "$msg_sha" &&
	grep -q "in one write" "$work/c.err"; then
	ok "TLS 1.3: data in the same segment as the client's Finished reaches the application intact"
else
	not_ok "TLS 1.3: data right after the client's Finished" "$work/s.out" "$work/s.err" "$work/c.err"
fi

# 2. TLS 1.2: the server's Finished and its first record in one write (our client reads).
next_port
"$coalesce" --tls 1.2 --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
	--message "$msg" > /dev/null 2> "$work/s.err" &
spid=$!
wait_port $port
"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost --tls 1.2 \
	--recv-bytes ${#msg} --expect-kernel both --shutdown > "$work/c.out" 2> "$work/c.err"
crc=$?
if [ $crc -eq 0 ] && wait_pid $spid 30 && check_peer client "$work/c.out" 1.2 AES-128-GCM "$msg_sha"; then
	ok "TLS 1.2: data in the same segment as the server's Finished reaches the application intact"
else
	not_ok "TLS 1.2: data right after the server's Finished" "$work/c.out" "$work/c.err" "$work/s.err"
fi

# 3. NewSessionTicket after the switch: gnutls-serv and openssl s_server both
#    send TLS 1.3 tickets after the handshake; they reach our client as
#    handshake records read from the kernel, and go to GnuTLS.
printf '%s\n' "$msg" > "$work/line"
next_port
gnutls-serv --echo -p $port --x509certfile "$pki/server.pem" --x509keyfile "$pki/server-key.pem" \
	--priority "NORMAL:-VERS-ALL:+VERS-TLS1.3" > "$work/gs.log" 2>&1 &
gpid=$!
wait_port $port
"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost -v \
	--send "$work/line" --recv-bytes $((${#msg} + 1)) --expect-kernel both --shutdown \
	> "$work/c.out" 2> "$work/c.err"
crc=$?
kill $gpid 2>/dev/null; wait $gpid 2>/dev/null
tickets=$(grep -c "NewSessionTicket received after the switch" "$work/c.err")
if [ $crc -eq 0 ] && [ "$tickets" -ge 1 ] &&
	check_peer client "$work/c.out" 1.3 AES-128-GCM "$(sha "$work/line")"; then
	ok "gnutls-serv: $tickets NewSessionTicket(s) after the switch handed to GnuTLS; echo intact"
else
	not_ok "gnutls-serv: NewSessionTicket after the switch" "$work/c.out" "$work/c.err" "$work/gs.log"
fi

next_port
{ cat "$work/line"; sleep 3; } | openssl s_server -accept $port -cert "$pki/server.pem" \
	-key "$pki/server-key.pem" -tls1_3 -naccept 1 -quiet > "$work/os.out" 2> "$work/os.err" &
opid=$!
wait_port $port
"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost -v \
	--recv-bytes $((${#msg} + 1)) --expect-kernel both --shutdown --timeout 20 \
	> "$work/c.out" 2> "$work/c.err"
crc=$?
wait_pid $opid 10
tickets=$(grep -c "NewSessionTicket received after the switch" "$work/c.err")
if [ $crc -eq 0 ] && [ "$tickets" -ge 1 ] &&
	check_peer client "$work/c.out" 1.3 AES-128-GCM "$(sha "$work/line")"; then
	ok "openssl s_server: $tickets NewSessionTicket(s) after the switch handed to GnuTLS; data intact"
else
	not_ok "openssl s_server: NewSessionTicket after the switch" "$work/c.out" "$work/c.err" "$work/os.err"
fi

# 4. A peer that limits record size (gnutls-cli --recordsize, RFC 8449):
#    where the kernel has TLS_TX_MAX_PAYLOAD_LEN (ktls probe says so), TX
#    goes to the kernel with the limit set (ktls stat shows it); elsewhere
#    the kernel would send 16 KiB records the peer must reject, so TX stays
#    in GnuTLS, capped to the limit, with the reason.  Either way every
#    record the peer decrypted (its own debug log) fits: TLS 1.3 counts the
#    content-type byte, so 1024 allows 1023 bytes of data.  The server sends
#    and waits: ktls stat looks at its socket before the client leaves.
make_payload "$work/small" $((48 << 10))
# (TLS 1.3 only: with TLS 1.2, GnuTLS 3.7.9's own server already breaks
# gnutls-cli --recordsize, kTLS or not: "record packet with invalid length".)
for v in 1.3; do
	next_port
	if probe_has tx_max_payload_len; then want=both; else want=rx; fi
	"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
		--tls $v --send "$work/small" --recv-bytes -1 --expect-kernel $want \
		> "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	: > "$work/cli.out"
	{ hold_until_size "$work/cli.out" $((48 << 10)) 30; "$ktls" stat --json --port $port > "$work/stat.json" 2>&1; } |
		timeout 60 gnutls-cli -d 5 --recordsize 1024 -p $port 127.0.0.1 --verify-hostname localhost \
			--x509cafile "$pki/ca.pem" --logfile "$work/cli.log" > "$work/cli.out" 2> "$work/cli.err"
	wait_pid $spid 30
	src=$?
	largest=$(grep -o 'Decrypted Packet\[[0-9]*\] Application Data(23) with length: [0-9]*' "$work/cli.err" |
		awk '{ print $NF }' | sort -n | tail -1)
	why=
	[ $src -eq 0 ] || why="$why server exit $src"
	[ "${largest:-0}" -gt 0 ] && [ "$largest" -le 1023 ] || why="$why largest record ${largest:-none}"
	cmp -s "$work/cli.out" "$work/small" || why="$why data differ"
	if [ $want = both ]; then
		[ "$(field "$work/s.out" tx)" = kernel ] || why="$why tx $(field "$work/s.out" tx)"
		grep -q '"local_port": '$port', .*"tx": "sw", .*"tx_max_payload_len": 1023' "$work/stat.json" ||
			why="$why ktls stat does not show tx_max_payload_len 1023"
		what="TX in the kernel with TLS_TX_MAX_PAYLOAD_LEN 1023 (ktls stat shows it)"
	else
		[ "$(field "$work/s.out" tx)" = user ] && grep -q "record_size_limit" "$work/s.out" ||
			why="$why tx $(field "$work/s.out" tx) without the reason"
		what="TX kept in GnuTLS with the reason (no TLS_TX_MAX_PAYLOAD_LEN here)"
	fi
	if [ -z "$why" ]; then
		ok "TLS $v, peer's record_size_limit 1024: $what, RX in the kernel, records of at most $largest bytes, data intact"
	else
		not_ok "TLS $v, peer's record_size_limit 1024:$why" "$work/s.out" "$work/s.err" "$work/stat.json"
	fi
done

# 5. The peer vanishes in the middle of a kernel sendfile: the library must
#    report EPIPE/ECONNRESET, not let SIGPIPE kill the program.
make_payload "$work/big" $((64 << 20))
next_port
"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
	--send "$work/big" --sendfile --recv-bytes 0 --expect-kernel both > "$work/s.out" 2> "$work/s.err" &
spid=$!
wait_port $port
timeout 2 openssl s_client -quiet -connect 127.0.0.1:$port -CAfile "$pki/ca.pem" < /dev/null \
	> /dev/null 2>&1
wait_pid $spid 30
src=$?
if [ $src -ne 141 ] && [ $src -ne 124 ] && [ "$(field "$work/s.out" end)" = send-error ] &&
	grep -Eq "sendfile: the peer has closed the connection \((Broken pipe|Connection reset by peer)\)" "$work/s.err"; then
	ok "peer gone during kernel sendfile: $(grep -o 'sendfile: [A-Za-z ]*' "$work/s.err" | head -1), no SIGPIPE death"
else
	not_ok "peer gone during kernel sendfile (exit $src)" "$work/s.out" "$work/s.err"
fi

done_testing
