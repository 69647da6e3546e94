#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/bench-serve-report.py, on rounds made up for it (TAP).

The machine's speed drifts between rounds, and the report must compare the
two servers inside each round: a ratio is the median of the rounds' own
ratios, not the ratio of the two servers' medians (which, with the drift
below, says 1.40x where the rounds say 1.40x, 1.10x and 1.25x).  The
servers' CPU per operation is compared the same way.  The download against
the raw socket divides by the mean of the raw rows of its own round.  A new
connection's time is split into the client's and the server's CPU, and the
ratio is worked out again with the round's mean client CPU for both servers.

usage: test-bench-serve-report.py REPORT_SCRIPT
"""
import json
import os
import subprocess
import sys
import tempfile

# round: (machine speed, ktls serve / nginx in that round)
ROUNDS = {1: (1.0, 1.4), 2: (0.5, 1.1), 3: (1.5, 1.25)}
n = 0


def ok(cond, what):
    global n
    n += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', n, what))
    return cond


def main():
    script = sys.argv[1]
    lines = []
    for rnd, (speed, ratio) in ROUNDS.items():
        serve, nginx = 100 * speed * ratio, 100 * speed
        lines.append('new\tserve\t%.4f\t%d' % (serve, rnd))
        lines.append('new\tnginx\t%.4f\t%d' % (nginx, rnd))
        # CPU milliseconds per connection: nginx 3, ktls serve 1
        lines.append('cpu-new\tserve\t%.4f\t%d' % (1.0 / speed, rnd))
        lines.append('cpu-new\tnginx\t%.4f\t%d' % (3.0 / speed, rnd))
        # where a connection's time went: the client's CPU differs by
        # server (6 and 8 ms: mean 7)
        lines.append('client-new\tserve\t%.4f\t%d' % (6.0 / speed, rnd))
        lines.append('client-new\tnginx\t%.4f\t%d' % (8.0 / speed, rnd))
        for server in ('serve', 'nginx'):
            lines.append('irq-new\t%s\t%.4f\t%d' % (server, 0.1 / speed, rnd))
            lines.append('idle-new\t%s\t0\t%d' % (server, rnd))
        # the raw row twice around the downloads (50 and 60: mean 55)
        raw = 55 * speed
        lines.append('big\traw-openssl\t%.4f\t%d' % (raw - 5 * speed, rnd))
        lines.append('big-openssl\tserve\t%.4f\t%d' % (0.98 * raw, rnd))
        lines.append('big-openssl\tnginx\t%.4f\t%d' % (0.90 * raw, rnd))
        lines.append('big\traw-openssl\t%.4f\t%d' % (raw + 5 * speed, rnd))
    lines.append('cpu-s\tserve\t12.50\t0')
    lines.append('cpu-s\tnginx\t20.00\t0')
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, 'results.tsv')
        with open(results, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        prefix = os.path.join(tmp, 'run')
        out = subprocess.run([sys.executable, script, results, prefix, 'kernel=test', 'runs=3'],
                             capture_output=True, text=True)
        print('1..11')
        if not ok(out.returncode == 0, 'the report runs (%s)' % out.stderr.strip()):
            sys.exit(1)
        with open(prefix + '.json') as f:
            report = json.load(f)
        new = next(w for w in report['workloads'] if w['workload'] == 'new')
        ok(abs(new['ratio'] - 1.25) < 1e-3, 'ratio is the median of the rounds\' ratios (%.3f)'
           % new['ratio'])
        ok(abs(new['serve'] / new['nginx'] - 1.4) < 1e-3,
           'which here differs from the ratio of the medians (%.3f)' % (new['serve'] / new['nginx']))
        ok(abs(new['ratio_min'] - 1.1) < 1e-3 and abs(new['ratio_max'] - 1.4) < 1e-3,
           'the lowest and highest round are kept')
        share = report['serve_vs_raw_openssl']
        ok(abs(share['median'] - 0.98) < 1e-3 and abs(report['nginx_vs_raw_openssl']['median'] - 0.90) < 1e-3,
           'the download against raw divides by its round\'s mean raw row (%.3f, %.3f)'
           % (share['median'], report['nginx_vs_raw_openssl']['median']))
        row = [line for line in out.stdout.splitlines()
               if line.startswith('| new connections') and 'connections/s' in line]
        ok(len(row) == 1 and '| 1.25x | 1.10x-1.40x | 1.2x |' in row[0],
           'the table\'s row gives the ratio, the rounds\' spread and the goal: %s' % row)
        ok(any('98% (98%-98%)' in line and '90% (90%-90%)' in line for line in out.stdout.splitlines()),
           'the table gives both servers\' share of the raw socket')
        cpu = [c for c in report['cpu_per_operation'] if c['workload'] == 'new']
        ok(len(cpu) == 1 and cpu[0]['unit'] == 'ms per connection' and
           abs(cpu[0]['nginx_over_serve']['median'] - 3.0) < 1e-3 and
           any(line.startswith('| new connections') and '| 3.00x | 3.00x-3.00x |' in line
               for line in out.stdout.splitlines()),
           'server CPU per connection, nginx over ktls serve by round: %s' % cpu)
        conn = [c for c in report['connection_time_ms'] if c['workload'] == 'new']
        ok(len(conn) == 1 and abs(conn[0]['serve']['server'] - 1.0) < 1e-3 and
           abs(conn[0]['nginx']['client'] - 8.0) < 1e-3 and
           abs(conn[0]['serve']['interrupts'] - 0.1) < 1e-3 and
           any(line.startswith('| new connections') and '| ktls serve | ' in line
               for line in out.stdout.splitlines()),
           'a connection\'s time split into the client\'s and the server\'s CPU: %s' % conn)
        same = conn[0]['ratio_same_client'] if conn else {}
        ok(abs(same.get('median', 0) - 1.25) < 1e-3 and
           any(line.startswith('| new connections') and '| 1.25x | 1.25x-1.25x |' in line
               for line in out.stdout.splitlines()),
           'with the round\'s mean client CPU for both: (7 + 3) / (7 + 1) = %s' % same.get('median'))
        with open(prefix + '.svg') as f:
            svg = f.read()
        ok(svg.startswith('<svg') and '1.25x' in svg and svg.rstrip().endswith('</svg>'),
           'the SVG chart is written')


if __name__ == '__main__':
    main()
