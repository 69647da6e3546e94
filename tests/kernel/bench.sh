#!/bin/bash
# ktls bench --quick inside the kernel with kTLS: every mode is in the JSON,
# the kTLS modes show the kernel did the crypto (getsockopt(SOL_TLS) and
# /proc/net/tls_stat deltas for the benchmark's own connections), and every
# mode's bytes arrived intact (the receiver's SHA-256 equals the sender's);
# the receive-side modes likewise (the /dev/null splice is counted, not hashed);
# the handshake rows ran with keys in the kernel and a key install time; mode 7
# (OpenSSL's own kTLS, SSL_sendfile) shows the same proofs for its TX key.
# Nothing here looks at speed.
. "$KTLS_SRC/tests/kernel/lib.sh"

command -v python3 > /dev/null || { echo "1..0 # SKIP python3 is needed to read the JSON"; exit 0; }

if "$ktls" bench --quick --json-file "$work/bench.json" --svg "$work/bench.svg" \
	> "$work/bench.out" 2> "$work/bench.err"; then
	ok "ktls bench --quick ran and exited 0"
else
	not_ok "ktls bench --quick ran and exited 0" "$work/bench.out" "$work/bench.err"
fi

# One python3 run checks everything (python3 starts slowly inside UML); it
# prints "PASS<TAB>name" or "FAIL<TAB>name<TAB>why" per case.
python3 - "$work/bench.json" > "$work/checks" 2> "$work/checks.err" <<'PY'
import json, sys

d = json.load(open(sys.argv[1]))
modes = {x["name"]: x for x in d["modes"]}
env = d["environment"]

def m(name):
    return modes[name]

def stat(name):
    return m(name)["tls_stat"]

def check(name, test):
    try:
        good = bool(test())
        why = "" if good else "condition false"
    except Exception as e:
        good, why = False, "%s: %s" % (type(e).__name__, e)
    print("PASS\t%s" % name if good else "FAIL\t%s\t%s" % (name, why))

all_modes = ["gnutls-send", "gnutls-send-file", "ktls-send", "ktls-sendfile",
             "ktls-uring-splice", "tcp-sendfile", "openssl-sendfile"]
check("JSON lists the seven modes, ids 1..7, in order",
      lambda: [x["name"] for x in d["modes"]] == all_modes
      and [x["id"] for x in d["modes"]] == [1, 2, 3, 4, 5, 6, 7])
check("environment: kernel, CPU, TLS ULP available, kernel AEAD driver, GnuTLS version",
      lambda: env["tls_ulp"] is True and env["kernel"].startswith("Linux ") and env["cpu"]
      and env["kernel_aead_driver"] not in ("", "unknown") and env["userspace"]["version"])
check("generic kernel crypto is called out as not meaningful against userspace",
      lambda: not env["kernel_crypto_generic"] or "not meaningful" in env["note"])
for n in ["gnutls-send", "gnutls-send-file", "ktls-send", "ktls-sendfile", "ktls-uring-splice",
          "tcp-sendfile"]:
    check("%s: ran, bytes > 0, receiver's SHA-256 equals the sender's" % n,
          lambda: m(n)["status"] == "ok" and m(n)["bytes"] > 0 and m(n)["sha256_match"]
          and len(m(n)["sha256_sent"]) == 64 and m(n)["sha256_sent"] == m(n)["sha256_received"])
    check("%s: CPU and call counts reported for both sides" % n,
          lambda: all(k in m(n)[s] for s in ("sender", "receiver")
                      for k in ("user_s_per_gib", "sys_s_per_gib", "syscalls_per_gib"))
          and m(n)["sender"]["syscalls"] > 0 and m(n)["receiver"]["syscalls"] > 0)
for n in ["ktls-send", "ktls-sendfile", "ktls-uring-splice"]:
    check("%s: the kernel held the TX key (getsockopt) and counted it: TlsTxSw +1, "
          "TlsRxSw +1 (receiver), no decrypt errors" % n,
          lambda: m(n)["kernel_tx"] and m(n)["kernel_rx"] and m(n)["records_derived"]
          and stat(n) == {"TlsTxSw": 1, "TlsRxSw": 1, "TlsDecryptError": 0})
for n in ["gnutls-send", "gnutls-send-file"]:
    check("%s: userspace TX (no kernel TX key, TlsTxSw +0), same kernel-RX receiver "
          "(TlsRxSw +1)" % n,
          lambda: not m(n)["kernel_tx"] and m(n)["kernel_rx"]
          and stat(n) == {"TlsTxSw": 0, "TlsRxSw": 1, "TlsDecryptError": 0})
# Mode 7: OpenSSL 3's own kTLS as the server (SSL_sendfile) to the libktls
# receive loop as a client; TLS 1.3 AES-128-GCM is one OpenSSL offloads (TX only).
ossl = m("openssl-sendfile")
if env["openssl"] is None:
    check("openssl-sendfile: built without OpenSSL, so the row says so, with no numbers",
          lambda: ossl["status"] == "unavailable" and ossl["reason"].startswith("not built")
          and "bytes" not in ossl)
else:
    check("openssl-sendfile: ran (%s), bytes > 0, receiver's SHA-256 equals the sender's"
          % env["openssl"],
          lambda: ossl["status"] == "ok" and ossl["bytes"] > 0 and ossl["sha256_match"]
          and len(ossl["sha256_sent"]) == 64 and ossl["sha256_sent"] == ossl["sha256_received"])
    check("openssl-sendfile: OpenSSL's TX key is in the kernel (getsockopt on its socket, "
          "TlsTxSw +1, the receiver keeps TX in GnuTLS), the receiver's RX too (TlsRxSw +1), "
          "no decrypt errors",
          lambda: ossl["kernel_tx"] and ossl["kernel_rx"]
          and ossl["tls_stat"] == {"TlsTxSw": 1, "TlsRxSw": 1, "TlsDecryptError": 0})
    check("openssl-sendfile: CPU and calls for both sides, SSL_sendfile calls counted",
          lambda: ossl["sender"]["syscalls"] > 0 and ossl["receiver"]["syscalls"] > 0
          and "SSL_sendfile" in ossl["sender"]["syscalls_counted"]
          and all(k in ossl[s] for s in ("sender", "receiver")
                  for k in ("user_s_per_gib", "sys_s_per_gib", "syscalls_per_gib")))
check("environment: how getrusage books the kernel's own work was measured",
      lambda: env["cpu_accounting"]["user_s"] + env["cpu_accounting"]["sys_s"] > 0
      and isinstance(env["cpu_accounting"]["kernel_work_booked_as_user"], bool))
check("gnutls-send counts its records (one per gnutls_record_send call)",
      lambda: m("gnutls-send")["records"] > 0 and not m("gnutls-send")["records_derived"])
recv = {x["name"]: x for x in d["receive"]}
check("JSON lists the four receive modes, ids 1..4, in order",
      lambda: [x["name"] for x in d["receive"]] == ["gnutls-recv", "ktls-recv",
               "ktls-splice-null", "ktls-splice-file"]
      and [x["id"] for x in d["receive"]] == [1, 2, 3, 4])
for n in ["gnutls-recv", "ktls-recv", "ktls-splice-null", "ktls-splice-file"]:
    check("receive %s: ran with the kTLS sendfile sender (TX key held), bytes > 0, "
          "CPU and calls for both sides" % n,
          lambda: recv[n]["status"] == "ok" and recv[n]["bytes"] > 0 and recv[n]["kernel_tx"]
          and recv[n]["sender"]["syscalls"] > 0 and recv[n]["receiver"]["syscalls"] > 0
          and all(k in recv[n][s] for s in ("sender", "receiver")
                  for k in ("user_s_per_gib", "sys_s_per_gib", "syscalls_per_gib")))
check("receive gnutls-recv: GnuTLS decrypts (no RX key, TlsRxSw +0), SHA-256 matches",
      lambda: not recv["gnutls-recv"]["kernel_rx"] and recv["gnutls-recv"]["sha256_match"]
      and recv["gnutls-recv"]["tls_stat"] == {"TlsTxSw": 1, "TlsRxSw": 0, "TlsDecryptError": 0})
for n in ["ktls-recv", "ktls-splice-null", "ktls-splice-file"]:
    check("receive %s: the kernel held the RX key and counted it (TlsRxSw +1)" % n,
          lambda: recv[n]["kernel_rx"]
          and recv[n]["tls_stat"] == {"TlsTxSw": 1, "TlsRxSw": 1, "TlsDecryptError": 0})
check("receive ktls-recv and ktls-splice-file: receiver's SHA-256 equals the sender's",
      lambda: all(recv[n]["sha256_match"] and recv[n]["sha256_sent"] == recv[n]["sha256_received"]
                  for n in ("ktls-recv", "ktls-splice-file")))
check("receive ktls-splice-null says it was not hashed, and the file variant stayed within 64 MiB",
      lambda: recv["ktls-splice-null"]["sha256_received"] == "not hashed (spliced)"
      and recv["ktls-splice-null"]["sha256_match"] is None
      and recv["ktls-splice-file"]["bytes"] <= 64 << 20)
hs = d["handshakes"]
rows = {x["name"]: x for x in hs["rows"]}
check("handshakes: 1 s per row in --quick, the six rows in order",
      lambda: hs["duration_s"] == 1 and [x["name"] for x in hs["rows"]] == [
          "tls1.2-ecdsa-p256", "tls1.2-rsa-2048", "tls1.3-ecdsa-p256", "tls1.3-rsa-2048",
          "tls1.2-resumed", "tls1.3-resumed"])
for n in ["tls1.2-ecdsa-p256", "tls1.2-rsa-2048", "tls1.3-ecdsa-p256", "tls1.3-rsa-2048",
          "tls1.2-resumed", "tls1.3-resumed"]:
    check("handshakes %s: ran, > 0 per second, CPU per handshake on both sides, keys in the "
          "kernel on both sides with a key install time" % n,
          lambda: rows[n]["status"] == "ok" and rows[n]["handshakes"] > 0
          and rows[n]["handshakes_per_s"] > 0 and rows[n]["client"]["cpu_ms_per_handshake"] > 0
          and rows[n]["server"]["cpu_ms_per_handshake"] > 0 and rows[n]["kernel_keys"]
          and rows[n]["key_installs"] == 2 * rows[n]["handshakes"] and rows[n]["key_install_us"] > 0)
check("tcp-sendfile: no TLS at all (no keys, no counters)",
      lambda: not m("tcp-sendfile")["kernel_tx"] and m("tcp-sendfile")["records"] == 0
      and stat("tcp-sendfile") == {"TlsTxSw": 0, "TlsRxSw": 0, "TlsDecryptError": 0})
PY
[ -s "$work/checks" ] || not_ok "the JSON could be read" "$work/checks.err" "$work/bench.out"
while IFS=$'\t' read -r verdict name why; do
	if [ "$verdict" = PASS ]; then
		ok "$name"
	else
		echo "# $why" > "$work/why"
		not_ok "$name" "$work/why"
	fi
done < "$work/checks"

if head -c 200 "$work/bench.svg" | grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' &&
	tail -n 1 "$work/bench.svg" | grep -qx '</svg>' &&
	grep -q 'throughput (MiB/s)' "$work/bench.svg" && grep -q 'ktls-sendfile' "$work/bench.svg"; then
	ok "the SVG has its root element, axis labels and mode names (the unit suite checks its structure)"
else
	not_ok "the SVG has its root element, axis labels and mode names (the unit suite checks its structure)" "$work/bench.svg"
fi
if grep -q '^  kernel AEAD driver for AES-128-GCM: ' "$work/bench.out" && grep -q '^  TLS ULP: available' "$work/bench.out"; then
	ok "the table starts with the environment"
else
	not_ok "the table starts with the environment" "$work/bench.out"
fi

done_testing
