/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls agent: the kernel's TLS handshake agent (in tlshd's place).
 *
 * Listens on the handshake netlink family, runs every handshake the kernel
 * asks for (NFS client and server, NVMe/TCP) on one io_uring engine, gives
 * the keys to the kernel and answers.  One log line per handshake on
 * stderr (the journal under systemd).  SIGTERM/SIGINT: take no more, let
 * the running ones end (10 s at most), print the counters, exit.  SIGUSR1:
 * print the counters.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ktls-agent.h>

#include "tool.h"

/* How long a stopping agent waits for the handshakes it runs. */
#define AGENT_DRAIN_MS 10000

static volatile sig_atomic_t agent_signal;

static void agent_on_signal(int sig)
{
	agent_signal = sig;
}

static void agent_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls agent [options]\n"
		"\n"
		"Answer the kernel's TLS handshake requests (NFS with xprtsec=tls/mtls,\n"
		"NVMe/TCP) in tlshd's place, all on one io_uring engine.\n"
		"\n"
		"  -c, --config FILE  tlshd configuration (default /etc/tlshd/config, else\n"
		"                     /etc/tlshd.conf; none: system trust, no certificates)\n"
		"      --no-config    read no configuration file\n"
		"  -t, --timeout S    limit for handshakes whose request gives none (NFS sends\n"
		"                     none; default 40; a fraction such as 0.5 is allowed)\n"
		"  -d, --debug        log every step (and libktls's messages)\n"
		"  -q, --quiet        log failures only\n"
		"  -s, --stderr       accepted for tlshd's command line; the log is always stderr\n"
		"      --probe        exit 0 if this kernel has the handshake family, 1 if not\n"
		"  -j, --json         one JSON object per handshake on stdout (with --probe: the\n"
		"                     probe's answer as JSON)\n"
		"      --state FILE   where ktls stat finds the counters and the last handshakes\n"
		"                     (default " AGENT_STATE_PATH ")\n"
		"      --no-state     write no state file\n"
		"  -h, --help\n"
		"      --version\n"
		"\n"
		"One log line per handshake on stderr: side, auth mode, peer, version, cipher,\n"
		"result and milliseconds.  SIGINT/SIGTERM: take no more, let the running ones\n"
		"end (10 s at most), print the counters, exit.  SIGUSR1: print the counters.\n");
}

/* What the done callback needs. */
struct agent_cli {
	struct ktls_agent *agent;
	bool json;
	const char *state_path; /* NULL: none, or given up after a failure */
	const char *state_written; /* the file this agent wrote, removed at exit */
	struct agent_state state;
};

/* The state file for ktls stat, rewritten; one failure is logged and ends it. */
static void agent_state_update(struct agent_cli *cli)
{
	int ret;

	if (cli->state_path == NULL)
		return;
	ktls_agent_get_stats(cli->agent, &cli->state.stats);
	ret = agent_state_write(cli->state_path, &cli->state);
	if (ret < 0) {
		fprintf(stderr, "ktls-agent: state file %s: %s; ktls stat will not show the agent\n",
			cli->state_path, strerror(-ret));
		cli->state_path = NULL;
		return;
	}
	cli->state_written = cli->state_path;
}

/* ktls agent --json: one object per handshake, as the library reports it. */
static void agent_print_json(const struct ktls_agent_result *r)
{
	printf("{\"side\":\"%s\",\"auth\":", r->role == KTLS_ROLE_CLIENT ? "client" : "server");
	json_string(stdout, ktls_agent_auth_name(r->auth));
	printf(",\"peer\":");
	json_string(stdout, r->peer);
	printf(",\"peer_name\":");
	json_string(stdout, r->peer_name);
	printf(",\"identity\":");
	json_string(stdout, r->identity);
	printf(",\"version\":");
	json_string(stdout, r->version);
	printf(",\"cipher\":");
	json_string(stdout, r->cipher);
	printf(",\"status\":%d,\"ok\":%s,\"remote_auth\":[", r->status,
	       r->status == 0 ? "true" : "false");
	for (unsigned int i = 0; i < r->n_remote_auth; i++)
		printf("%s%u", i > 0 ? "," : "", r->remote_auth[i]);
	printf("],\"timeout_ms\":%u,\"ms\":%.1f,\"error\":", r->timeout_ms, r->ms);
	json_string(stdout, r->error);
	printf("}\n");
	fflush(stdout);
}

static void agent_on_done(const struct ktls_agent_result *r, void *userdata)
{
	struct agent_cli *cli = userdata;

	if (cli->json)
		agent_print_json(r);
	if (cli->state_path != NULL) {
		agent_state_add(&cli->state, r);
		agent_state_update(cli);
	}
}

static void agent_log_line(enum ktls_log_level level, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "ktls-agent: %s%s\n", level <= KTLS_LOG_ERROR ? "error: " : "", message);
}

static void agent_print_stats(const struct ktls_agent *agent)
{
	struct ktls_agent_stats st;

	if (ktls_agent_get_stats(agent, &st) < 0)
		return;
	fprintf(stderr,
		"ktls-agent: %llu handshake%s: %llu ok, %llu failed, %u running; "
		"%llu notification%s, %llu DONE refused\n",
		(unsigned long long)st.accepted, st.accepted == 1 ? "" : "s",
		(unsigned long long)st.succeeded, (unsigned long long)st.failed, st.in_flight,
		(unsigned long long)st.notifications, st.notifications == 1 ? "" : "s",
		(unsigned long long)st.done_errors);
}

int cmd_agent(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-config", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stderr", no_argument, NULL, 's' },
		{ "probe", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 'S' },
		{ "no-state", no_argument, NULL, 'n' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	enum ktls_log_level level = KTLS_LOG_INFO;
	const char *config = NULL;
	uint64_t timeout_ms = 0;
	bool no_config = false, probe = false, json = false, no_state = false;
	const char *state_path = NULL;
	struct agent_cli *cli = NULL;
	struct ktls_agent *agent = NULL;
	struct ktls_agent_stats st;
	struct sigaction sa;
	struct timespec t0, t;
	char err[256];
	int c, ret, status = 1;

	while ((c = tool_getopt(argc, argv, "agent", "c:t:dqsjh", options)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'N':
			no_config = true;
			break;
		case 't':
			/* The library takes milliseconds as an unsigned int: an hour is plenty. */
			if (tool_parse_seconds(optarg, 1, 3600000, &timeout_ms, err, sizeof(err)) < 0)
				return tool_usage_error("agent", "--timeout: %s", err);
			break;
		case 'd':
			level = KTLS_LOG_DEBUG;
			break;
		case 'q':
			level = KTLS_LOG_ERROR;
			break;
		case 's':
			break;
		case 'P':
			probe = true;
			break;
		case 'j':
			json = true;
			break;
		case 'S':
			state_path = optarg;
			break;
		case 'n':
			no_state = true;
			break;
		case 'h':
			agent_usage(stdout);
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return tool_usage_error("agent", "unexpected argument '%s'", argv[optind]);
	if (config != NULL && no_config)
		return tool_usage_error("agent", "--config and --no-config together");
	if (state_path != NULL && no_state)
		return tool_usage_error("agent", "--state and --no-state together");
	if (probe) {
		ret = ktls_agent_probe(err, sizeof(err));
		if (json) {
			printf("{\"handshake_family\":%s,\"reason\":", ret == 0 ? "true" : "false");
			json_string(stdout, ret == 0 ? "" : err);
			printf("}\n");
		} else {
			printf("%s\n", ret == 0 ? "handshake family: available" : err);
		}
		return ret == 0 ? 0 : 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_on_signal; /* no SA_RESTART: the wait returns -EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = ktls_agent_new(NULL, &agent);
	if (ret < 0) {
		fprintf(stderr, "ktls agent: cannot create the engine: %s\n", strerror(-ret));
		return 1;
	}
	ktls_agent_set_log(agent, agent_log_line, level, NULL);
	if (timeout_ms > 0)
		ktls_agent_set_default_timeout(agent, (unsigned int)timeout_ms);
	cli = calloc(1, sizeof(*cli));
	if (cli == NULL) {
		fprintf(stderr, "ktls agent: %s\n", strerror(ENOMEM));
		goto out;
	}
	cli->agent = agent;
	cli->json = json;
	agent_state_init(&cli->state);
	if (!no_state) {
		cli->state_path = state_path != NULL ? state_path : AGENT_STATE_PATH;
		/* The default's folder is ours to make (systemd's RuntimeDirectory makes it too). */
		if (state_path == NULL)
			(void)mkdir("/run/ktls-agent", 0755);
	}
	ktls_agent_set_done_callback(agent, agent_on_done, cli);
	if (!no_config) {
		struct stat sb;

		/* tlshd's default file is optional here: without it, system trust and no certificates. */
		if (config != NULL || stat("/etc/tlshd/config", &sb) == 0 ||
		    stat("/etc/tlshd.conf", &sb) == 0) {
			ret = ktls_agent_load_conf(agent, config);
			if (ret < 0)
				goto out; /* the log has the reason */
		}
	}
	ret = ktls_agent_start(agent);
	if (ret < 0)
		goto out;
	agent_state_update(cli);
	while (agent_signal != SIGINT && agent_signal != SIGTERM) {
		ret = ktls_agent_run(agent, -1);
		if (agent_signal == SIGUSR1) {
			agent_signal = 0;
			agent_print_stats(agent);
		}
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "ktls-agent: error: %s\n", strerror(-ret));
			goto out;
		}
	}
	ktls_agent_stop(agent);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ktls_agent_get_stats(agent, &st) == 0 && st.in_flight > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    AGENT_DRAIN_MS)
			break;
		ktls_agent_run(agent, 100);
	}
	status = 0;
out:
	if (agent != NULL)
		agent_print_stats(agent);
	/* No agent, no state: ktls stat must not show a stopped one (nor another agent's go). */
	if (cli != NULL && cli->state_written != NULL)
		unlink(cli->state_written);
	ktls_agent_free(agent);
	free(cli);
	return status;
}
