# A hostile client against our two servers: ktls serve (the io_uring engine)
# and ktls-peer --server (the blocking API), each case played by
# tests/lib/hostile-peer.  Shared by the host test (tests/unit/test-hostile.sh,
# GnuTLS records: no kTLS there) and the kernel tiers (tests/kernel/hostile.sh).
# Sourced after the caller set: ktls peer hostile work pki port; ok, not_ok,
# next_port, wait_port, wait_pid; and
#   HOSTILE_RX_KERNEL  1 when the servers' RX goes to the kernel
#   HOSTILE_REKEY      1 when that kernel can follow a TLS 1.3 KeyUpdate
#
# Every case asserts what RFC 8446 / 5246 want: the exact alert (or a clean
# end), within a bound; for a partial record, that the server's CPU stays
# idle while it waits; and after every case that the server still serves
# the next client.
#
# Where GnuTLS's own record layer reads (RX not in the kernel), two checks
# are GnuTLS 3.7's and not libktls's to make: GnuTLS takes an empty
# handshake record after the handshake, and a KeyUpdate that does not end
# its record, without complaint (gnutls-serv does the same); those cases
# expect GnuTLS's behaviour there.

hostile_www=$work/hostile-www
hostile_reply=$work/hostile-reply
mkdir -p "$hostile_www"
echo "<p>still here</p>" > "$hostile_www/index.html"
head -c 2000 /dev/urandom | od -An -v -tx1 > "$hostile_reply"
# The blocking-API server reads exactly this request, then replies.
hostile_request='GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
hostile_request_len=$(printf "$hostile_request" | wc -c)

hostile_server=
hostile_pid=

# The server under test listens on a fresh port; one another socket already
# holds (an earlier client's ephemeral port, say) is given up for the next.
hostile_listening() { # log
	for _ in 1 2 3 4 5; do
		wait_port "$port" && return 0
		kill -0 "$hostile_pid" 2>/dev/null || break
	done
	kill "$hostile_pid" 2>/dev/null
	wait "$hostile_pid" 2>/dev/null
	sed 's/^/# server did not listen: /' "$1"
	return 1
}

hostile_start_serve() {
	for _ in 1 2 3; do
		next_port
		"$ktls" serve -r "$hostile_www" -b 127.0.0.1 -p "$port" --cert "$pki/server.pem" \
			--key "$pki/server-key.pem" --handshake-timeout 2 --idle-timeout 2 \
			--header-timeout 2 > "$work/hostile-serve.log" 2> "$work/hostile-serve.err" &
		hostile_pid=$!
		hostile_server=serve
		hostile_listening "$work/hostile-serve.err" && return 0
	done
}

hostile_start_peer() {
	for _ in 1 2 3; do
		next_port
		"$peer" --server --port "$port" --cert "$pki/server.pem" --key "$pki/server-key.pem" \
			--accept 100000 --recv-bytes "$hostile_request_len" --recv-first \
			--send "$hostile_reply" --shutdown --timeout 2 \
			> "$work/hostile-peer.log" 2> "$work/hostile-peer.err" &
		hostile_pid=$!
		hostile_server=blocking
		hostile_listening "$work/hostile-peer.err" && return 0
	done
}

hostile_stop() {
	kill -TERM "$hostile_pid" 2>/dev/null
	wait_pid "$hostile_pid" 10 > /dev/null
}

# Does the server answer an honest client?
hostile_alive() {
	local out
	if [ "$hostile_server" = serve ]; then
		[ "$(curl -s --max-time 10 --cacert "$pki/ca.pem" \
			--resolve "localhost:$port:127.0.0.1" "https://localhost:$port/" \
			-o /dev/null -w '%{http_code}')" = 200 ]
	else
		out=$("$hostile" --connect "127.0.0.1:$port" --case crafted-valid --insecure \
			--request "$hostile_request" --wait-ms 5000 2>/dev/null)
		case $out in *result=ok*) return 0 ;; *) return 1 ;; esac
	fi
}

# hostile_case NAME TLS CIPHER WANT [hostile-peer options...]
#   WANT: ok | timeout | close | alert:NAME | alert:NAME|alert:OTHER (any of them)
#   With HOSTILE_CPU_MS set, the server may spend at most that much CPU while
#   the case waits (the partial-record cases).
hostile_case() {
	local name=$1 tls=$2 cipher=$3 want=$4 got w match= label
	shift 4
	label="$hostile_server, TLS $tls${cipher:+ $cipher}, $name"
	"$hostile" --connect "127.0.0.1:$port" --case "$name" --tls "$tls" ${cipher:+--cipher "$cipher"} \
		--ca "$pki/ca.pem" --server-name localhost --request "$hostile_request" \
		--server-pid "$hostile_pid" "$@" > "$work/hostile.out" 2> "$work/hostile.err"
	got=$(grep -o 'result=[a-z]*' "$work/hostile.out" | cut -d= -f2)
	[ "$got" = alert ] && got="alert:$(grep -o 'alert_name=[a-z_]*' "$work/hostile.out" | cut -d= -f2)"
	local IFS='|'
	for w in $want; do
		[ "$got" = "$w" ] && match=1
	done
	unset IFS
	if [ -n "$match" ] && [ -n "${HOSTILE_CPU_MS:-}" ]; then
		local cpu
		cpu=$(grep -o 'server_cpu_ms=[0-9]*' "$work/hostile.out" | cut -d= -f2)
		[ "${cpu:-999999}" -le "$HOSTILE_CPU_MS" ] || { match=; got="$got, server CPU ${cpu:-?} ms"; }
	fi
	if [ -z "$match" ]; then
		not_ok "$label: $got (wanted $want)" "$work/hostile.out" "$work/hostile.err"
	elif ! hostile_alive; then
		not_ok "$label: $got, but the next client is not served" "$work/hostile.out"
	else
		ok "$label: $got, next client served"
	fi
}

hostile_run_all() {
	local v c kernel=${HOSTILE_RX_KERNEL:-0} rekey=${HOSTILE_REKEY:-0} want

	for v in 1.3 1.2; do
		# ---- before and during the handshake: GnuTLS judges, our job is to deliver its alert.
		hostile_case ch-garbage $v "" alert:decode_error
		# Refused by the first message's header, not waited on until the timeout.
		hostile_case ch-wrong-message $v "" alert:unexpected_message
		hostile_case ch-claims-huge $v "" alert:decode_error
		hostile_case ch-fragmented $v "" ok --fragments 10
		hostile_case ch-fragmented-big $v "" ok
		hostile_case zero-length-handshake $v "" alert:unexpected_message
		hostile_case wrong-type-first $v "" alert:unexpected_message
		hostile_case oversized-plaintext $v "" alert:record_overflow
		# A half-sent ClientHello: the server sleeps, then its handshake timeout ends it.
		HOSTILE_CPU_MS=300 hostile_case ch-half-record $v "" timeout --wait-ms 1500
		hostile_case ch-truncated-msg $v "" close --wait-ms 6000
		[ $v = 1.2 ] && hostile_case coalesced-flight $v "" ok
		[ $v = 1.2 ] && hostile_case ckx-claims-huge $v "" alert:decode_error

		# ---- after the handshake.
		hostile_case crafted-valid $v "" ok
		hostile_case zero-length-appdata $v "" ok
		# A request, and a damaged record behind it in the same write: the
		# request is served, the next record gets the alert.  (The blocking
		# server sends close_notify after its one reply, so only ktls serve,
		# which reads on for the next request, meets the damaged record.)
		[ "$hostile_server" = serve ] &&
			hostile_case bad-mac-after-data $v "" alert:bad_record_mac \
				--request 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
		hostile_case wrong-inner-type $v "" alert:unexpected_message
		hostile_case oversized-record $v "" alert:record_overflow
		for c in AES-128-GCM AES-256-GCM AES-128-CCM CHACHA20-POLY1305; do
			hostile_case bad-mac $v $c alert:bad_record_mac
			# 1-5 bytes: GnuTLS sees a record too short to decrypt.  A TLS 1.2
			# kTLS socket waits for the 13-byte header and nonce first, so
			# the server's idle timeout ends it: with close_notify, in time.
			want=alert:bad_record_mac
			[ "$kernel" = 1 ] && [ $v = 1.2 ] && want="alert:bad_record_mac|alert:close_notify|close"
			hostile_case short-record $v $c "$want" --fragments 3 --wait-ms 6000
		done
		if [ "$kernel" = 1 ]; then
			# Linux 7.x's kTLS drops empty records itself (none reaches
			# userspace): the connection then simply idles out.
			hostile_case zero-length-handshake-post $v "" \
				"alert:unexpected_message|alert:close_notify" --wait-ms 6000
		else
			hostile_case zero-length-handshake-post $v "" timeout --wait-ms 1000
		fi
		# Half a record, then silence: the server sleeps, then serves it.
		HOSTILE_CPU_MS=300 hostile_case partial-record $v "" ok --wait-ms 1500
		# The same with the half already queued when ktls serve, its first
		# answer sent, waits for the next request (keep-alive).
		[ "$hostile_server" = serve ] &&
			HOSTILE_CPU_MS=300 hostile_case partial-record-queued $v "" ok --wait-ms 1500 \
				--request 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
		hostile_case partial-record-close $v "" "alert:decode_error|close"
	done

	# ---- TLS 1.3 KeyUpdate (RFC 8446 section 4.6.3).
	hostile_case keyupdate-bad-value 1.3 "" alert:illegal_parameter
	hostile_case keyupdate-empty 1.3 "" alert:decode_error
	hostile_case keyupdate-long 1.3 "" alert:decode_error
	if [ "$kernel" = 1 ]; then
		hostile_case keyupdate-not-last 1.3 "" alert:unexpected_message
	else
		hostile_case keyupdate-not-last 1.3 "" timeout --wait-ms 1000
	fi
	if [ "$kernel" = 1 ] && [ "$rekey" != 1 ]; then
		# This kernel cannot follow a valid update: it ends the connection (ktls.h).
		want=alert:internal_error
	else
		want=ok
	fi
	hostile_case keyupdate-valid 1.3 "" $want
	hostile_case keyupdate-many 1.3 "" $want --fragments 5
	if [ "$kernel" = 1 ]; then
		# A kernel that can rekey stops reading after a handshake record that
		# starts a KeyUpdate, so the rest of one split across records (which
		# the RFC allows) never comes: nothing can follow it on kTLS, and the
		# data that would tell an interleaved record apart is never read.
		hostile_case keyupdate-split 1.3 "" alert:internal_error
		want="alert:unexpected_message|alert:internal_error"
		[ "$rekey" = 1 ] || want=alert:unexpected_message
		hostile_case appdata-in-handshake 1.3 "" "$want"
	else
		hostile_case keyupdate-split 1.3 "" ok
		hostile_case appdata-in-handshake 1.3 "" alert:unexpected_message
	fi
	# 50 in one write is a flood (GnuTLS allows 8 a second): any fatal alert.
	hostile_case keyupdate-flood 1.3 "" \
		"alert:unexpected_message|alert:internal_error|alert:illegal_parameter"
}
