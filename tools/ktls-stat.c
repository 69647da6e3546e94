/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls stat: like ss(8) for kernel TLS.  One line per TCP socket of any
 * process that carries the TLS ULP (sock_diag), then the kernel's TLS
 * counters (/proc/net/tls_stat); --watch prints per-second rates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tool.h"

static const char *stat_state_name(int state)
{
	/* ss(8)'s names, indexed by TCP state (include/net/tcp_states.h) */
	static const char *const names[] = {
		"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	};

	return state > 0 && state < (int)(sizeof(names) / sizeof(names[0])) ? names[state]
									    : "UNKNOWN";
}

static const char *stat_version_name(int version)
{
	switch (version) {
	case KTLS_VERSION_TLS12:
		return "TLS1.2";
	case KTLS_VERSION_TLS13:
		return "TLS1.3";
	default:
		return NULL;
	}
}

static void stat_addr(const struct ktls_sock *s, bool local, char *buf, size_t size)
{
	const uint8_t *a = local ? s->local_addr : s->peer_addr;

	if (inet_ntop(s->family, a, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

/* "127.0.0.1:443", "[::1]:443" */
static void stat_endpoint(const struct ktls_sock *s, bool local, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	stat_addr(s, local, a, sizeof(a));
	snprintf(buf, size, s->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 (unsigned int)(local ? s->local_port : s->peer_port));
}

bool stat_filter_match(const struct stat_filter *f, const struct ktls_sock *s)
{
	if (f->port >= 0 && s->local_port != f->port && s->peer_port != f->port)
		return false;
	if (f->pid > 0 && s->pid != f->pid)
		return false;
	if (f->cipher != NULL && strcasecmp(f->cipher, s->cipher_name) != 0)
		return false;
	return true;
}

/* "zc-sendfile,rx-no-pad,tx-max=1023"; "-" for none.  tx-max only when limited. */
static void stat_flags(const struct ktls_sock *s, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (s->tx_zerocopy_sendfile)
		len += (size_t)snprintf(buf + len, size - len, "zc-sendfile");
	if (s->rx_no_pad && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%srx-no-pad", len ? "," : "");
	if (s->tx_max_payload_len > 0 && s->tx_max_payload_len < 16384 && len < size)
		snprintf(buf + len, size - len, "%stx-max=%u", len ? "," : "",
			 (unsigned int)s->tx_max_payload_len);
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

void stat_print_sockets_text(FILE *out, const struct ktls_sock *socks, size_t n,
			     const struct stat_filter *f)
{
	size_t shown = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ktls_sock *s = &socks[i];
		char local[64], peer[64], proc[40], flags[48];
		const char *version = stat_version_name(s->version);

		if (!stat_filter_match(f, s))
			continue;
		if (shown++ == 0)
			fprintf(out, "%-11s %-23s %-23s %-22s %-7s %-18s %-9s %-9s %s\n", "State",
				"Local", "Peer", "Process", "Version", "Cipher", "TX", "RX", "Flags");
		stat_endpoint(s, true, local, sizeof(local));
		stat_endpoint(s, false, peer, sizeof(peer));
		if (s->pid > 0)
			snprintf(proc, sizeof(proc), "%s/%d", s->comm, (int)s->pid);
		else
			snprintf(proc, sizeof(proc), "-");
		stat_flags(s, flags, sizeof(flags));
		if (!s->tls_info) {
			/* tls_sk_proto_close() freed the TLS state; the TCP socket lingers. */
			fprintf(out, "%-11s %-23s %-23s %-22s (no TLS state: closed by its owner)\n",
				stat_state_name(s->tcp_state), local, peer, proc);
			continue;
		}
		fprintf(out, "%-11s %-23s %-23s %-22s %-7s %-18s %-9s %-9s %s\n",
			stat_state_name(s->tcp_state), local, peer, proc,
			version != NULL ? version : "-", s->cipher_name[0] ? s->cipher_name : "-",
			ktls_sock_conf_name(s->tx), ktls_sock_conf_name(s->rx), flags);
	}
	if (shown == 0 && n == 0)
		fprintf(out, "No TCP socket uses kernel TLS.\n");
	else if (shown == 0)
		fprintf(out, "No kernel TLS socket matches (%zu in all).\n", n);
}

void stat_print_counters_text(FILE *out, const struct ktls_stats *stats, const char *error)
{
	if (stats == NULL) {
		fprintf(out, "Kernel TLS counters: %s\n", error);
		return;
	}
	fprintf(out, "Kernel TLS counters (/proc/net/tls_stat):\n");
	for (int i = 0; i < (KTLS_STAT_LAST + 1); i++)
		if (stats->present & (UINT64_C(1) << i))
			fprintf(out, "  %-22s %" PRIu64 "\n", ktls_stats_name(i), stats->value[i]);
}

static void json_string_or_null(FILE *out, const char *s)
{
	if (s == NULL || s[0] == '\0')
		fputs("null", out);
	else
		json_string(out, s);
}

static void stat_print_sock_json(FILE *out, const struct ktls_sock *s)
{
	char local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];

	stat_addr(s, true, local, sizeof(local));
	stat_addr(s, false, peer, sizeof(peer));
	fprintf(out, "{\"state\": \"%s\", \"family\": \"%s\", \"local\": ",
		stat_state_name(s->tcp_state), s->family == AF_INET6 ? "ipv6" : "ipv4");
	json_string(out, local);
	fprintf(out, ", \"local_port\": %u, \"peer\": ", (unsigned int)s->local_port);
	json_string(out, peer);
	fprintf(out, ", \"peer_port\": %u, \"inode\": %" PRIu64 ", \"uid\": %u, \"pid\": ",
		(unsigned int)s->peer_port, s->inode, (unsigned int)s->uid);
	if (s->pid > 0)
		fprintf(out, "%d", (int)s->pid);
	else
		fputs("null", out);
	fputs(", \"process\": ", out);
	json_string_or_null(out, s->pid > 0 ? s->comm : NULL);
	fprintf(out, ", \"tls_info\": %s, \"version\": ", s->tls_info ? "true" : "false");
	json_string_or_null(out, stat_version_name(s->version));
	fputs(", \"cipher\": ", out);
	json_string_or_null(out, s->cipher_name);
	fprintf(out, ", \"tx\": \"%s\", \"rx\": \"%s\", \"tx_zerocopy_sendfile\": %s, \"rx_no_pad\": %s, "
		     "\"tx_max_payload_len\": ",
		ktls_sock_conf_name(s->tx), ktls_sock_conf_name(s->rx),
		s->tx_zerocopy_sendfile ? "true" : "false", s->rx_no_pad ? "true" : "false");
	if (s->tx_max_payload_len > 0)
		fprintf(out, "%u", (unsigned int)s->tx_max_payload_len);
	else
		fputs("null", out);
	fprintf(out, ", \"bytes_acked\": %" PRIu64 ", \"bytes_received\": %" PRIu64 "}",
		s->bytes_acked, s->bytes_received);
}

void stat_print_json(FILE *out, const struct ktls_sock *socks, size_t n, const char *socks_error,
		     const struct stat_filter *f, const struct ktls_stats *stats,
		     const char *stats_error, const struct agent_state *agent,
		     const char *agent_error)
{
	bool first = true;

	fputs("{\n  \"sockets\": ", out);
	if (socks_error != NULL) {
		fputs("null,\n  \"sockets_error\": ", out);
		json_string(out, socks_error);
	} else {
		fputs("[", out);
		for (size_t i = 0; i < n; i++) {
			if (!stat_filter_match(f, &socks[i]))
				continue;
			fputs(first ? "\n    " : ",\n    ", out);
			stat_print_sock_json(out, &socks[i]);
			first = false;
		}
		fputs(first ? "]" : "\n  ]", out);
	}
	fputs(",\n  \"counters\": ", out);
	if (stats == NULL) {
		fputs("null,\n  \"counters_error\": ", out);
		json_string(out, stats_error);
	} else {
		first = true;
		fputs("{", out);
		for (int i = 0; i < (KTLS_STAT_LAST + 1); i++) {
			if (!(stats->present & (UINT64_C(1) << i)))
				continue;
			fprintf(out, "%s\"%s\": %" PRIu64, first ? "" : ", ", ktls_stats_name(i),
				stats->value[i]);
			first = false;
		}
		fputs("}", out);
	}
	if (agent != NULL) {
		fputs(",\n  \"agent\": ", out);
		agent_state_print_json(out, agent);
	} else if (agent_error != NULL) {
		fputs(",\n  \"agent\": null,\n  \"agent_error\": ", out);
		json_string(out, agent_error);
	}
	fputs("\n}\n", out);
}

/* ---- --watch ----------------------------------------------------------- */

static volatile sig_atomic_t stat_stop;

static void stat_on_signal(int sig)
{
	(void)sig;
	stat_stop = 1;
}

struct stat_bytes {
	uint64_t inode, acked, received;
};

/*
 * TCP payload bytes moved by the matching kTLS sockets since the last
 * reading; a socket first seen now counts from now on.
 */
static void stat_bytes_delta(const struct ktls_sock *socks, size_t n, const struct stat_filter *f,
			     struct stat_bytes *prev, size_t n_prev, uint64_t *tx, uint64_t *rx)
{
	*tx = *rx = 0;
	for (size_t i = 0; i < n; i++) {
		if (!stat_filter_match(f, &socks[i]))
			continue;
		for (size_t j = 0; j < n_prev; j++) {
			if (prev[j].inode != socks[i].inode)
				continue;
			if (socks[i].bytes_acked >= prev[j].acked)
				*tx += socks[i].bytes_acked - prev[j].acked;
			if (socks[i].bytes_received >= prev[j].received)
				*rx += socks[i].bytes_received - prev[j].received;
			break;
		}
	}
}

static double stat_rate(const struct ktls_stats_delta *d, enum ktls_stat a, enum ktls_stat b)
{
	int64_t v = 0;

	if (d->seconds <= 0)
		return 0;
	if (d->present & (UINT64_C(1) << a))
		v += d->value[a];
	if ((int)b >= 0 && (d->present & (UINT64_C(1) << b)))
		v += d->value[b];
	return (double)v / d->seconds;
}

static void stat_rate_cell(const struct ktls_stats_delta *d, enum ktls_stat a, enum ktls_stat b,
			   int width)
{
	if (!(d->present & (UINT64_C(1) << a)))
		printf(" %*s", width, "n/a");
	else
		printf(" %*.1f", width, stat_rate(d, a, b));
}

static int stat_watch(double interval, long count, const struct stat_filter *f, bool json)
{
	/* Scanning /proc every interval is costly: only when filtering by pid. */
	unsigned int list_flags = f->pid > 0 ? KTLS_SOCK_LIST_OWNERS : 0;
	struct ktls_stats before, after;
	struct stat_bytes *prev = NULL;
	size_t n_prev = 0;
	char err[256];
	struct sigaction sa;
	double elapsed = 0;
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stat_on_signal; /* no SA_RESTART: the sleep ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ret = ktls_stats_read(&before, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ktls stat: %s\n", err);
		return 1;
	}
	if (!json) {
		printf("Per second, every %.3g s, until interrupted.  The kernel counts kTLS sessions,\n"
		       "not records: new-tx/new-rx are keys installed (software + NIC), rekey is\n"
		       "TLS 1.3 KeyUpdates (Linux 6.14+), and traffic is the kTLS sockets' TCP\n"
		       "payload.\n",
		       interval);
		printf("%8s %6s %8s %8s %9s %9s %8s %11s %11s\n", "time", "socks", "new-tx", "new-rx",
		       "dec-err", "dec-retry", "rekey", "tx-KiB", "rx-KiB");
	}
	fflush(stdout);
	for (long round = 0; !stat_stop && (count <= 0 || round <= count); round++) {
		struct ktls_sock *socks = NULL;
		size_t n = 0, matched = 0;
		struct ktls_stats_delta d;
		uint64_t tx = 0, rx = 0;
		bool have_socks;

		have_socks = ktls_sock_list(list_flags, &socks, &n, err, sizeof(err)) == 0;
		if (have_socks) {
			struct stat_bytes *cur = calloc(n ? n : 1, sizeof(*cur));

			stat_bytes_delta(socks, n, f, prev, n_prev, &tx, &rx);
			for (size_t i = 0; i < n; i++) {
				if (stat_filter_match(f, &socks[i]))
					matched++;
				if (cur != NULL)
					cur[i] = (struct stat_bytes){ socks[i].inode, socks[i].bytes_acked,
								      socks[i].bytes_received };
			}
			free(prev);
			prev = cur;
			n_prev = cur != NULL ? n : 0;
		}
		ktls_sock_list_free(socks);
		if (round > 0) {
			if (ktls_stats_read(&after, err, sizeof(err)) < 0) {
				fprintf(stderr, "ktls stat: %s\n", err);
				ret = 1;
				break;
			}
			ktls_stats_delta(&before, &after, &d);
			before = after;
			elapsed += d.seconds;
			if (json) {
				bool first = true;

				printf("{\"time\": %.3f, \"seconds\": %.3f, \"sockets\": ", elapsed,
				       d.seconds);
				if (have_socks)
					printf("%zu", matched);
				else
					fputs("null", stdout);
				fputs(", \"per_second\": {", stdout);
				for (int i = 0; i < (KTLS_STAT_LAST + 1); i++) {
					if (!(d.present & (UINT64_C(1) << i)))
						continue;
					printf("%s\"%s\": %.3f", first ? "" : ", ", ktls_stats_name(i),
					       stat_rate(&d, i, -1));
					first = false;
				}
				if (have_socks && d.seconds > 0)
					printf("}, \"tx_bytes_per_second\": %.1f, "
					       "\"rx_bytes_per_second\": %.1f}\n",
					       (double)tx / d.seconds, (double)rx / d.seconds);
				else
					printf("}, \"tx_bytes_per_second\": null, "
					       "\"rx_bytes_per_second\": null}\n");
			} else {
				printf("%8.1f", elapsed);
				if (have_socks)
					printf(" %6zu", matched);
				else
					printf(" %6s", "-");
				stat_rate_cell(&d, KTLS_STAT_TX_SW, KTLS_STAT_TX_DEVICE, 8);
				stat_rate_cell(&d, KTLS_STAT_RX_SW, KTLS_STAT_RX_DEVICE, 8);
				stat_rate_cell(&d, KTLS_STAT_DECRYPT_ERROR, -1, 9);
				stat_rate_cell(&d, KTLS_STAT_DECRYPT_RETRY, -1, 9);
				stat_rate_cell(&d, KTLS_STAT_TX_REKEY_OK, KTLS_STAT_RX_REKEY_OK, 8);
				if (have_socks && d.seconds > 0)
					printf(" %11.1f %11.1f\n", (double)tx / 1024 / d.seconds,
					       (double)rx / 1024 / d.seconds);
				else
					printf(" %11s %11s\n", "-", "-");
			}
			fflush(stdout);
		} else if (!have_socks) {
			fprintf(stderr, "ktls stat: sockets: %s\n", err);
		}
		if (count > 0 && round == count)
			break;
		{
			struct timespec ts = { .tv_sec = (time_t)interval,
					       .tv_nsec = (long)((interval - (double)(time_t)interval) *
								 1e9) };

			nanosleep(&ts, NULL); /* EINTR at a signal: the loop ends */
		}
	}
	free(prev);
	return ret < 0 ? 1 : ret;
}

/* ---- the command ------------------------------------------------------- */

static void stat_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls stat [--port N] [--pid N] [--cipher NAME] [--no-process] [--json]\n"
		"       ktls stat --watch SECONDS [--count N] [filters] [--json]\n\n"
		"Lists every TCP socket on this machine (this network namespace) that uses\n"
		"kernel TLS, whichever program opened it: addresses, owning process, TLS\n"
		"version, cipher, and how the kernel handles each direction (sw: the kernel's\n"
		"crypto; hw / hw-record: the NIC; base: no key, userspace does the TLS).\n"
		"Then the kernel's TLS counters (/proc/net/tls_stat), and when ktls agent\n"
		"runs, its handshake counters and last handshakes.\n\n"
		"  -p, --port N        sockets with local or peer port N\n"
		"      --pid N         sockets of process N\n"
		"  -c, --cipher NAME   sockets with that cipher (AES-128-GCM, ...; any case)\n"
		"  -n, --no-process    do not look for the owning processes in /proc\n"
		"  -j, --json          JSON instead of a table\n"
		"  -w, --watch SECONDS print per-second rates every SECONDS (0.1 to 86400)\n"
		"                      until interrupted\n"
		"      --count N       with --watch: stop after N intervals\n"
		"      --agent-state FILE  the state file of a ktls agent started with --state\n"
		"                      (default " AGENT_STATE_PATH ")\n\n"
		"Needs CAP_NET_ADMIN: the kernel shows which sockets use kTLS only to it.\n"
		"Exit status: 0, 1 failure, 2 usage, 4 not permitted.\n");
}

int cmd_stat(int argc, char **argv)
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },   { "pid", required_argument, NULL, 'P' },
		{ "cipher", required_argument, NULL, 'c' }, { "no-process", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },         { "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'C' },  { "agent-state", required_argument, NULL, 'A' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	struct stat_filter f = { .port = -1 };
	unsigned int list_flags = KTLS_SOCK_LIST_OWNERS;
	struct ktls_sock *socks = NULL;
	size_t n = 0;
	struct ktls_stats stats;
	char sock_err[256], stats_err[256], err[200], agent_err[300];
	const char *agent_path = AGENT_STATE_PATH;
	struct agent_state *agent = NULL;
	double watch = 0;
	long count = 0;
	bool json = false;
	int opt, sret, tret, status;

	while ((opt = tool_getopt(argc, argv, "stat", "p:c:njw:h", options)) != -1) {
		uint16_t port;
		uint64_t v, ms;

		switch (opt) {
		case 'p':
			if (tool_parse_port(optarg, &port, err, sizeof(err)) < 0)
				return tool_usage_error("stat", "--port: %s", err);
			f.port = port;
			break;
		case 'P':
			if (tool_parse_uint(optarg, 1, INT_MAX, &v, err, sizeof(err)) < 0)
				return tool_usage_error("stat", "--pid: %s", err);
			f.pid = (pid_t)v;
			break;
		case 'c':
			f.cipher = optarg;
			break;
		case 'n':
			list_flags &= ~KTLS_SOCK_LIST_OWNERS;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			if (tool_parse_seconds(optarg, 100, 86400000, &ms, err, sizeof(err)) < 0)
				return tool_usage_error("stat", "--watch: %s", err);
			watch = (double)ms / 1000;
			break;
		case 'C':
			if (tool_parse_uint(optarg, 1, LONG_MAX, &v, err, sizeof(err)) < 0)
				return tool_usage_error("stat", "--count: %s", err);
			count = (long)v;
			break;
		case 'A':
			agent_path = optarg;
			break;
		case 'h':
			stat_usage(stdout);
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return tool_usage_error("stat", "unexpected argument '%s'", argv[optind]);
	if (count > 0 && watch == 0)
		return tool_usage_error("stat", "--count goes with --watch");
	if (f.pid > 0 && !(list_flags & KTLS_SOCK_LIST_OWNERS))
		return tool_usage_error("stat", "--pid needs the owning processes (drop --no-process)");
	if (watch > 0)
		return stat_watch(watch, count, &f, json);

	sret = ktls_sock_list(list_flags, &socks, &n, sock_err, sizeof(sock_err));
	tret = ktls_stats_read(&stats, stats_err, sizeof(stats_err));
	/* No file: no agent runs, which is no error. */
	agent = malloc(sizeof(*agent));
	if (agent == NULL)
		snprintf(agent_err, sizeof(agent_err), "%s", strerror(ENOMEM));
	else if (agent_state_read(agent_path, agent, agent_err, sizeof(agent_err)) < 0) {
		if (access(agent_path, F_OK) < 0 && errno == ENOENT)
			agent_err[0] = '\0';
		free(agent);
		agent = NULL;
	}
	if (json) {
		stat_print_json(stdout, socks, n, sret < 0 ? sock_err : NULL, &f,
				tret < 0 ? NULL : &stats, stats_err, agent,
				agent_err[0] != '\0' ? agent_err : NULL);
	} else {
		if (sret < 0)
			fprintf(stderr, "ktls stat: sockets: %s\n", sock_err);
		else
			stat_print_sockets_text(stdout, socks, n, &f);
		printf("\n");
		stat_print_counters_text(stdout, tret < 0 ? NULL : &stats, stats_err);
		if (agent != NULL) {
			printf("\n");
			agent_state_print_text(stdout, agent);
		} else if (agent_err[0] != '\0') {
			fprintf(stderr, "ktls stat: agent: %s\n", agent_err);
		}
	}
	free(agent);
	ktls_sock_list_free(socks);
	/* A kernel without kTLS has no counters: that is an answer, not a failure. */
	status = 0;
	if (sret == -EPERM)
		status = 4;
	else if (sret < 0 || (tret < 0 && tret != -ENOENT))
		status = 1;
	return status;
}
