#!/usr/bin/env python3
# The library's files call each other in one direction only: no file calls
# a function of a file that (directly or through others) calls it back.
# And the two drivers (record.c, the blocking calls; ring*.c, the io_uring
# engine) make no protocol decision of their own: they never call GnuTLS's
# alert, handshake-message, KeyUpdate or closure functions, which only the
# core (proto.c) decides on and transport.c carries out.
# The call graph comes from the objects themselves (nm: which file defines a
# symbol another file uses), so nothing can be left out by hand.  Prints the
# layers from the bottom up, and every cycle with the symbols that close it.
#
#   test-layering.py NM LIBKTLS-INTERNAL.a
import collections
import subprocess
import sys

nm, archive = sys.argv[1], sys.argv[2]
out = subprocess.run([nm, "-A", archive], capture_output=True, text=True, check=True).stdout
defined, used = {}, collections.defaultdict(set)
for line in out.splitlines():
    # "archive:member.c.o: [value] TYPE symbol"
    where, _, rest = line.rpartition(":")
    member = where.rsplit(":", 1)[-1].rsplit("/", 1)[-1].replace(".c.o", ".c")
    parts = rest.split()
    if len(parts) == 3 and parts[1] in "TDBRC":
        defined[parts[2]] = member
    elif len(parts) == 2 and parts[0] == "U":
        used[member].add(parts[1])

edges = collections.defaultdict(dict)  # caller -> callee -> one symbol
for member, syms in used.items():
    for sym in sorted(syms):
        callee = defined.get(sym)
        if callee is not None and callee != member:
            edges[member].setdefault(callee, sym)
files = sorted(set(defined.values()) | set(used))

# Strongly connected components (Tarjan): any with two files is a cycle.
index, low, stack, on, comps = {}, {}, [], set(), []
def visit(v, counter=[0]):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for f in files:
    if f not in index:
        visit(f)

cycles = [c for c in comps if len(c) > 1]
decisions = {"gnutls_alert_send", "gnutls_alert_send_appropriate", "gnutls_error_to_alert",
             "gnutls_alert_get", "gnutls_handshake_write", "gnutls_session_key_update",
             "gnutls_bye", "gnutls_handshake_set_read_function"}
drivers = [f for f in files if f == "record.c" or f.startswith("ring")]
found = ["%s calls %s" % (f, s) for f in drivers for s in sorted(used[f] & decisions)]

print("1..2")
if cycles:
    print("not ok 1 - lib/ has import cycles")
    for c in cycles:
        print("# cycle: " + " <-> ".join(c))
        for a in c:
            for b in c:
                if b in edges[a]:
                    print("#   %s calls %s (%s)" % (a, b, edges[a][b]))
else:
    # Layers: a file sits one above the highest file it calls.
    depth = {}
    def level(f):
        if f not in depth:
            depth[f] = 1 + max((level(g) for g in edges[f]), default=-1)
        return depth[f]
    for f in files:
        level(f)
    for d in range(max(depth.values()) + 1):
        print("# layer %d: %s" % (d, " ".join(sorted(f for f in files if depth[f] == d))))
    print("ok 1 - no file in lib/ calls a file that calls it back (%d files)" % len(files))
if found or not drivers:
    print("not ok 2 - the drivers make protocol decisions of their own")
    for line in found:
        print("#   " + line)
else:
    print("ok 2 - the drivers (%s) leave alerts, KeyUpdate, tickets and closure to proto.c"
          % " ".join(drivers))
sys.exit(1 if cycles or found or not drivers else 0)
