#!/bin/bash
# A hostile client (tests/lib/hostile-peer) against ktls serve and the
# blocking API with the kernel holding the keys: malformed and fragmented
# handshakes, bad MACs per cipher, wrong and empty record types, oversized,
# short and partial records, invalid and misplaced KeyUpdates.  Each case
# gets the alert the RFCs require, no hang, an idle server while a partial
# record waits, and the next client served (tests/lib/hostile-cases.sh).
. "$KTLS_SRC/tests/kernel/lib.sh"

hostile=$KTLS_BUILD/tests/lib/hostile-peer
HOSTILE_RX_KERNEL=0
probe_has ulp_available && HOSTILE_RX_KERNEL=1
HOSTILE_REKEY=0
probe_has tls13_rekey && HOSTILE_REKEY=1
. "$KTLS_SRC/tests/lib/hostile-cases.sh"

hostile_start_serve
hostile_run_all
hostile_stop
hostile_start_peer
hostile_run_all
hostile_stop
done_testing
