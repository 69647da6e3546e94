#!/bin/bash
# Session resumption and the post-handshake lifecycle with real peers, the
# kernel holding the keys:
#   1. openssl s_client -sess_out / -sess_in against our server (TLS 1.3
#      tickets issued by one server process and taken by another that shares
#      the ticket key; TLS 1.2 tickets; TLS 1.2 session IDs from the cache)
#   2. gnutls-cli --resume against our server, both versions
#   3. our client resuming against openssl s_server and gnutls-serv, both
#      versions, from a session file written by the previous run; for TLS 1.3
#      the ticket arrived after the switch (read back from the kernel); and
#      `ktls get --session-file` resuming in a second run, with the shorter trace
#   4. TLS 1.2 renegotiation ('R' in s_client) refused cleanly
# TLS 1.3 KeyUpdate, on kernels that can rekey and on those that cannot, is
# in keyupdate.sh.
. "$KTLS_SRC/tests/kernel/lib.sh"

make_payload "$work/small" 20000
head -c 64 /dev/urandom > "$work/ticket.key" # KTLS_TICKET_KEY_SIZE
server_args=(--server --cert "$pki/server.pem" --key "$pki/server-key.pem" --send "$work/small"
	--shutdown --expect-kernel both --timeout 20)

# The Nth summary line of a ktls-peer run (one per connection).
nth() { grep "bytes_in=" "$1" | sed -n "${2}p"; }
nfield() { nth "$1" "$2" | grep -o "$3=[^ ]*" | cut -d= -f2- | tr -d '"'; }

# An s_client run that reads our payload; stdin stays open for a moment so
# that a TLS 1.3 ticket arrives before it leaves.
s_client_run() { # version out args...
	local v=$1 out=$2
	shift 2
	sleep 1 | timeout 20 openssl s_client -connect 127.0.0.1:$port -CAfile "$pki/ca.pem" \
		-servername localhost $(openssl_args "$v" AES-128-GCM) "$@" > "$out" 2>&1
}

# --- 1. openssl s_client -sess_out / -sess_in --------------------------------
# TLS 1.3: two server processes with one ticket key (as two machines behind a
# balancer would be): the second accepts the first one's ticket.
next_port
"$peer" "${server_args[@]}" --tls 1.3 --port $port --ticket-key-file "$work/ticket.key" \
	> "$work/a.out" 2> "$work/a.err" &
spid=$!
wait_port $port
s_client_run 1.3 "$work/c1.out" -sess_out "$work/sess13"
wait_pid $spid 20
"$peer" "${server_args[@]}" --tls 1.3 --port $port --ticket-key-file "$work/ticket.key" \
	> "$work/b.out" 2> "$work/b.err" &
spid=$!
wait_port $port
s_client_run 1.3 "$work/c2.out" -sess_in "$work/sess13"
wait_pid $spid 20
if grep -q "^New, TLSv1.3" "$work/c1.out" && grep -q "^Reused, TLSv1.3" "$work/c2.out" &&
	[ "$(field "$work/a.out" resumed)" = 0 ] && [ "$(field "$work/b.out" resumed)" = 1 ] &&
	check_peer "first" "$work/a.out" 1.3 AES-128-GCM && check_peer "resumed" "$work/b.out" 1.3 AES-128-GCM; then
	ok "openssl s_client -sess_in resumes TLS 1.3 with a ticket from another server process sharing the ticket key; both offloaded"
else
	not_ok "openssl s_client TLS 1.3 resumption across server processes" "$work/a.out" "$work/b.out" "$work/c1.out" "$work/c2.out"
fi

# TLS 1.2 tickets, then TLS 1.2 session IDs (-no_ticket): one server, two connections.
for mode in ticket session-id; do
	extra=()
	[ $mode = session-id ] && extra=(-no_ticket)
	next_port
	"$peer" "${server_args[@]}" --tls 1.2 --port $port --accept 2 > "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	s_client_run 1.2 "$work/c1.out" -sess_out "$work/sess12" "${extra[@]}"
	s_client_run 1.2 "$work/c2.out" -sess_in "$work/sess12" "${extra[@]}"
	wait_pid $spid 20
	if grep -q "^Reused, TLSv1.2" "$work/c2.out" && [ "$(nfield "$work/s.out" 1 resumed)" = 0 ] &&
		[ "$(nfield "$work/s.out" 2 resumed)" = 1 ] &&
		[ "$(grep -c 'kernel_tx=ok kernel_rx=ok' "$work/s.out")" = 2 ]; then
		ok "openssl s_client -sess_in resumes TLS 1.2 ($mode); both connections offloaded"
	else
		not_ok "openssl s_client TLS 1.2 resumption ($mode)" "$work/s.out" "$work/s.err" "$work/c2.out"
	fi
done

# --- 2. gnutls-cli --resume ------------------------------------------------------
for v in 1.2 1.3; do
	next_port
	"$peer" "${server_args[@]}" --tls $v --port $port --accept 2 > "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	sleep 2 | timeout 20 gnutls-cli -p $port 127.0.0.1 --verify-hostname localhost \
		--x509cafile "$pki/ca.pem" --priority "$(gnutls_prio $v AES-128-GCM)" --resume \
		> "$work/g.out" 2>&1
	wait_pid $spid 20
	# gnutls-cli hangs up right after its first handshake, so that
	# connection may be half-closed before our switch (the kernel refuses
	# the ULP then); the resumed one carries data and must be offloaded.
	if grep -q "This is a resumed session" "$work/g.out" &&
		grep "bytes_in=" "$work/s.out" | tail -1 | grep -q "resumed=1" &&
		grep "version=" "$work/s.out" | tail -1 | grep -q 'kernel_tx=ok kernel_rx=ok'; then
		ok "gnutls-cli --resume, TLS $v: resumed, and the resumed connection offloaded"
	else
		not_ok "gnutls-cli --resume, TLS $v" "$work/s.out" "$work/s.err" "$work/g.out"
	fi
done

# --- 3. our client resuming, from a session file ----------------------------------
printf 'GET /small HTTP/1.0\r\n\r\n' > "$work/get"
for server in openssl gnutls; do
	for v in 1.2 1.3; do
		next_port
		rm -f "$work/sessions"
		if [ $server = openssl ]; then
			(cd "$work" && exec openssl s_server -accept $port -cert "$pki/server.pem" \
				-key "$pki/server-key.pem" -WWW $(openssl_args $v AES-128-GCM) \
				< /dev/null > "$work/srv.out" 2>&1) &
		else
			gnutls-serv -p $port --x509certfile "$pki/server.pem" \
				--x509keyfile "$pki/server-key.pem" --priority "$(gnutls_prio $v AES-128-GCM)" \
				< /dev/null > "$work/srv.out" 2>&1 &
		fi
		spid=$!
		wait_port $port
		why=""
		for run in 1 2; do
			"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost --tls $v \
				--send "$work/get" --session-file "$work/sessions" --expect-kernel both \
				--timeout 20 > "$work/r$run.out" 2> "$work/r$run.err" ||
				why="$why run $run failed;"
		done
		kill $spid 2>/dev/null
		wait $spid 2>/dev/null
		[ "$(field "$work/r1.out" resumed)" = 0 ] || why="$why first run resumed;"
		[ "$(field "$work/r2.out" resumed)" = 1 ] || why="$why second run not resumed;"
		[ "$(stat -c %a "$work/sessions" 2>/dev/null)" = 600 ] || why="$why session file not 0600;"
		if [ $v = 1.3 ] && [ "$(field "$work/r1.out" tickets_after_switch)" -lt 1 ]; then
			why="$why no ticket read back after the switch;"
		fi
		if [ -z "$why" ]; then
			extra=""
			[ $v = 1.3 ] && extra=", ticket read back from the kernel after the switch ($(field "$work/r1.out" tickets_after_switch)) and used"
			ok "our client resumes against $server TLS $v from the session file of the previous run$extra; both offloaded"
		else
			not_ok "our client resuming against $server TLS $v:$why" "$work/r1.out" "$work/r1.err" "$work/r2.out" "$work/r2.err" "$work/srv.out"
		fi
	done
done

# --- 3b. ktls get: separate runs resume through --session-file, -v shows it --------
for v in 1.2 1.3; do
	next_port
	(cd "$work" && exec openssl s_server -accept $port -cert "$pki/server.pem" \
		-key "$pki/server-key.pem" -WWW $(openssl_args $v AES-128-GCM) \
		< /dev/null > "$work/srv.out" 2>&1) &
	spid=$!
	wait_port $port
	rm -f "$work/get-sessions"
	why=""
	for run in 1 2; do
		"$ktls" get -v --ca "$pki/ca.pem" --session-file "$work/get-sessions" \
			-o "$work/got$run" "https://localhost:$port/small" 2> "$work/get$run.err" ||
			why="$why run $run failed;"
		cmp -s "$work/got$run" "$work/small" || why="$why run $run body differs;"
	done
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	grep -Eq "resumed +no" "$work/get1.err" || why="$why first run not a full handshake;"
	grep -Eq "resumed +yes" "$work/get2.err" || why="$why second run not resumed;"
	grep -q "<- Certificate " "$work/get1.err" || why="$why no Certificate in the full trace;"
	grep -q "<- Certificate " "$work/get2.err" && why="$why Certificate in the resumed trace;"
	grep -Eq "RX +kernel" "$work/get2.err" || why="$why resumed RX not in the kernel;"
	if [ -z "$why" ]; then
		ok "ktls get --session-file, TLS $v against openssl s_server: the second run resumes (trace without Certificate), RX in the kernel, body identical"
	else
		not_ok "ktls get --session-file, TLS $v:$why" "$work/get1.err" "$work/get2.err" "$work/srv.out"
	fi
done

# --- 3c. two ktls serve processes sharing --ticket-key: the second resumes the first's ---
next_port
mkdir -p "$work/www" && cp "$work/small" "$work/www/small"
why=""
rm -f "$work/get-sessions"
for run in 1 2; do
	"$ktls" serve --root "$work/www" --port $port --cert "$pki/server.pem" \
		--key "$pki/server-key.pem" --ticket-key "$work/ticket.key" \
		> "$work/serve$run.log" 2> "$work/serve$run.err" &
	spid=$!
	wait_port $port
	"$ktls" get -v --ca "$pki/ca.pem" --session-file "$work/get-sessions" \
		-o "$work/got$run" "https://localhost:$port/small" 2> "$work/get$run.err" ||
		why="$why run $run failed;"
	cmp -s "$work/got$run" "$work/small" || why="$why run $run body differs;"
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
done
grep -Eq "resumed +no" "$work/get1.err" || why="$why first not a full handshake;"
grep -Eq "resumed +yes" "$work/get2.err" || why="$why the second server did not resume the first's ticket;"
grep -Eq "via=kernel-(splice|send)$" "$work/serve2.log" || why="$why second response not by kernel TLS;"
if [ -z "$why" ]; then
	ok "two ktls serve processes with one --ticket-key: the second resumes the first one's ticket, kernel TLS"
else
	not_ok "ktls serve --ticket-key:$why" "$work/get1.err" "$work/get2.err" "$work/serve1.err" "$work/serve2.err"
fi

# --- 4. TLS 1.2 renegotiation refused ---------------------------------------------
msg1="before the renegotiation request"
msg2="after it"
next_port
"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" --tls 1.2 \
	--recv-bytes -1 --expect-kernel both --timeout 20 -v > "$work/s.out" 2> "$work/s.err" &
spid=$!
wait_port $port
{ echo "$msg1"; sleep 1; echo R; sleep 2; echo "$msg2"; sleep 1; } |
	timeout 20 openssl s_client -connect 127.0.0.1:$port -tls1_2 -CAfile "$pki/ca.pem" \
		> "$work/oc.out" 2> "$work/oc.err"
wait_pid $spid 20
src=$?
if grep -q "declined a TLS 1.2 renegotiation" "$work/s.err" &&
	[ "$(field "$work/s.out" bytes_in)" -ge $((${#msg1} + 1)) ] &&
	grep -qi "no renegotiation\|NO_RENEGOTIATION" "$work/oc.out" "$work/oc.err"; then
	ok "TLS 1.2 renegotiation ('R' in s_client) refused with a no_renegotiation alert; $(field "$work/s.out" bytes_in) bytes received intact, connection ended $(field "$work/s.out" end)"
else
	not_ok "TLS 1.2 renegotiation refused" "$work/s.out" "$work/s.err" "$work/oc.out" "$work/oc.err"
fi

done_testing
