/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls loopback: a libktls client and server in one process, over a loopback
 * TCP connection.  Handshake, move data both ways, check every byte, then
 * report where each side's keys went and what the kernel counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "tool.h"

struct side {
	const char *name;
	struct ktls_config *config;
	int fd;
	size_t bytes;
	struct ktls_info info;
	double seconds_recv, seconds_send;
	int result;
	char error[300];
};

static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 12));
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int transfer_send(struct ktls_conn *conn, size_t total)
{
	unsigned char buf[65536];

	for (size_t done = 0; done < total;) {
		size_t chunk = total - done < sizeof(buf) ? total - done : sizeof(buf);
		ssize_t n;

		for (size_t i = 0; i < chunk; i++)
			buf[i] = pattern_byte(done + i);
		n = ktls_conn_send(conn, buf, chunk);
		if (n < 0)
			return (int)n;
		done += (size_t)n;
	}
	return 0;
}

static int transfer_recv(struct ktls_conn *conn, size_t total)
{
	unsigned char buf[65536];

	for (size_t done = 0; done < total;) {
		ssize_t n = ktls_conn_recv(conn, buf, sizeof(buf));

		if (n <= 0)
			return n == 0 ? -EPIPE : (int)n;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern_byte(done + (size_t)i))
				return -EBADMSG;
		done += (size_t)n;
	}
	return 0;
}

/* Server: receive, then send back; client: send, then receive. */
static void *run_side(void *arg)
{
	struct side *s = arg;
	struct ktls_conn *conn = NULL;
	bool server = strcmp(s->name, "server") == 0;
	double t0;
	int ret;

	ret = ktls_conn_new(s->config, s->fd, KTLS_CONN_OWN_FD, &conn);
	if (ret < 0) {
		snprintf(s->error, sizeof(s->error), "%s", ktls_config_error(s->config));
		close(s->fd);
		goto out;
	}
	if (!server)
		ktls_conn_set_server_name(conn, "localhost");
	ret = ktls_conn_handshake(conn);
	if (ret == 0)
		ret = ktls_conn_get_info(conn, &s->info);
	for (int step = 0; ret == 0 && step < 2; step++) {
		bool receiving = (step == 0) == server;

		t0 = now_seconds();
		ret = receiving ? transfer_recv(conn, s->bytes) : transfer_send(conn, s->bytes);
		*(receiving ? &s->seconds_recv : &s->seconds_send) = now_seconds() - t0;
	}
	if (ret == 0)
		ret = ktls_conn_shutdown(conn);
	if (ret == 0) {
		char c;
		ssize_t n = ktls_conn_recv(conn, &c, 1); /* the peer's close_notify */

		ret = n == 0 ? 0 : n < 0 ? (int)n : -EPROTO;
	}
	if (ret < 0)
		snprintf(s->error, sizeof(s->error), "%s", ktls_conn_error(conn));
out:
	s->result = ret;
	ktls_conn_free(conn);
	return NULL;
}

static void print_dir(const char *what, const struct ktls_dir_info *d)
{
	printf("    %s: %s%s%s\n", what, d->kernel ? "kernel" : "userspace (GnuTLS)",
	       d->kernel ? "" : ": ", d->kernel ? "" : d->reason);
}

static void print_side(const struct side *s)
{
	double mib = (double)s->bytes / (1024.0 * 1024.0);

	printf("  %s: %s %s, group %s\n", s->name, s->info.version_name, s->info.cipher_name,
	       s->info.group_name[0] ? s->info.group_name : "-");
	print_dir("TX", &s->info.tx);
	print_dir("RX", &s->info.rx);
	printf("    sent %.1f MiB/s, received %.1f MiB/s\n",
	       s->seconds_send > 0 ? mib / s->seconds_send : 0.0,
	       s->seconds_recv > 0 ? mib / s->seconds_recv : 0.0);
}

static const char *const counters[] = { "TlsTxSw", "TlsRxSw", "TlsDecryptError" };

static void loopback_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls loopback [--tls 1.2|1.3] [--cipher GNUTLS-NAME] [--bytes SIZE]\n"
		"                     [--offload auto|require|off] [--json] [--verbose]\n\n"
		"Runs a libktls client and server over 127.0.0.1 with a throw-away\n"
		"self-signed certificate, sends SIZE bytes each way (default 16 MiB), checks\n"
		"them, and prints whether the kernel or GnuTLS did the record crypto.\n\n"
		"  -t, --tls 1.2|1.3      only this protocol version\n"
		"  -c, --cipher NAME      only this cipher (GnuTLS name, e.g. AES-256-GCM)\n"
		"  -b, --bytes SIZE       bytes each way: a number, or with K, M, G (KiB, MiB,\n"
		"                         GiB: 1024-based), up to 64 GiB\n"
		"  -o, --offload MODE     auto (default), require, off\n"
		"  -j, --json             the results as JSON on stdout\n"
		"  -v, --verbose          the library's debug log on stderr\n");
}

static void json_dir(const char *name, const struct ktls_dir_info *d)
{
	printf("\"%s\": {\"kernel\": %s, \"reason\": ", name, d->kernel ? "true" : "false");
	if (d->kernel)
		printf("null");
	else
		json_string(stdout, d->reason);
	printf("}");
}

static void json_side(const struct side *s)
{
	double mib = (double)s->bytes / (1024.0 * 1024.0);

	printf("  ");
	json_string(stdout, s->name);
	printf(": {\"ok\": %s, \"error\": ", s->result < 0 ? "false" : "true");
	if (s->result < 0) {
		char err[400];

		snprintf(err, sizeof(err), "%s (%s)", strerror(-s->result), s->error);
		json_string(stdout, err);
	} else {
		printf("null");
	}
	if (s->result == 0) {
		printf(", \"version\": ");
		json_string(stdout, s->info.version_name);
		printf(", \"cipher\": ");
		json_string(stdout, s->info.cipher_name);
		printf(", \"group\": ");
		json_string(stdout, s->info.group_name);
		printf(", ");
		json_dir("tx", &s->info.tx);
		printf(", ");
		json_dir("rx", &s->info.rx);
		printf(", \"send_mib_per_s\": %.1f, \"recv_mib_per_s\": %.1f",
		       s->seconds_send > 0 ? mib / s->seconds_send : 0.0,
		       s->seconds_recv > 0 ? mib / s->seconds_recv : 0.0);
	}
	printf("}");
}

int cmd_loopback(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tls", required_argument, NULL, 't' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "offload", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	struct side server = { .name = "server" }, client = { .name = "client" };
	enum ktls_offload policy = KTLS_OFFLOAD_AUTO;
	const char *cipher = NULL;
	char dir[] = "/tmp/ktls-loopback-XXXXXX", path_cert[64], path_key[64], fp[100], err[200];
	char driver[200] = "";
	size_t bytes = 16u << 20;
	int version = 0, opt, ret = 1, cfd = -1, sfd = -1;
	bool verbose = false, json = false, kernel_used;
	long long before[3], after[3];
	pthread_t thread;

	while ((opt = tool_getopt(argc, argv, "loopback", "t:c:b:o:jvh", options)) != -1) {
		uint64_t v;

		switch (opt) {
		case 't':
			version = tool_parse_version(optarg);
			if (version < 0)
				return tool_usage_error("loopback", "--tls: '%s' is not 1.2 or 1.3",
							optarg);
			break;
		case 'c':
			cipher = optarg;
			break;
		case 'b':
			if (tool_parse_size(optarg, 0, 64ull << 30, &v, err, sizeof(err)) < 0)
				return tool_usage_error("loopback", "--bytes: %s", err);
			bytes = (size_t)v;
			break;
		case 'o':
			if (tool_parse_offload(optarg, &policy, err, sizeof(err)) < 0)
				return tool_usage_error("loopback", "--offload: %s", err);
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			loopback_usage(stdout);
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return tool_usage_error("loopback", "unexpected argument '%s'", argv[optind]);

	if (mkdtemp(dir) == NULL || tool_selfsigned(dir, "localhost", TOOL_KEY_ECDSA_P256, fp, sizeof(fp)) < 0) {
		fprintf(stderr, "ktls loopback: cannot create a temporary certificate\n");
		return 1;
	}
	snprintf(path_cert, sizeof(path_cert), "%s/cert.pem", dir);
	snprintf(path_key, sizeof(path_key), "%s/key.pem", dir);

	if (ktls_config_new(KTLS_ROLE_SERVER, &server.config) < 0 ||
	    ktls_config_new(KTLS_ROLE_CLIENT, &client.config) < 0)
		goto out;
	struct side *sides[2] = { &server, &client };

	for (int i = 0; i < 2; i++) {
		struct ktls_config *c = sides[i]->config;

		sides[i]->bytes = bytes;
		if (verbose)
			ktls_config_set_log(c, tool_log, KTLS_LOG_DEBUG, (void *)sides[i]->name);
		ktls_config_set_offload(c, KTLS_DIR_BOTH, policy);
		if (version != 0)
			ktls_config_set_versions(c, version, version);
		if (cipher != NULL) {
			char prio[200];

			snprintf(prio, sizeof(prio), "NORMAL:-CIPHER-ALL:+%s%s", cipher,
				 version == KTLS_VERSION_TLS12   ? ":-VERS-ALL:+VERS-TLS1.2"
				 : version == KTLS_VERSION_TLS13 ? ":-VERS-ALL:+VERS-TLS1.3"
								 : "");
			if (ktls_config_set_priority(c, prio) < 0) {
				fprintf(stderr, "ktls loopback: %s\n", ktls_config_error(c));
				goto out;
			}
		}
	}
	if (ktls_config_add_cert_file(server.config, path_cert, path_key) < 0 ||
	    ktls_config_set_ca_file(client.config, path_cert) < 0) {
		fprintf(stderr, "ktls loopback: %s%s\n", ktls_config_error(server.config),
			ktls_config_error(client.config));
		goto out;
	}
	if (tool_loopback_pair(&cfd, &sfd) < 0) {
		perror("ktls loopback: loopback connection");
		goto out;
	}
	server.fd = sfd;
	client.fd = cfd;
	/* Probe first: its own test sockets would otherwise show in the counters. */
	struct ktls_caps caps;

	ktls_probe(&caps);
	for (int i = 0; i < 3; i++)
		before[i] = tool_tls_stat(counters[i]);
	pthread_create(&thread, NULL, run_side, &server);
	run_side(&client);
	pthread_join(thread, NULL);
	for (int i = 0; i < 3; i++)
		after[i] = tool_tls_stat(counters[i]);
	ret = server.result < 0 || client.result < 0 ? 1 : 0;
	kernel_used = client.info.tx.kernel || client.info.rx.kernel || server.info.tx.kernel ||
		      server.info.rx.kernel;
	if (kernel_used)
		tool_kernel_aead_driver(client.info.cipher, driver, sizeof(driver));

	if (json) {
		printf("{\n  \"bytes\": %zu,\n  \"certificate_sha256\": ", bytes);
		json_string(stdout, fp);
		printf(",\n");
		for (int i = 0; i < 2; i++) {
			json_side(sides[i]);
			printf(",\n");
		}
		printf("  \"kernel_aead_driver\": ");
		if (kernel_used)
			json_string(stdout, driver);
		else
			printf("null");
		printf(",\n  \"gnutls_version\": ");
		json_string(stdout, gnutls_check_version(NULL));
		printf(",\n  \"tls_stat_deltas\": ");
		if (before[0] >= 0) {
			printf("{");
			for (int i = 0; i < 3; i++)
				printf("%s\"%s\": %lld", i ? ", " : "", counters[i],
				       after[i] - before[i]);
			printf("}");
		} else {
			printf("null");
		}
		printf(",\n  \"ok\": %s\n}\n", ret == 0 ? "true" : "false");
		goto out;
	}
	printf("loopback TLS over 127.0.0.1, %zu bytes each way, certificate SHA-256 %s\n", bytes, fp);
	for (int i = 0; i < 2; i++) {
		if (sides[i]->result < 0)
			printf("  %s: FAILED: %s (%s)\n", sides[i]->name, strerror(-sides[i]->result),
			       sides[i]->error);
		else
			print_side(sides[i]);
	}
	if (kernel_used) {
		printf("  kernel AEAD driver: %s; userspace: GnuTLS %s\n", driver,
		       gnutls_check_version(NULL));
		if (tool_crypto_driver_portable(driver))
			printf("  (the kernel's crypto here is portable C, so these MiB/s say nothing about\n"
			       "   kTLS against userspace TLS, which uses AES-NI/SIMD)\n");
	}
	if (before[0] >= 0) {
		printf("  kernel counters (/proc/net/tls_stat deltas):");
		for (int i = 0; i < 3; i++)
			printf(" %s +%lld", counters[i], after[i] - before[i]);
		printf("\n");
	} else {
		printf("  kernel counters: /proc/net/tls_stat absent (no kernel TLS here)\n");
	}
	if (ret == 0)
		printf("all bytes verified; close_notify exchanged both ways\n");
out:
	unlink(path_cert);
	unlink(path_key);
	rmdir(dir);
	ktls_config_unref(server.config);
	ktls_config_unref(client.config);
	return ret;
}
