#!/bin/bash
# Memory per idle connection of ktls serve under kTLS: KTLS_MEMORY_CONNS
# (default 10000) connections are opened at once against one server thread
# and held idle, and the server's VmRSS and heap in use (SIGUSR1 report) are
# read before and during; then every connection fetches a small file (sha256).
# Not part of the default suite (10,000 handshakes take minutes in UML); run:
#   KTLS_BUILD=build KTLS_SRC=. tests/kernel/uml-run --mem 2G --timeout 1200 \
#       tests/kernel/serve-memory.sh
. "$KTLS_SRC/tests/kernel/lib.sh"

n=${KTLS_MEMORY_CONNS:-10000}
# the server holds a socket, a file and (while sending) a pipe per connection,
# the client a socket; root may raise the hard limit
ulimit -n "${KTLS_MEMORY_NOFILE:-$((n * 3 + 1000))}" || { echo "Bail out! ulimit -n"; exit 1; }
SERVE_BIG=4096
SERVE_VIA=kernel-splice
many_get=$KTLS_BUILD/tests/lib/many-get
. "$KTLS_SRC/tests/lib/serve-cases.sh"
serve_make_root
next_port
serve_start --threads 1 --idle-timeout 1200 --send-timeout 300 --max-conns $((n + 100))
# A small file: the point is the idle connections; 10,000 simultaneous 64 KiB
# responses put a 2 GiB user-mode Linux under TCP memory pressure
# (KTLS_MEMORY_PATH=/small.bin tries it).
MANY_HOLD_MS=3000 case_many "$n" "${KTLS_MEMORY_PATH:-/index.html}"
serve_stop
check_peak "$n"
dmesg | grep -iE "tcp|memory|oom" | tail -5 | sed 's/^/# dmesg: /'
done_testing
