#!/bin/bash
# TLS 1.3 KeyUpdate (RFC 8446 section 4.6.3) with the kernel holding the
# keys, as this kernel allows -- which ktls probe says (tls13_rekey), never
# uname:
#
# A kernel that can rekey (Linux 6.14+): every update is followed in the
# kernel, with real peers on the other side, bytes sha256-identical and the
# kernel's own counters exact (/proc/net/tls_stat TlsRxRekeyReceived,
# TlsRxRekeyOk, TlsTxRekeyOk; the error counters unchanged):
#   - openssl s_client 'k' and 'K' against the blocking API (ktls-peer) and
#     against ktls serve (the io_uring engine);
#   - our client (ktls get) receiving 'k' and 'K' from openssl s_server;
#   - ktls_conn_rekey() 1,000 times during one transfer to openssl s_server;
#   - the AEAD usage limit reached (KTLS_TEST_KEY_RECORD_LIMIT lowers it),
#     blocking API to s_server and ktls serve to curl: the library updates
#     the key by itself.
# A kernel that cannot: a KeyUpdate ends the connection promptly with
# EKEYEXPIRED and an alert, or, with KTLS_KEYUPDATE_FOLLOW, RX stays in
# GnuTLS and follows it (one that asks for ours still ends it).
. "$KTLS_SRC/tests/kernel/lib.sh"

# TlsTxRekeyOk that ktls probe's own second key adds, per libktls process.
probe_txrekey=$(awk '$1 == "TlsTxRekeyOk" { print $2 }' /proc/net/tls_stat)
"$ktls" probe > /dev/null
probe_txrekey=$(( $(awk '$1 == "TlsTxRekeyOk" { print $2 }' /proc/net/tls_stat) - ${probe_txrekey:-0} ))

declare -A before after
snap() { # array
	local k v
	while read -r k v; do eval "$1[$k]=$v"; done < /proc/net/tls_stat
}
d() { echo $(( ${after[$1]:-0} - ${before[$1]:-0} )); }
# rekey_counts TX_OK RX_OK RX_RECEIVED: the deltas since `snap before`
# (after `snap after`), errors none; prints what differs.
rekey_counts() {
	local why=""
	[ "$(d TlsTxRekeyOk)" -eq "$1" ] || why="$why TlsTxRekeyOk +$(d TlsTxRekeyOk) (want +$1)"
	[ "$(d TlsRxRekeyOk)" -eq "$2" ] || why="$why TlsRxRekeyOk +$(d TlsRxRekeyOk) (want +$2)"
	[ "$(d TlsRxRekeyReceived)" -eq "$3" ] ||
		why="$why TlsRxRekeyReceived +$(d TlsRxRekeyReceived) (want +$3)"
	for e in TlsTxRekeyError TlsRxRekeyError TlsDecryptError; do
		[ "$(d $e)" -eq 0 ] || why="$why $e +$(d $e)"
	done
	printf '%s' "$why"
}

msg1="before the key updates"
msg2="after the first (k)"
msg3="after the second (K, which asks for ours)"

if ! probe_has tls13_rekey; then
	# ---- no rekey in this kernel ----------------------------------------------
	for cmd in K k; do
		next_port
		"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
			--tls 1.3 --expect-kernel both --expect-error EKEYEXPIRED --timeout 20 \
			> "$work/s.out" 2> "$work/s.err" &
		spid=$!
		wait_port $port
		{ printf '%s\n' "$msg1"; sleep 1; echo $cmd; sleep 4; } |
			timeout 20 openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile "$pki/ca.pem" \
				> "$work/oc.out" 2> "$work/oc.err"
		wait_pid $spid 20
		src=$?
		if [ $src -eq 0 ] && [ "$(field "$work/s.out" end)" = EKEYEXPIRED ] &&
			[ "$(field "$work/s.out" bytes_in)" = $((${#msg1} + 1)) ] &&
			grep -q "KeyUpdate" "$work/s.out" &&
			grep -qi "alert" "$work/oc.err" "$work/oc.out"; then
			ok "KeyUpdate ('$cmd' in s_client) on a kernel without rekey: EKEYEXPIRED $(field "$work/s.out" elapsed_ms) ms after the handshake, alert sent, data before it intact"
		else
			not_ok "KeyUpdate ('$cmd') on a kernel without rekey" "$work/s.out" "$work/s.err" "$work/oc.err"
		fi
	done

	next_port
	"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" --tls 1.3 \
		--keyupdate-follow --recv-bytes $((${#msg1} + ${#msg2} + 2)) --expect-kernel tx \
		--timeout 20 > "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	{ echo "$msg1"; sleep 1; echo k; sleep 1; echo "$msg2"; sleep 2; } |
		timeout 20 openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile "$pki/ca.pem" \
			> "$work/oc.out" 2> "$work/oc.err"
	wait_pid $spid 20
	src=$?
	if [ $src -eq 0 ] && [ "$(field "$work/s.out" end)" = done ] &&
		[ "$(field "$work/s.out" key_updates_in)" = 1 ] &&
		[ "$(field "$work/s.out" kernel_tx)" = ok ] && [ "$(field "$work/s.out" rx)" = user ] &&
		grep -q 'rx_reason=".*KeyUpdate' "$work/s.out"; then
		ok "KeyUpdate ('k') with RX kept in userspace by KTLS_KEYUPDATE_FOLLOW: followed, all $(field "$work/s.out" bytes_in) bytes received, TX still in the kernel"
	else
		not_ok "KeyUpdate ('k') with KTLS_KEYUPDATE_FOLLOW" "$work/s.out" "$work/s.err" "$work/oc.err"
	fi

	next_port
	"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" --tls 1.3 \
		--keyupdate-follow --expect-error EKEYEXPIRED --timeout 20 > "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	{ echo "$msg1"; sleep 1; echo K; sleep 3; } |
		timeout 20 openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile "$pki/ca.pem" \
			> "$work/oc.out" 2> "$work/oc.err"
	wait_pid $spid 20
	src=$?
	if [ $src -eq 0 ] && [ "$(field "$work/s.out" bytes_in)" = $((${#msg1} + 1)) ] &&
		grep -q "requesting ours" "$work/s.out"; then
		ok "KeyUpdate ('K', asks for ours) with RX in userspace and TX in a kernel without rekey: EKEYEXPIRED, data before it intact"
	else
		not_ok "KeyUpdate ('K') with KTLS_KEYUPDATE_FOLLOW" "$work/s.out" "$work/s.err" "$work/oc.err"
	fi
	done_testing
	exit
fi

# ---- 1. s_client 'k' and 'K' against the blocking API ------------------------
printf '%s\n%s\n%s\n' "$msg1" "$msg2" "$msg3" > "$work/msgs"
next_port
snap before
"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" --tls 1.3 \
	--recv-bytes "$(stat -c %s "$work/msgs")" --expect-kernel both --timeout 30 \
	> "$work/s.out" 2> "$work/s.err" &
spid=$!
wait_port $port
{ echo "$msg1"; sleep 1; echo k; sleep 1; echo "$msg2"; sleep 1; echo K; sleep 1; echo "$msg3"; sleep 1; } |
	timeout 30 openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile "$pki/ca.pem" \
		> "$work/oc.out" 2> "$work/oc.err"
wait_pid $spid 20
src=$?
snap after
why=$(rekey_counts $((1 + probe_txrekey)) 2 2)
[ $src -eq 0 ] || why="$why server exit $src"
[ "$(field "$work/s.out" sha256_in)" = "$(sha "$work/msgs")" ] || why="$why bytes differ"
[ "$(field "$work/s.out" key_updates_in)/$(field "$work/s.out" key_updates_out)" = 2/1 ] ||
	why="$why updates in/out $(field "$work/s.out" key_updates_in)/$(field "$work/s.out" key_updates_out)"
[ "$(field "$work/s.out" kernel_rx)" = ok ] || why="$why RX not in the kernel"
if [ -z "$why" ]; then
	ok "blocking API: s_client's 'k' and 'K' followed in the kernel, ours sent for 'K'; bytes identical; TlsRxRekeyReceived +2, TlsRxRekeyOk +2, TlsTxRekeyOk +1"
else
	not_ok "blocking API, s_client k and K:$why" "$work/s.out" "$work/s.err" "$work/oc.err"
fi

# ---- 2. s_client 'k' and 'K' against ktls serve -------------------------------
www=$work/www
mkdir -p "$www"
{ echo "marker-of-the-page"; head -c 3000 /dev/urandom | base64; } > "$www/page.txt"
next_port
snap before
"$ktls" serve -r "$www" -b 127.0.0.1 -p $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
	> "$work/serve.log" 2> "$work/serve.err" &
srvpid=$!
wait_port $port
req='GET /page.txt HTTP/1.1\r\nHost: localhost\r\n\r\n'
last='GET /page.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
{ printf "$req"; sleep 1; echo k; sleep 1; printf "$req"; sleep 1; echo K; sleep 1; printf "$last"; sleep 2; } |
	timeout 30 openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile "$pki/ca.pem" \
		> "$work/oc.out" 2> "$work/oc.err"
kill -TERM $srvpid
wait_pid $srvpid 10
snap after
why=$(rekey_counts $((1 + probe_txrekey)) 2 2)
[ "$(grep -c ' via=kernel-send$' "$work/serve.log")" -eq 3 ] || why="$why not three kernel-send responses (a 4 KiB page goes with its head)"
# Three responses, each 200 with a body identical to the file.
python3 - "$work/oc.out" "$www/page.txt" > "$work/bodies" <<'PY' || why="$why responses: $(cat "$work/bodies")"
import sys
data, page = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
# s_client (not -quiet, which would ignore 'k') prints the session first.
data = data[data.find(b"HTTP/1.1 "):]
n = 0
while data:
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = [int(l.split(b":")[1]) for l in lines if l.lower().startswith(b"content-length:")]
    if lines[0] != b"HTTP/1.1 200 OK" or length != [len(page)] or rest[:len(page)] != page:
        sys.exit("response %d differs" % (n + 1))
    data, n = rest[len(page):], n + 1
    if n == 3:
        break
if n != 3:
    sys.exit("%d responses" % n)
PY
if [ -z "$why" ]; then
	ok "ktls serve: s_client's 'k' and 'K' between requests followed in the kernel, ours sent for 'K'; three identical responses; TlsRxRekeyReceived +2, TlsRxRekeyOk +2, TlsTxRekeyOk +1"
else
	not_ok "ktls serve, s_client k and K:$why" "$work/serve.log" "$work/serve.err" "$work/oc.err"
fi

# ---- 2b. an honest peer updating five times a second during a long response ---
# GnuTLS refuses more than 8 KeyUpdates a second as a flood.  A server that
# read them only between responses would meet them all at once at the end
# and cut the peer off; ktls serve reads them as they come.  (openssl
# s_client reads no commands while data streams in: hostile-peer, in its
# honest mode, plays the peer.)
head -c $((160 << 20)) /dev/urandom > "$www/long.bin"
next_port
snap before
"$ktls" serve -r "$www" -b 127.0.0.1 -p $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
	--send-timeout 60 > "$work/serve.log" 2> "$work/serve.err" &
srvpid=$!
wait_port $port
"$KTLS_BUILD/tests/lib/hostile-peer" --connect 127.0.0.1:$port --case keyupdate-while-reading \
	--fragments 12 --ca "$pki/ca.pem" --server-name localhost --wait-ms 30000 \
	--request 'GET /long.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
	> "$work/hp.out" 2> "$work/hp.err"
kill -TERM $srvpid
wait_pid $srvpid 10
snap after
n=$(grep -o 'updates_sent=[0-9]*' "$work/hp.out" | cut -d= -f2)
why=$(rekey_counts $((probe_txrekey)) "${n:-0}" "${n:-0}")
grep -q 'result=ok' "$work/hp.out" || why="$why $(grep -o 'result=[a-z]*' "$work/hp.out")"
[ "${n:-0}" -ge 9 ] || why="$why only ${n:-0} updates sent during the response"
got=$(grep -o 'reply_bytes=[0-9]*' "$work/hp.out" | cut -d= -f2)
[ "${got:-0}" -gt $((160 << 20)) ] || why="$why reply of ${got:-0} bytes"
grep -q '"GET /long.bin" 200 '$((160 << 20))' via=kernel-splice$' "$work/serve.log" ||
	why="$why not logged as a whole kernel-splice response"
if [ -z "$why" ]; then
	ok "ktls serve: $n KeyUpdates, five a second, during one 160 MiB response: each followed as it came, the whole response delivered, TlsRxRekeyOk +$n"
else
	not_ok "KeyUpdates during a long response:$why" "$work/hp.out" "$work/hp.err" "$work/serve.log" "$work/serve.err"
fi

# ---- 2c. closing with KeyUpdates unread ----------------------------------------
# The server (the blocking API) reads the request, sends 64 MiB and closes,
# while the peer's KeyUpdates (one every 200 ms as it reads) wait unread.
# close(2) with unread input sends a reset that makes the peer drop what it
# has not read yet; libktls reads what is queued first, following each
# update (the kernel would hold every record behind one unreadable), so the
# close is a FIN and the peer gets every byte.  Three updates (at 200, 400
# and 600 ms) during a transfer of over a second: all of them reach the
# server before it closes.  One that came after the close would meet a
# closed socket, whose answer is a reset whatever the server did (a CI run
# saw that with 12 updates, one every 200 ms, until the peer had read all).
make_payload "$work/data" $((64 << 20))
req='GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
next_port
snap before
"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" --tls 1.3 \
	--recv-bytes "$(printf "$req" | wc -c)" --send "$work/data" --expect-kernel both --timeout 30 \
	> "$work/s.out" 2> "$work/s.err" &
spid=$!
wait_port $port
"$KTLS_BUILD/tests/lib/hostile-peer" --connect 127.0.0.1:$port --case keyupdate-while-reading \
	--fragments 3 --ca "$pki/ca.pem" --server-name localhost --wait-ms 30000 --request "$req" \
	> "$work/hp.out" 2> "$work/hp.err"
wait_pid $spid 20
src=$?
snap after
why=
[ $src -eq 0 ] || why="$why server exit $src"
grep -q 'result=ok' "$work/hp.out" || why="$why $(grep -o 'result=[a-z]*' "$work/hp.out")"
[ "$(grep -o 'reply_bytes=[0-9]*' "$work/hp.out" | cut -d= -f2)" = $((64 << 20)) ] ||
	why="$why reply of $(grep -o 'reply_bytes=[0-9]*' "$work/hp.out") bytes"
[ "$(d TlsRxRekeyOk)" -ge 1 ] && [ "$(d TlsRxRekeyOk)" = "$(d TlsRxRekeyReceived)" ] ||
	why="$why TlsRxRekeyOk +$(d TlsRxRekeyOk), TlsRxRekeyReceived +$(d TlsRxRekeyReceived)"
for e in TlsTxRekeyError TlsRxRekeyError TlsDecryptError; do
	[ "$(d $e)" -eq 0 ] || why="$why $e +$(d $e)"
done
if [ -z "$why" ]; then
	ok "closing with KeyUpdates unread: $(d TlsRxRekeyOk) followed while draining, a FIN, and the peer got all 64 MiB"
else
	not_ok "close with unread KeyUpdates:$why" "$work/s.out" "$work/s.err" "$work/hp.out" "$work/hp.err"
fi

# ---- 3. ktls get receiving 'k' and 'K' from s_server --------------------------
# Decimal digits: s_server takes a stdin read that starts with one of several
# letters (Q, q, c, P, R, ...) as a command, and digits never are.
for i in 1 2 3; do head -c 150000 /dev/urandom | od -An -v -tu1 | tr -d ' ' > "$work/part$i"; done
cat "$work/part1" "$work/part2" "$work/part3" > "$work/body"
printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
	"$(stat -c %s "$work/body")" > "$work/head"
next_port
snap before
# s_server sends what it reads on stdin; a read of just "k\n" or "K\n" is a
# KeyUpdate instead, so each one goes alone, between pauses.
{ sleep 2; cat "$work/head" "$work/part1"; sleep 0.7; echo k; sleep 0.7; cat "$work/part2"; sleep 0.7
	echo K; sleep 0.7; cat "$work/part3"; sleep 3; } |
	timeout 30 openssl s_server -accept $port -tls1_3 -cert "$pki/server.pem" -key "$pki/server-key.pem" \
		> "$work/os.out" 2> "$work/os.err" &
ospid=$!
wait_port $port
timeout 25 "$ktls" get -v --ca "$pki/ca.pem" "https://localhost:$port/" -o "$work/got" \
	2> "$work/get.err"
grc=$?
wait_pid $ospid 10 > /dev/null
snap after
why=$(rekey_counts $((1 + probe_txrekey)) 2 2)
[ $grc -eq 0 ] || why="$why ktls get exit $grc"
[ "$(sha "$work/got")" = "$(sha "$work/body")" ] || why="$why body differs"
[ "$(grep -c '<- KeyUpdate' "$work/get.err")" -eq 2 ] || why="$why trace: not two KeyUpdates received"
[ "$(grep -c -- '-> KeyUpdate' "$work/get.err")" -eq 1 ] || why="$why trace: not one KeyUpdate sent"
grep -Eq "^  RX +kernel" "$work/get.err" || why="$why RX not in the kernel"
if [ -z "$why" ]; then
	ok "ktls get: s_server's 'k' and 'K' during the body followed in the kernel, ours sent for 'K'; body identical; TlsRxRekeyReceived +2, TlsRxRekeyOk +2, TlsTxRekeyOk +1"
else
	not_ok "ktls get from s_server with k and K:$why" "$work/get.err" "$work/os.err"
fi

# ---- 4. ktls_conn_rekey() 1,000 times during one transfer ---------------------
make_payload "$work/data" $((4 << 20))
next_port
snap before
{ sleep 25; } | timeout 40 openssl s_server -quiet -accept $port -tls1_3 -cert "$pki/server.pem" \
	-key "$pki/server-key.pem" > "$work/os.out" 2> "$work/os.err" &
ospid=$!
wait_port $port
"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost --tls 1.3 \
	--send "$work/data" --chunk 4096 --rekey 1000 --recv-bytes 0 --shutdown --expect-kernel both \
	--timeout 30 > "$work/c.out" 2> "$work/c.err"
crc=$?
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$work/os.out")" -ge $((4 << 20)) ] && break
	sleep 0.1
done
kill $ospid 2>/dev/null
wait $ospid 2>/dev/null
snap after
why=$(rekey_counts $((1000 + probe_txrekey)) 0 0)
[ $crc -eq 0 ] || why="$why client exit $crc"
[ "$(field "$work/c.out" key_updates_out)" = 1000 ] || why="$why key_updates_out=$(field "$work/c.out" key_updates_out)"
head -c $((4 << 20)) "$work/os.out" | cmp -s - "$work/data" || why="$why s_server received other bytes"
if [ -z "$why" ]; then
	ok "ktls_conn_rekey() 1000 times during 4 MiB to s_server: every byte identical, TlsTxRekeyOk +1000"
else
	not_ok "1000 rekeys to s_server:$why" "$work/c.out" "$work/c.err" "$work/os.err"
fi

# ---- 5. the AEAD usage limit, lowered for the test ----------------------------
# 64 records per key: the library must update the key by itself, several
# times in 8 MiB, and each update is the kernel's (TlsTxRekeyOk).
make_payload "$work/data" $((8 << 20))
next_port
snap before
{ sleep 25; } | timeout 40 openssl s_server -quiet -accept $port -tls1_3 -cert "$pki/server.pem" \
	-key "$pki/server-key.pem" > "$work/os.out" 2> "$work/os.err" &
ospid=$!
wait_port $port
KTLS_TEST_KEY_RECORD_LIMIT=64 "$peer" --client --port $port --ca "$pki/ca.pem" \
	--server-name localhost --tls 1.3 --send "$work/data" --recv-bytes 0 --shutdown \
	--expect-kernel both --timeout 30 > "$work/c.out" 2> "$work/c.err"
crc=$?
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$work/os.out")" -ge $((8 << 20)) ] && break
	sleep 0.1
done
kill $ospid 2>/dev/null
wait $ospid 2>/dev/null
snap after
n=$(field "$work/c.out" key_updates_out)
why=$(rekey_counts $((${n:-0} + probe_txrekey)) 0 0)
[ $crc -eq 0 ] || why="$why client exit $crc"
# 8 MiB is at least 512 records: at least 8 keys' worth of 64.
[ "${n:-0}" -ge 7 ] || why="$why only ${n:-0} updates"
head -c $((8 << 20)) "$work/os.out" | cmp -s - "$work/data" || why="$why s_server received other bytes"
if [ -z "$why" ]; then
	ok "usage limit (64 records per key, test knob), blocking API to s_server: $n updates by the library, bytes identical, TlsTxRekeyOk +$n"
else
	not_ok "usage-limit rekey, blocking API:$why" "$work/c.out" "$work/c.err" "$work/os.err"
fi

next_port
snap before
head -c $((8 << 20)) /dev/urandom > "$www/big.bin"
KTLS_TEST_KEY_RECORD_LIMIT=64 "$ktls" serve -r "$www" -b 127.0.0.1 -p $port --cert "$pki/server.pem" \
	--key "$pki/server-key.pem" > "$work/serve.log" 2> "$work/serve.err" &
srvpid=$!
wait_port $port
curl -s --tlsv1.3 --cacert "$pki/ca.pem" "https://localhost:$port/big.bin" -o "$work/got" \
	--resolve "localhost:$port:127.0.0.1" 2> "$work/curl.err"
crc=$?
kill -TERM $srvpid
wait_pid $srvpid 10
snap after
n=$(( $(d TlsTxRekeyOk) - probe_txrekey ))
why=$(rekey_counts $((n + probe_txrekey)) 0 0)
[ $crc -eq 0 ] || why="$why curl exit $crc"
[ "$n" -ge 7 ] || why="$why only $n updates"
[ "$(sha "$work/got")" = "$(sha "$www/big.bin")" ] || why="$why body differs"
grep -q '"GET /big.bin" 200 .* via=kernel-splice$' "$work/serve.log" || why="$why not a kernel-splice 200"
if [ -z "$why" ]; then
	ok "usage limit (64 records per key, test knob), ktls serve's engine to curl: $n updates by the library, body identical, errors none"
else
	not_ok "usage-limit rekey, ktls serve:$why" "$work/serve.log" "$work/serve.err" "$work/curl.err"
fi

done_testing
