/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The option syntax every ktls subcommand shares (tools/tool-opt.c): sizes,
 * counts, ports, seconds, offload policies, PSKs and PSK files; and the
 * escaping of client text for ktls serve's log (tools/tool-util.c).  Each
 * value that was once taken wrongly by some subcommand is here: "1M" as one
 * byte, "-5", "abc" as port 0, "0x10", an offload typo as auto, a PSK
 * identity cut at its first colon.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "unit.h"

static char err[300];

static void check_size(const char *s, int want_ret, uint64_t want)
{
	uint64_t v = 12345;
	int ret;

	err[0] = '\0';
	ret = tool_parse_size(s, 0, UINT64_MAX, &v, err, sizeof(err));
	if (want_ret == 0)
		tap_check(ret == 0 && v == want, "size '%s' = %llu (got %d, %llu)", s,
			  (unsigned long long)want, ret, (unsigned long long)v);
	else
		tap_check(ret == want_ret && v == 12345 && strstr(err, s) != NULL,
			  "size '%s' refused with %s, value untouched, message quotes it: %s", s,
			  unit_errno_name(-want_ret), err);
}

static void test_sizes(void)
{
	check_size("0", 0, 0);
	check_size("16", 0, 16);
	check_size("1K", 0, 1024);
	check_size("1k", 0, 1024);
	check_size("1KiB", 0, 1024);
	check_size("1M", 0, 1 << 20);
	check_size("1MiB", 0, 1 << 20);
	check_size("3mib", 0, 3 << 20);
	check_size("2G", 0, 2ull << 30);
	check_size("2GiB", 0, 2ull << 30);
	check_size("1T", 0, 1ull << 40);
	check_size("100B", 0, 100);
	check_size("18446744073709551615", 0, UINT64_MAX);
	check_size("", -EINVAL, 0);
	check_size("M", -EINVAL, 0);
	check_size("-5", -EINVAL, 0);
	check_size("+5", -EINVAL, 0);
	check_size(" 5", -EINVAL, 0);
	check_size("5 ", -EINVAL, 0);
	check_size("0x10", -EINVAL, 0);
	check_size("1.5M", -EINVAL, 0);
	check_size("1MB", -EINVAL, 0);
	check_size("1Mi", -EINVAL, 0);
	check_size("12abc", -EINVAL, 0);
	check_size("18446744073709551616", -ERANGE, 0);
	check_size("17179869184G", -ERANGE, 0);
	check_size("16777216T", -ERANGE, 0);

	uint64_t v = 0;

	tap_check(tool_parse_size("1G", 1, 64ull << 20, &v, err, sizeof(err)) == -ERANGE &&
			  strstr(err, "out of range (1 to 67108864 bytes)") != NULL,
		  "size above the caller's maximum: %s", err);
	tap_check(tool_parse_size("0", 1, 10, &v, err, sizeof(err)) == -ERANGE,
		  "size below the caller's minimum");
}

static void test_numbers(void)
{
	uint64_t v = 7;
	uint16_t port = 7;

	tap_check(tool_parse_uint("42", 1, 100, &v, err, sizeof(err)) == 0 && v == 42, "count 42");
	v = 7;
	tap_check(tool_parse_uint("-1", 1, 100, &v, err, sizeof(err)) == -EINVAL && v == 7 &&
			  strstr(err, "'-1' is not a number") != NULL,
		  "count -1: %s", err);
	tap_check(tool_parse_uint("0", 1, 100, &v, err, sizeof(err)) == -ERANGE &&
			  strstr(err, "out of range (1 to 100)") != NULL,
		  "count 0 below 1: %s", err);
	tap_check(tool_parse_uint("1e3", 1, 10000, &v, err, sizeof(err)) == -EINVAL, "count 1e3");
	tap_check(tool_parse_uint("99999999999999999999999", 1, UINT64_MAX, &v, err,
				  sizeof(err)) == -ERANGE,
		  "count that overflows 64 bits");
	tap_check(tool_parse_port("8443", &port, err, sizeof(err)) == 0 && port == 8443, "port 8443");
	tap_check(tool_parse_port("65535", &port, err, sizeof(err)) == 0 && port == 65535,
		  "port 65535");
	port = 7;
	tap_check(tool_parse_port("abc", &port, err, sizeof(err)) < 0 && port == 7 &&
			  strcmp(err, "'abc' is not a TCP port (1 to 65535)") == 0,
		  "port abc (was port 0 in serve): %s", err);
	tap_check(tool_parse_port("0", &port, err, sizeof(err)) < 0, "port 0");
	tap_check(tool_parse_port("65536", &port, err, sizeof(err)) < 0, "port 65536");
	tap_check(tool_parse_port("80x", &port, err, sizeof(err)) < 0, "port 80x");
}

static void test_seconds(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t ms;
	} cases[] = {
		{ "10", 0, 10000 },     { "0.5", 0, 500 },     { "1.25", 0, 1250 },
		{ "0.0015", 0, 1 },     { "86400", 0, 86400000 }, { "0", -ERANGE, 0 },
		{ "86400.001", -ERANGE, 0 }, { "1e3", -EINVAL, 0 }, { "inf", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },  { "-1", -EINVAL, 0 },  { "0x10", -EINVAL, 0 },
		{ ".5", -EINVAL, 0 },   { "5.", -EINVAL, 0 },  { "5s", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 99;
		int ret = tool_parse_seconds(cases[i].s, 1, 86400000, &ms, err, sizeof(err));

		tap_check(ret == cases[i].ret && ms == (ret == 0 ? cases[i].ms : 99),
			  "seconds '%s': %d, %llu ms (%s)", cases[i].s, ret, (unsigned long long)ms,
			  ret < 0 ? err : "ok");
	}
}

static void test_offload_version(void)
{
	enum ktls_offload p = KTLS_OFFLOAD_OFF;

	tap_check(tool_parse_offload("auto", &p, err, sizeof(err)) == 0 && p == KTLS_OFFLOAD_AUTO,
		  "offload auto");
	tap_check(tool_parse_offload("require", &p, err, sizeof(err)) == 0 &&
			  p == KTLS_OFFLOAD_REQUIRE,
		  "offload require");
	tap_check(tool_parse_offload("off", &p, err, sizeof(err)) == 0 && p == KTLS_OFFLOAD_OFF,
		  "offload off");
	p = KTLS_OFFLOAD_OFF;
	tap_check(tool_parse_offload("requier", &p, err, sizeof(err)) == -EINVAL &&
			  p == KTLS_OFFLOAD_OFF &&
			  strcmp(err, "'requier' is not an offload policy (auto, require or off)") == 0,
		  "offload typo refused, not taken as auto (loopback did): %s", err);
	tap_check(tool_parse_offload("AUTO", &p, err, sizeof(err)) == -EINVAL, "offload AUTO");
	tap_check(strcmp(tool_offload_name(KTLS_OFFLOAD_REQUIRE), "require") == 0,
		  "offload name");
	tap_check(tool_parse_version("1.2") == KTLS_VERSION_TLS12 &&
			  tool_parse_version("1.3") == KTLS_VERSION_TLS13 &&
			  tool_parse_version("1.1") < 0 && tool_parse_version("13") < 0,
		  "--tls 1.2 and 1.3 only");
}

static bool psk_is(const char *arg, const char *identity, size_t key_len, unsigned char first,
		   unsigned char last)
{
	struct tool_psk psk;
	bool ok = tool_parse_psk(arg, strlen(arg), &psk, err, sizeof(err)) == 0 &&
		  strcmp(psk.identity, identity) == 0 && psk.key_len == key_len &&
		  psk.key[0] == first && psk.key[key_len - 1] == last;

	tool_psk_wipe(&psk);
	return ok;
}

static void psk_refused(const char *arg, const char *needle)
{
	struct tool_psk psk;
	int ret;

	memset(&psk, 0x55, sizeof(psk));
	ret = tool_parse_psk(arg, strlen(arg), &psk, err, sizeof(err));
	tap_check(ret == -EINVAL && strstr(err, needle) != NULL &&
			  (strstr(arg, ":") == NULL ||
			   strstr(err, strrchr(arg, ':') + 1) == NULL || strrchr(arg, ':')[1] == '\0'),
		  "PSK '%.40s' refused (%s), the key not in the message", arg, err);
}

static void test_psk(void)
{
	static const char nqn[] =
		"NVMe0R01 nqn.2014-08.org.nvmexpress:uuid:0a1b2c3d-0000-1111-2222-333344445555 "
		"nqn.2014-08.org.nvmexpress:uuid:ffffffff-eeee-dddd-cccc-bbbbaaaa9999";
	char arg[512];

	tap_check(psk_is("ktls-test:00112233445566778899aabbccddeeff", "ktls-test", 16, 0x00, 0xff),
		  "PSK ID:HEXKEY, 16 bytes");
	snprintf(arg, sizeof(arg), "%s:%s", nqn,
		 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	tap_check(psk_is(arg, nqn, 32, 0x00, 0x1f),
		  "an NVMe identity with colons: split at the last colon (serve split at the first)");
	tap_check(psk_is("a:b:C0FFEE00C0FFEE00C0FFEE00C0FFEE00", "a:b", 16, 0xc0, 0x00),
		  "upper-case hex");
	memset(arg, 'a', 128);
	memcpy(arg, "id:", 3);
	arg[3 + 128] = '\0';
	memset(arg + 3, 'a', 128);
	tap_check(psk_is(arg, "id", 64, 0xaa, 0xaa), "a 64-byte key");
	psk_refused("no-colon-00112233445566778899aabbccddeeff", "no ':'");
	psk_refused(":00112233445566778899aabbccddeeff", "identity must be 1 to 255 bytes");
	psk_refused("id:", "it has 0 digits");
	psk_refused("id:0011223344556677889900aabbccdd", "16 to 64 bytes");
	psk_refused("id:00112233445566778899aabbccddeeff0", "it has 33 digits");
	psk_refused("id:00112233445566778899aabbccddeeg0", "not hex at digit 31");
	psk_refused("id:0x112233445566778899aabbccddeeff", "not hex at digit 2");
	psk_refused("i\x1b[31md:00112233445566778899aabbccddeeff", "control character at byte 2");
	memset(arg, 'i', 256);
	snprintf(arg + 256, sizeof(arg) - 256, ":00112233445566778899aabbccddeeff");
	psk_refused(arg, "not 256");
	memset(arg, 'a', 200);
	memcpy(arg, "id:", 3);
	arg[200] = '\0';
	psk_refused(arg, "it has 197 digits");

	/* The parse of a bad key leaves nothing of it behind. */
	struct tool_psk psk;
	bool zero = true;

	tool_parse_psk("id:0011223344556677889900aabbccddeeffzz", 39, &psk, err, sizeof(err));
	for (size_t i = 0; i < sizeof(psk.key); i++)
		zero &= psk.key[i] == 0;
	tap_check(zero && psk.key_len == 0, "a refused key is wiped");
}

static void psk_file(const char *name, const char *content, int want, const char *needle)
{
	char path[4096];
	struct tool_psk psk;
	int ret;

	unit_write_file(unit_tmpdir(), name, content, strlen(content), path);
	ret = tool_read_psk_file(path, &psk, err, sizeof(err));
	if (want == 0)
		tap_check(ret == 0 && strcmp(psk.identity, needle) == 0 && psk.key_len == 16,
			  "PSK file %s: identity '%s' (%s)", name, needle, ret < 0 ? err : "ok");
	else
		tap_check(ret == want && strstr(err, needle) != NULL && strstr(err, path) != NULL,
			  "PSK file %s refused: %s", name, err);
	tool_psk_wipe(&psk);
}

static void test_psk_file(void)
{
	psk_file("plain", "a:b:00112233445566778899aabbccddeeff", 0, "a:b");
	psk_file("newline", "nqn:x:00112233445566778899aabbccddeeff\n", 0, "nqn:x");
	psk_file("crlf", "id:00112233445566778899aabbccddeeff\r\n", 0, "id");
	psk_file("two-lines",
		 "id:00112233445566778899aabbccddeeff\nid2:00112233445566778899aabbccddeeff\n",
		 -EINVAL, "expected one line");
	psk_file("blank-line", "id:00112233445566778899aabbccddeeff\n\n", -EINVAL,
		 "expected one line");
	psk_file("empty", "", -EINVAL, "no ':'");
	psk_file("short", "id:0011\n", -EINVAL, "16 to 64 bytes");

	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = 'i';
	big[1] = ':';
	psk_file("big", big, -EINVAL, "expected one line");

	struct tool_psk psk;

	tap_check(tool_read_psk_file("/nonexistent/psk", &psk, err, sizeof(err)) == -ENOENT &&
			  strstr(err, "/nonexistent/psk: No such file") != NULL,
		  "missing PSK file: %s", err);
}

static void escape_is(const char *in, size_t len, size_t size, const char *want)
{
	char out[256];
	size_t n = tool_escape(in, len, out, size);

	tap_check(strcmp(out, want) == 0 && n == strlen(want), "escape into %zu bytes: '%s' (got '%s')",
		  size, want, out);
}

static void test_escape(void)
{
	escape_is("GET /index.html", 15, 256, "GET /index.html");
	escape_is("GET /\x1b[31mred\a", 14, 256, "GET /\\x1b[31mred\\x07");
	escape_is("G\rET\n", 5, 256, "G\\x0dET\\x0a");
	escape_is("\"quoted\" \\", 10, 256, "\\x22quoted\\x22 \\x5c");
	escape_is("caf\xc3\xa9\x7f", 6, 256, "caf\\xc3\\xa9\\x7f");
	escape_is("a\0b", 3, 256, "a\\x00b");
	escape_is("abc\x1b", 4, 7, "abc");
	escape_is("abc\x1b", 4, 8, "abc\\x1b");
	escape_is("abcdef", 6, 4, "abc");
}

int main(void)
{
	test_sizes();
	test_numbers();
	test_seconds();
	test_offload_version();
	test_psk();
	test_psk_file();
	test_escape();
	return tap_done();
}
