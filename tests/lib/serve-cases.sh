# ktls serve test cases, shared by the host test (tests/unit/test-serve.sh,
# GnuTLS records: no kTLS there) and the kernel test (tests/kernel/serve.sh).
# Sourced after the caller set: ktls coalesce work pki port; and ok, not_ok,
# next_port, wait_port, wait_pid, sha (tests/kernel/lib.sh has them).
#
# SERVE_BIG: size of the big file (bytes); SERVE_VIA: what the access log
# must say for file bodies (kernel-splice or userspace).

www=$work/www
srv_pid=
srv_log=
srv_err=

serve_make_root() {
	mkdir -p "$www/sub" "$work/outside"
	head -c "$SERVE_BIG" /dev/urandom > "$www/big.bin"
	head -c 65536 /dev/urandom > "$www/small.bin"
	# over the 64 KiB ktls serve sends from memory: spliced from the file
	head -c 98304 /dev/urandom > "$www/mid.bin"
	echo "<p>hello</p>" > "$www/index.html"
	echo "sub index" > "$www/sub/index.html"
	echo "secret outside the root" > "$work/outside/secret.txt"
	ln -s ../outside/secret.txt "$www/escape.txt"
	ln -s /etc/passwd "$www/abs.txt"
	ln -s small.bin "$www/inside-link.bin"
	touch -d "2020-01-01 00:00:00 UTC" "$www/index.html"
}

# serve_start [options]: a server on $port with the test PKI.
# A server that cannot bind (some other socket holds the port) is started
# again on the next port; the cases use $port, whatever it became.
serve_start() {
	local try
	for try in 1 2 3; do
		srv_log=$work/serve-$port.log
		srv_err=$work/serve-$port.err
		"$ktls" serve -r "$www" -b 127.0.0.1 -p "$port" --cert "$pki/server.pem" \
			--key "$pki/server-key.pem" "$@" > "$srv_log" 2> "$srv_err" &
		srv_pid=$!
		serve_listening && return 0
		sed 's/^/# ktls serve did not listen: /' "$srv_err"
		wait "$srv_pid" 2>/dev/null
		next_port
	done
	return 1
}

# Until the server listens on $port (0), or it has exited or 10 s passed (1).
serve_listening() {
	for _ in $(seq 1 200); do
		[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
		kill -0 "$srv_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	kill "$srv_pid" 2>/dev/null
	return 1
}

# serve_stop: SIGTERM; the server must exit 0 by itself.
serve_stop() {
	kill -TERM "$srv_pid" 2>/dev/null
	wait_pid "$srv_pid" 20
}

# A server that is still there answers the next client: 200 and the right bytes.
serve_alive() {
	[ "$(get "/small.bin" -o "$work/alive.bin" -w '%{http_code}')" = 200 ] &&
		[ "$(sha "$work/alive.bin")" = "$(sha "$www/small.bin")" ]
}

get() { # path [curl options]
	local p=$1
	shift
	curl -s --max-time 120 --cacert "$pki/ca.pem" --resolve "localhost:$port:127.0.0.1" \
		"https://localhost:$port$p" "$@"
}

# raw "request text": one request over openssl s_client; the response on stdout.
raw() {
	printf "$1" | timeout "${RAW_TIMEOUT:-20}" openssl s_client -quiet -connect "127.0.0.1:$port" \
		-servername localhost -CAfile "$pki/ca.pem" 2>/dev/null
}
status_of() { head -1 | tr -d '\r' | cut -d' ' -f2; }

# Access-log lines for a request target.
log_lines() { grep -F "\"GET $1\"" "$srv_log"; }

# log_wait target n: until the log has more than n lines for target (5 s at
# most).  The server logs a response when its last send completes, which
# may be a moment after the client has every byte and exits; an aborted one
# when it notices the client has gone.
log_wait() {
	for _ in $(seq 1 50); do
		[ "$(log_lines "$1" | wc -l)" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

case_downloads() { # the big file by curl, wget and openssl s_client
	local want got n n0
	want=$(sha "$www/big.bin")
	n0=$(log_lines /big.bin | wc -l)
	got=$(get /big.bin -o "$work/curl.bin" -w '%{http_code}')
	if [ "$got" = 200 ] && [ "$(sha "$work/curl.bin")" = "$want" ] && log_wait /big.bin "$n0" &&
		log_lines /big.bin | tail -1 | grep -q " 200 $SERVE_BIG via=$SERVE_VIA\$"; then
		ok "curl downloads $SERVE_BIG bytes, sha256 equal, log says via=$SERVE_VIA"
	else
		not_ok "curl download (status $got)" "$srv_log" "$srv_err"
	fi
	rm -f "$work/curl.bin"
	if wget -q --ca-certificate="$pki/ca.pem" -O "$work/wget.bin" \
		"https://localhost:$port/big.bin" 2> "$work/wget.err" ||
		[ -s "$work/wget.bin" ]; then :; fi
	if [ "$(sha "$work/wget.bin")" = "$want" ]; then
		ok "wget downloads the big file, sha256 equal"
	else
		not_ok "wget download" "$work/wget.err" "$srv_err"
	fi
	rm -f "$work/wget.bin"
	RAW_TIMEOUT=600 raw "GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" \
		> "$work/ossl.bin"
	n=$(stat -c %s "$work/ossl.bin")
	if head -1 "$work/ossl.bin" | grep -q "^HTTP/1.1 200 OK" &&
		[ "$(tail -c "$SERVE_BIG" "$work/ossl.bin" | sha256sum | cut -d' ' -f1)" = "$want" ] &&
		[ "$n" -gt "$SERVE_BIG" ] && [ "$n" -lt $((SERVE_BIG + 1024)) ]; then
		ok "openssl s_client downloads the big file, sha256 equal"
	else
		not_ok "openssl s_client download ($n bytes)" "$srv_err"
	fi
	rm -f "$work/ossl.bin"
}

case_ranges() {
	local code size
	size=$SERVE_BIG
	code=$(get /big.bin -r 1000-200999 -o "$work/r1" -D "$work/r1.h" -w '%{http_code}')
	if [ "$code" = 206 ] && cmp -s "$work/r1" <(tail -c +1001 "$www/big.bin" | head -c 200000) &&
		grep -qi "^Content-Range: bytes 1000-200999/$size" "$work/r1.h"; then
		ok "range 1000-200999: 206, the right bytes and Content-Range"
	else
		not_ok "range 1000-200999 (status $code)" "$work/r1.h"
	fi
	code=$(get /big.bin -r -4096 -o "$work/r2" -w '%{http_code}')
	if [ "$code" = 206 ] && cmp -s "$work/r2" <(tail -c 4096 "$www/big.bin"); then
		ok "suffix range -4096: 206, the last 4096 bytes"
	else
		not_ok "suffix range (status $code)"
	fi
	code=$(get /big.bin -r $((size / 2))- -o "$work/r3" -w '%{http_code}')
	if [ "$code" = 206 ] && cmp -s "$work/r3" <(tail -c +$((size / 2 + 1)) "$www/big.bin"); then
		ok "open range from the middle: 206, sha256 equal"
	else
		not_ok "open range (status $code)"
	fi
	code=$(get /big.bin -r "$size"- -o "$work/r4" -D "$work/r4.h" -w '%{http_code}')
	if [ "$code" = 416 ] && grep -qi "^Content-Range: bytes \*/$size" "$work/r4.h"; then
		ok "range past the end: 416 with Content-Range bytes */$size"
	else
		not_ok "range past the end (status $code)" "$work/r4.h"
	fi
	rm -f "$work"/r[1-4]
}

case_head_conditional() {
	local code
	code=$(get /big.bin -I -o "$work/h.h" -w '%{http_code}')
	if [ "$code" = 200 ] && grep -qi "^Content-Length: $SERVE_BIG" "$work/h.h" &&
		grep -qi "^Last-Modified: " "$work/h.h" &&
		grep -qi "^Content-Type: application/octet-stream" "$work/h.h"; then
		ok "HEAD: 200 with Content-Length, Last-Modified, Content-Type and no body"
	else
		not_ok "HEAD (status $code)" "$work/h.h"
	fi
	code=$(get /index.html -o "$work/i.html" -D "$work/i.h" -w '%{http_code}')
	if [ "$code" = 200 ] && grep -qi "^Content-Type: text/html" "$work/i.h" &&
		grep -qi "^Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT" "$work/i.h"; then
		ok "Content-Type from the extension, Last-Modified from the file"
	else
		not_ok "index.html headers (status $code)" "$work/i.h"
	fi
	code=$(get /index.html -H "If-Modified-Since: Wed, 01 Jan 2020 00:00:00 GMT" -o /dev/null \
		-w '%{http_code}')
	code2=$(get /index.html -H "If-Modified-Since: Tue, 31 Dec 2019 23:59:59 GMT" -o /dev/null \
		-w '%{http_code}')
	if [ "$code" = 304 ] && [ "$code2" = 200 ]; then
		ok "If-Modified-Since: 304 when not modified since, 200 when modified"
	else
		not_ok "If-Modified-Since ($code, $code2)"
	fi
	# Date is the time of the response: the server's cached second ends with the second.
	local t0 t1 d1 d2 t2 t3
	t0=$(date +%s)
	d1=$(get /index.html -I | tr -d '\r' | sed -n 's/^[Dd]ate: //p')
	t1=$(date +%s)
	sleep 2.2
	t2=$(date +%s)
	d2=$(get /index.html -I | tr -d '\r' | sed -n 's/^[Dd]ate: //p')
	t3=$(date +%s)
	d1=$(date -d "$d1" +%s 2>/dev/null || echo 0)
	d2=$(date -d "$d2" +%s 2>/dev/null || echo 0)
	if [ "$d1" -ge "$t0" ] && [ "$d1" -le "$t1" ] && [ "$d2" -ge "$t2" ] && [ "$d2" -le "$t3" ]; then
		ok "Date is the time of each response (two of them 2.2 s apart)"
	else
		not_ok "Date: $d1 not in $t0..$t1, or $d2 not in $t2..$t3"
	fi
	code=$(get /sub/ -o "$work/sub" -w '%{http_code}')
	if [ "$code" = 200 ] && [ "$(cat "$work/sub")" = "sub index" ]; then
		ok "a directory serves its index.html"
	else
		not_ok "directory index (status $code)"
	fi
}

case_keepalive() {
	local u="https://localhost:$port" peers
	curl -s --cacert "$pki/ca.pem" --resolve "localhost:$port:127.0.0.1" "$u/small.bin" \
		"$u/small.bin" "$u/index.html" -o "$work/k1" -o "$work/k2" -o "$work/k3" \
		-w '%{num_connects}\n' > "$work/k.out"
	peers=$(grep -F '"GET /small.bin"' "$srv_log" | tail -2 | cut -d' ' -f1 | sort -u | wc -l)
	if cmp -s "$work/k1" "$www/small.bin" && cmp -s "$work/k2" "$www/small.bin" &&
		[ "$peers" = 1 ] && [ "$(tr '\n' ' ' < "$work/k.out")" = "1 0 0 " ]; then
		ok "keep-alive: three requests on one connection"
	else
		not_ok "keep-alive (peers $peers)" "$work/k.out"
	fi
}

case_errors() { # status for bad requests and paths outside the root
	local t want got
	while IFS='|' read -r want t; do
		got=$(raw "$t" | status_of)
		if [ "$got" = "$want" ]; then
			ok "$want for ${t%%\\r*}"
		else
			not_ok "expected $want, got '$got' for ${t%%\\r*}"
		fi
	done <<EOF
404|GET /nothing-here HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET /../outside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET /sub/../../outside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET /%%2e%%2e/outside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET /escape.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET /abs.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
400|GET http://localhost/etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n
200|GET https://localhost/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
200|GET HTTPS://elsewhere.example:8443/sub/?q=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
200|GET https://localhost HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
403|GET https://localhost/../outside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
400|GET https://user@localhost/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
400|GET https:///index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n
400|GET /%%2fetc%%2fpasswd HTTP/1.1\r\nHost: localhost\r\n\r\n
405|POST /small.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n
400|GET / HTTP/1.1\r\n\r\n
400|GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n
400|garbage\r\n\r\n
EOF
	got=$(raw "GET /$(head -c 3000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: localhost\r\n\r\n" |
		status_of)
	[ "$got" = 414 ] && ok "414 for a 3000-byte request-target" || not_ok "414 (got '$got')"
	got=$(raw "GET / HTTP/1.1\r\nHost: localhost\r\n$(for i in $(seq 300); do
		printf 'X-Pad-%d: %040d\\r\\n' "$i" 0; done)\r\n" | status_of)
	[ "$got" = 431 ] && ok "431 for a 16 KiB request head" || not_ok "431 (got '$got')"
	got=$(get /inside-link.bin -o "$work/il" -w '%{http_code}')
	if [ "$got" = 200 ] && cmp -s "$work/il" "$www/small.bin"; then
		ok "a symlink that stays inside the root is served"
	else
		not_ok "symlink inside the root (status $got)"
	fi
	if ! grep -q "secret outside" "$srv_log" && serve_alive; then
		ok "after the bad requests the server still serves the next client"
	else
		not_ok "server after bad requests" "$srv_err"
	fi
}

case_coalesce() { # the request arrives in the same segment as the client's Finished
	local req=$'GET /small.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	"$coalesce" --tls 1.3 --port "$port" --ca "$pki/ca.pem" --message "$req" \
		--output "$work/co.out" 2> "$work/co.err"
	local rc=$?
	if [ $rc -eq 0 ] && head -1 "$work/co.out" | grep -q "^HTTP/1.1 200" &&
		[ "$(tail -c 65536 "$work/co.out" | sha256sum | cut -d' ' -f1)" = "$(sha "$www/small.bin")" ]; then
		ok "a request sent with the client's Finished (one segment) is answered: 200, sha256 equal"
	else
		not_ok "request coalesced with Finished (exit $rc)" "$work/co.err" "$srv_err"
	fi
}

case_slowloris() { # needs a server with --header-timeout 1 --idle-timeout 2
	local start end got
	start=$(date +%s)
	got=$( (printf 'GET /small.bin HTTP/1.1\r\nHost: local'; sleep 4) |
		timeout 15 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
			-CAfile "$pki/ca.pem" 2>/dev/null | status_of)
	end=$(date +%s)
	if [ "$got" = 408 ] && serve_alive; then
		ok "slowloris: an unfinished request head gets 408 and is closed; others are served"
	else
		not_ok "slowloris (got '$got' after $((end - start)) s)" "$srv_err"
	fi
	# idle keep-alive: closed with close_notify, seen by gnutls-cli as a proper close
	(sleep 5) | timeout 15 gnutls-cli --x509cafile "$pki/ca.pem" -p "$port" localhost \
		> "$work/idle.out" 2>&1
	if grep -q "Peer has closed the GnuTLS connection" "$work/idle.out" && serve_alive; then
		ok "an idle connection is closed after the idle timeout, with close_notify"
	else
		not_ok "idle timeout" "$work/idle.out"
	fi
}

case_vanish() { # a client that goes away in the middle of a body
	local line n n0
	n0=$(log_lines /big.bin | wc -l)
	get /big.bin | head -c 100000 > /dev/null
	log_wait /big.bin "$n0"
	if serve_alive; then
		ok "a client that vanishes mid-transfer does not disturb the server"
	else
		not_ok "client vanishing mid-transfer" "$srv_err"
	fi
	# The log counts what went out (it said "200 0" for an aborted body): whole
	# 16 KiB records the client acknowledged, of which it read 100000 bytes.
	line=$(log_lines /big.bin | tail -1)
	n=$(printf '%s' "$line" | awk '{ print $(NF - 1) }')
	if printf '%s' "$line" | grep -q '" 200 [0-9]* via=' && [ "${n:-0}" -ge 98304 ] &&
		[ "$n" -le "$SERVE_BIG" ]; then
		ok "the aborted transfer is logged with the bytes that went out ($n of $SERVE_BIG)"
	else
		not_ok "log line of the aborted transfer: $line" "$srv_log"
	fi
}

case_sigterm() { # SIGTERM: connections are closed with close_notify; exit 0
	(sleep 20) | timeout 25 gnutls-cli --x509cafile "$pki/ca.pem" -p "$port" localhost \
		> "$work/term.out" 2>&1 &
	local cli=$!
	for _ in $(seq 1 100); do
		grep -q "Handshake was completed" "$work/term.out" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	serve_stop
	local rc=$?
	wait "$cli" 2>/dev/null
	if [ $rc -eq 0 ] && grep -q "Peer has closed the GnuTLS connection" "$work/term.out" &&
		grep -q "ktls serve: stopped" "$srv_err"; then
		ok "SIGTERM: an idle connection gets close_notify, the server exits 0"
	else
		not_ok "SIGTERM (exit $rc)" "$work/term.out" "$srv_err"
	fi
}

# SIGTERM with handshakes in progress: each client is told user_canceled, then
# close_notify (RFC 8446 section 6.1), plaintext before the ServerHello and
# protected after it.  hostile-peer (next to coalesce-peer) plays the stalled
# clients: half a ClientHello, or the whole first flight read and the second
# (up to Finished) withheld.
case_sigterm_handshake() {
	local peer bad="" rc c out pids=""
	peer=$(dirname "$coalesce")/hostile-peer
	next_port
	serve_start
	for c in ch-half-record:1.3 ch-half-record:1.2 withhold-flight:1.3 withhold-flight:1.2; do
		"$peer" --connect "127.0.0.1:$port" --case "${c%:*}" --tls "${c#*:}" \
			--ca "$pki/ca.pem" --server-name localhost --wait-ms 15000 \
			> "$work/sth-$c.out" 2> "$work/sth-$c.err" &
		pids="$pids $!"
	done
	for _ in $(seq 1 100); do
		[ "$(cat "$work"/sth-*.err | grep -c "^hostile-peer: \(sending\|withholding\)")" -ge 4 ] &&
			break
		sleep 0.1
	done
	sleep 0.3
	serve_stop
	rc=$?
	for c in $pids; do wait_pid "$c" 20; done
	for c in ch-half-record:1.3 ch-half-record:1.2 withhold-flight:1.3 withhold-flight:1.2; do
		out=$(cat "$work/sth-$c.out")
		echo "# $out"
		printf '%s' "$out" |
			grep -q " result=alert alert=90 alert_name=user_canceled level=1 .*then=close_notify" ||
			bad="$bad $c"
	done
	if [ $rc -eq 0 ] && [ -z "$bad" ]; then
		ok "SIGTERM during handshakes: user_canceled then close_notify, before and after the ServerHello, TLS 1.3 and 1.2; exit 0"
	else
		not_ok "SIGTERM during handshakes (exit $rc; wrong answer to:$bad)" "$srv_err" \
			"$work"/sth-*.err
	fi
}

case_selfsigned() { # no certificate: one is made and its fingerprint printed
	"$ktls" serve -r "$www" -b 127.0.0.1 -p "$port" > /dev/null 2> "$work/ss.err" &
	local pid=$!
	wait_port "$port"
	local fp printed
	fp=$(openssl s_client -connect "127.0.0.1:$port" < /dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
	printed=$(grep -o "SHA-256 [0-9A-F:]*" "$work/ss.err" | cut -d' ' -f2)
	kill -TERM $pid
	wait_pid $pid 20
	local rc=$?
	if [ -n "$fp" ] && [ "$fp" = "$printed" ] && [ $rc -eq 0 ]; then
		ok "no certificate given: a self-signed one is made and its fingerprint printed"
	else
		not_ok "self-signed certificate (served '$fp', printed '$printed', exit $rc)" "$work/ss.err"
	fi
}

# case_many N: N connections open at once on one server thread (many-get
# completes every handshake before any request), each body sha256-checked;
# the server's memory per idle connection goes to the TAP log, and with
# MANY_HEAP_MAX set it must be at most that many bytes of heap.  One
# connection goes first, so that what the first one sets up for all (the
# session cache, the thread's heap) is not counted per connection.  Needs a
# server whose idle timeout outlasts N handshakes, and $many_get.
case_many() { # N [path]
	local n=$1 path=${2:-/small.bin} rss0 rss1 rc heap0 heap1 per
	"$many_get" --port "$port" --ca "$pki/ca.pem" --count 1 --path "$path" \
		--sha256 "$(sha "$www$path")" > /dev/null 2>&1
	rss0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$srv_pid/status")
	kill -USR1 "$srv_pid"
	sleep 0.3
	"$many_get" --port "$port" --ca "$pki/ca.pem" --count "$n" --path "$path" \
		--sha256 "$(sha "$www$path")" --hold-ms "${MANY_HOLD_MS:-1000}" \
		> "$work/many.out" 2> "$work/many.err" &
	local mpid=$!
	for _ in $(seq 1 $((n * 2 + 600))); do
		grep -q "^holding" "$work/many.out" 2>/dev/null && break
		kill -0 $mpid 2>/dev/null || break
		sleep 0.1
	done
	# The client is done with every handshake when it holds; the server may
	# still be finishing some (a loaded machine): measure once it is not.
	for _ in $(seq 1 40); do
		sleep 0.5
		kill -USR1 "$srv_pid"
		sleep 0.2
		tail -1 "$srv_err" | grep -q "^ktls serve: $n connections (0 in their handshake)" &&
			break
	done
	rss1=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$srv_pid/status")
	wait_pid $mpid $((n / 5 + 120))
	rc=$?
	heap0=$(grep -o "^ktls serve: 0 connections (0 in their handshake), heap in use [0-9]*" \
		"$srv_err" | head -1 | awk '{ print $NF }')
	heap1=$(grep -o "^ktls serve: $n connections (0 in their handshake), heap in use [0-9]*" \
		"$srv_err" | tail -1 | awk '{ print $NF }')
	per=$(( (${heap1:-0} - ${heap0:-0}) / n ))
	echo "# $n idle connections: server VmRSS $rss0 -> $rss1 kB," \
		"$(( (rss1 - rss0) * 1024 / n )) bytes per idle connection;" \
		"heap in use ${heap0:-?} -> ${heap1:-?} bytes, $per bytes per idle connection"
	if [ -n "${MANY_HEAP_MAX:-}" ]; then
		if [ -n "$heap0" ] && [ -n "$heap1" ] && [ "$per" -le "$MANY_HEAP_MAX" ]; then
			ok "an idle connection holds $per bytes of the server's heap (at most $MANY_HEAP_MAX)"
		else
			not_ok "an idle connection holds ${per} bytes of heap, over $MANY_HEAP_MAX" "$srv_err"
		fi
	fi
	if [ $rc -eq 0 ] && grep -q "^handshaken $n\$" "$work/many.out" &&
		grep -q "^ok=$n failed=0\$" "$work/many.out" && serve_alive; then
		ok "$n connections at once on one server thread: every handshake, then every $path sha256-correct"
	else
		grep -Ev "via=kernel-(splice|send)$" "$srv_log" | head -5 | sed 's/^/#   /'
		grep -v "^ktls serve: [0-9]* connections" "$srv_err" | sed 's/127\.0\.0\.1:[0-9]*/PEER/' |
			sort | uniq -c | sort -rn |
			head -10 | sed 's/^/#   /'
		sed 's/connection [0-9]*/connection N/; s/sha256 [0-9a-f]*/sha256 X/' "$work/many.err" |
			sort | uniq -c | sort -rn | head -5 | sed 's/^/#   /'
		not_ok "$n connections at once (many-get exit $rc)" "$work/many.out"
	fi
}

# After serve_stop: the server had N connections open at the same time.
check_peak() {
	local peak
	peak=$(grep -o "at most [0-9]* connections" "$srv_err" | cut -d' ' -f3)
	if [ "${peak:-0}" -ge "$1" ]; then
		ok "the server thread held $peak connections at once"
	else
		not_ok "peak connections ${peak:-?} < $1" "$srv_err"
	fi
}

case_client_cert() { # needs a server with --ca "$pki/ca.pem": client certificates required
	local with without
	without=$(get /index.html -o /dev/null -w '%{http_code}' 2>/dev/null)
	with=$(get /index.html --cert "$pki/client.pem" --key "$pki/client-key.pem" -o "$work/cc" \
		-w '%{http_code}')
	if [ "$without" != 200 ] && [ "$with" = 200 ] && grep -q hello "$work/cc"; then
		ok "--ca: a client without a certificate is refused, one with a certificate is served"
	else
		not_ok "client certificates (without: '$without', with: '$with')" "$srv_err"
	fi
}

# case_psk [IDENTITY [WHAT]]: needs a server with --psk (or --psk-file)
# IDENTITY:00112233445566778899aabbccddeeff (IDENTITY ktls-test by default), no --cert
case_psk() {
	local id=${1:-ktls-test} what=${2:---psk}
	(printf 'GET /index.html HTTP/1.1\nHost: localhost\nConnection: close\n\n'; sleep 3) |
		timeout 15 gnutls-cli --pskusername "$id" \
			--pskkey 00112233445566778899aabbccddeeff \
			--priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK" -p "$port" localhost \
			> "$work/psk.out" 2>&1
	if grep -q "^HTTP/1.1 200 OK" "$work/psk.out" && grep -q "<p>hello</p>" "$work/psk.out"; then
		ok "$what: a TLS 1.3 PSK client (gnutls-cli, identity $id) is served"
	else
		not_ok "PSK $what, identity $id" "$work/psk.out" "$srv_err"
	fi
}

case_threads() { # needs a server with --threads 2: SO_REUSEPORT spreads connections
	local lines
	"$many_get" --port "$port" --ca "$pki/ca.pem" --count 200 --path /small.bin \
		--sha256 "$(sha "$www/small.bin")" > "$work/th.out" 2> "$work/th.err"
	local rc=$?
	serve_stop
	lines=$(grep -Ec "thread [01]: at most [1-9][0-9]* connections" "$srv_err")
	if [ $rc -eq 0 ] && [ "$lines" = 2 ]; then
		ok "--threads 2: both threads (one ring and listener each) served connections, all correct"
	else
		not_ok "two threads (many-get exit $rc, $lines busy threads)" "$work/th.out" "$srv_err"
	fi
}

case_emfile() { # out of descriptors: accepting pauses, and resumes once some are free
	(ulimit -n 24; exec "$ktls" serve -r "$www" -b 127.0.0.1 -p "$port" --cert "$pki/server.pem" \
		--key "$pki/server-key.pem" > "$work/emf.log" 2> "$work/emf.err") &
	srv_pid=$! srv_err=$work/emf.err
	wait_port "$port"
	local fds="" fd t0 t1 code
	for _ in $(seq 30); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$port" && fds="$fds $fd"
	done
	sleep 1
	t0=$(awk '{ print $14 + $15 }' "/proc/$srv_pid/stat")
	sleep 1
	t1=$(awk '{ print $14 + $15 }' "/proc/$srv_pid/stat")
	for fd in $fds; do exec {fd}>&-; done
	sleep 0.5
	code=$(get /index.html -o /dev/null -w '%{http_code}')
	serve_stop
	local rc=$?
	if grep -q "accept: Too many open files" "$work/emf.err" && [ $((t1 - t0)) -lt 50 ] &&
		[ "$code" = 200 ] && [ $rc -eq 0 ]; then
		ok "out of descriptors: accepting pauses (no busy loop) and resumes; next client served"
	else
		not_ok "EMFILE (cpu ticks $((t1 - t0)), status $code, exit $rc)" "$work/emf.err"
	fi
}

case_pipeline() { # two requests in one write: answered in order on one connection
	raw "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /small.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" \
		> "$work/pipe.out"
	if [ "$(grep -c "^HTTP/1.1 200 OK" "$work/pipe.out")" = 2 ] &&
		grep -q "<p>hello</p>" "$work/pipe.out" && grep -qi "^Content-Length: 65536" "$work/pipe.out"; then
		ok "pipelined requests in one segment are answered in order"
	else
		not_ok "pipelining" "$work/pipe.out"
	fi
}

case_tls12() { # the same over TLS 1.2, and over each AES-GCM strength
	local c code ok_all=1
	for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
		ECDHE-ECDSA-CHACHA20-POLY1305; do
		code=$(get /mid.bin --tls-max 1.2 --ciphers "$c" -o "$work/t12" -w '%{http_code}')
		if [ "$code" != 200 ] || ! cmp -s "$work/t12" "$www/mid.bin"; then
			echo "# TLS 1.2 $c: status $code"
			ok_all=0
		fi
	done
	# Three lines, each logged when its last send completed (log_wait).
	for _ in $(seq 1 50); do
		log_lines /mid.bin | tail -3 | grep -c " 200 98304 via=$SERVE_VIA\$" | grep -qx 3 && break
		sleep 0.1
	done
	if [ $ok_all = 1 ] && log_lines /mid.bin | tail -3 | grep -c " 200 98304 via=$SERVE_VIA\$" | grep -qx 3; then
		ok "TLS 1.2 with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305: identical bytes, via=$SERVE_VIA"
	else
		tail -4 "$srv_log" | sed 's/^/#   log: /'
		not_ok "TLS 1.2 downloads" "$srv_err"
	fi
}

case_handshake_timeout() { # needs --handshake-timeout 2: a silent client, and one sending garbage
	local fd rc start end
	start=$(date +%s)
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	timeout 10 cat <&$fd > /dev/null
	rc=$?
	exec {fd}>&-
	end=$(date +%s)
	if [ $rc -eq 0 ] && [ $((end - start)) -lt 10 ] && serve_alive; then
		ok "a client that never sends a ClientHello is closed by the handshake timeout"
	else
		not_ok "handshake timeout (cat exit $rc after $((end - start)) s)" "$srv_err"
	fi
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	# bash may write this in pieces, and the server can reject the first piece
	# and close before the rest: a write that fails then must not kill the test.
	(trap '' PIPE; printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&$fd) 2> /dev/null
	timeout 10 cat <&$fd > "$work/garbage.out"
	rc=$?
	exec {fd}>&-
	if [ $rc -eq 0 ] && ! grep -q "HTTP/1.1" "$work/garbage.out" && serve_alive; then
		ok "plain HTTP instead of a ClientHello: the handshake fails, the connection is closed"
	else
		not_ok "plain HTTP to the TLS port (cat exit $rc)" "$work/garbage.out" "$srv_err"
	fi
}

case_fifo() { # a FIFO must not stop the server thread in open(2), nor a FIFO index.html
	local c1 c2 alive=no p1 p2 f
	mkfifo "$www/fifo"
	mkdir -p "$www/fifodir"
	mkfifo "$www/fifodir/index.html"
	get /fifo --max-time 15 -o /dev/null -w '%{http_code}' > "$work/fifo1" &
	p1=$!
	get /fifodir/ --max-time 15 -o /dev/null -w '%{http_code}' > "$work/fifo2" &
	p2=$!
	sleep 1
	if [ "$(get /small.bin --max-time 5 -o "$work/fifo-alive" -w '%{http_code}')" = 200 ] &&
		cmp -s "$work/fifo-alive" "$www/small.bin"; then
		alive=yes
	fi
	# A server stuck opening a FIFO goes on once a writer comes: the cases after this run.
	for f in "$www/fifo" "$www/fifodir/index.html"; do
		timeout 1 sh -c ': > "$1"' sh "$f" 2> /dev/null
	done
	wait $p1 $p2
	c1=$(cat "$work/fifo1") c2=$(cat "$work/fifo2")
	rm -rf "$www/fifo" "$www/fifodir"
	if [ $alive = yes ] && [ "$c1" = 403 ] && [ "$c2" = 403 ]; then
		ok "a FIFO, and a directory whose index.html is one: 403, and others served meanwhile"
	else
		not_ok "FIFO in the root (another client served meanwhile: $alive; /fifo $c1, /fifodir/ $c2)" \
			"$srv_err"
	fi
}

case_log_escape() { # bytes a client chose reach the access log escaped, never raw
	raw "GET /\033[31mred\007 HTTP/1.1\r\nHost: localhost\r\n\r\n" > /dev/null
	raw "GE\rT /x HTTP/1.1\r\nHost: localhost\r\n\r\n" > /dev/null
	raw "GET /caf\303\251\177 HTTP/1.1\r\nHost: localhost\r\n\r\n" > /dev/null
	sleep 0.3
	if ! LC_ALL=C grep -q '[[:cntrl:]]' "$srv_log" && ! LC_ALL=C grep -q $'[\x80-\xff]' "$srv_log" &&
		grep -qF '"GET /\x1b[31mred\x07" 400 ' "$srv_log" &&
		grep -qF '"GE\x0dT" 400 ' "$srv_log" && grep -qF '"GET /caf\xc3\xa9\x7f" 400 ' "$srv_log"; then
		ok "control bytes (ESC, BEL, CR) and non-ASCII in refused requests are logged as \\xHH"
	else
		not_ok "escaping in the access log" "$srv_log"
	fi
}

case_http10_keepalive() { # HTTP/1.0 keep-alive is kept, and the response says so
	raw "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /index.html HTTP/1.0\r\n\r\n" \
		> "$work/h10.out"
	tr -d '\r' < "$work/h10.out" | sed -n '1,/^$/p' > "$work/h10.head1"
	if [ "$(grep -c "^HTTP/1.1 200 OK" "$work/h10.out")" = 2 ] &&
		grep -qix "Connection: keep-alive" "$work/h10.head1" &&
		! grep -qi "^Connection: close" "$work/h10.head1" &&
		[ "$(tr -d '\r' < "$work/h10.out" | grep -ci "^Connection: close")" = 1 ]; then
		ok "HTTP/1.0 with Connection: keep-alive: the response says keep-alive, the next request is answered"
	else
		not_ok "HTTP/1.0 keep-alive" "$work/h10.out"
	fi
}

# slow_read FILE FAST: stdin into FILE slowly (about 600 KiB/s), so that a
# response keeps going, and all at once from when FAST exists.
slow_read() {
	local n=0 m
	while [ ! -e "$2" ]; do
		head -c 32768 >> "$1"
		m=$(stat -c %s "$1")
		[ "$m" = "$n" ] && return
		n=$m
		sleep 0.05
	done
	cat >> "$1"
}

case_drain() { # SIGTERM during a response that outlasts --drain-timeout
	local rc crc refused=no alive=no i line n logged
	next_port
	serve_start --drain-timeout 2
	rm -f "$work/drain.fast" "$work/drain.rc"
	: > "$work/drain.out"
	# s_client: exit 0 after close_notify, 1 and "unexpected eof" after a bare TCP close
	{ printf 'GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n' |
		timeout 120 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
			-CAfile "$pki/ca.pem" 2> "$work/drain.err"
	  echo $? > "$work/drain.rc"; } | slow_read "$work/drain.out" "$work/drain.fast" &
	local cli=$!
	for i in $(seq 1 300); do
		[ "$(stat -c %s "$work/drain.out")" -ge 262144 ] && break
		sleep 0.1
	done
	kill -TERM "$srv_pid"
	# The listener goes at once: a connection now is refused, not left waiting.
	for i in $(seq 1 50); do
		[ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
		sleep 0.1
	done
	kill -0 "$srv_pid" 2> /dev/null && alive=yes
	(exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || refused=yes
	# The response is logged when the drain time is over and it is cut; from then
	# on the client reads as fast as it can, so that close_notify finds room.
	for i in $(seq 1 100); do
		log_lines /big.bin | grep -q . && break
		sleep 0.1
	done
	touch "$work/drain.fast"
	wait_pid "$srv_pid" 30
	rc=$?
	wait_pid $cli 60
	crc=$(cat "$work/drain.rc" 2> /dev/null)
	n=$(stat -c %s "$work/drain.out")
	line=$(log_lines /big.bin | tail -1)
	logged=$(printf '%s' "$line" | awk '{ print $(NF - 1) }')
	if [ $rc -eq 0 ] && [ $alive = yes ] && [ $refused = yes ] && [ "$crc" = 0 ] &&
		! grep -q "unexpected eof" "$work/drain.err" && [ "$n" -lt "$SERVE_BIG" ] &&
		printf '%s' "$line" | grep -q '" 200 [1-9][0-9]* via=' && [ "$logged" -le "$n" ]; then
		ok "SIGTERM: new connections refused at once; a response past --drain-timeout cut with close_notify ($n bytes read, $logged logged); exit 0"
	else
		not_ok "drain (exit $rc, still draining: $alive, new connection refused: $refused, s_client exit ${crc:-?}, $n bytes, log: $line)" \
			"$work/drain.err" "$srv_err"
	fi
}

# An RSA certificate from the test CA (make-certs.sh makes ECDSA ones), for static RSA.
make_rsa_cert() {
	[ -s "$work/rsa.pem" ] && return 0
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rsa-key.pem" 2> /dev/null &&
		openssl req -new -key "$work/rsa-key.pem" -subj /CN=localhost -out "$work/rsa.csr" 2> /dev/null &&
		printf 'subjectAltName = DNS:localhost\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n' \
			> "$work/rsa.ext" &&
		openssl x509 -req -in "$work/rsa.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" \
			-CAserial "$work/rsa.srl" -CAcreateserial -days 2 -extfile "$work/rsa.ext" \
			-out "$work/rsa.pem" 2> /dev/null
}

# A small file is served from the thread's file cache (the SIGUSR1 report
# counts the hits), yet never once it changed: rewritten in place with its
# size and mtime kept (only ctime moves), replaced by rename, deleted, or a
# symlink to it turned to point out of the root.
case_file_cache() {
	local bad="" hits0 hits1 code
	printf 'AAAA first\n' > "$www/cached.txt"
	ln -sfn cached.txt "$www/cached-link.txt"
	sleep 2.2 # older than the cache's settle time (a file that just changed is not cached)
	hits0=$(serve_cache_hits)
	for _ in 1 2 3; do
		[ "$(get /cached.txt)" = "AAAA first" ] || bad="$bad [first]"
		[ "$(get /cached-link.txt)" = "AAAA first" ] || bad="$bad [through the link]"
	done
	hits1=$(serve_cache_hits)
	[ $((hits1 - hits0)) -ge 4 ] || bad="$bad [cache hits ${hits0:-?} -> ${hits1:-?}]"
	touch -r "$www/cached.txt" "$work/cached.ref"
	printf 'BBBB again\n' > "$www/cached.txt"
	touch -r "$work/cached.ref" "$www/cached.txt"
	[ "$(get /cached.txt)" = "BBBB again" ] || bad="$bad [rewritten in place]"
	printf 'CCCC third\n' > "$www/cached.new"
	touch -r "$work/cached.ref" "$www/cached.new"
	mv "$www/cached.new" "$www/cached.txt"
	[ "$(get /cached.txt)" = "CCCC third" ] || bad="$bad [replaced by rename]"
	ln -sfn ../outside/secret.txt "$www/cached-link.txt"
	code=$(get /cached-link.txt -o "$work/cached.out" -w '%{http_code}')
	[ "$code" = 403 ] && ! grep -q secret "$work/cached.out" || bad="$bad [link out of the root: $code]"
	rm "$www/cached.txt" "$www/cached-link.txt"
	code=$(get /cached.txt -o /dev/null -w '%{http_code}')
	[ "$code" = 404 ] || bad="$bad [deleted: $code]"
	if [ -z "$bad" ]; then
		ok "file cache: small files answered from it ($((hits1 - hits0)) hits), never stale or out of the root"
	else
		not_ok "file cache:$bad" "$srv_err"
	fi
}

# The file cache hits so far, from a SIGUSR1 report.
serve_cache_hits() {
	local n
	n=$(grep -c "file cache hits" "$srv_err")
	kill -USR1 "$srv_pid"
	for _ in $(seq 1 50); do
		[ "$(grep -c "file cache hits" "$srv_err")" -gt "$n" ] && break
		sleep 0.1
	done
	grep -o "[0-9]* file cache hits" "$srv_err" | tail -1 | cut -d' ' -f1
}

case_static_rsa() { # TLS 1.2 static RSA (no forward secrecy) only with --allow-static-rsa
	local plain fs allowed
	make_rsa_cert || { not_ok "cannot make an RSA certificate"; return; }
	next_port
	serve_start --cert "$work/rsa.pem" --key "$work/rsa-key.pem"
	plain=$(get /small.bin --tls-max 1.2 --ciphers AES128-GCM-SHA256 -o /dev/null -w '%{http_code}')
	fs=$(get /small.bin --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -o "$work/rsa.bin" \
		-w '%{http_code}')
	serve_stop
	next_port
	serve_start --cert "$work/rsa.pem" --key "$work/rsa-key.pem" --allow-static-rsa
	allowed=$(get /small.bin --tls-max 1.2 --ciphers AES128-GCM-SHA256 -o "$work/rsa2.bin" \
		-w '%{http_code}')
	serve_stop
	if [ "$plain" = 000 ] && [ "$fs" = 200 ] && cmp -s "$work/rsa.bin" "$www/small.bin" &&
		[ "$allowed" = 200 ] && cmp -s "$work/rsa2.bin" "$www/small.bin"; then
		ok "TLS 1.2 static RSA refused by default (ECDHE-RSA served); accepted with --allow-static-rsa"
	else
		not_ok "static RSA (default: $plain, ECDHE-RSA: $fs, with --allow-static-rsa: $allowed)" \
			"$srv_err"
	fi
}

case_handshake_shape() { # TLS 1.3: one ServerHello for the client's own key share; tickets after its Finished
	local g trace shape bad=""
	next_port
	serve_start
	# OpenSSL sends one key share, for the first group it lists; each of
	# these must be answered with a ServerHello, never a HelloRetryRequest.
	for g in X25519:P-256:P-384 P-256:X25519 P-384:X25519:P-256 X448:X25519; do
		trace=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' |
			timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
				-CAfile "$pki/ca.pem" -tls1_3 -groups "$g" -msg -ign_eof 2>&1)
		# the order of handshake messages, each side's direction kept
		shape=$(printf '%s\n' "$trace" | sed -n 's/^\(<<<\|>>>\) TLS 1.3, Handshake \[length [0-9a-f]*\], \(.*\)$/\1\2/p' |
			tr '\n' ' ')
		case $shape in
		">>>ClientHello <<<ServerHello <<<EncryptedExtensions <<<Certificate <<<CertificateVerify <<<Finished >>>Finished <<<NewSessionTicket <<<NewSessionTicket "*) ;;
		*) bad="$bad [$g: $shape]" ;;
		esac
		printf '%s\n' "$trace" | grep -q "Server Temp Key: ${g%%:*}\|Server Temp Key: ECDH, $(
			case ${g%%:*} in P-256) echo prime256v1 ;; P-384) echo secp384r1 ;; *) echo none ;; esac)" ||
			bad="$bad [$g: not the client's first group]"
	done
	serve_stop
	if [ -z "$bad" ]; then
		ok "TLS 1.3: the client's key share is used (no HelloRetryRequest), tickets come after its Finished"
	else
		not_ok "handshake shape:$bad" "$srv_err"
	fi
}
