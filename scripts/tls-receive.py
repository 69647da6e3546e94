#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tls-receive: read one TLS stream to its end with OpenSSL (Python's ssl
module, the library curl decrypts with) and time it from the end of the
handshake.  bench-serve uses it as the common receiver of the raw kTLS
socket row and of an HTTP download, so that the two differ only in the
sender.

    tls-receive.py --port N --ca FILE [--get PATH] [--sha256]

--get sends one HTTP/1.1 GET (Connection: close) and counts the body only.
Prints: bytes=N elapsed_ms=N sha256=HEX|-
"""
import argparse
import hashlib
import socket
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--ca', required=True)
    ap.add_argument('--get')
    ap.add_argument('--sha256', action='store_true')
    o = ap.parse_args()

    ctx = ssl.create_default_context(cafile=o.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    conn = ctx.wrap_socket(socket.create_connection(('127.0.0.1', o.port)),
                           server_hostname='localhost')
    digest = hashlib.sha256() if o.sha256 else None
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    t0 = time.monotonic()
    head = b''
    if o.get:
        conn.sendall(b'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
                     % o.get.encode())
    total = 0
    while True:
        n = conn.recv_into(buf)
        if n == 0:
            break
        chunk = view[:n]
        if o.get is not None and head is not None:
            # Until the end of the response head: what follows it is body.
            head += bytes(chunk)
            end = head.find(b'\r\n\r\n')
            if end < 0:
                continue
            if not head.startswith(b'HTTP/1.1 200'):
                sys.exit('tls-receive: %s' % head.split(b'\r\n', 1)[0].decode(errors='replace'))
            chunk = memoryview(head[end + 4:])
            head = None
        total += len(chunk)
        if digest:
            digest.update(chunk)
    elapsed = time.monotonic() - t0
    print('bytes=%d elapsed_ms=%d sha256=%s'
          % (total, elapsed * 1000, digest.hexdigest() if digest else '-'))


if __name__ == '__main__':
    main()
