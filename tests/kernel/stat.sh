#!/bin/bash
# ktls stat inside a kernel with kTLS.  The kTLS sockets of an independent
# program (openssl s_server with Options = KTLS, fetched by curl) and of our
# own (ktls-peer) are listed with exactly the version and cipher that were
# negotiated and the TX/RX configuration that was installed; the counts agree
# with the kernel's own TlsCurrTxSw/TlsCurrRxSw; the empty result and the
# unprivileged result are clear; --watch prints rates.
. "$KTLS_SRC/tests/kernel/lib.sh"

# Fields of the one-line JSON object of the socket on local port $2 in file $1.
sock_line() { grep -F "\"local_port\": $2," "$1"; }
jfield() { # line key -> value without quotes
	printf '%s\n' "$1" | grep -o "\"$2\": [^,}]*" | head -1 | sed 's/^[^:]*: //; s/"//g'
}
counter() { grep -o "\"$2\": [0-9]*" "$1" | head -1 | sed 's/.*: //'; }
# The number of sockets in a ktls stat --json file whose "$2" is "$3".
count_with() { grep -c "\"$2\": \"$3\"" "$1"; }

# Wait until a file has at least one byte (curl got data: the handshake is done
# and OpenSSL has handed its keys to the kernel) or a line matches.
wait_file() { # file seconds
	for _ in $(seq 1 $(($2 * 20))); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- 1. no kTLS socket yet ----------------------------------------------
"$ktls" stat > "$work/empty.txt" 2> "$work/empty.err"
rc=$?
if [ $rc -eq 0 ] && grep -qx "No TCP socket uses kernel TLS." "$work/empty.txt" &&
	grep -q "^Kernel TLS counters (/proc/net/tls_stat):" "$work/empty.txt" &&
	grep -Eq "^  TlsCurrTxSw +0$" "$work/empty.txt" && ! [ -s "$work/empty.err" ]; then
	ok "stat without kTLS sockets: says so, then the counters (exit 0)"
else
	not_ok "stat without kTLS sockets (exit $rc)" "$work/empty.txt" "$work/empty.err"
fi
"$ktls" stat --json > "$work/empty.json" 2>&1
if grep -q '^  "sockets": \[\],$' "$work/empty.json" &&
	grep -q '^  "counters": {"TlsCurrTxSw": 0, ' "$work/empty.json"; then
	ok "stat --json without kTLS sockets: an empty list and the counters"
else
	not_ok "stat --json without kTLS sockets" "$work/empty.json"
fi

# ---- 2. openssl s_server with OpenSSL's kTLS, fetched by curl -------------
cat > "$work/openssl.cnf" <<'CNF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = ssl_defaults
[ssl_defaults]
Options = KTLS
CNF
mkdir -p "$work/www"
# Larger than the loopback socket buffers on both sides (several MiB each),
# so that the server is still sending while curl reads at 2 MB/s (for 30 s);
# a sparse file costs nothing to make or read.
truncate -s $((64 << 20)) "$work/www/big"

# What OpenSSL 3.0 hands to Linux 6.1 (ssl/ktls.c, ssl/record/ssl3_record.c):
# TX and RX for TLS 1.2; TX only for TLS 1.3 (its RX stays in userspace, so
# the kernel shows RX "base"); nothing for AES-128-CCM (as observed with
# Debian 12's OpenSSL 3.0; the kernel's TlsCurrTxSw confirms it each time).
expect_openssl() { # version cipher -> "TX RX", or "none"
	case $2 in AES-128-CCM) echo none; return ;; esac
	if [ "$1" = 1.2 ]; then echo "sw sw"; else echo "sw base"; fi
}

for v in $VERSIONS; do
	for c in $CIPHERS; do
		name="openssl s_server (Options = KTLS) <- curl, TLS $v $c"
		next_port
		# shellcheck disable=SC2207
		ossl=($(openssl_args "$v" "$c"))
		(cd "$work/www" && OPENSSL_CONF=$work/openssl.cnf exec openssl s_server -WWW -naccept 1 \
			-accept 127.0.0.1:$port "${ossl[@]}" -cert "$pki/server.pem" \
			-key "$pki/server-key.pem" > "$work/ossl.out" 2>&1) &
		spid=$!
		wait_port $port
		rm -f "$work/got"
		# curl reads OpenSSL's default configuration, not ours: only the server uses kTLS.
		curl -s --cacert "$pki/ca.pem" --limit-rate 2M -o "$work/got" \
			"https://localhost:$port/big" 2> "$work/curl.err" &
		cpid=$!
		wait_file "$work/got" 10
		"$ktls" stat --json --port $port > "$work/o.json" 2> "$work/o.err"
		src=$?
		"$ktls" stat --port $port > "$work/o.txt" 2>> "$work/o.err"
		line=$(sock_line "$work/o.json" $port)
		want=$(expect_openssl "$v" "$c")
		why=""
		[ $src -eq 0 ] || why="exit $src"
		if [ "$want" = none ]; then
			[ -z "$line" ] || why="$why listed though OpenSSL did not offload"
			[ "$(counter "$work/o.json" TlsCurrTxSw)" = 0 ] || why="$why TlsCurrTxSw not 0"
		else
			[ "$(jfield "$line" version)" = "TLS$v" ] || why="$why version $(jfield "$line" version)"
			[ "$(jfield "$line" cipher)" = "$c" ] || why="$why cipher $(jfield "$line" cipher)"
			[ "$(jfield "$line" tx) $(jfield "$line" rx)" = "$want" ] ||
				why="$why tx/rx $(jfield "$line" tx)/$(jfield "$line" rx), want $want"
			[ "$(jfield "$line" pid)" = "$spid" ] || why="$why pid $(jfield "$line" pid) not $spid"
			[ "$(jfield "$line" process)" = openssl ] || why="$why process $(jfield "$line" process)"
			[ "$(jfield "$line" local)" = 127.0.0.1 ] || why="$why local $(jfield "$line" local)"
			[ "$(jfield "$line" state)" = ESTAB ] || why="$why state $(jfield "$line" state)"
			# The kernel's own count of sockets with TX / RX in software agrees.
			[ "$(count_with "$work/o.json" tx sw)" = "$(counter "$work/o.json" TlsCurrTxSw)" ] ||
				why="$why TX sw count differs from TlsCurrTxSw"
			[ "$(count_with "$work/o.json" rx sw)" = "$(counter "$work/o.json" TlsCurrRxSw)" ] ||
				why="$why RX sw count differs from TlsCurrRxSw"
			# The table: one line for the socket, the same facts.
			grep -Eq "^ESTAB +127\.0\.0\.1:$port +127\.0\.0\.1:[0-9]+ +openssl/$spid +TLS$v +$c +${want% *} +${want#* } " \
				"$work/o.txt" || why="$why table line"
		fi
		if [ -z "$why" ] && [ "$want" = none ]; then
			ok "$name: OpenSSL 3.0 keeps CCM in userspace; not listed, TlsCurrTxSw 0"
		elif [ -z "$why" ]; then
			ok "$name: TX ${want% *}, RX ${want#* }; version, cipher, pid exact; TlsCurr*Sw agree"
		else
			echo "# $name:$why"
			not_ok "$name" "$work/o.json" "$work/o.txt" "$work/o.err" "$work/ossl.out" "$work/curl.err"
		fi

		# --watch once, on the first offloaded case: the socket and its traffic.
		if [ "$want" != none ] && [ -z "${watched:-}" ]; then
			watched=1
			# The rekey column is a rate where the kernel counts rekeys (it can rekey).
			if probe_has tls13_rekey; then rekey_col='[0-9.]+'; else rekey_col='n/a'; fi
			# curl reads in bursts to keep its average: 1 s intervals see some.
			"$ktls" stat --watch 1 --count 2 --port $port --json > "$work/w.json" 2> "$work/w.err"
			wrc=$?
			"$ktls" stat --watch 0.5 --count 1 --port $port > "$work/w.txt" 2>> "$work/w.err"
			# Without --count it runs until interrupted, and an interrupt is a clean end.
			timeout --preserve-status -s INT 1.8 "$ktls" stat --watch 0.5 > "$work/wi.txt" 2>> "$work/w.err"
			wirc=$?
			if [ $wrc -eq 0 ] && [ "$(grep -c '^{"time": ' "$work/w.json")" -eq 2 ] &&
				grep -q '"sockets": 1, "per_second": {"TlsCurrTxSw": ' "$work/w.json" &&
				grep -Eq '"tx_bytes_per_second": [1-9][0-9]*\.' "$work/w.json" &&
				grep -Eq '^ +time +socks +new-tx +new-rx +dec-err +dec-retry +rekey +tx-KiB +rx-KiB$' "$work/w.txt" &&
				grep -Eq "^ +[0-9.]+ +1 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +$rekey_col +[0-9.]+ +[0-9.]+\$" "$work/w.txt" &&
				[ $wirc -eq 0 ] && [ "$(grep -Ec '^ +[0-9.]+ +[0-9]+ ' "$work/wi.txt")" -ge 2 ]; then
				ok "stat --watch: per-second lines (JSON and table), the socket's TX bytes, rekey $rekey_col, SIGINT ends it with 0"
			else
				not_ok "stat --watch (exit $wrc, after SIGINT $wirc)" "$work/w.json" "$work/w.txt" "$work/wi.txt" "$work/w.err"
			fi
		fi
		kill $cpid 2>/dev/null
		wait $cpid 2>/dev/null
		wait_pid $spid 10 > /dev/null
	done
done

# ---- 3. our own connections: kernel TX and RX on both ends ---------------
own_pair() { # version cipher client-extra-args...
	local v=$1 c=$2
	shift 2
	next_port
	"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
		--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both --recv-bytes 1 --timeout 30 \
		> "$work/s.out" 2> "$work/s.err" &
	spid=$!
	wait_port $port
	"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost \
		--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both --recv-bytes 1 --timeout 30 \
		"$@" > "$work/c.out" 2> "$work/c.err" &
	cpid=$!
	# Each prints its summary line once the kernel holds its keys; then both
	# wait for a byte that never comes, which keeps the connection open.
	for _ in $(seq 1 200); do
		grep -q '^version=' "$work/s.out" 2>/dev/null && grep -q '^version=' "$work/c.out" 2>/dev/null && break
		sleep 0.05
	done
}

check_own() { # json version cipher client-no-pad
	local f=$1 v=$2 c=$3 nopad=$4 why="" sline cline cport
	sline=$(sock_line "$f" $port)
	cport=$(jfield "$sline" peer_port)
	cline=$(sock_line "$f" "${cport:-0}")
	[ "$(grep -c '"state"' "$f")" -eq 2 ] || why="$why not 2 sockets"
	for l in "$sline" "$cline"; do
		[ "$(jfield "$l" version)" = "TLS$v" ] || why="$why version '$(jfield "$l" version)'"
		[ "$(jfield "$l" cipher)" = "$c" ] || why="$why cipher '$(jfield "$l" cipher)'"
		[ "$(jfield "$l" tx)/$(jfield "$l" rx)" = sw/sw ] || why="$why tx/rx $(jfield "$l" tx)/$(jfield "$l" rx)"
		[ "$(jfield "$l" process)" = ktls-peer ] || why="$why process '$(jfield "$l" process)'"
		[ "$(jfield "$l" tx_zerocopy_sendfile)" = false ] || why="$why zerocopy"
	done
	[ "$(jfield "$sline" pid)" = "$spid" ] || why="$why server pid $(jfield "$sline" pid) not $spid"
	[ "$(jfield "$cline" pid)" = "$cpid" ] || why="$why client pid $(jfield "$cline" pid) not $cpid"
	[ "$(jfield "$sline" rx_no_pad)" = false ] || why="$why server rx_no_pad"
	[ "$(jfield "$cline" rx_no_pad)" = "$nopad" ] || why="$why client rx_no_pad $(jfield "$cline" rx_no_pad)"
	[ -z "$why" ] && return 0
	echo "# $why"
	return 1
}

own_pair 1.3 AES-128-GCM --rx-no-pad
"$ktls" stat --json --port $port > "$work/own.json" 2> "$work/own.err"
if check_own "$work/own.json" 1.3 AES-128-GCM true; then
	ok "our TLS 1.3 AES-128-GCM pair: both ends TX sw + RX sw, pids exact, client's RX no-padding flag"
else
	not_ok "our TLS 1.3 AES-128-GCM pair" "$work/own.json" "$work/own.err" "$work/s.out" "$work/c.out" "$work/c.err"
fi

# Filters: by pid, by cipher (any case), and one that matches nothing.
"$ktls" stat --pid $spid > "$work/pid.txt" 2>&1
"$ktls" stat --cipher aes-128-gcm --json > "$work/cipher.json" 2>&1
"$ktls" stat --cipher AES-256-GCM > "$work/none.txt" 2>&1
if [ "$(grep -c "ktls-peer/" "$work/pid.txt")" -eq 1 ] &&
	grep -Eq "^ESTAB +127\.0\.0\.1:$port +127\.0\.0\.1:[0-9]+ +ktls-peer/$spid +TLS1\.3 +AES-128-GCM +sw +sw +-$" "$work/pid.txt" &&
	[ "$(grep -c '"cipher": "AES-128-GCM"' "$work/cipher.json")" -eq 2 ] &&
	grep -qx "No kernel TLS socket matches (2 in all)." "$work/none.txt"; then
	ok "filters: --pid picks the server's socket, --cipher ignores case, no match says so"
else
	not_ok "filters" "$work/pid.txt" "$work/cipher.json" "$work/none.txt"
fi

# Unprivileged: kernels differ.  6.1 shows a socket's ULP in sock_diag only
# to CAP_NET_ADMIN, and ktls stat must then say so (exit 4) rather than print
# "no kTLS sockets"; 7.x shows it to everyone, and then the listing must be
# the real one (both sockets, TLS 1.3 AES-128-GCM; the owner is root's
# process, which nobody cannot see).  Either way, never a false empty list.
setpriv --reuid=65534 --regid=65534 --clear-groups "$ktls" stat > "$work/np.txt" 2> "$work/np.err"
nrc=$?
setpriv --reuid=65534 --regid=65534 --clear-groups "$ktls" stat --json > "$work/np.json" 2>&1
if [ $nrc -eq 4 ]; then
	if grep -q "not permitted" "$work/np.err" && grep -q "CAP_NET_ADMIN" "$work/np.err" &&
		! grep -q "No TCP socket" "$work/np.txt" && ! grep -q "ktls-peer" "$work/np.txt" &&
		grep -q "^Kernel TLS counters" "$work/np.txt"; then
		ok "stat unprivileged, ULP hidden by this kernel: exit 4, 'not permitted ... CAP_NET_ADMIN', no false empty list, counters still shown"
	else
		not_ok "stat unprivileged (exit 4)" "$work/np.txt" "$work/np.err"
	fi
	if grep -q '"sockets": null,' "$work/np.json" && grep -q '"sockets_error": "not permitted' "$work/np.json"; then
		ok "stat --json unprivileged: sockets null with the reason"
	else
		not_ok "stat --json unprivileged" "$work/np.json"
	fi
else
	if [ $nrc -eq 0 ] &&
		[ "$(grep -Ec "^ESTAB +127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:[0-9]+ +- +TLS1\.3 +AES-128-GCM +sw +sw " "$work/np.txt")" -eq 2 ] &&
		grep -q "^Kernel TLS counters" "$work/np.txt"; then
		ok "stat unprivileged, ULP shown by this kernel: exit 0, both sockets with version, cipher and sw/sw (owner not visible)"
	else
		not_ok "stat unprivileged (exit $nrc)" "$work/np.txt" "$work/np.err"
	fi
	if [ "$(grep -c '"version": "TLS1.3", "cipher": "AES-128-GCM"' "$work/np.json")" -eq 2 ] &&
		! grep -q '"sockets_error"' "$work/np.json"; then
		ok "stat --json unprivileged: both sockets listed"
	else
		not_ok "stat --json unprivileged" "$work/np.json"
	fi
fi
kill $spid $cpid 2>/dev/null
wait $spid $cpid 2>/dev/null

own_pair 1.2 CHACHA20-POLY1305
"$ktls" stat --json --port $port > "$work/own.json" 2> "$work/own.err"
if check_own "$work/own.json" 1.2 CHACHA20-POLY1305 false; then
	ok "our TLS 1.2 ChaCha20-Poly1305 pair: both ends TX sw + RX sw, pids exact"
else
	not_ok "our TLS 1.2 ChaCha20-Poly1305 pair" "$work/own.json" "$work/own.err" "$work/s.out" "$work/c.out"
fi
kill $spid $cpid 2>/dev/null
wait $spid $cpid 2>/dev/null

done_testing
