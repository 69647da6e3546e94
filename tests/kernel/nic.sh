#!/bin/bash
# ktls nic inside user-mode Linux (ethtool netlink, veth, network
# namespaces): lo and a veth pair have no TLS offload, which is reported
# without error; --enable explains why it cannot; bad interface names and
# unprivileged changes get their own messages and exit statuses
# (2 invalid, 1 no such interface, 3 no offload, 4 not permitted).
. "$KTLS_SRC/tests/kernel/lib.sh"

run() { # name expected-status command... ; output in $work/out, $work/err
	local name=$1 want=$2
	shift 2
	"$@" > "$work/out" 2> "$work/err"
	rc=$?
	[ $rc -eq "$want" ] && return 0
	echo "# $name: exit $rc, wanted $want"
	return 1
}

if run "nic lo" 0 "$ktls" nic lo &&
	grep -Eq '^lo +\(virtual\) +- +- +-$' "$work/out" &&
	grep -qx 'lo: no TLS offload (virtual device)' "$work/out" && ! [ -s "$work/err" ]; then
	ok "nic lo: no TLS offload (virtual device), exit 0, nothing on stderr"
else
	not_ok "nic lo" "$work/out" "$work/err"
fi

if run "nic lo --json" 0 "$ktls" nic lo --json &&
	grep -q '{"name": "lo", "ifindex": 1, "driver": null, "virtual": true, "tls_offload": false, ' "$work/out" &&
	grep -q '"tls-hw-tx-offload": {"available": false, "wanted": false, "active": false, "fixed": false}' "$work/out"; then
	ok "nic lo --json: tls_offload false, every feature unavailable and off"
else
	not_ok "nic lo --json" "$work/out" "$work/err"
fi

ip link add kt-veth0 type veth peer name kt-veth1 || echo "# cannot create a veth pair"
if run "nic kt-veth0" 0 "$ktls" nic kt-veth0 &&
	grep -Eq '^kt-veth0 +veth +- +- +-$' "$work/out" &&
	grep -qx 'kt-veth0: driver veth has no TLS offload (virtual device)' "$work/out"; then
	ok "nic kt-veth0: driver veth, no TLS offload, exit 0"
else
	not_ok "nic kt-veth0" "$work/out" "$work/err"
fi

if run "nic (all)" 0 "$ktls" nic --json && [ "$(grep -c '"tls_offload": false' "$work/out")" -eq 3 ] &&
	grep -q '"name": "kt-veth1", .*"driver": "veth"' "$work/out" &&
	run "nic (all, table)" 0 "$ktls" nic && grep -q "kTLS here runs on the CPU" "$work/out"; then
	ok "nic: every interface (lo, both veths) listed, none with TLS offload, exit 0"
else
	not_ok "nic (all)" "$work/out" "$work/err"
fi

# A kernel may not know a feature at all (7.x dropped tls-hw-record): then
# the message says so and names the TLS features it does know.
for f in tls-hw-tx-offload tls-hw-rx-offload tls-hw-record; do
	if run "enable $f on kt-veth0" 3 "$ktls" nic kt-veth0 --enable $f &&
		grep -qx "ktls nic: cannot enable $f on kt-veth0: driver veth of kt-veth0 has no TLS offload (virtual device)" "$work/err"; then
		ok "nic kt-veth0 --enable $f: exit 3, 'driver veth of kt-veth0 has no TLS offload'"
	elif [ $f = tls-hw-record ] && [ "${rc:-}" = 3 ] &&
		grep -qx "ktls nic: cannot enable $f on kt-veth0: this kernel has no NIC feature $f (the TLS features it knows: tls-hw-tx-offload, tls-hw-rx-offload)" "$work/err"; then
		ok "nic kt-veth0 --enable $f: exit 3, 'this kernel has no NIC feature $f' with the ones it knows"
	else
		not_ok "nic kt-veth0 --enable $f" "$work/out" "$work/err"
	fi
done
if run "enable on lo" 3 "$ktls" nic lo --enable tls-hw-rx-offload &&
	grep -qx "ktls nic: cannot enable tls-hw-rx-offload on lo: lo has no TLS offload (virtual device)" "$work/err"; then
	ok "nic lo --enable: exit 3, 'lo has no TLS offload (virtual device)'"
else
	not_ok "nic lo --enable" "$work/out" "$work/err"
fi
if run "disable on lo" 0 "$ktls" nic lo --disable tls-hw-tx-offload && grep -Eq '^lo ' "$work/out"; then
	ok "nic lo --disable (already off): exit 0, the table after"
else
	not_ok "nic lo --disable" "$work/out" "$work/err"
fi

# Names: checked before any netlink (2); a valid name without a device (1).
bad_name() { # name expected-words
	if run "nic '$1'" 2 "$ktls" nic "$1" && grep -q "invalid interface name" "$work/err" &&
		grep -qF "$2" "$work/err"; then
		ok "nic '$1': exit 2, invalid interface name ($2)"
	else
		not_ok "nic '$1'" "$work/out" "$work/err"
	fi
}
bad_name "" "empty"
bad_name "kt-0123456789abc" "longer than 15 characters"
bad_name "../lo" "'/'"
bad_name "lo:0" "':'"
if run "nic nosuch0" 1 "$ktls" nic nosuch0 && grep -qx "ktls nic: no interface nosuch0" "$work/err"; then
	ok "nic nosuch0: exit 1, 'no interface nosuch0'"
else
	not_ok "nic nosuch0" "$work/out" "$work/err"
fi
if run "enable on nosuch0" 1 "$ktls" nic nosuch0 --enable tls-hw-tx-offload &&
	grep -q "no interface nosuch0" "$work/err"; then
	ok "nic nosuch0 --enable: exit 1, 'no interface nosuch0'"
else
	not_ok "nic nosuch0 --enable" "$work/out" "$work/err"
fi
if run "unknown feature" 2 "$ktls" nic lo --enable tx-checksumming && grep -q "unknown feature" "$work/err"; then
	ok "nic lo --enable tx-checksumming: exit 2, unknown feature"
else
	not_ok "nic --enable unknown feature" "$work/out" "$work/err"
fi

# Unprivileged: reading is allowed, changing is not -- and that is said
# before "no TLS offload", since it is the first thing that stops it.
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if run "unprivileged nic lo" 0 "${nobody[@]}" "$ktls" nic lo && grep -q '^lo ' "$work/out"; then
	ok "nic lo as nobody: reading works"
else
	not_ok "nic lo as nobody" "$work/out" "$work/err"
fi
if run "unprivileged enable" 4 "${nobody[@]}" "$ktls" nic lo --enable tls-hw-tx-offload &&
	grep -qx "ktls nic: cannot enable tls-hw-tx-offload on lo: not permitted: changing NIC features needs CAP_NET_ADMIN" "$work/err"; then
	ok "nic lo --enable as nobody: exit 4, 'not permitted: changing NIC features needs CAP_NET_ADMIN'"
else
	not_ok "nic lo --enable as nobody" "$work/out" "$work/err"
fi
if run "unprivileged disable" 4 "${nobody[@]}" "$ktls" nic kt-veth0 --disable tls-hw-record &&
	grep -q "not permitted" "$work/err"; then
	ok "nic kt-veth0 --disable as nobody: exit 4, not permitted"
else
	not_ok "nic kt-veth0 --disable as nobody" "$work/out" "$work/err"
fi

# Interfaces are per network namespace: one end of the pair moved away.
if ip netns add kt-ns 2> "$work/err" && ip link set kt-veth1 netns kt-ns &&
	run "nic in kt-ns" 0 ip netns exec kt-ns "$ktls" nic --json &&
	grep -q '"name": "kt-veth1"' "$work/out" && ! grep -q '"name": "kt-veth0"' "$work/out" &&
	run "nic here" 0 "$ktls" nic --json && ! grep -q '"name": "kt-veth1"' "$work/out"; then
	ok "nic lists the interfaces of its own network namespace"
else
	not_ok "nic and network namespaces" "$work/out" "$work/err"
fi
ip netns del kt-ns 2>/dev/null
ip link del kt-veth0 2>/dev/null

done_testing
