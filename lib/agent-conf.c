/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tlshd's configuration file (tlshd.conf(5)), so that the agent can take
 * tlshd's place with the file an administrator already wrote.  tlshd reads
 * it with GLib's GKeyFile; this is the same grammar, written out here so
 * that the library needs no GLib:
 *   - blank lines and lines starting with '#' (after blanks) are comments;
 *   - "[group]" starts a group; the first non-comment line must be one;
 *   - "key=value": blanks after the key and before the value are dropped,
 *     the value's trailing blanks are kept (GLib keeps them too); a later
 *     key replaces an earlier one, and a group named twice is one group;
 *   - "key[locale]=value" lines are translations and are skipped;
 *   - values unescape \s \n \t \r \\; lists split on ';' (and "\;" is a ';');
 *   - any other line makes the whole file invalid, as it does for tlshd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/* A configuration file bigger than this is not a configuration file. */
#define CONF_SIZE_MAX (1024 * 1024)

struct conf_entry {
	char *group, *key, *value; /* value still escaped */
	struct conf_entry *next;
};

static bool conf_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void conf_entries_free(struct conf_entry *e)
{
	while (e != NULL) {
		struct conf_entry *next = e->next;

		free(e->group);
		free(e->key);
		free(e->value);
		free(e);
		e = next;
	}
}

/* The raw value of @key in @group, the last one written; NULL if none. */
static const char *conf_raw(const struct conf_entry *e, const char *group, const char *key)
{
	const char *found = NULL;

	for (; e != NULL; e = e->next)
		if (strcmp(e->group, group) == 0 && strcmp(e->key, key) == 0)
			found = e->value;
	return found;
}

/*
 * Unescape @raw into a new string; with @list, stop at an unescaped ';' and
 * set *@rest after it (NULL at the end).  NULL on a bad escape or no memory.
 */
static char *conf_unescape(const char *raw, bool list, const char **rest, int *err)
{
	size_t n = strlen(raw);
	char *out = malloc(n + 1), *o = out;
	const char *p = raw;

	if (out == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if (rest != NULL)
		*rest = NULL;
	for (; *p != '\0'; p++) {
		if (list && *p == ';') {
			if (rest != NULL)
				*rest = p + 1;
			break;
		}
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 's': *o++ = ' '; break;
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case '\\': *o++ = '\\'; break;
		case ';':
			/* "\;" is an escape only in lists */
			if (list) {
				*o++ = ';';
				break;
			}
			free(out);
			*err = -EBADMSG;
			return NULL;
		default:
			free(out);
			*err = -EBADMSG;
			return NULL;
		}
	}
	*o = '\0';
	return out;
}

/* A string value: 0 and *@ret (NULL when absent), or -EBADMSG / -ENOMEM. */
static int conf_string(const struct conf_entry *e, const char *group, const char *key, char **ret,
		       char *errbuf, size_t errlen)
{
	const char *raw = conf_raw(e, group, key);
	int err = 0;

	*ret = NULL;
	if (raw == NULL)
		return 0;
	*ret = conf_unescape(raw, false, NULL, &err);
	if (*ret == NULL)
		return error_buf(errbuf, errlen, err, "[%s] %s: %s", group, key,
				 err == -ENOMEM ? "out of memory" : "invalid escape sequence");
	if (**ret == '\0') {
		free(*ret);
		*ret = NULL;
	}
	return 0;
}

/* An integer as g_key_file_get_integer() reads it; anything else counts as 0, as in tlshd. */
static int conf_int(const struct conf_entry *e, const char *group, const char *key)
{
	const char *raw = conf_raw(e, group, key);
	char *end;
	long v;

	if (raw == NULL || *raw == '\0')
		return 0;
	errno = 0;
	v = strtol(raw, &end, 10);
	while (conf_blank(*end))
		end++;
	if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX)
		return 0;
	return (int)v;
}

static int conf_list(const struct conf_entry *e, const char *group, const char *key,
		     struct agent_conf *conf, char *errbuf, size_t errlen)
{
	const char *raw = conf_raw(e, group, key);
	const char *rest = raw;
	int err = 0;

	while (rest != NULL && *rest != '\0') {
		char *item = conf_unescape(rest, true, &rest, &err), **grown;

		if (item == NULL)
			return error_buf(errbuf, errlen, err, "[%s] %s: %s", group, key,
					 err == -ENOMEM ? "out of memory" : "invalid escape sequence");
		if (item[0] == '\0') {
			free(item);
			continue;
		}
		grown = realloc(conf->keyrings, (conf->n_keyrings + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(item);
			return -ENOMEM;
		}
		conf->keyrings = grown;
		conf->keyrings[conf->n_keyrings++] = item;
	}
	return 0;
}

/* Split the text into entries; the grammar errors are GLib's. */
static int conf_lex(const char *text, size_t len, struct conf_entry **ret, char *errbuf,
		    size_t errlen)
{
	struct conf_entry *head = NULL, **tail = &head;
	char *group = NULL;
	size_t off = 0;
	unsigned int lineno = 0;
	int err = 0;

	while (off < len && err == 0) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - off;
		const char *p = line, *end = line + n, *eq, *k_end;

		off += n + (nl != NULL);
		lineno++;
		if (n > 0 && end[-1] == '\r')
			end--;
		if (memchr(line, '\0', n) != NULL) {
			err = error_buf(errbuf, errlen, -EBADMSG, "line %u: a NUL byte", lineno);
			break;
		}
		while (p < end && conf_blank(*p))
			p++;
		if (p == end || *p == '#')
			continue;
		if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p)), *q;

			for (q = close != NULL ? close + 1 : end; q < end && conf_blank(*q); q++)
				;
			if (close == NULL || close == p + 1 || q != end ||
			    memchr(p + 1, '[', (size_t)(close - p - 1)) != NULL) {
				err = error_buf(errbuf, errlen, -EBADMSG,
						"line %u: \"%.*s\" is not a valid group name", lineno,
						(int)(end - p), p);
				break;
			}
			free(group);
			group = strndup(p + 1, (size_t)(close - p - 1));
			if (group == NULL)
				err = -ENOMEM;
			continue;
		}
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p) {
			err = error_buf(errbuf, errlen, -EBADMSG,
					"line %u: \"%.*s\" is not a key-value pair, group, or comment",
					lineno, (int)(end - p), p);
			break;
		}
		if (group == NULL) {
			err = error_buf(errbuf, errlen, -EBADMSG,
					"line %u: the file does not start with a group", lineno);
			break;
		}
		for (k_end = eq; k_end > p && conf_blank(k_end[-1]); k_end--)
			;
		if (memchr(p, '[', (size_t)(k_end - p)) != NULL)
			continue; /* key[locale]: a translation, never what tlshd reads */
		for (eq++; eq < end && conf_blank(*eq); eq++)
			;
		struct conf_entry *e = calloc(1, sizeof(*e));

		if (e == NULL || (e->group = strdup(group)) == NULL ||
		    (e->key = strndup(p, (size_t)(k_end - p))) == NULL ||
		    (e->value = strndup(eq, (size_t)(end - eq))) == NULL) {
			conf_entries_free(e);
			err = -ENOMEM;
			break;
		}
		*tail = e;
		tail = &e->next;
	}
	free(group);
	if (err < 0) {
		conf_entries_free(head);
		return err;
	}
	*ret = head;
	return 0;
}

/* Note "[group] key" once, for the log. */
static int conf_note(struct agent_conf *conf, const char *group, const char *key)
{
	char line[160];

	snprintf(line, sizeof(line), "[%s] %s", group, key);
	for (size_t i = 0; i < conf->n_notes; i++)
		if (strcmp(conf->notes[i], line) == 0)
			return 0;
	if (conf->n_notes >= AGENT_CONF_NOTES_MAX)
		return 0;
	conf->notes[conf->n_notes] = strdup(line);
	if (conf->notes[conf->n_notes] == NULL)
		return -ENOMEM;
	conf->n_notes++;
	return 0;
}

/* The keys of [authenticate.client] / [authenticate.server] the agent acts on. */
static int conf_side(const struct conf_entry *entries, const char *group,
		     struct agent_conf_side *side, struct agent_conf *conf, char *errbuf,
		     size_t errlen)
{
	int ret;

	if ((ret = conf_string(entries, group, "x509.truststore", &side->truststore, errbuf,
			       errlen)) < 0 ||
	    (ret = conf_string(entries, group, "x509.certificate", &side->certificate, errbuf,
			       errlen)) < 0 ||
	    (ret = conf_string(entries, group, "x509.private_key", &side->private_key, errbuf,
			       errlen)) < 0)
		return ret;
	/* Everything else in the group is something tlshd does and the agent does not. */
	for (const struct conf_entry *e = entries; e != NULL; e = e->next) {
		if (strcmp(e->group, group) != 0 || strcmp(e->key, "x509.truststore") == 0 ||
		    strcmp(e->key, "x509.certificate") == 0 ||
		    strcmp(e->key, "x509.private_key") == 0)
			continue;
		ret = conf_note(conf, group, e->key);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void agent_conf_free(struct agent_conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->n_keyrings; i++)
		free(conf->keyrings[i]);
	free(conf->keyrings);
	for (struct agent_conf_side *s = &conf->client; s <= &conf->server; s++) {
		free(s->truststore);
		free(s->certificate);
		free(s->private_key);
	}
	for (size_t i = 0; i < conf->n_notes; i++)
		free(conf->notes[i]);
	memset(conf, 0, sizeof(*conf));
}

int agent_conf_parse(const char *text, size_t len, struct agent_conf *ret, char *errbuf,
		     size_t errlen)
{
	struct conf_entry *entries = NULL;
	struct agent_conf conf;
	int err;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (text == NULL || ret == NULL)
		return -EINVAL;
	memset(&conf, 0, sizeof(conf));
	err = conf_lex(text, len, &entries, errbuf, errlen);
	if (err < 0)
		return err;
	/* tlshd 1.x reads [debug]; its first releases read [main]. */
	conf.debug = conf_int(entries, "debug", "loglevel");
	if (conf.debug == 0)
		conf.debug = conf_int(entries, "main", "debug");
	conf.tls_debug = conf_int(entries, "debug", "tls");
	if (conf.tls_debug == 0)
		conf.tls_debug = conf_int(entries, "main", "tlsdebug");
	conf.nl_debug = conf_int(entries, "debug", "nl");
	if (conf.nl_debug == 0)
		conf.nl_debug = conf_int(entries, "main", "nl_debug");
	err = conf_list(entries, "authenticate", "keyrings", &conf, errbuf, errlen);
	if (err == 0)
		err = conf_list(entries, "main", "keyrings", &conf, errbuf, errlen);
	if (err == 0)
		err = conf_side(entries, "authenticate.client", &conf.client, &conf, errbuf, errlen);
	if (err == 0)
		err = conf_side(entries, "authenticate.server", &conf.server, &conf, errbuf, errlen);
	if (err == 0 && conf_raw(entries, "debug", "delay_done") != NULL)
		err = conf_note(&conf, "debug", "delay_done");
	conf_entries_free(entries);
	if (err < 0) {
		agent_conf_free(&conf);
		return err;
	}
	*ret = conf;
	return 0;
}

int agent_conf_load(const char *path, struct agent_conf *ret, char *errbuf, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, err;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_buf(errbuf, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONF_SIZE_MAX) {
		err = error_buf(errbuf, errlen, -EBADMSG, "%s: not a configuration file", path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	err = agent_conf_parse(text, got, ret, errbuf, errlen);
	if (err == -EBADMSG && errbuf != NULL && errlen > 0) {
		char line[ERROR_TEXT_MAX];

		snprintf(line, sizeof(line), "%s", errbuf);
		snprintf(errbuf, errlen, "%s: %s", path, line);
	}
out:
	free(text);
	close(fd);
	return err;
}
