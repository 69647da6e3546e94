/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/net/tls_stat parsing and deltas on fixed input (the host has no
 * kTLS, so the file itself is only read when it happens to exist), and the
 * argument checks of the sock_diag listing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

/* As Linux 6.1 prints it: seq_printf("%-32s\t%lu\n"). */
static const char linux61[] =
	"TlsCurrTxSw                     \t2\n"
	"TlsCurrRxSw                     \t1\n"
	"TlsCurrTxDevice                 \t0\n"
	"TlsCurrRxDevice                 \t0\n"
	"TlsTxSw                         \t17\n"
	"TlsRxSw                         \t9\n"
	"TlsTxDevice                     \t0\n"
	"TlsRxDevice                     \t0\n"
	"TlsDecryptError                 \t3\n"
	"TlsRxDeviceResync               \t0\n"
	"TlsDecryptRetry                 \t0\n"
	"TlsRxNoPadViolation             \t0\n";

static void test_parse(void)
{
	struct ktls_stats st;
	char err[128];
	uint64_t want_present = 0;

	for (int i = KTLS_STAT_CURR_TX_SW; i <= KTLS_STAT_RX_NO_PAD_VIOLATION; i++)
		want_present |= UINT64_C(1) << i;
	tap_check(ktls_stats_parse(linux61, strlen(linux61), &st, err, sizeof(err)) == 0 &&
			  err[0] == '\0',
		  "Linux 6.1 tls_stat parses");
	tap_check(st.present == want_present,
		  "the twelve 6.1 counters are present, the 6.14 rekey ones are not (0x%llx)",
		  (unsigned long long)st.present);
	tap_check(st.value[KTLS_STAT_CURR_TX_SW] == 2 && st.value[KTLS_STAT_TX_SW] == 17 &&
			  st.value[KTLS_STAT_RX_SW] == 9 && st.value[KTLS_STAT_DECRYPT_ERROR] == 3 &&
			  st.value[KTLS_STAT_TX_REKEY_OK] == 0,
		  "values land in the right counters");
	tap_check(st.taken_ns == 0, "a parsed copy has no reading time");

	static const char newer[] = "TlsTxRekeyOk 4\nTlsRxRekeyReceived\t5\nTlsSomethingNew 77\n"
				    "\nTlsDecryptError 18446744073709551615\n";
	tap_check(ktls_stats_parse(newer, strlen(newer), &st, NULL, 0) == 0 &&
			  st.value[KTLS_STAT_TX_REKEY_OK] == 4 &&
			  st.value[KTLS_STAT_RX_REKEY_RECEIVED] == 5 &&
			  st.value[KTLS_STAT_DECRYPT_ERROR] == UINT64_MAX &&
			  st.present == ((1u << KTLS_STAT_TX_REKEY_OK) |
					 (1u << KTLS_STAT_RX_REKEY_RECEIVED) |
					 (1u << KTLS_STAT_DECRYPT_ERROR)),
		  "6.14 rekey counters, unknown counters skipped, empty line, 2^64-1");
	tap_check(ktls_stats_parse("", 0, &st, NULL, 0) == 0 && st.present == 0,
		  "an empty file has no counters");
	/* 34 bytes: the first line without its newline. */
	tap_check(ktls_stats_parse(linux61, 34, &st, NULL, 0) == 0 &&
			  st.present == (1u << KTLS_STAT_CURR_TX_SW),
		  "a length short of the NUL is honoured");
}

static void test_parse_errors(void)
{
	static const struct {
		const char *what, *text, *needle;
	} bad[] = {
		{ "no value", "TlsTxSw\n", "line 1" },
		{ "a bad second line", "TlsTxSw 1\nTlsRxSw x\n", "line 2" },
		{ "digits then a letter", "TlsTxSw 12a\n", "line 1" },
		{ "a negative value", "TlsTxSw -1\n", "line 1" },
		{ "2^64", "TlsTxSw 18446744073709551616\n", "line 1" },
		{ "no name", " 5\n", "line 1" },
		{ "two values", "TlsTxSw 1 2\n", "line 1" },
	};
	struct ktls_stats st;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[64];
		int ret;

		snprintf(what, sizeof(what), "parse %s", bad[i].what);
		memset(&st, 0xa5, sizeof(st));
		ret = ktls_stats_parse(bad[i].text, strlen(bad[i].text), &st, err, sizeof(err));
		tap_check_err(what, ret, EBADMSG, err, bad[i].needle, "Name value", NULL);
		tap_check(st.present == UINT64_C(0xa5a5a5a5a5a5a5a5), "  ret_stats untouched on failure");
	}
	tap_check_err("NULL text", ktls_stats_parse(NULL, 3, &st, err, sizeof(err)), EINVAL, err,
		      "invalid", NULL);
	tap_check(ktls_stats_parse("TlsTxSw x\n", 10, &st, NULL, 0) == -EBADMSG,
		  "no error buffer: still -EBADMSG");
}

static void test_delta(void)
{
	struct ktls_stats a, b;
	struct ktls_stats_delta d;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.present = (1u << KTLS_STAT_TX_SW) | (1u << KTLS_STAT_CURR_TX_SW) |
		    (1u << KTLS_STAT_DECRYPT_ERROR);
	b.present = (1u << KTLS_STAT_TX_SW) | (1u << KTLS_STAT_CURR_TX_SW) |
		    (1u << KTLS_STAT_TX_REKEY_OK);
	a.value[KTLS_STAT_TX_SW] = 10;
	b.value[KTLS_STAT_TX_SW] = 14;
	a.value[KTLS_STAT_CURR_TX_SW] = 5;
	b.value[KTLS_STAT_CURR_TX_SW] = 2;
	a.taken_ns = 1000000000u;
	b.taken_ns = 3500000000u;
	tap_check(ktls_stats_delta(&a, &b, &d) == 0, "delta");
	tap_check(d.value[KTLS_STAT_TX_SW] == 4, "a counter's delta (+4)");
	tap_check(d.value[KTLS_STAT_CURR_TX_SW] == -3, "a gauge that went down (-3)");
	tap_check(d.present == ((1u << KTLS_STAT_TX_SW) | (1u << KTLS_STAT_CURR_TX_SW)),
		  "only counters in both readings are present");
	tap_check(d.seconds > 2.49 && d.seconds < 2.51, "2.5 s between the readings (%f)",
		  d.seconds);
	b.taken_ns = 0;
	tap_check(ktls_stats_delta(&a, &b, &d) == 0 && d.seconds == 0,
		  "no reading time: seconds 0");
	tap_check(ktls_stats_delta(NULL, &b, &d) == -EINVAL &&
			  ktls_stats_delta(&a, &b, NULL) == -EINVAL,
		  "NULL arguments: -EINVAL");
}

static void test_names(void)
{
	tap_check(strcmp(ktls_stats_name(KTLS_STAT_CURR_TX_SW), "TlsCurrTxSw") == 0 &&
			  strcmp(ktls_stats_name(KTLS_STAT_RX_REKEY_RECEIVED), "TlsRxRekeyReceived") ==
				  0 &&
			  ktls_stats_name((KTLS_STAT_LAST + 1)) == NULL && ktls_stats_name(-1) == NULL,
		  "counter names, NULL out of range");
	tap_check(strcmp(ktls_sock_conf_name(KTLS_SOCK_CONF_SW), "sw") == 0 &&
			  strcmp(ktls_sock_conf_name(KTLS_SOCK_CONF_HW_RECORD), "hw-record") == 0 &&
			  strcmp(ktls_sock_conf_name(99), "unknown") == 0,
		  "TX/RX configuration names");
}

static void test_read_here(void)
{
	struct ktls_stats st;
	char err[160];
	int ret = ktls_stats_read(&st, err, sizeof(err));

	if (ret == 0)
		tap_check(st.taken_ns != 0, "this kernel has /proc/net/tls_stat; reading it is timed");
	else
		tap_check_err("ktls_stats_read() without kTLS", ret, ENOENT, err,
			      "/proc/net/tls_stat", "no kTLS", NULL);
}

static void test_sock_list_args(void)
{
	struct ktls_sock *socks = (struct ktls_sock *)1;
	size_t n = 7;
	char err[128];

	tap_check_err("ktls_sock_list(unknown flag)", ktls_sock_list(0x80, &socks, &n, err, sizeof(err)),
		      EINVAL, err, "invalid", NULL);
	tap_check(socks == (struct ktls_sock *)1 && n == 7, "  outputs untouched");
	tap_check_err("ktls_sock_list(NULL)", ktls_sock_list(0, NULL, &n, err, sizeof(err)), EINVAL,
		      err, "invalid", NULL);
	ktls_sock_list_free(NULL);
	tap_check(true, "ktls_sock_list_free(NULL)");
}

int main(void)
{
	test_parse();
	test_parse_errors();
	test_delta();
	test_names();
	test_read_here();
	test_sock_list_args();
	return tap_done();
}
