#!/bin/bash
# The example programs (examples/) inside a kernel with kTLS: the epoll PSK
# echo and the io_uring file server fetched by adopt-gnutls, each program
# reporting (ktls_conn_get_info) that the kernel holds both directions'
# keys, every byte sha256-checked, and /proc/net/tls_stat agreeing: one TX
# and one RX key on each side of a connection, no decrypt error.
# The same cases run on the build host, over GnuTLS records, in
# tests/unit/test-examples.sh.
. "$KTLS_SRC/tests/kernel/lib.sh"

ex=$KTLS_BUILD/examples
EXAMPLE_KEYS=kernel
EXAMPLE_BIG=${KTLS_EXAMPLE_BIG:-$((16 << 20))}
. "$KTLS_SRC/tests/lib/example-cases.sh"

case_epoll_psk
case_ring_files

done_testing
