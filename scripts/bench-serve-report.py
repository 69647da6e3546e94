#!/usr/bin/env python3
"""bench-serve's report, from the "workload<TAB>server<TAB>value<TAB>round"
lines bench-serve recorded (round 0: a figure for the whole run): the table
on stdout, and PREFIX.json and PREFIX.svg.

Rates are medians over the rounds.  A ratio is the median of the rounds'
own ratios: in a round both servers ran the workload back to back, so each
round's ratio compares two figures from the same few seconds of a machine
whose speed drifts by more than the differences measured.  The table gives
the lowest and highest round's ratio beside it.

    bench-serve-report.py RESULTS.tsv PREFIX [key=value ...]

The key=value pairs describe the run (kernel, crypto driver, versions) and
go into the table's heading and the JSON as they are.
"""
import json
import statistics
import sys
from xml.sax.saxutils import escape

# workload, what it measures, unit, the goal in issue 14 as a ratio to nginx
# (bench-serve also records "cpu-WORKLOAD": each server's CPU milliseconds
# per operation of that workload, CPU_UNITS below)
WORKLOADS = [
    ('big', 'one large download (curl)', 'MiB/s', 1.0),
    ('ka-4k', 'keep-alive 4 KiB, 8 clients', 'requests/s', 1.3),
    ('ka-64k', 'keep-alive 64 KiB, 8 clients', 'requests/s', 1.0),
    ('ka-1m', 'keep-alive 1 MiB, 8 clients', 'requests/s', 1.0),
    ('new', 'new connections, full handshake (s_time -new)', 'connections/s', 1.2),
    ('reuse', 'resumed connections (s_time -reuse)', 'connections/s', 1.2),
]

CPU_UNITS = {'MiB/s': 'ms per MiB', 'requests/s': 'ms per request',
             'connections/s': 'ms per connection'}


def main():
    results, prefix = sys.argv[1], sys.argv[2]
    meta = dict(a.split('=', 1) for a in sys.argv[3:])
    by_round = {}  # (workload, server) -> {round: [values]}
    with open(results) as f:
        for line in f:
            workload, server, value, rnd = line.rstrip('\n').split('\t')
            by_round.setdefault((workload, server), {}).setdefault(int(rnd), []).append(float(value))

    def samples(workload, server):
        return [v for r in sorted(by_round.get((workload, server), {}))
                for v in by_round[(workload, server)][r]]

    def median(workload, server):
        v = samples(workload, server)
        return statistics.median(v) if v else None

    def round_ratios(part, whole):
        """Each round's part / whole (a (workload, server) pair each; the mean
        where a round timed one more than once), for the rounds that have both."""
        a, b = by_round.get(part, {}), by_round.get(whole, {})
        return [statistics.mean(a[r]) / statistics.mean(b[r])
                for r in sorted(set(a) & set(b)) if statistics.mean(b[r]) > 0]

    def summary(ratios):
        if not ratios:
            return {'median': None, 'min': None, 'max': None, 'rounds': []}
        return {'median': statistics.median(ratios), 'min': min(ratios), 'max': max(ratios),
                'rounds': ratios}

    rows = []
    for key, what, unit, goal in WORKLOADS:
        serve, nginx = median(key, 'serve'), median(key, 'nginx')
        paired = summary(round_ratios((key, 'serve'), (key, 'nginx')))
        rows.append({'workload': key, 'what': what, 'unit': unit, 'serve': serve,
                     'nginx': nginx, 'ratio': paired['median'],
                     'ratio_min': paired['min'], 'ratio_max': paired['max'],
                     'round_ratios': paired['rounds'], 'goal': goal,
                     'samples': {'serve': samples(key, 'serve'), 'nginx': samples(key, 'nginx')}})
    # Server CPU per operation, and how much more nginx spends (> 1: ktls
    # serve is cheaper), paired by round like the rates.
    cpu_rows = []
    for key, what, unit, _ in WORKLOADS + [('big-openssl', 'one large download (OpenSSL receiver)',
                                            'MiB/s', None)]:
        serve, nginx = median('cpu-' + key, 'serve'), median('cpu-' + key, 'nginx')
        if serve is None or nginx is None:
            continue
        paired = summary(round_ratios(('cpu-' + key, 'nginx'), ('cpu-' + key, 'serve')))
        cpu_rows.append({'workload': key, 'what': what, 'unit': CPU_UNITS[unit],
                         'serve_ms': serve, 'nginx_ms': nginx, 'nginx_over_serve': paired})
    # Where a connection's time went (s_time makes one at a time): the wall
    # time per connection, and what the machine's CPUs were charged with
    # meanwhile (wall times CPUs in all), per connection, medians of the
    # rounds.
    cpus = int(meta.get('cpus', '1'))

    def client_normalized(key):
        """The client's CPU per connection moves from round to round, and
        from one server's turn to the other's, by more than the servers
        differ.  Per round, with both servers' client CPU set to the round's
        mean C: (C + nginx's CPU) / (C + ktls serve's)."""
        def per_round(name, server):
            return {r: statistics.mean(v) for r, v in by_round.get((name, server), {}).items()}
        client = {s: per_round('client-' + key, s) for s in ('serve', 'nginx')}
        cpu = {s: per_round('cpu-' + key, s) for s in ('serve', 'nginx')}
        same_client = []
        for r in sorted(set(client['serve']) & set(client['nginx']) & set(cpu['serve'])
                        & set(cpu['nginx'])):
            c = (client['serve'][r] + client['nginx'][r]) / 2
            same_client.append((c + cpu['nginx'][r]) / (c + cpu['serve'][r]))
        return {'ratio_same_client': summary(same_client)}

    conn_rows = []
    for key, what, unit, _ in WORKLOADS:
        if unit != 'connections/s' or median('client-' + key, 'serve') is None:
            continue
        row = {'workload': key, 'what': what}
        for server in ('serve', 'nginx'):
            rates = samples(key, server)
            parts = {'wall': statistics.median([1000 / r for r in rates if r > 0]),
                     'client': median('client-' + key, server),
                     'server': median('cpu-' + key, server),
                     'interrupts': median('irq-' + key, server),
                     'idle': median('idle-' + key, server)}
            if None in parts.values():
                break
            parts['rest'] = cpus * parts['wall'] - sum(v for k, v in parts.items() if k != 'wall')
            row[server] = parts
        else:
            row.update(client_normalized(key))
            conn_rows.append(row)
    raw = median('big', 'raw')
    raw_openssl = median('big', 'raw-openssl')

    report = {
        'run': meta,
        'workloads': rows,
        'raw_ktls_mib_s': raw,
        'serve_vs_raw': summary(round_ratios(('big', 'serve'), ('big', 'raw'))),
        'nginx_vs_raw': summary(round_ratios(('big', 'nginx'), ('big', 'raw'))),
        'raw_ktls_openssl_mib_s': raw_openssl,
        'download_openssl_mib_s': {'serve': median('big-openssl', 'serve'),
                                   'nginx': median('big-openssl', 'nginx')},
        'serve_vs_raw_openssl': summary(round_ratios(('big-openssl', 'serve'),
                                                     ('big', 'raw-openssl'))),
        'nginx_vs_raw_openssl': summary(round_ratios(('big-openssl', 'nginx'),
                                                     ('big', 'raw-openssl'))),
        'cpu_per_operation': cpu_rows,
        'connection_time_ms': conn_rows,
        'cpu_seconds': {'serve': median('cpu-s', 'serve'), 'nginx': median('cpu-s', 'nginx')},
        'tls_tx_keys_in_kernel': median('tls-tx-keys', 'both'),
    }
    with open(prefix + '.json', 'w') as f:
        json.dump(report, f, indent=2)
        f.write('\n')
    with open(prefix + '.svg', 'w') as f:
        f.write(svg(report))

    def num(v, digits=0):
        return '' if v is None else ('%.*f' % (digits, v))

    print('bench-serve: kernel %s (%s), %s CPU(s), kernel AEAD %s, kTLS %s, TLS %s %s, '
          '%s thread(s) per server, %s rounds'
          % (meta.get('kernel'), meta.get('tier'), meta.get('cpus'), meta.get('aead'),
             meta.get('ktls'), meta.get('tls'), meta.get('cipher'), meta.get('threads'),
             meta.get('runs')))
    print('servers: ktls serve, nginx %s (OpenSSL %s%s); clients: curl %s, ktls get, openssl s_time'
          % (meta.get('nginx'), meta.get('openssl'),
             ', kTLS sendfile' if meta.get('ktls') == 'yes' else ', userspace TLS',
             meta.get('curl')))
    print()
    def spread(lo, hi, fmt):
        return '' if lo is None else '%s-%s' % (fmt(lo), fmt(hi))

    def times(v):
        return '%.2fx' % v

    def ratio_cells(s):
        """A summary's median and the rounds' spread, two table cells."""
        return '' if s['median'] is None else times(s['median']), spread(s['min'], s['max'], times)

    print('| workload | unit | ktls serve | nginx | ratio | rounds | goal |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %s | %s | %s | %s | %s |'
              % (r['what'], r['unit'], num(r['serve'], 1 if r['unit'] == 'MiB/s' else 0),
                 num(r['nginx'], 1 if r['unit'] == 'MiB/s' else 0),
                 '' if r['ratio'] is None else times(r['ratio']),
                 spread(r['ratio_min'], r['ratio_max'], times), '%.1fx' % r['goal']))

    def pct(v):
        return '' if v is None else '%.0f%%' % (100 * v)

    def share(s):
        return '%s (%s)' % (pct(s['median']), spread(s['min'], s['max'], pct)) \
            if s['median'] is not None else ''

    # Each server's download as a share of the raw socket's rate in the same
    # round.  The curl download against the GnuTLS receiver's raw row (two
    # receivers); the goal applies to the last row, where one OpenSSL
    # receiver takes both the raw stream and the HTTP download.
    if raw:
        print('| curl download vs raw kTLS socket to GnuTLS (ktls-peer) | MiB/s | %s of %.1f | %s | | | |'
              % (share(report['serve_vs_raw']), raw, share(report['nginx_vs_raw'])))
    if raw_openssl:
        print('| download vs raw kTLS socket, one OpenSSL receiver (Python ssl) | MiB/s '
              '| %s of %.1f | %s | | | 0.97 of raw |'
              % (share(report['serve_vs_raw_openssl']), raw_openssl,
                 share(report['nginx_vs_raw_openssl'])))
    if cpu_rows:
        print()
        print('| server CPU per operation | unit | ktls serve | nginx | nginx ÷ ktls serve | rounds |')
        print('|---|---|---|---|---|---|')
        for c in cpu_rows:
            print('| %s | %s | %.3f | %.3f | %s | %s |'
                  % ((c['what'], c['unit'], c['serve_ms'], c['nginx_ms'])
                     + ratio_cells(c['nginx_over_serve'])))
        print()
        print('CPU is what /proc/PID/stat charged to the server, all its threads '
              '(10 ms ticks: short or fast rows are coarse).')
    if conn_rows:
        print()
        print('| where a connection\'s time went, ms | server | wall | client CPU '
              '| server CPU | interrupts | idle | rest |')
        print('|---|---|---|---|---|---|---|---|')
        for c in conn_rows:
            for server, name in (('serve', 'ktls serve'), ('nginx', 'nginx')):
                p = c[server]
                print('| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |'
                      % (c['what'], name, p['wall'], p['client'], p['server'],
                         p['interrupts'], p['idle'], p['rest']))
        print()
        print('Per connection, medians of the rounds: the wall time (1 / rate); the CPU time '
              'charged to s_time and to the server, and the machine\'s '
              'interrupt and idle time (/proc/stat, all %d CPU(s)); the rest of wall x CPUs '
              '(other processes, rounding).' % cpus)
        print()
        print('| with the same client CPU for both servers | ratio | rounds |')
        print('|---|---|---|')
        for c in conn_rows:
            print('| %s | %s | %s |' % ((c['what'],) + ratio_cells(c['ratio_same_client'])))
        print()
        print('Arithmetic on the figures above, per round: (C + nginx CPU) / (C + ktls serve CPU) '
              'with C the round\'s mean client CPU per connection (the client\'s CPU moves '
              'between the two turns of a round by more than the servers differ).')
    print()
    print('server CPU seconds over the run: ktls serve %s, nginx %s; TlsTxSw delta %s; '
          'ktls serve RSS at the end %s KiB'
          % (num(report['cpu_seconds']['serve'], 2), num(report['cpu_seconds']['nginx'], 2),
             num(report['tls_tx_keys_in_kernel']), meta.get('serve_rss_kib', '?')))
    print('written: %s.json %s.svg' % (prefix, prefix))


def svg(report):
    """One bar per workload: ktls serve's rate as a ratio of nginx's, with
    1.0 (nginx) and the goal marked."""
    rows = [r for r in report['workloads'] if r['ratio'] is not None]
    width, left, top, bar_h, gap = 760, 300, 50, 22, 12
    top_ratio = max([1.5] + [r['ratio_max'] for r in rows] + [r['goal'] for r in rows]) * 1.1
    height = top + len(rows) * (bar_h + gap) + 40
    scale = (width - left - 40) / top_ratio
    run = report['run']
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14">ktls serve / nginx (higher is better): %s</text>'
           % escape('kernel %s, %s, TLS %s %s' % (run.get('kernel'), run.get('aead'),
                                                  run.get('tls'), run.get('cipher'))),
           '<text x="10" y="38" fill="#555">bar: median of the rounds\' ratios, grey whisker: '
           'lowest to highest round; black line: nginx (1.0); red tick: the goal</text>']
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = r['ratio'] * scale
        color = '#2a7' if r['ratio'] >= r['goal'] else '#d84'
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (left - 8, y + bar_h - 6, escape(r['what'])))
        out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                   % (left, y, w, bar_h, color))
        if r['ratio_max'] > r['ratio_min']:
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-width="2"/>'
                       % (left + r['ratio_min'] * scale, y + bar_h // 2,
                          left + r['ratio_max'] * scale, y + bar_h // 2))
        label_x = left + r['ratio_max'] * scale + 4
        out.append('<text x="%.1f" y="%d">%.2fx</text>' % (label_x, y + bar_h - 6, r['ratio']))
        gx = left + r['goal'] * scale
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="red" stroke-width="2"/>'
                   % (gx, y - 2, gx, y + bar_h + 2))
    x1 = left + scale
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>'
               % (x1, top - 4, x1, height - 30))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    main()
