/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the ktls subcommands. */
#ifndef KTLS_TOOL_H
#define KTLS_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <ktls-agent.h>
#include <ktls.h>

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

int cmd_probe(int argc, char **argv);
int cmd_loopback(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_nic(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_agent(int argc, char **argv);

/* ktls stat: which sockets to show (port -1, pid 0, cipher NULL: any). */
struct stat_filter {
	int port;           /* local or peer port */
	pid_t pid;
	const char *cipher; /* compared with ktls_sock.cipher_name, any case */
};

bool stat_filter_match(const struct stat_filter *f, const struct ktls_sock *s);
/* The printers take their data as arguments, so unit tests can feed them fixed data. */
void stat_print_sockets_text(FILE *out, const struct ktls_sock *socks, size_t n,
			     const struct stat_filter *f);
/* @stats NULL: print @error instead of the counters. */
void stat_print_counters_text(FILE *out, const struct ktls_stats *stats, const char *error);
/* @socks_error / @stats NULL: that part failed, its reason goes in the JSON. */
struct agent_state;
/* @agent NULL: no agent part, or @agent_error (non-NULL) says why it could not be read. */
void stat_print_json(FILE *out, const struct ktls_sock *socks, size_t n, const char *socks_error,
		     const struct stat_filter *f, const struct ktls_stats *stats,
		     const char *stats_error, const struct agent_state *agent,
		     const char *agent_error);

/*
 * What a running ktls agent has done, as it tells ktls stat (agent-state.c):
 * its counters and last handshakes, in a file it rewrites after each one.
 */
#define AGENT_STATE_PATH "/run/ktls-agent/state"
#define AGENT_STATE_RECENT 16
struct agent_state_hs {
	int64_t unix_ms; /* when it ended */
	bool client;
	char auth[16];
	int status;
	double ms;
	/* escaped by tool_escape(): safe for a terminal, no tabs */
	char version[32], cipher[64], peer[128], peer_name[256], identity[256], error[320];
};
struct agent_state {
	pid_t pid;
	struct ktls_agent_stats stats;
	struct agent_state_hs recent[AGENT_STATE_RECENT]; /* a ring, oldest at next - n_recent */
	size_t n_recent, next;
};

void agent_state_init(struct agent_state *st);
void agent_state_add(struct agent_state *st, const struct ktls_agent_result *r);
/* Write @st to @path atomically; 0 or a negative errno. */
int agent_state_write(const char *path, const struct agent_state *st);
/*
 * Read @path into @ret: 0; -ENOENT (no agent wrote one); -EBADMSG; -ESRCH (its
 * agent is gone); other negative errnos.  @err says why.
 */
int agent_state_read(const char *path, struct agent_state *ret, char *err, size_t errlen);
void agent_state_print_text(FILE *out, const struct agent_state *st);
/* One JSON object (no newline after it). */
void agent_state_print_json(FILE *out, const struct agent_state *st);

void nic_print_table(FILE *out, const struct ktls_nic *nics, size_t n);
void nic_print_json(FILE *out, const struct ktls_nic *nics, size_t n);

/* Print a JSON string literal, escaped. */
void json_string(FILE *out, const char *s);

/*
 * Copy @len bytes of @in to @out (@size bytes, NUL-terminated) with every
 * byte that is not printable ASCII, and '"' and '\\', written as \xHH: text
 * a client chose, safe for a log line and a terminal.  Stops at the last
 * whole character that fits.  Returns the length written.
 */
size_t tool_escape(const char *in, size_t len, char *out, size_t size);

/* Log callback that prints library messages to stderr with a prefix. */
void tool_log(enum ktls_log_level level, const char *message, void *userdata);

/*
 * Write a fresh ECDSA P-256 key and a self-signed certificate for @hostname
 * into @dir (cert.pem, key.pem), with an ECDSA P-256 or RSA-2048 key; print nothing.  @ret_fingerprint gets the
 * SHA-256 fingerprint as hex pairs.  Returns 0 or a negative errno.
 */
enum tool_key_type {
	TOOL_KEY_ECDSA_P256 = 0,
	TOOL_KEY_RSA_2048 = 1,
};

int tool_selfsigned(const char *dir, const char *hostname, enum tool_key_type type,
		    char *ret_fingerprint, size_t size);

/*
 * The kernel's driver for the AEAD behind @cipher, from /proc/crypto, e.g.
 * "gcm_base(ctr(aes-generic),ghash-generic)" (portable C) or
 * "generic-gcm-aesni"; "unknown" before the kernel instantiated it.
 */
const char *tool_kernel_aead_driver(enum ktls_cipher cipher, char *buf, size_t size);
/*
 * Whether a crypto driver name has a portable C part: a component named
 * "*-generic" (Linux 6.1: "gcm_base(ctr(aes-generic),ghash-generic)") or
 * "*-lib" (7.x: "gcm_base(ctr(aes-lib),ghash-lib)").  "generic-gcm-aesni" is
 * AES-NI despite its prefix.
 */
bool tool_crypto_driver_portable(const char *driver);

/* A connected loopback TCP pair (127.0.0.1); 0 or a negative errno. */
int tool_loopback_pair(int *ret_client, int *ret_server);

/* ---- options every subcommand shares (tool-opt.c) ---------------------- */

/* The exit status of every usage error. */
#define TOOL_EXIT_USAGE 2
/* tool_getopt() after it printed a usage error. */
#define TOOL_OPT_ERROR '?'
/* getopt_long values of long options without a short form. */
enum {
	TOOL_OPT_VERSION = 0x100,
	TOOL_OPT_JSON,
	TOOL_OPT_FIRST_LOCAL, /* a subcommand's own from here */
};
/* In every subcommand's option table. */
#define TOOL_OPTIONS_COMMON                                   \
	{ "help", no_argument, NULL, 'h' },                   \
	{ "version", no_argument, NULL, TOOL_OPT_VERSION }

/*
 * getopt_long() for subcommand @cmd ("serve"), with one wording for unknown
 * options and missing values.  Returns the option, -1 at the end, or
 * TOOL_OPT_ERROR once the usage error is printed (the caller returns
 * TOOL_EXIT_USAGE).
 */
int tool_getopt(int argc, char **argv, const char *cmd, const char *shortopts,
		const struct option *longopts);

/*
 * "ktls CMD: <what is wrong>" and "try 'ktls help CMD'" on stderr.
 * Returns TOOL_EXIT_USAGE.
 */
int tool_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "ktls VERSION" on stdout (the meson project version); returns 0. */
int tool_print_version(void);

/*
 * The parsers: 0 and *@ret, or a negative errno and a sentence in @err
 * (which quotes @s) that a caller prints after the option's name.
 */
/* Decimal digits only, @min..@max. */
int tool_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret, char *err,
		    size_t errlen);
/* Bytes: digits, optionally K, M, G, T or KiB, MiB, GiB, TiB (all 1024-based, any case). */
int tool_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret, char *err,
		    size_t errlen);
/* 1..65535. */
int tool_parse_port(const char *s, uint16_t *ret, char *err, size_t errlen);
/* Seconds, "10" or "0.25" (millisecond resolution), into milliseconds @min_ms..@max_ms. */
int tool_parse_seconds(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *ret_ms,
		       char *err, size_t errlen);
/* "auto", "require", "off"; nothing else. */
int tool_parse_offload(const char *s, enum ktls_offload *ret, char *err, size_t errlen);
const char *tool_offload_name(enum ktls_offload policy);
/* "1.2" / "1.3" (as --tls takes them) -> KTLS_VERSION_*; -1 otherwise. */
int tool_parse_version(const char *s);

/* A TLS 1.3 external PSK as --psk and --psk-file give it (the library takes 16..64 bytes). */
#define TOOL_PSK_MIN 16
struct tool_psk {
	char identity[256];
	unsigned char key[64];
	size_t key_len;
};

/*
 * IDENTITY:HEXKEY (@len bytes of @arg), split at the last colon.  The
 * identity is 1..255 bytes without control characters; the key 16..64 bytes
 * as hex.  @ret is wiped on failure; wipe it with tool_psk_wipe() after use.
 */
int tool_parse_psk(const char *arg, size_t len, struct tool_psk *ret, char *err, size_t errlen);
/* The same from a file of one line (its newline optional); @err names the file. */
int tool_read_psk_file(const char *path, struct tool_psk *ret, char *err, size_t errlen);
void tool_psk_wipe(struct tool_psk *psk);

/* Read /proc/net/tls_stat counter @name; -1 when absent. */
long long tool_tls_stat(const char *name);

#endif
