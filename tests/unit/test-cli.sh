#!/bin/bash
# The ktls command line as a user meets it: --version, ktls help, --json on
# every subcommand (valid JSON on stdout), and usage errors: one line saying
# what is wrong, "try 'ktls help CMD'", exit 2 -- for the values that some
# subcommand once took silently (serve -p abc listened on port 0, loopback
# --bytes 1M meant one byte, --offload typos meant auto, a PSK identity was
# cut at its first colon).
# Arguments: the ktls binary, the project version, the source directory.
set -u
ktls=$1
version=$2
src=$3
command -v python3 > /dev/null || { echo "1..0 # SKIP python3 is needed to read the JSON"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-cli.XXXXXX")
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT

. "$src/tests/lib/unit-lib.sh"

# run EXPECTED-STATUS ARGS...: ktls ARGS, stdout in $work/out, stderr in $work/err.
run() {
	local want=$1
	shift
	timeout 60 "$ktls" "$@" > "$work/out" 2> "$work/err"
	rc=$?
	[ "$rc" = "$want" ]
}

# usage_error CMD 'message' ARGS...: exit 2, exactly the message and the hint, nothing on stdout.
usage_error() {
	local cmd=$1 msg=$2
	shift 2
	if run 2 "$@" && [ ! -s "$work/out" ] &&
		[ "$(cat "$work/err")" = "$(printf "ktls %s: %s\ntry 'ktls help %s'" "$cmd" "$msg" "$cmd")" ]; then
		ok "ktls $* -> exit 2: $msg"
	else
		not_ok "ktls $* -> exit 2 and '$msg' (exit $rc)" "$work/err" "$work/out"
	fi
}

json_ok() { python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2> /dev/null; }

commands="probe loopback stat nic bench get serve agent"

# ---- --version, help -----------------------------------------------------------
if run 0 --version && [ "$(cat "$work/out")" = "ktls $version" ]; then
	ok "ktls --version prints 'ktls $version'"
else
	not_ok "ktls --version (exit $rc)" "$work/out" "$work/err"
fi
bad=
for c in $commands; do
	run 0 "$c" --version && [ "$(cat "$work/out")" = "ktls $version" ] || bad="$bad $c"
done
[ -z "$bad" ] && ok "ktls CMD --version for every command" || not_ok "--version of:$bad"

if run 0 help && for c in $commands; do grep -q "^  $c " "$work/out" || exit 1; done; then
	ok "ktls help lists every command"
else
	not_ok "ktls help (exit $rc)" "$work/out" "$work/err"
fi
bad=
for c in $commands; do
	run 0 "$c" --help && cp "$work/out" "$work/help1" && run 0 help "$c" &&
		cmp -s "$work/out" "$work/help1" && grep -q "^Usage: ktls $c" "$work/out" || bad="$bad $c"
done
[ -z "$bad" ] && ok "ktls help CMD prints CMD --help, for every command" ||
	not_ok "ktls help CMD for:$bad"
if run 2 help nosuch && grep -qx "ktls help: unknown command 'nosuch'" "$work/err"; then
	ok "ktls help nosuch: exit 2"
else
	not_ok "ktls help nosuch (exit $rc)" "$work/err"
fi
if run 2 nosuch && [ "$(cat "$work/err")" = "$(printf "ktls: unknown command 'nosuch'\ntry 'ktls help'")" ]; then
	ok "ktls nosuch: exit 2, one line and the hint"
else
	not_ok "ktls nosuch (exit $rc)" "$work/err"
fi
if run 2 && grep -q "^Usage: ktls COMMAND" "$work/err"; then
	ok "ktls alone: the usage on stderr, exit 2"
else
	not_ok "ktls alone (exit $rc)" "$work/err"
fi

# ---- usage errors, the same shape everywhere ------------------------------------
for c in $commands; do
	usage_error "$c" "unknown option '--bogus'" "$c" --bogus
done
usage_error stat "option '--port' needs a value" stat --port
usage_error probe "option '--json' takes no value" probe --json=yes
usage_error probe "unknown option '-Z'" probe -Z
usage_error probe "unexpected argument 'extra'" probe extra

usage_error serve "--port: 'abc' is not a TCP port (1 to 65535)" serve -p abc
usage_error serve "--port: '0' is not a TCP port (1 to 65535)" serve -p 0
usage_error serve "--port: '70000' is not a TCP port (1 to 65535)" serve --port 70000
usage_error serve "--offload: 'requir' is not an offload policy (auto, require or off)" \
	serve --offload requir
usage_error serve "--threads: '0' is out of range (1 to 256)" serve -t 0
usage_error serve "--idle-timeout: '1e3' is not a number of seconds (e.g. 10 or 0.5)" \
	serve --idle-timeout 1e3
usage_error serve "--psk: the key has a character that is not hex at digit 31" \
	serve --psk "id:00112233445566778899aabbccddeezz"
usage_error agent "--timeout: 'abc' is not a number of seconds (e.g. 10 or 0.5)" agent -t abc
usage_error agent "--timeout: '0' is out of range (0.001 to 3600 seconds)" agent --timeout 0
usage_error agent "--config and --no-config together" agent -c /x --no-config
usage_error agent "unexpected argument 'extra'" agent extra
usage_error agent "--state and --no-state together" agent --state /x --no-state
usage_error serve "one root directory: '/a' and '/b'" serve -r /a /b
usage_error serve "unexpected argument '/c'" serve /b /c
usage_error loopback "--bytes: '-5' is not a size (bytes, or a number with K, M, G, T or KiB, MiB, GiB, TiB)" \
	loopback --bytes -5
usage_error loopback "--bytes: '1MB' is not a size (bytes, or a number with K, M, G, T or KiB, MiB, GiB, TiB)" \
	loopback --bytes 1MB
usage_error loopback "--offload: 'autp' is not an offload policy (auto, require or off)" \
	loopback --offload autp
usage_error loopback "--tls: '1.1' is not 1.2 or 1.3" loopback --tls 1.1
usage_error get "--offload: 'yes' is not an offload policy (auto, require or off)" \
	get --offload yes https://localhost/
usage_error get "--psk: expected IDENTITY:HEXKEY (no ':' found)" get --psk nokey https://localhost/
usage_error get "--count: '0' is out of range (1 to 1000000)" get --count 0 https://localhost/
usage_error get "--timeout: 'abc' is not a number of seconds (e.g. 10 or 0.5)" \
	get --timeout abc https://localhost/
usage_error get "no URL given" get
usage_error get "--json writes to stdout: give -o FILE for the body (-o /dev/null to drop it)" \
	get --json https://localhost/
usage_error bench "unexpected argument 'out.json'" bench --json out.json
usage_error bench "--size: '0' is out of range (1 to 17179869184 bytes)" bench --size 0
usage_error bench "--record-size: '16385' is out of range (1 to 16384)" bench --record-size 16385
usage_error bench "--duration: '-1' is not a number of seconds (e.g. 10 or 0.5)" bench --duration -1
usage_error stat "--watch: '0.01' is out of range (0.1 to 86400 seconds)" stat --watch 0.01
usage_error stat "--count goes with --watch" stat --count 2
usage_error nic "unknown feature 'tx-checksumming' (tls-hw-tx-offload, tls-hw-rx-offload or tls-hw-record)" \
	nic lo --enable tx-checksumming
printf 'id:0011\n' > "$work/short.psk"
usage_error serve "--psk-file: $work/short.psk: the key must be 16 to 64 bytes in hex (32 to 128 hex digits); it has 4 digits" \
	serve --psk-file "$work/short.psk"

# ---- --json on every command -------------------------------------------------------
if run 0 probe --json && json_ok "$work/out"; then
	ok "probe --json: JSON on stdout"
else
	not_ok "probe --json (exit $rc)" "$work/out" "$work/err"
fi
# 4: not permitted to see the ULP; the JSON still says what was found
if { run 0 stat --json || [ $rc = 4 ] || [ $rc = 1 ]; } && json_ok "$work/out"; then
	ok "stat --json: JSON on stdout (exit $rc)"
else
	not_ok "stat --json (exit $rc)" "$work/out" "$work/err"
fi
# 1: this kernel has no handshake family (the host's may or may not)
if { run 0 agent --probe --json || [ $rc = 1 ]; } && json_ok "$work/out" &&
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d["handshake_family"], bool) and d["handshake_family"] == (sys.argv[2] == "0"), d' "$work/out" "$rc"; then
	ok "agent --probe --json: JSON on stdout (exit $rc)"
else
	not_ok "agent --probe --json (exit $rc)" "$work/out" "$work/err"
fi
if run 0 nic lo --json && json_ok "$work/out"; then
	ok "nic lo --json: JSON on stdout"
else
	not_ok "nic lo --json (exit $rc)" "$work/out" "$work/err"
fi
if run 0 loopback --bytes 1M --json && json_ok "$work/out" &&
	python3 - "$work/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bytes"] == 1048576, d["bytes"]
assert d["ok"] is True
for side in ("server", "client"):
    s = d[side]
    assert s["ok"] and s["version"] in ("TLS1.2", "TLS1.3"), s
    assert isinstance(s["tx"]["kernel"], bool) and isinstance(s["rx"]["kernel"], bool)
PY
then
	ok "loopback --bytes 1M --json: 1048576 bytes each way (1M was 1 byte), JSON on stdout"
else
	not_ok "loopback --bytes 1M --json (exit $rc)" "$work/out" "$work/err"
fi

# serve DIR (the root as an argument), --json access log; get --json against it
mkdir -p "$work/www"
head -c 100000 /dev/urandom > "$work/www/f.bin"
"$ktls" serve "$work/www" -b 127.0.0.1 -p "$port" --json > "$work/serve.out" 2> "$work/serve.err" &
srv=$!
wait_port "$port"
if run 0 get --insecure --json -o "$work/got" "https://127.0.0.1:$port/f.bin" &&
	cmp -s "$work/got" "$work/www/f.bin" && json_ok "$work/out" &&
	python3 - "$work/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit_status"] == 0 and d["connections"] == 1, d
r = d["requests"]
assert len(r) == 1 and r[0]["status"] == 200 and r[0]["bytes"] == 100000, r
assert d["tls"]["version"] in ("TLS1.2", "TLS1.3") and d["tls"]["verified"] is False, d["tls"]
assert isinstance(d["tls"]["tx"]["kernel"], bool)
PY
then
	ok "serve DIR serves DIR; get --json: status, bytes and the TLS facts as JSON, body to -o"
else
	not_ok "serve DIR / get --json (exit $rc)" "$work/out" "$work/err" "$work/serve.err"
fi
run 7 get --insecure --json -o /dev/null "https://127.0.0.1:$port/nothing"
if [ $rc = 7 ] && json_ok "$work/out" && grep -q '"exit_status": 7' "$work/out" &&
	grep -q '"status": 404' "$work/out"; then
	ok "get --json on a 404: the JSON still comes, with exit_status 7"
else
	not_ok "get --json, 404 (exit $rc)" "$work/out" "$work/err"
fi
kill -TERM $srv
wait $srv
if python3 - "$work/serve.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2, lines
assert lines[0]["request"] == "GET /f.bin" and lines[0]["status"] == 200, lines[0]
assert lines[0]["bytes"] == 100000 and lines[0]["via"] in ("userspace", "kernel-splice")
assert lines[1]["status"] == 404
PY
then
	ok "serve --json: one JSON object per request in the access log"
else
	not_ok "serve --json access log" "$work/serve.out" "$work/serve.err"
fi

echo "1..$case_no"
[ "$failed" -eq 0 ]
