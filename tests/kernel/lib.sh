# Shared by the kernel-suite scripts; they run inside user-mode Linux (uml-run).
# Output is TAP: one "ok N - name" / "not ok N - name" line per case.
#
# Environment (set by tests/kernel/meson.build):
#   KTLS_BUILD   build directory (binaries: tools/ktls, tests/lib/*)
#   KTLS_SRC     source directory
set -u

peer=$KTLS_BUILD/tests/lib/ktls-peer
coalesce=$KTLS_BUILD/tests/lib/coalesce-peer
ktls=$KTLS_BUILD/tools/ktls
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-kernel.XXXXXX")
pki=$work/pki
case_no=0
failed=0
port=20000
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT

"$KTLS_SRC/tests/lib/make-certs.sh" "$pki" || { echo "Bail out! cannot make certificates"; exit 1; }

if ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
	echo "1..0 # SKIP this kernel has no TLS ULP"
	exit 0
fi

# Every libktls process probes the kernel once (lib/probe.c), and each probe
# key it sets counts in TlsTxSw/TlsRxSw.  Measure that once so that the
# deltas below can be exact: probe_tx/probe_rx per libktls process.
t0=$(awk '$1 == "TlsTxSw" { print $2 }' /proc/net/tls_stat)
r0=$(awk '$1 == "TlsRxSw" { print $2 }' /proc/net/tls_stat)
"$ktls" probe --json > "$work/probe.json"
probe_tx=$(( $(awk '$1 == "TlsTxSw" { print $2 }' /proc/net/tls_stat) - t0 ))
probe_rx=$(( $(awk '$1 == "TlsRxSw" { print $2 }' /proc/net/tls_stat) - r0 ))
# ktls probe also asks ktls_caps_get() for ring_zerocopy_send, whose probe
# sets one more TX key (TLS 1.3 AES-128-GCM, where the kernel offloads it);
# a process that never asks (ktls-peer, ktls get, ktls serve) does not.
if grep -q '"version": "TLS1.3", "cipher": "AES-128-GCM", "tx": true' "$work/probe.json"; then
	probe_tx=$((probe_tx - 1))
fi

# What this kernel can do, from that probe (never from uname): probe_has
# tls13_rekey / tx_max_payload_len / ... succeeds when the probe says true.
probe_has() { grep -q "\"$1\": true" "$work/probe.json"; }

# Each case gets a fresh port, so a peer that lingers cannot confuse the next.
next_port() { port=$((port + 1)); }

ok() { case_no=$((case_no + 1)); echo "ok $case_no - $1"; }
not_ok() {
	case_no=$((case_no + 1)); failed=$((failed + 1))
	echo "not ok $case_no - $1"
	shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f"; done
}
done_testing() { echo "1..$case_no"; [ "$failed" -eq 0 ]; }

# A file of random bytes and its SHA-256.
make_payload() { head -c "$2" /dev/urandom > "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Value of key=value in a ktls-peer summary file.
field() { grep -o "$2=[^ ]*" "$1" | head -1 | cut -d= -f2- | tr -d '"'; }

stat_get() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }

# Wait until something listens on a TCP port.  It only looks (ss), never
# connects: a server that accepts one connection must get the real client.
wait_port() {
	for _ in $(seq 1 200); do
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	return 1
}

# Keep a peer's input open until FILE has SIZE bytes (or SECONDS pass): some
# peers end the connection when their input ends.
hold_until_size() { # file size seconds
	for _ in $(seq 1 $(($3 * 10))); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && break
		sleep 0.1
	done
	sleep 0.3
}

# Wait up to $2 seconds for a background pid; kill it after that.
wait_pid() {
	local pid=$1 t=$2
	for _ in $(seq 1 $((t * 10))); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid"
	return 124
}

# GnuTLS and OpenSSL names for each kernel cipher, per version.
gnutls_prio() { # version cipher
	echo "NORMAL:-VERS-ALL:+VERS-TLS$1:-CIPHER-ALL:+$2"
}
openssl_args() { # version cipher
	if [ "$1" = 1.3 ]; then
		case $2 in
		AES-128-GCM) s=TLS_AES_128_GCM_SHA256 ;;
		AES-256-GCM) s=TLS_AES_256_GCM_SHA384 ;;
		AES-128-CCM) s=TLS_AES_128_CCM_SHA256 ;;
		CHACHA20-POLY1305) s=TLS_CHACHA20_POLY1305_SHA256 ;;
		esac
		echo "-tls1_3 -ciphersuites $s"
	else
		case $2 in
		AES-128-GCM) s=ECDHE-ECDSA-AES128-GCM-SHA256 ;;
		AES-256-GCM) s=ECDHE-ECDSA-AES256-GCM-SHA384 ;;
		AES-128-CCM) s=ECDHE-ECDSA-AES128-CCM ;;
		CHACHA20-POLY1305) s=ECDHE-ECDSA-CHACHA20-POLY1305 ;;
		esac
		echo "-tls1_2 -cipher $s"
	fi
}

VERSIONS=${KTLS_TEST_VERSIONS:-1.2 1.3}
CIPHERS=${KTLS_TEST_CIPHERS:-AES-128-GCM AES-256-GCM AES-128-CCM CHACHA20-POLY1305}

# check_peer NAME SUMMARY VERSION CIPHER [expected sha256_in] [stat counters before]:
# the ktls-peer summary shows the negotiated parameters, the kernel holding
# both keys (getsockopt(SOL_TLS) says so), and the received bytes' hash.
check_peer() {
	local name=$1 out=$2 v=$3 c=$4 want_sha=${5:-} why=""
	[ "$(field "$out" version)" = "TLS$v" ] || why="version $(field "$out" version)"
	[ "$(field "$out" cipher)" = "$c" ] || why="$why cipher $(field "$out" cipher)"
	[ "$(field "$out" kernel_tx)" = ok ] || why="$why kernel_tx=$(field "$out" kernel_tx)"
	[ "$(field "$out" kernel_rx)" = ok ] || why="$why kernel_rx=$(field "$out" kernel_rx)"
	if [ -n "$want_sha" ] && [ "$(field "$out" sha256_in)" != "$want_sha" ]; then
		why="$why sha256 of received bytes differs"
	fi
	if [ -z "$why" ]; then return 0; fi
	echo "# $name: $why"
	return 1
}
