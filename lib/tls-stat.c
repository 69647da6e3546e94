/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's TLS counters: /proc/net/tls_stat (net/tls/tls_proc.c), one
 * "Name<whitespace>value" line per counter, per network namespace.  The
 * file exists only while the tls module is loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "private.h"

#define TLS_STAT_PATH "/proc/net/tls_stat"
/* The file is a few hundred bytes; anything far larger is not it. */
#define TLS_STAT_MAX_SIZE 65536

static const char *const stat_names[STAT_COUNT] = {
	[KTLS_STAT_CURR_TX_SW] = "TlsCurrTxSw",
	[KTLS_STAT_CURR_RX_SW] = "TlsCurrRxSw",
	[KTLS_STAT_CURR_TX_DEVICE] = "TlsCurrTxDevice",
	[KTLS_STAT_CURR_RX_DEVICE] = "TlsCurrRxDevice",
	[KTLS_STAT_TX_SW] = "TlsTxSw",
	[KTLS_STAT_RX_SW] = "TlsRxSw",
	[KTLS_STAT_TX_DEVICE] = "TlsTxDevice",
	[KTLS_STAT_RX_DEVICE] = "TlsRxDevice",
	[KTLS_STAT_DECRYPT_ERROR] = "TlsDecryptError",
	[KTLS_STAT_RX_DEVICE_RESYNC] = "TlsRxDeviceResync",
	[KTLS_STAT_DECRYPT_RETRY] = "TlsDecryptRetry",
	[KTLS_STAT_RX_NO_PAD_VIOLATION] = "TlsRxNoPadViolation",
	[KTLS_STAT_TX_REKEY_OK] = "TlsTxRekeyOk",
	[KTLS_STAT_TX_REKEY_ERROR] = "TlsTxRekeyError",
	[KTLS_STAT_RX_REKEY_OK] = "TlsRxRekeyOk",
	[KTLS_STAT_RX_REKEY_ERROR] = "TlsRxRekeyError",
	[KTLS_STAT_RX_REKEY_RECEIVED] = "TlsRxRekeyReceived",
};

KTLS_EXPORT const char *ktls_stats_name(enum ktls_stat stat)
{
	return stat >= 0 && stat < STAT_COUNT ? stat_names[stat] : NULL;
}

static bool stat_is_space(char c)
{
	return c == ' ' || c == '\t';
}

KTLS_EXPORT int ktls_stats_parse_sized(const char *text, size_t len, struct ktls_stats *ret_stats,
				       size_t stats_size, char *errbuf, size_t errlen)
{
	struct ktls_stats st;
	unsigned int line_no = 0;
	size_t pos = 0;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if ((text == NULL && len > 0) || ret_stats == NULL || stats_size < ABI_MIN_STATS)
		return error_buf(errbuf, errlen, -EINVAL, "ktls_stats_parse: invalid argument");
	memset(&st, 0, sizeof(st));
	while (pos < len) {
		size_t end = pos, name_end, v;
		uint64_t value = 0;

		while (end < len && text[end] != '\n')
			end++;
		line_no++;
		/* "Name" "<spaces or tabs>" "digits" "<trailing spaces>" */
		name_end = pos;
		while (name_end < end && !stat_is_space(text[name_end]))
			name_end++;
		v = name_end;
		while (v < end && stat_is_space(text[v]))
			v++;
		if (pos == end) {
			pos = end + 1; /* an empty line */
			continue;
		}
		if (name_end == pos || v == name_end || v == end)
			goto bad;
		for (; v < end && text[v] >= '0' && text[v] <= '9'; v++) {
			if (value > (UINT64_MAX - (uint64_t)(text[v] - '0')) / 10)
				goto bad;
			value = value * 10 + (uint64_t)(text[v] - '0');
		}
		while (v < end && stat_is_space(text[v]))
			v++;
		if (v != end)
			goto bad;
		for (int i = 0; i < STAT_COUNT; i++) {
			if (strlen(stat_names[i]) == name_end - pos &&
			    memcmp(stat_names[i], text + pos, name_end - pos) == 0) {
				st.value[i] = value;
				st.present |= UINT64_C(1) << i;
				break;
			}
		}
		pos = end + 1;
	}
	abi_copy_out(ret_stats, stats_size, &st, sizeof(st));
	return 0;
bad:
	return error_buf(errbuf, errlen, -EBADMSG,
			 "line %u of the TLS counters is not \"Name value\"", line_no);
}

KTLS_EXPORT int ktls_stats_read_sized(struct ktls_stats *ret_stats, size_t stats_size, char *errbuf,
				      size_t errlen)
{
	struct ktls_stats st;
	char *buf = NULL;
	size_t len = 0;
	uint64_t taken_ns;
	int fd, ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret_stats == NULL || stats_size < ABI_MIN_STATS)
		return error_buf(errbuf, errlen, -EINVAL, "ktls_stats_read: invalid argument");
	fd = open(TLS_STAT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return error_buf(errbuf, errlen, ret,
					 "no " TLS_STAT_PATH ": this kernel has no kTLS, or the tls "
					 "module is not loaded");
		return error_buf(errbuf, errlen, ret, "cannot open " TLS_STAT_PATH ": %s",
				 strerror(-ret));
	}
	buf = malloc(TLS_STAT_MAX_SIZE);
	if (buf == NULL) {
		close(fd);
		return error_buf(errbuf, errlen, -ENOMEM, "out of memory reading " TLS_STAT_PATH);
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, TLS_STAT_MAX_SIZE - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			error_buf(errbuf, errlen, ret, "cannot read " TLS_STAT_PATH ": %s",
				  strerror(-ret));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == TLS_STAT_MAX_SIZE) {
			ret = error_buf(errbuf, errlen, -EBADMSG,
					TLS_STAT_PATH " is larger than %d bytes", TLS_STAT_MAX_SIZE);
			goto out;
		}
	}
	taken_ns = clock_now_ns();
	ret = ktls_stats_parse_sized(buf, len, &st, sizeof(st), errbuf, errlen);
	if (ret == 0) {
		st.taken_ns = taken_ns;
		abi_copy_out(ret_stats, stats_size, &st, sizeof(st));
	}
out:
	close(fd);
	free(buf);
	return ret;
}

KTLS_EXPORT int ktls_stats_delta_sized(const struct ktls_stats *before,
				       const struct ktls_stats *after, size_t stats_size,
				       struct ktls_stats_delta *ret_delta, size_t delta_size)
{
	struct ktls_stats a, b;
	struct ktls_stats_delta d;

	if (before == NULL || after == NULL || ret_delta == NULL || stats_size < ABI_MIN_STATS ||
	    delta_size < ABI_MIN_STATS_DELTA)
		return -EINVAL;
	abi_copy_in(&b, sizeof(b), before, stats_size);
	abi_copy_in(&a, sizeof(a), after, stats_size);
	memset(&d, 0, sizeof(d));
	d.present = b.present & a.present;
	for (int i = 0; i < KTLS_STATS_MAX; i++)
		if (d.present & (UINT64_C(1) << i))
			/* Two's complement: a gauge that went down gives a negative delta. */
			d.value[i] = (int64_t)(a.value[i] - b.value[i]);
	if (b.taken_ns != 0 && a.taken_ns > b.taken_ns)
		d.seconds = (double)(a.taken_ns - b.taken_ns) / 1e9;
	abi_copy_out(ret_delta, delta_size, &d, sizeof(d));
	return 0;
}
