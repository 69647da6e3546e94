/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the ktls subcommands. */
#ifndef KTLS_TOOL_H
#define KTLS_TOOL_H

#include <stdbool.h>
#include <stdio.h>

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
void stat_print_json(FILE *out, const struct ktls_sock *socks, size_t n, const char *socks_error,
		     const struct stat_filter *f, const struct ktls_stats *stats,
		     const char *stats_error);

void nic_print_table(FILE *out, const struct ktls_nic *nics, size_t n);
void nic_print_json(FILE *out, const struct ktls_nic *nics, size_t n);

/* Print a JSON string literal, escaped. */
void json_string(FILE *out, const char *s);

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

/* "1.2" / "1.3" (as --tls takes them) -> KTLS_VERSION_*; -1 otherwise. */
int tool_parse_version(const char *s);

/* Read /proc/net/tls_stat counter @name; -1 when absent. */
long long tool_tls_stat(const char *name);

#endif
