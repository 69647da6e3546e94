#!/usr/bin/env python3
"""bench-serve's report: medians per workload and server from the
"workload<TAB>server<TAB>value" lines bench-serve recorded, the table with
ratios on stdout, and PREFIX.json and PREFIX.svg.

    bench-serve-report.py RESULTS.tsv PREFIX [key=value ...]

The key=value pairs describe the run (kernel, crypto driver, versions) and
go into the table's heading and the JSON as they are.
"""
import json
import statistics
import sys
from xml.sax.saxutils import escape

# workload, what it measures, unit, the goal in issue 14 as a ratio to nginx
WORKLOADS = [
    ('big', 'one large download (curl)', 'MiB/s', 1.0),
    ('ka-4k', 'keep-alive 4 KiB, 8 clients', 'requests/s', 1.3),
    ('ka-64k', 'keep-alive 64 KiB, 8 clients', 'requests/s', 1.0),
    ('ka-1m', 'keep-alive 1 MiB, 8 clients', 'requests/s', 1.0),
    ('new', 'new connections, full handshake (s_time -new)', 'connections/s', 1.2),
    ('reuse', 'resumed connections (s_time -reuse)', 'connections/s', 1.2),
]


def main():
    results, prefix = sys.argv[1], sys.argv[2]
    meta = dict(a.split('=', 1) for a in sys.argv[3:])
    values = {}
    with open(results) as f:
        for line in f:
            workload, server, value = line.rstrip('\n').split('\t')
            values.setdefault((workload, server), []).append(float(value))

    def median(workload, server):
        v = values.get((workload, server))
        return statistics.median(v) if v else None

    rows = []
    for key, what, unit, goal in WORKLOADS:
        serve, nginx = median(key, 'serve'), median(key, 'nginx')
        ratio = serve / nginx if serve is not None and nginx else None
        rows.append({'workload': key, 'what': what, 'unit': unit, 'serve': serve,
                     'nginx': nginx, 'ratio': ratio, 'goal': goal,
                     'samples': {'serve': values.get((key, 'serve'), []),
                                 'nginx': values.get((key, 'nginx'), [])}})
    raw = median('big', 'raw')
    raw_openssl = median('big', 'raw-openssl')
    big_serve, big_nginx = rows[0]['serve'], rows[0]['nginx']

    def share(part, whole):
        return part / whole if part and whole else None
    report = {
        'run': meta,
        'workloads': rows,
        'raw_ktls_mib_s': raw,
        'serve_vs_raw': share(big_serve, raw),
        'nginx_vs_raw': share(big_nginx, raw),
        'raw_ktls_openssl_mib_s': raw_openssl,
        'download_openssl_mib_s': {'serve': median('big-openssl', 'serve'),
                                   'nginx': median('big-openssl', 'nginx')},
        'serve_vs_raw_openssl': share(median('big-openssl', 'serve'), raw_openssl),
        'nginx_vs_raw_openssl': share(median('big-openssl', 'nginx'), raw_openssl),
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
          '%s thread(s) per server, median of %s rounds'
          % (meta.get('kernel'), meta.get('tier'), meta.get('cpus'), meta.get('aead'),
             meta.get('ktls'), meta.get('tls'), meta.get('cipher'), meta.get('threads'),
             meta.get('runs')))
    print('servers: ktls serve, nginx %s (OpenSSL %s%s); clients: curl %s, ktls get, openssl s_time'
          % (meta.get('nginx'), meta.get('openssl'),
             ', kTLS sendfile' if meta.get('ktls') == 'yes' else ', userspace TLS',
             meta.get('curl')))
    print()
    print('| workload | unit | ktls serve | nginx | ratio | goal |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %s | %s | %s | %s |'
              % (r['what'], r['unit'], num(r['serve'], 1 if r['unit'] == 'MiB/s' else 0),
                 num(r['nginx'], 1 if r['unit'] == 'MiB/s' else 0),
                 '' if r['ratio'] is None else '%.2fx' % r['ratio'], '%.1fx' % r['goal']))
    def pct(v):
        return '' if v is None else '%.0f%%' % (100 * v)

    # Each server's download as a share of the raw socket's rate.  The curl
    # download against the GnuTLS receiver's raw row (two receivers); the
    # goal applies to the last row, where one OpenSSL receiver takes both the
    # raw stream and the HTTP download.
    if raw:
        print('| curl download vs raw kTLS socket to GnuTLS (ktls-peer) | MiB/s | %s of %.1f | %s | | |'
              % (pct(report['serve_vs_raw']), raw, pct(report['nginx_vs_raw'])))
    if raw_openssl:
        print('| download vs raw kTLS socket, one OpenSSL receiver (Python ssl) | MiB/s '
              '| %s of %.1f | %s | | 0.97 of raw |'
              % (pct(report['serve_vs_raw_openssl']), raw_openssl,
                 pct(report['nginx_vs_raw_openssl'])))
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
    top_ratio = max([1.5] + [r['ratio'] for r in rows] + [r['goal'] for r in rows]) * 1.1
    height = top + len(rows) * (bar_h + gap) + 40
    scale = (width - left - 40) / top_ratio
    run = report['run']
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14">ktls serve / nginx (higher is better): %s</text>'
           % escape('kernel %s, %s, TLS %s %s' % (run.get('kernel'), run.get('aead'),
                                                  run.get('tls'), run.get('cipher'))),
           '<text x="10" y="38" fill="#555">bar: ratio of medians; black line: nginx (1.0); '
           'red tick: the goal</text>']
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = r['ratio'] * scale
        color = '#2a7' if r['ratio'] >= r['goal'] else '#d84'
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (left - 8, y + bar_h - 6, escape(r['what'])))
        out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                   % (left, y, w, bar_h, color))
        out.append('<text x="%.1f" y="%d">%.2fx</text>' % (left + w + 4, y + bar_h - 6, r['ratio']))
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
