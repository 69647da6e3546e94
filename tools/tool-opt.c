/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The option syntax every subcommand shares: sizes, counts, ports, seconds,
 * offload policies, PSKs; getopt's errors, --version and usage errors in one
 * wording.  The parsers are pure (a message into @err, no printing) so that
 * tests/unit/test-tool-opt.c can hold them to their syntax.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tool-config.h"
#include "tool.h"

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ktls %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'ktls help %s'\n", cmd);
	return TOOL_EXIT_USAGE;
}

int tool_print_version(void)
{
	printf("ktls %s\n", KTLS_TOOL_VERSION);
	return 0;
}

static bool tool_takes_no_value(const struct option *longopts, int val)
{
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (o->val == val && o->flag == NULL && o->has_arg == no_argument)
			return true;
	return false;
}

int tool_getopt(int argc, char **argv, const char *cmd, const char *shortopts,
		const struct option *longopts)
{
	char opts[64];
	const char *arg;
	int opt;

	/* A leading ':' makes a missing value ':' rather than '?'; the messages are ours. */
	snprintf(opts, sizeof(opts), ":%s", shortopts);
	opterr = 0;
	opt = getopt_long(argc, argv, opts, longopts, NULL);
	if (opt != '?' && opt != ':')
		return opt;
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	if (opt == ':') {
		if (strncmp(arg, "--", 2) == 0)
			tool_usage_error(cmd, "option '%s' needs a value", arg);
		else
			tool_usage_error(cmd, "option '-%c' needs a value", optopt);
	} else if (optopt != 0 && strncmp(arg, "--", 2) == 0 && strchr(arg, '=') != NULL &&
		   tool_takes_no_value(longopts, optopt)) {
		tool_usage_error(cmd, "option '%.*s' takes no value", (int)strcspn(arg, "="), arg);
	} else if (optopt != 0 && optopt < 0x100 && isprint(optopt)) {
		tool_usage_error(cmd, "unknown option '-%c'", optopt);
	} else {
		tool_usage_error(cmd, "unknown option '%s'", arg);
	}
	return TOOL_OPT_ERROR;
}

/* Decimal digits only: no sign, no space, no 0x (strtoull takes all three). */
static int tool_digits(const char **p, uint64_t *ret)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	for (; isdigit((unsigned char)**p); (*p)++) {
		unsigned int d = (unsigned int)(**p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int tool_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret, char *err,
		    size_t errlen)
{
	const char *p = s;
	uint64_t v;
	int r = tool_digits(&p, &v);

	if (r == 0 && *p != '\0')
		r = -EINVAL;
	if (r == -EINVAL) {
		snprintf(err, errlen, "'%s' is not a number (digits only)", s);
		return r;
	}
	if (r < 0 || v < min || v > max) {
		snprintf(err, errlen, "'%s' is out of range (%llu to %llu)", s,
			 (unsigned long long)min, (unsigned long long)max);
		return -ERANGE;
	}
	*ret = v;
	return 0;
}

/* Binary multiples: K and KiB are both 1024 (as dd, curl and the kernel count). */
static const struct {
	const char *suffix;
	unsigned int shift;
} tool_size_units[] = {
	{ "", 0 },	  { "b", 0 },	    { "k", 10 },  { "kib", 10 }, { "m", 20 },
	{ "mib", 20 }, { "g", 30 },	    { "gib", 30 }, { "t", 40 },	 { "tib", 40 },
};

int tool_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret, char *err,
		    size_t errlen)
{
	const char *p = s;
	uint64_t v;
	int r = tool_digits(&p, &v);
	int unit = -1;

	if (r == 0) {
		for (size_t i = 0; i < sizeof(tool_size_units) / sizeof(tool_size_units[0]); i++)
			if (strcasecmp(p, tool_size_units[i].suffix) == 0)
				unit = (int)i;
		if (unit < 0)
			r = -EINVAL;
	}
	if (r == -EINVAL) {
		snprintf(err, errlen,
			 "'%s' is not a size (bytes, or a number with K, M, G, T or KiB, MiB, GiB, "
			 "TiB)", s);
		return r;
	}
	if (r == 0 && v > (UINT64_MAX >> tool_size_units[unit].shift))
		r = -ERANGE;
	if (r == 0)
		v <<= tool_size_units[unit].shift;
	if (r < 0 || v < min || v > max) {
		snprintf(err, errlen, "'%s' is out of range (%llu to %llu bytes)", s,
			 (unsigned long long)min, (unsigned long long)max);
		return -ERANGE;
	}
	*ret = v;
	return 0;
}

int tool_parse_port(const char *s, uint16_t *ret, char *err, size_t errlen)
{
	uint64_t v;

	if (tool_parse_uint(s, 1, 65535, &v, err, errlen) < 0) {
		snprintf(err, errlen, "'%s' is not a TCP port (1 to 65535)", s);
		return -EINVAL;
	}
	*ret = (uint16_t)v;
	return 0;
}

int tool_parse_seconds(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *ret_ms,
		       char *err, size_t errlen)
{
	const char *p = s;
	uint64_t whole, ms = 0, scale = 100;
	int r = tool_digits(&p, &whole);

	/* "1.5", "0.25", "30"; no exponent, sign, inf or nan (strtod takes all of them). */
	if (r == 0 && *p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			r = -EINVAL;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (uint64_t)(*p - '0') * scale; /* past milliseconds: dropped */
	}
	if (r == 0 && *p != '\0')
		r = -EINVAL;
	if (r == -EINVAL) {
		snprintf(err, errlen, "'%s' is not a number of seconds (e.g. 10 or 0.5)", s);
		return r;
	}
	if (r == 0 && whole > (UINT64_MAX - 999) / 1000)
		r = -ERANGE;
	if (r == 0)
		ms += whole * 1000;
	if (r < 0 || ms < min_ms || ms > max_ms) {
		snprintf(err, errlen, "'%s' is out of range (%g to %g seconds)", s,
			 (double)min_ms / 1000, (double)max_ms / 1000);
		return -ERANGE;
	}
	*ret_ms = ms;
	return 0;
}

int tool_parse_version(const char *s)
{
	if (strcmp(s, "1.2") == 0)
		return KTLS_VERSION_TLS12;
	if (strcmp(s, "1.3") == 0)
		return KTLS_VERSION_TLS13;
	return -1;
}

int tool_parse_offload(const char *s, enum ktls_offload *ret, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum ktls_offload policy;
	} names[] = {
		{ "auto", KTLS_OFFLOAD_AUTO },
		{ "require", KTLS_OFFLOAD_REQUIRE },
		{ "off", KTLS_OFFLOAD_OFF },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].policy;
			return 0;
		}
	snprintf(err, errlen, "'%s' is not an offload policy (auto, require or off)", s);
	return -EINVAL;
}

const char *tool_offload_name(enum ktls_offload policy)
{
	return policy == KTLS_OFFLOAD_OFF ? "off" : policy == KTLS_OFFLOAD_REQUIRE ? "require" : "auto";
}

static int tool_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void tool_psk_wipe(struct tool_psk *psk)
{
	explicit_bzero(psk, sizeof(*psk));
}

/*
 * IDENTITY:HEXKEY, split at the last colon: identities such as NVMe's
 * ("NVMe0R01 nqn...:uuid:... nqn...") have colons, a hex key never does.
 * The messages never quote the key.
 */
int tool_parse_psk(const char *arg, size_t len, struct tool_psk *ret, char *err, size_t errlen)
{
	const char *colon = NULL, *hex;
	size_t id_len, hex_len;

	for (size_t i = 0; i < len; i++)
		if (arg[i] == ':')
			colon = arg + i;
	if (colon == NULL) {
		snprintf(err, errlen, "expected IDENTITY:HEXKEY (no ':' found)");
		return -EINVAL;
	}
	id_len = (size_t)(colon - arg);
	hex = colon + 1;
	hex_len = len - id_len - 1;
	if (id_len == 0 || id_len >= sizeof(ret->identity)) {
		snprintf(err, errlen, "the identity must be 1 to %zu bytes, not %zu",
			 sizeof(ret->identity) - 1, id_len);
		return -EINVAL;
	}
	for (size_t i = 0; i < id_len; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f) {
			snprintf(err, errlen, "the identity has a control character at byte %zu",
				 i + 1);
			return -EINVAL;
		}
	if (hex_len % 2 != 0 || hex_len / 2 < TOOL_PSK_MIN || hex_len / 2 > sizeof(ret->key)) {
		snprintf(err, errlen, "the key must be %d to %zu bytes in hex (%d to %zu hex digits); "
			 "it has %zu digits", TOOL_PSK_MIN, sizeof(ret->key), 2 * TOOL_PSK_MIN,
			 2 * sizeof(ret->key), hex_len);
		return -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < hex_len; i += 2) {
		int hi = tool_hex(hex[i]), lo = tool_hex(hex[i + 1]);

		if (hi < 0 || lo < 0) {
			tool_psk_wipe(ret);
			snprintf(err, errlen, "the key has a character that is not hex at digit %zu",
				 i + (hi < 0 ? 1 : 2));
			return -EINVAL;
		}
		ret->key[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(ret->identity, arg, id_len);
	ret->identity[id_len] = '\0';
	ret->key_len = hex_len / 2;
	return 0;
}

int tool_read_psk_file(const char *path, struct tool_psk *ret, char *err, size_t errlen)
{
	char buf[1024];
	const char *nl;
	size_t len = 0, line;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	/* One line, its end of line optional; anything after it is a mistake. */
	nl = memchr(buf, '\n', len);
	line = nl != NULL ? (size_t)(nl - buf) : len;
	if (len == sizeof(buf) || (line < len && line + 1 != len)) {
		snprintf(err, errlen, "%s: expected one line, IDENTITY:HEXKEY", path);
		r = -EINVAL;
		goto out;
	}
	if (memchr(buf, '\0', line) != NULL) {
		snprintf(err, errlen, "%s: not a text file", path);
		r = -EINVAL;
		goto out;
	}
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	r = tool_parse_psk(buf, line, ret, err, errlen);
	if (r < 0) {
		char why[200];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}
