#!/bin/bash
# ktls get against real HTTPS servers, inside a kernel with kTLS:
#   nginx (ssl_conf_command Options KTLS; sendfile on), TLS 1.3 and TLS 1.2:
#     a 64 MiB file arrives sha256-identical; our RX key is in the kernel (the
#     -v summary, and TlsRxSw); nginx's own TX kTLS shows in TlsTxSw; the -v
#     trace has the exact handshake message order, and the NewSessionTickets
#     that arrive after the switch are traced as read from the kernel;
#     --count 3 uses one connection (one ClientHello).
#   openssl s_server -WWW (cwd = doc root): the same file, sha256-identical;
#     --count 2 reconnects, since -WWW closes after each response, and says so.
#   openssl s_server -HTTP (the file holds the whole response): a chunked body,
#     and a body cut short by the server (truncated, exit 6).
#   Errors: wrong CA (exit 5, the verification error), 404 (exit 7, the
#     status), nothing listening (exit 3).
. "$KTLS_SRC/tests/kernel/lib.sh"

www=$work/www
mkdir -p "$www" "$work/nginx/tmp"
size=$((64 << 20))
make_payload "$www/big.bin" $size
make_payload "$www/small.bin" $((256 << 10))
sha_big=$(sha "$www/big.bin")

# Run ktls get under a timeout, keeping its exit status, stdout file and stderr.
get() { # name args...
	local name=$1
	shift
	timeout 120 "$ktls" get "$@" 2> "$work/$name.err"
	echo $? > "$work/$name.rc"
}
rc_of() { cat "$work/$1.rc"; }

# The handshake messages of the first connection in a -v trace, "-> ClientHello <- ...".
trace_of() {
	sed -n '/-> ClientHello/,/^\* handshake done/p' "$1" | grep -oE '(->|<-) [A-Za-z]+' |
		tr '\n' ' ' | sed 's/ $//'
}

# -v summary: "  TX        kernel" (TX/RX lines of the block after the handshake).
summary_kernel() { # file TX|RX
	grep -Eq "^  $2 +kernel$" "$1"
}

# ---- nginx --------------------------------------------------------------------
nginx_port=$((port + 100))
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log info;
events { worker_connections 64; }
http {
	access_log $work/nginx/access.log;
	client_body_temp_path $work/nginx/tmp;
	proxy_temp_path $work/nginx/tmp;
	fastcgi_temp_path $work/nginx/tmp;
	uwsgi_temp_path $work/nginx/tmp;
	scgi_temp_path $work/nginx/tmp;
	sendfile on;
	server {
		listen 127.0.0.1:$nginx_port ssl;
		server_name localhost;
		ssl_certificate $pki/server.pem;
		ssl_certificate_key $pki/server-key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_conf_command Options KTLS;
		root $www;
	}
}
CONF
nginx -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" > "$work/nginx/out" 2>&1 &
nginx_pid=$!
if ! wait_port $nginx_port; then
	echo "Bail out! nginx did not start"
	sed 's/^/# /' "$work/nginx/out" "$work/nginx/error.log"
	exit 1
fi

nginx_download() { # version want_trace nginx_rx_keys
	local v=$1 want=$2 nginx_rx=$3 name="nginx-$1" why="" t0 r0 d0 trace
	t0=$(stat_get TlsTxSw) r0=$(stat_get TlsRxSw) d0=$(stat_get TlsDecryptError)
	get "$name" -v --tls "$v" --ca "$pki/ca.pem" -o "$work/$name.out" \
		"https://localhost:$nginx_port/big.bin"
	local dt=$(($(stat_get TlsTxSw) - t0)) dr=$(($(stat_get TlsRxSw) - r0))
	[ "$(rc_of "$name")" = 0 ] || why="exit $(rc_of "$name")"
	[ "$(sha "$work/$name.out")" = "$sha_big" ] || why="$why; sha256 differs"
	grep -q "^  version   TLS$v$" "$work/$name.err" || why="$why; version not TLS$v"
	summary_kernel "$work/$name.err" TX || why="$why; our TX not in the kernel"
	summary_kernel "$work/$name.err" RX || why="$why; our RX not in the kernel"
	# After the body: where the crypto ran, for this connection.
	grep -q "^  crypto    TX kernel, RX kernel$" "$work/$name.err" ||
		why="$why; no 'crypto TX kernel, RX kernel' after the body"
	grep -q "HTTP/1.1 200 OK" "$work/$name.err" || why="$why; no 200 status line"
	grep -Eq "^  body +$size bytes" "$work/$name.err" || why="$why; body size not reported"
	# Ours: one key each way (plus the probe's); nginx: TX always, RX only for 1.2.
	[ "$dt" -eq $((probe_tx + 2)) ] || why="$why; TlsTxSw +$dt, want +$((probe_tx + 2)) (ours and nginx's)"
	[ "$dr" -eq $((probe_rx + 1 + nginx_rx)) ] ||
		why="$why; TlsRxSw +$dr, want +$((probe_rx + 1 + nginx_rx))"
	[ "$(stat_get TlsDecryptError)" = "$d0" ] || why="$why; TlsDecryptError grew"
	trace=$(trace_of "$work/$name.err")
	[ "$trace" = "$want" ] || why="$why; trace \"$trace\""
	if [ -z "$why" ]; then
		ok "nginx TLS $v: 64 MiB sha256-identical, our TX+RX and nginx's TX in the kernel (TlsTxSw +$dt, TlsRxSw +$dr), trace in order"
	else
		echo "# $why"
		not_ok "nginx TLS $v download" "$work/$name.err" "$work/nginx/error.log"
	fi
}

# RFC 8446 section 2: the client's Finished follows the server's flight.
nginx_download 1.3 "-> ClientHello <- ServerHello <- EncryptedExtensions <- Certificate <- CertificateVerify <- Finished -> Finished" 0
# TLS 1.3 tickets arrive after the switch: read from the kernel (lib/proto.c) and traced.
if awk '/^\* handshake done/ { after = 1 } after && /<- NewSessionTicket +[0-9]+ bytes/ { n++ }
	END { exit !(n >= 1) }' "$work/nginx-1.3.err"; then
	ok "nginx TLS 1.3: NewSessionTickets read from the kernel after the handshake are traced"
else
	not_ok "nginx TLS 1.3: no NewSessionTicket traced after the handshake" "$work/nginx-1.3.err"
fi
# RFC 5246 section 7.3 (GnuTLS reports no ChangeCipherSpec); nginx sends a ticket (RFC 5077).
nginx_download 1.2 "-> ClientHello <- ServerHello <- Certificate <- ServerKeyExchange <- ServerHelloDone -> ClientKeyExchange -> Finished <- NewSessionTicket <- Finished" 1

# --count 3: one connection, one handshake, three bodies.
get count -v --count 3 --ca "$pki/ca.pem" -o "$work/count.out" "https://localhost:$nginx_port/small.bin"
cat "$www/small.bin" "$www/small.bin" "$www/small.bin" > "$work/count.want"
hellos=$(grep -c -- "-> ClientHello" "$work/count.err")
reused=$(grep -c "^\* request [23] on connection 1 (reused): HTTP/1.1 200 OK$" "$work/count.err")
if [ "$(rc_of count)" = 0 ] && [ "$hellos" = 1 ] && [ "$reused" = 2 ] &&
	[ "$(sha "$work/count.out")" = "$(sha "$work/count.want")" ] &&
	grep -q "^\* 3 requests on 1 connection$" "$work/count.err"; then
	ok "--count 3 against nginx: one connection, one handshake, requests 2 and 3 reuse it"
else
	echo "# exit $(rc_of count), $hellos ClientHello, $reused reused"
	not_ok "--count 3 against nginx" "$work/count.err"
fi

# 404: the status, exit 7, nothing written.
get notfound --ca "$pki/ca.pem" -o "$work/notfound.out" "https://localhost:$nginx_port/nope"
if [ "$(rc_of notfound)" = 7 ] && grep -q "HTTP 404 Not Found" "$work/notfound.err" &&
	! [ -s "$work/notfound.out" ]; then
	ok "404: 'HTTP 404 Not Found', exit 7, no body written"
else
	not_ok "404 (exit $(rc_of notfound))" "$work/notfound.err"
fi

# Wrong CA: the verification error, exit 5.
get wrongca --ca "$pki/other-ca.pem" -o "$work/wrongca.out" "https://localhost:$nginx_port/small.bin"
if [ "$(rc_of wrongca)" = 5 ] &&
	grep -q "peer certificate rejected: .*issuer is unknown" "$work/wrongca.err"; then
	ok "untrusted CA: 'peer certificate rejected ... issuer is unknown', exit 5"
else
	not_ok "untrusted CA (exit $(rc_of wrongca))" "$work/wrongca.err"
fi
kill "$nginx_pid" 2>/dev/null
wait "$nginx_pid" 2>/dev/null

# ---- openssl s_server -WWW: the doc root is its cwd -------------------------------
next_port
(cd "$www" && exec openssl s_server -WWW -accept $port -cert "$pki/server.pem" \
	-key "$pki/server-key.pem" -quiet < /dev/null > "$work/www.out" 2>&1) &
www_pid=$!
wait_port $port
r0=$(stat_get TlsRxSw)
get www -v --ca "$pki/ca.pem" -o "$work/www-big.out" "https://localhost:$port/big.bin"
dr=$(($(stat_get TlsRxSw) - r0))
if [ "$(rc_of www)" = 0 ] && [ "$(sha "$work/www-big.out")" = "$sha_big" ] &&
	summary_kernel "$work/www.err" RX && [ "$dr" -eq $((probe_rx + 1)) ] &&
	grep -q "HTTP/1.0 200 ok" "$work/www.err"; then
	ok "openssl s_server -WWW: 64 MiB sha256-identical, our RX in the kernel (TlsRxSw +$dr)"
else
	echo "# exit $(rc_of www), TlsRxSw +$dr"
	not_ok "openssl s_server -WWW download" "$work/www.err" "$work/www.out"
fi

get www2 -v --count 2 --ca "$pki/ca.pem" -o "$work/www2.out" "https://localhost:$port/small.bin"
if [ "$(rc_of www2)" = 0 ] && [ "$(grep -c -- "-> ClientHello" "$work/www2.err")" = 2 ] &&
	grep -q "closes connection 1 after this response .*; the next request reconnects" "$work/www2.err" &&
	[ "$(stat -c %s "$work/www2.out")" = $((2 * (256 << 10))) ]; then
	ok "--count 2 against s_server -WWW (HTTP/1.0, closes): reconnects and says so"
else
	not_ok "--count 2 against s_server -WWW (exit $(rc_of www2))" "$work/www2.err"
fi
kill "$www_pid" 2>/dev/null
wait "$www_pid" 2>/dev/null

# ---- openssl s_server -HTTP: each file is a whole response ---------------------
{
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
	printf '5\r\nhello\r\n'
	printf '7;ext=1\r\n, world\r\n'
	printf '%x\r\n' $((64 << 10))
	head -c $((64 << 10)) "$www/small.bin"
	printf '\r\n0\r\nX-Trailer: yes\r\n\r\n'
} > "$www/chunked.http"
{ printf 'hello, world'; head -c $((64 << 10)) "$www/small.bin"; } > "$work/chunked.want"
{
	printf 'HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\n'
	head -c 1000 "$www/small.bin"
} > "$www/short.http"
next_port
(cd "$www" && exec openssl s_server -HTTP -accept $port -cert "$pki/server.pem" \
	-key "$pki/server-key.pem" -quiet < /dev/null > "$work/http.out" 2>&1) &
http_pid=$!
wait_port $port
get chunked --ca "$pki/ca.pem" -o "$work/chunked.out" "https://localhost:$port/chunked.http"
if [ "$(rc_of chunked)" = 0 ] && [ "$(sha "$work/chunked.out")" = "$(sha "$work/chunked.want")" ]; then
	ok "chunked body (with extensions and a trailer) decoded sha256-identical"
else
	not_ok "chunked body (exit $(rc_of chunked))" "$work/chunked.err"
fi
get short --ca "$pki/ca.pem" -o "$work/short.out" "https://localhost:$port/short.http"
if [ "$(rc_of short)" = 6 ] &&
	grep -q "response truncated: the server closed the connection after 1000 of 1000000 body bytes" \
		"$work/short.err"; then
	ok "server closes mid-body: 'response truncated ... after 1000 of 1000000', exit 6"
else
	not_ok "server closes mid-body (exit $(rc_of short))" "$work/short.err"
fi
kill "$http_pid" 2>/dev/null
wait "$http_pid" 2>/dev/null

# ---- nothing listening ------------------------------------------------------------
next_port
get refused --ca "$pki/ca.pem" "https://127.0.0.1:$port/"
if [ "$(rc_of refused)" = 3 ] && grep -q "cannot connect to 127.0.0.1 port $port: Connection refused" \
	"$work/refused.err"; then
	ok "nothing listening: 'Connection refused', exit 3"
else
	not_ok "nothing listening (exit $(rc_of refused))" "$work/refused.err"
fi

done_testing
