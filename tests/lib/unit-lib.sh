# Shared by the unit suite's shell tests (tests/unit/test-*.sh), which run
# on the build host, several at once.  Output is TAP.  Sourced after the
# caller set $work.  tests/kernel/lib.sh is the kernel tiers' counterpart.

case_no=0 failed=0
ok() { echo "ok $((case_no += 1)) - $1"; }
not_ok() { # message [files to show]
	echo "not ok $((case_no += 1)) - $1"
	failed=$((failed + 1))
	shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f"; done
}
done_testing() { echo "1..$case_no"; [ "$failed" -eq 0 ]; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Ports for servers under test come from below the kernel's ephemeral range:
# a port in it can be taken at any moment by some client's connection, and
# then the server cannot bind (a whole CI run once failed that way).  Each
# script (one pid) gets its own block of 100, so that scripts running at the
# same time do not meet.
unit_first_port() {
	local low blocks
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${low:-0}" -gt 10200 ] 2>/dev/null || low=32768
	blocks=$(((low - 10000) / 100))
	echo $((10000 + ($$ % blocks) * 100))
}
port=$(unit_first_port)
next_port() { port=$((port + 1)); }

wait_port() { # port: until something listens there (5 s at most)
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	return 1
}
wait_pid() { # pid seconds -> its exit status, 124 after killing it
	for _ in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	kill -KILL "$1"
	wait "$1"
	return 124
}
