#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The public structs and constants against the layouts recorded per version
node (tests/abi/NODE.layout, written by layout-gen.py's program).

 - The newest node of lib/libktls.sym must have a record, and today's layout
   must equal it: a struct that grows, a field that moves, a constant that
   changes needs a new version node (and its record: run this with --record
   after adding the node).
 - Every older node's record must still hold: each of its fields at the same
   offset with the same size, each struct at least as large, each constant
   with the same value.  Deliberate breaks that a compatibility symbol
   covers are listed, with the reason, in NODE.exceptions.

TAP output.  usage: check-layout.py SYMFILE RECORD_DIR LAYOUT_PROGRAM [--record]
"""
import os
import re
import subprocess
import sys


def parse(lines):
    out = {}
    for line in lines:
        parts = line.split()
        if parts:
            out[(parts[0], parts[1])] = parts[2:]
    return out


def main():
    symfile, record_dir, program = sys.argv[1:4]
    record = "--record" in sys.argv[4:]
    nodes = re.findall(r"^(LIBKTLS_[0-9.]+)\s*\{", open(symfile).read(), flags=re.M)
    newest = nodes[-1]
    now_text = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    now_lines = sorted(now_text.splitlines())
    now = parse(now_lines)
    if record:
        path = os.path.join(record_dir, newest + ".layout")
        with open(path, "w") as f:
            f.write("\n".join(now_lines) + "\n")
        print("recorded %s (%d lines)" % (path, len(now_lines)))
        return 0

    n = 0
    failed = False

    def point(ok, text, detail=()):
        nonlocal n, failed
        n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n, text))
        for d in detail:
            print("#   " + d)
        failed |= not ok

    path = os.path.join(record_dir, newest + ".layout")
    if not os.path.exists(path):
        point(False, "%s, the newest version node, has a recorded layout" % newest,
              ["record it: %s %s %s %s --record" % (sys.argv[0], symfile, record_dir, program)])
    else:
        rec = parse(open(path).read().splitlines())
        diff = ["%s %s: recorded %s, now %s" % (k[0], k[1], " ".join(rec.get(k, ["-"])),
                                                 " ".join(now.get(k, ["-"])))
                for k in sorted(set(rec) | set(now)) if rec.get(k) != now.get(k)]
        point(not diff, "the layout is %s's as recorded" % newest,
              diff + (["a struct or constant changed: add a version node to %s and record "
                       "its layout (--record)" % os.path.basename(symfile)] if diff else []))

    for node in nodes[:-1]:
        path = os.path.join(record_dir, node + ".layout")
        if not os.path.exists(path):
            point(False, "%s has a recorded layout" % node)
            continue
        rec = parse(open(path).read().splitlines())
        exc_path = os.path.join(record_dir, node + ".exceptions")
        excepted = set()
        if os.path.exists(exc_path):
            for line in open(exc_path):
                name = line.split("#")[0].strip()
                if name:
                    excepted.add(name)
        broken = []
        for (kind, name), val in sorted(rec.items()):
            if name in excepted or name.split(".")[0] in excepted:
                continue
            cur = now.get((kind, name))
            if kind == "struct":
                ok = cur is not None and int(cur[0]) >= int(val[0])
            else:
                ok = cur == val
            if not ok:
                broken.append("%s %s: %s then, %s now" % (kind, name, " ".join(val),
                                                          " ".join(cur) if cur else "gone"))
        point(not broken, "what %s programs were built with still holds" % node, broken)
    print("1..%d" % n)
    return 1 if failed else 0


sys.exit(main())
