/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls bench results and their writers (table, JSON, SVG).  The writers take
 * only this struct, so the unit suite can check them on fixed input.
 */
#ifndef KTLS_BENCH_REPORT_H
#define KTLS_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MODE_COUNT 7 /* 1..6 as in the issue, 7 OpenSSL SSL_sendfile */
#define BENCH_RECV_MODE_COUNT 4 /* receive section: gnutls-recv, ktls-recv, splice to /dev/null, to a file */

enum bench_status {
	BENCH_OK = 0,          /* ran; numbers below are measured */
	BENCH_UNAVAILABLE = 1, /* cannot run here; @reason says why */
	BENCH_FAILED = 2,      /* tried and failed; @reason says how */
};

/* One process's view of the measured interval. */
struct bench_side {
	double user_s, sys_s;      /* getrusage(RUSAGE_SELF) deltas */
	uint64_t syscalls;         /* the tool's own I/O calls, see syscalls_note */
	char syscalls_note[120];   /* what was counted */
};

struct bench_mode {
	int id;                    /* 1..7: 1..6 as in the issue, 7 OpenSSL */
	const char *name;          /* short: "gnutls-send" */
	const char *title;         /* "userspace GnuTLS: read + gnutls_record_send" */
	enum bench_status status;
	char reason[300];
	uint64_t bytes;            /* received and verified */
	double seconds;            /* sender's first send .. receiver's last byte */
	struct bench_side sender, receiver;
	uint64_t records;          /* TLS records sent; 0 for cleartext */
	bool records_derived;      /* computed from bytes and record size, not counted */
	char sha256_sent[65], sha256_received[65];
	bool kernel_tx, kernel_rx; /* getsockopt(SOL_TLS, TLS_TX/TLS_RX) answered */
	bool not_hashed;           /* spliced to /dev/null: bytes counted, not hashed */
	bool tls_stat;             /* /proc/net/tls_stat was read around the run */
	long long tx_sw, rx_sw, decrypt_error; /* its deltas: TlsTxSw, TlsRxSw, TlsDecryptError */
};

#define BENCH_HANDSHAKE_COUNT 6 /* full: TLS 1.2/1.3 x ECDSA P-256/RSA-2048; resumed 1.2, 1.3 */

/* Full handshakes per second between a libktls client and server process. */
struct bench_handshake {
	const char *name;          /* "tls1.3-ecdsa-p256" */
	const char *title;
	enum bench_status status;
	char reason[300];
	uint64_t count;            /* handshakes completed on both sides */
	double seconds;            /* the client's interval */
	struct bench_side client, server; /* CPU over each side's interval; syscalls unused */
	bool kernel_keys;          /* getsockopt(SOL_TLS) saw TX and RX keys after them */
	uint64_t key_installs;     /* key installs timed, both sides together */
	double key_install_us;     /* mean: libktls's "handshake done" log line to "kTLS: ..." */
};

struct bench_report {
	/* environment */
	char kernel[128];          /* uname -r and machine */
	char cpu[128];             /* /proc/cpuinfo model name */
	bool tls_ulp;
	char tls_ulp_reason[160];  /* when not available */
	char kernel_aead[200];     /* /proc/crypto driver for the cipher */
	bool kernel_crypto_generic;
	char gnutls_version[32];
	char openssl_version[64];  /* mode 7's OpenSSL; empty when not built with it */
	int cpu_aes;               /* 1: 'aes' in /proc/cpuinfo flags, 0: not, -1: unknown */
	/* how getrusage books the kernel's own work: reading /dev/zero, timed */
	bool acct_measured;
	double acct_user_s, acct_sys_s;
	/* parameters */
	char cipher[32];
	char tls_version[8];       /* "1.2" / "1.3" */
	uint64_t payload_bytes;
	unsigned int record_size;
	double duration_s;         /* per mode */
	uint64_t max_bytes;        /* per mode, 0 = none */
	struct bench_mode modes[BENCH_MODE_COUNT];          /* sender-side modes */
	struct bench_mode recv_modes[BENCH_RECV_MODE_COUNT]; /* receive-side modes, one kTLS sender */
	double handshake_duration_s;                         /* per handshake row */
	struct bench_handshake handshakes[BENCH_HANDSHAKE_COUNT];
};

double bench_throughput_mib(const struct bench_mode *m);
double bench_cpu_per_gib(const struct bench_mode *m, const struct bench_side *s);
double bench_per_gib(const struct bench_mode *m, double value);
double bench_handshakes_per_s(const struct bench_handshake *h);
/* True when the accounting probe saw the kernel's work booked as user time (user-mode Linux). */
bool bench_kernel_work_is_user(const struct bench_report *r);
double bench_cpu_ms_per_handshake(const struct bench_handshake *h, const struct bench_side *s);
const char *bench_status_name(enum bench_status status);

void bench_report_table(FILE *out, const struct bench_report *r);
void bench_report_json(FILE *out, const struct bench_report *r);
void bench_report_svg(FILE *out, const struct bench_report *r);

#endif
