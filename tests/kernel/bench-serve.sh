#!/bin/bash
# ktls serve against nginx with OpenSSL's kTLS (ssl_conf_command Options KTLS,
# sendfile on), inside a kernel with kTLS: the same file, the same client
# (curl, sequential downloads), the same TLS 1.3 AES-128-GCM.  Prints MB/s and
# the server's CPU seconds per GB, and proves with TlsTxSw that both servers
# handed their keys to the kernel.  A benchmark: numbers, no assertions on
# them; the TAP points only check bytes and counters.  Not in the default
# suite; run:
#   KTLS_BUILD=build KTLS_SRC=. tests/kernel/uml-run --timeout 900 tests/kernel/bench-serve.sh
# KTLS_BENCH_MB (default 256) and KTLS_BENCH_RUNS (default 3) size it.
. "$KTLS_SRC/tests/kernel/lib.sh"

mb=${KTLS_BENCH_MB:-256}
runs=${KTLS_BENCH_RUNS:-3}
mkdir -p "$work/www"
head -c $((mb << 20)) /dev/urandom > "$work/www/bench.bin"
want=$(sha "$work/www/bench.bin")
echo "# kernel AEAD for AES-128-GCM: $("$ktls" probe > /dev/null; grep -A4 '^name *: gcm(aes)' /proc/crypto | awk '$1 == "driver" { print $3; exit }')"
echo "# (user-mode Linux runs the kernel's portable C crypto: compare the two servers, not kTLS with userspace)"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# bench NAME PID: $runs downloads of bench.bin from https://localhost:$port/
bench() {
	local name=$1 pid=$2 t0 t1 c0 c1 k0 k1 ok_runs=0 secs
	k0=$(stat_get TlsTxSw)
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	for _ in $(seq 1 "$runs"); do
		curl -s --cacert "$pki/ca.pem" --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 \
			--resolve "localhost:$port:127.0.0.1" "https://localhost:$port/bench.bin" \
			-o "$work/got.bin"
		[ "$(sha "$work/got.bin")" = "$want" ] && ok_runs=$((ok_runs + 1))
		rm -f "$work/got.bin"
	done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	k1=$(stat_get TlsTxSw)
	secs=$(echo "$t1 - $t0" | bc -l)
	printf '# %-28s %8.1f MB/s   server CPU %6.2f s per GB   (%d x %d MiB in %.1f s)\n' "$name" \
		"$(echo "$runs * $mb * 1.048576 / $secs" | bc -l)" \
		"$(echo "($c1 - $c0) / 100 / ($runs * $mb / 1024)" | bc -l)" "$runs" "$mb" "$secs"
	if [ $ok_runs -eq "$runs" ] && [ $((k1 - k0)) -ge "$runs" ]; then
		ok "$name: $runs downloads sha256-correct, TX keys in the kernel (TlsTxSw +$((k1 - k0)))"
	else
		not_ok "$name: $ok_runs of $runs correct, TlsTxSw +$((k1 - k0))"
	fi
}

# ---- ktls serve ---------------------------------------------------------------
next_port
"$ktls" serve -q -r "$work/www" -b 127.0.0.1 -p $port --cert "$pki/server.pem" \
	--key "$pki/server-key.pem" 2> "$work/serve.err" &
spid=$!
wait_port $port
bench "ktls serve (io_uring)" $spid
kill -TERM $spid
wait_pid $spid 20 > /dev/null

# ---- nginx, OpenSSL kTLS -------------------------------------------------------
next_port
cat > "$work/nginx.conf" <<EOF
daemon off;
master_process off;
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/ngx-body;
	proxy_temp_path $work/ngx-proxy;
	fastcgi_temp_path $work/ngx-fcgi;
	uwsgi_temp_path $work/ngx-uwsgi;
	scgi_temp_path $work/ngx-scgi;
	sendfile on;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $pki/server.pem;
		ssl_certificate_key $pki/server-key.pem;
		ssl_protocols TLSv1.3;
		ssl_conf_command Options KTLS;
		root $work/www;
	}
}
EOF
nginx -c "$work/nginx.conf" -p "$work" 2> "$work/nginx.start" &
npid=$!
wait_port $port
bench "nginx 1.22 (OpenSSL kTLS)" $npid
kill -TERM $npid
wait_pid $npid 20 > /dev/null
done_testing
