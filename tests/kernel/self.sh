#!/bin/bash
# libktls client against libktls server, every version and cipher: 16 MiB each
# way, sha256-checked, with the kernel holding all four keys; then a 64 MiB
# sendfile.  (Independent peers are in interop-*.sh; this one checks that the
# two sides of our own code agree, and counts the kernel's work.)
. "$KTLS_SRC/tests/kernel/lib.sh"

make_payload "$work/a" $((16 << 20))
make_payload "$work/b" $((16 << 20))
make_payload "$work/big" $((64 << 20))
sha_a=$(sha "$work/a") sha_b=$(sha "$work/b") sha_big=$(sha "$work/big")

run_pair() { # name version cipher server-args -- client-args
	local name=$1 v=$2 c=$3; shift 3
	local sargs=() cargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift; cargs=("$@")
	next_port
	local tx0 rx0 err0
	tx0=$(stat_get TlsTxSw) rx0=$(stat_get TlsRxSw) err0=$(stat_get TlsDecryptError)
	"$peer" --server --port $port --cert "$pki/server.pem" --key "$pki/server-key.pem" \
		--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both --shutdown "${sargs[@]}" \
		> "$work/s.out" 2> "$work/s.err" &
	local spid=$!
	"$peer" --client --port $port --ca "$pki/ca.pem" --server-name localhost \
		--priority "$(gnutls_prio "$v" "$c")" --expect-kernel both --shutdown "${cargs[@]}" \
		> "$work/c.out" 2> "$work/c.err"
	local crc=$?
	wait_pid $spid 60
	local src=$?
	# Two libktls processes, each probing once, and one kTLS socket each.
	local dtx=$(( $(stat_get TlsTxSw) - tx0 - 2 * probe_tx ))
	local drx=$(( $(stat_get TlsRxSw) - rx0 - 2 * probe_rx ))
	local derr=$(( $(stat_get TlsDecryptError) - err0 ))
	echo "$dtx $drx $derr" > "$work/stat"
	[ $crc -eq 0 ] && [ $src -eq 0 ] && [ $dtx -eq 2 ] && [ $drx -eq 2 ] && [ $derr -eq 0 ]
}

for v in $VERSIONS; do
	for c in $CIPHERS; do
		name="TLS $v $c: 16 MiB each way, kernel TX+RX on both sides"
		if run_pair "$name" "$v" "$c" --send "$work/b" --recv-bytes $((16 << 20)) -- \
			--send "$work/a" --recv-bytes $((16 << 20)) &&
			check_peer server "$work/s.out" "$v" "$c" "$sha_a" &&
			check_peer client "$work/c.out" "$v" "$c" "$sha_b" &&
			[ "$(field "$work/c.out" end)" = close_notify ] &&
			[ "$(field "$work/s.out" end)" = close_notify ]; then
			ok "$name (tls_stat TlsTxSw/TlsRxSw/TlsDecryptError beyond the probes: +$(tr ' ' / < "$work/stat"))"
		else
			not_ok "$name" "$work/stat" "$work/s.out" "$work/s.err" "$work/c.out" "$work/c.err"
		fi
	done
done

for v in $VERSIONS; do
	name="TLS $v: sendfile of a 64 MiB file, received intact"
	if run_pair "$name" "$v" AES-128-GCM --send "$work/big" --sendfile --recv-bytes 0 -- \
		--recv-bytes $((64 << 20)) &&
		check_peer client "$work/c.out" "$v" AES-128-GCM "$sha_big"; then
		ok "$name"
	else
		not_ok "$name" "$work/stat" "$work/s.out" "$work/s.err" "$work/c.out" "$work/c.err"
	fi
done

done_testing
