/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a running ktls agent has done, for ktls stat: the agent rewrites a
 * small file (/run/ktls-agent/state) after every handshake, atomically
 * (rename), and ktls stat reads it.  Text, one item per line, fields
 * separated by tabs; every string written through tool_escape(), so no
 * field holds a tab, a newline or anything a terminal would act on:
 *
 *   ktls-agent-state 1
 *   pid PID
 *   counters NOTIFICATIONS ACCEPTED SUCCEEDED FAILED DONE_ERRORS IN_FLIGHT
 *   hs UNIX_MS SIDE AUTH STATUS MS VERSION CIPHER PEER PEER_NAME IDENTITY ERROR
 *
 * The hs lines are the last AGENT_STATE_RECENT handshakes, oldest first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

void agent_state_init(struct agent_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pid = getpid();
}

void agent_state_add(struct agent_state *st, const struct ktls_agent_result *r)
{
	struct agent_state_hs *h = &st->recent[st->next];
	struct timespec now;

	memset(h, 0, sizeof(*h));
	clock_gettime(CLOCK_REALTIME, &now);
	h->unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	h->client = r->role == KTLS_ROLE_CLIENT;
	snprintf(h->auth, sizeof(h->auth), "%s", ktls_agent_auth_name(r->auth));
	h->status = r->status;
	h->ms = r->ms;
	tool_escape(r->version, strlen(r->version), h->version, sizeof(h->version));
	tool_escape(r->cipher, strlen(r->cipher), h->cipher, sizeof(h->cipher));
	tool_escape(r->peer, strlen(r->peer), h->peer, sizeof(h->peer));
	tool_escape(r->peer_name, strlen(r->peer_name), h->peer_name, sizeof(h->peer_name));
	tool_escape(r->identity, strlen(r->identity), h->identity, sizeof(h->identity));
	tool_escape(r->error, strlen(r->error), h->error, sizeof(h->error));
	st->next = (st->next + 1) % AGENT_STATE_RECENT;
	if (st->n_recent < AGENT_STATE_RECENT)
		st->n_recent++;
}

/* The i-th of the recent handshakes, oldest first. */
static const struct agent_state_hs *agent_state_recent(const struct agent_state *st, size_t i)
{
	return &st->recent[(st->next + AGENT_STATE_RECENT - st->n_recent + i) % AGENT_STATE_RECENT];
}

/* An empty field would vanish between two tabs when read back: "-" stands for it. */
static const char *agent_state_field(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

int agent_state_write(const char *path, const struct agent_state *st)
{
	char tmp[4096];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	(void)fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (f == NULL) {
		int err = -errno;

		close(fd);
		unlink(tmp);
		return err;
	}
	fprintf(f, "ktls-agent-state 1\npid %ld\n", (long)st->pid);
	fprintf(f, "counters %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u\n",
		st->stats.notifications, st->stats.accepted, st->stats.succeeded,
		st->stats.failed, st->stats.done_errors, st->stats.in_flight);
	for (size_t i = 0; i < st->n_recent; i++) {
		const struct agent_state_hs *h = agent_state_recent(st, i);

		fprintf(f, "hs %" PRId64 "\t%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\n", h->unix_ms,
			h->client ? "client" : "server", h->auth, h->status, h->ms,
			agent_state_field(h->version), agent_state_field(h->cipher),
			agent_state_field(h->peer), agent_state_field(h->peer_name),
			agent_state_field(h->identity), agent_state_field(h->error));
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

/* Copy a field read back ("-" was empty). */
static void agent_state_copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", strcmp(s, "-") == 0 ? "" : s);
}

static int agent_state_parse_hs(char *line, struct agent_state_hs *h)
{
	char *f[11], *save = NULL, *end;
	size_t n = 0;

	for (char *t = strtok_r(line, "\t", &save); t != NULL && n < 11;
	     t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n != 11)
		return -EBADMSG;
	memset(h, 0, sizeof(*h));
	h->unix_ms = strtoll(f[0], &end, 10);
	if (*end != '\0' || (strcmp(f[1], "client") != 0 && strcmp(f[1], "server") != 0))
		return -EBADMSG;
	h->client = strcmp(f[1], "client") == 0;
	agent_state_copy(h->auth, sizeof(h->auth), f[2]);
	h->status = (int)strtol(f[3], &end, 10);
	if (*end != '\0')
		return -EBADMSG;
	h->ms = strtod(f[4], &end);
	if (*end != '\0')
		return -EBADMSG;
	agent_state_copy(h->version, sizeof(h->version), f[5]);
	agent_state_copy(h->cipher, sizeof(h->cipher), f[6]);
	agent_state_copy(h->peer, sizeof(h->peer), f[7]);
	agent_state_copy(h->peer_name, sizeof(h->peer_name), f[8]);
	agent_state_copy(h->identity, sizeof(h->identity), f[9]);
	agent_state_copy(h->error, sizeof(h->error), f[10]);
	return 0;
}

int agent_state_read(const char *path, struct agent_state *ret, char *err, size_t errlen)
{
	char line[2048];
	bool header = false;
	long pid = 0;
	FILE *f;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	f = fopen(path, "re");
	if (f == NULL) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (!header) {
			header = strcmp(line, "ktls-agent-state 1") == 0;
			if (!header)
				break;
		} else if (sscanf(line, "pid %ld", &pid) == 1) {
			ret->pid = (pid_t)pid;
		} else if (strncmp(line, "counters ", 9) == 0) {
			struct ktls_agent_stats *s = &ret->stats;

			if (sscanf(line + 9, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %u",
				   &s->notifications, &s->accepted, &s->succeeded, &s->failed,
				   &s->done_errors, &s->in_flight) != 6)
				r = -EBADMSG;
		} else if (strncmp(line, "hs ", 3) == 0 && ret->n_recent < AGENT_STATE_RECENT) {
			if (agent_state_parse_hs(line + 3, &ret->recent[ret->n_recent]) < 0)
				r = -EBADMSG;
			else
				ret->n_recent++;
		}
		if (r < 0)
			break;
	}
	fclose(f);
	if (r == 0 && (!header || ret->pid <= 0))
		r = -EBADMSG;
	if (r < 0) {
		snprintf(err, errlen, "%s: not a ktls agent state file", path);
		return r;
	}
	ret->next = ret->n_recent % AGENT_STATE_RECENT;
	/* A file left by an agent that did not exit cleanly tells nothing now. */
	if (kill(ret->pid, 0) < 0 && errno == ESRCH) {
		snprintf(err, errlen, "%s: its agent (pid %ld) is gone", path, (long)ret->pid);
		return -ESRCH;
	}
	return 0;
}

static void agent_state_ms_text(char *buf, size_t size, const struct agent_state_hs *h)
{
	if (h->status == 0)
		snprintf(buf, size, "%s %s, ok", h->version, h->cipher);
	else
		snprintf(buf, size, "failed, %s (%s)", strerror(h->status), h->error);
}

void agent_state_print_text(FILE *out, const struct agent_state *st)
{
	const struct ktls_agent_stats *s = &st->stats;
	char what[600];

	fprintf(out,
		"ktls agent (pid %ld): %" PRIu64 " handshake%s, %" PRIu64 " ok, %" PRIu64
		" failed, %u running; %" PRIu64 " DONE refused\n",
		(long)st->pid, s->accepted, s->accepted == 1 ? "" : "s", s->succeeded, s->failed,
		s->in_flight, s->done_errors);
	for (size_t i = 0; i < st->n_recent; i++) {
		const struct agent_state_hs *h = agent_state_recent(st, i);
		time_t t = (time_t)(h->unix_ms / 1000);
		char when[32];
		struct tm tm;

		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
		agent_state_ms_text(what, sizeof(what), h);
		fprintf(out, "  %s %s %s%s%s%s %s: %s, %.1f ms\n", when, h->client ? "client" : "server",
			h->peer, h->peer_name[0] ? " (" : "", h->peer_name, h->peer_name[0] ? ")" : "",
			h->auth, what, h->ms);
	}
}

void agent_state_print_json(FILE *out, const struct agent_state *st)
{
	const struct ktls_agent_stats *s = &st->stats;

	fprintf(out,
		"{\"pid\": %ld, \"notifications\": %" PRIu64 ", \"handshakes\": %" PRIu64
		", \"ok\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"running\": %u, \"done_refused\": %" PRIu64
		", \"recent\": [",
		(long)st->pid, s->notifications, s->accepted, s->succeeded, s->failed, s->in_flight,
		s->done_errors);
	for (size_t i = 0; i < st->n_recent; i++) {
		const struct agent_state_hs *h = agent_state_recent(st, i);

		fprintf(out, "%s\n    {\"unix_ms\": %" PRId64 ", \"side\": \"%s\", \"auth\": ",
			i > 0 ? "," : "", h->unix_ms, h->client ? "client" : "server");
		json_string(out, h->auth);
		fputs(", \"peer\": ", out);
		json_string(out, h->peer);
		fputs(", \"peer_name\": ", out);
		json_string(out, h->peer_name);
		fputs(", \"identity\": ", out);
		json_string(out, h->identity);
		fputs(", \"version\": ", out);
		json_string(out, h->version);
		fputs(", \"cipher\": ", out);
		json_string(out, h->cipher);
		fprintf(out, ", \"status\": %d, \"ok\": %s, \"ms\": %.1f, \"error\": ", h->status,
			h->status == 0 ? "true" : "false", h->ms);
		json_string(out, h->error);
		fputs("}", out);
	}
	fputs(st->n_recent > 0 ? "\n  ]}" : "]}", out);
}
