/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LIBKTLS_0.1 symbols whose structs have grown since, for programs
 * built against 0.1: each takes 0.1's layout (lib/abi.h) and answers
 * through today's call.  A program built against a newer header never
 * reaches these: its header's inline wrappers call the *_sized functions.
 *
 * ".symver NAME, public@LIBKTLS_0.1" makes NAME the non-default version of
 * the public name; the version script keeps NAME itself local.
 */
#include <errno.h>
#include <string.h>

#include "abi.h"
#include "private.h"

#define COMPAT_0_1(name, public) __asm__(".symver " #name ", " #public "@LIBKTLS_0.1")

/* Prototypes for -Wmissing-prototypes: these are called only through the versioned names. */
int compat_0_1_probe(struct ktls_caps_0_1 *ret_caps);
int compat_0_1_conn_get_info(const struct ktls_conn *conn, struct ktls_info_0_1 *ret_info);
int compat_0_1_sock_list(unsigned int flags, struct ktls_sock_0_1 **ret_socks, size_t *ret_count,
			 char *errbuf, size_t errlen);
int compat_0_1_stats_read(struct ktls_stats_0_1 *ret_stats, char *errbuf, size_t errlen);
int compat_0_1_stats_parse(const char *text, size_t len, struct ktls_stats_0_1 *ret_stats,
			   char *errbuf, size_t errlen);
int compat_0_1_stats_delta(const struct ktls_stats_0_1 *before,
			   const struct ktls_stats_0_1 *after,
			   struct ktls_stats_delta_0_1 *ret_delta);
int compat_0_1_nic_get(const char *ifname, struct ktls_nic_0_1 *ret_nic, char *errbuf,
		       size_t errlen);
int compat_0_1_nic_list(struct ktls_nic_0_1 **ret_nics, size_t *ret_count, char *errbuf,
			size_t errlen);

COMPAT_0_1(compat_0_1_probe, ktls_probe);
KTLS_EXPORT int compat_0_1_probe(struct ktls_caps_0_1 *ret_caps)
{
	return ktls_caps_get_sized((struct ktls_caps *)(void *)ret_caps, sizeof(*ret_caps));
}

COMPAT_0_1(compat_0_1_conn_get_info, ktls_conn_get_info);
KTLS_EXPORT int compat_0_1_conn_get_info(const struct ktls_conn *conn,
					 struct ktls_info_0_1 *ret_info)
{
	return ktls_conn_get_info_sized(conn, (struct ktls_info *)(void *)ret_info,
					sizeof(*ret_info));
}

COMPAT_0_1(compat_0_1_sock_list, ktls_sock_list);
KTLS_EXPORT int compat_0_1_sock_list(unsigned int flags, struct ktls_sock_0_1 **ret_socks,
				     size_t *ret_count, char *errbuf, size_t errlen)
{
	return ktls_sock_list_sized(flags, sizeof(**ret_socks), (struct ktls_sock **)ret_socks,
				    ret_count, errbuf, errlen);
}

/* ---- tls_stat: 0.1 had 17 counters and a 32-bit mask ------------------------ */

static void compat_stats_out(struct ktls_stats_0_1 *old, const struct ktls_stats *cur)
{
	memset(old, 0, sizeof(*old));
	for (int i = 0; i < ABI_0_1_STAT_COUNT; i++)
		old->value[i] = cur->value[i];
	old->present = (uint32_t)(cur->present & ((UINT64_C(1) << ABI_0_1_STAT_COUNT) - 1));
	old->taken_ns = cur->taken_ns;
}

static void compat_stats_in(struct ktls_stats *cur, const struct ktls_stats_0_1 *old)
{
	memset(cur, 0, sizeof(*cur));
	for (int i = 0; i < ABI_0_1_STAT_COUNT; i++)
		cur->value[i] = old->value[i];
	cur->present = old->present;
	cur->taken_ns = old->taken_ns;
}

COMPAT_0_1(compat_0_1_stats_read, ktls_stats_read);
KTLS_EXPORT int compat_0_1_stats_read(struct ktls_stats_0_1 *ret_stats, char *errbuf,
				      size_t errlen)
{
	struct ktls_stats st;
	int ret;

	if (ret_stats == NULL)
		return ktls_stats_read_sized(NULL, sizeof(st), errbuf, errlen);
	ret = ktls_stats_read_sized(&st, sizeof(st), errbuf, errlen);
	if (ret == 0)
		compat_stats_out(ret_stats, &st);
	return ret;
}

COMPAT_0_1(compat_0_1_stats_parse, ktls_stats_parse);
KTLS_EXPORT int compat_0_1_stats_parse(const char *text, size_t len,
				       struct ktls_stats_0_1 *ret_stats, char *errbuf,
				       size_t errlen)
{
	struct ktls_stats st;
	int ret;

	ret = ktls_stats_parse_sized(text, len, ret_stats != NULL ? &st : NULL, sizeof(st), errbuf,
				     errlen);
	if (ret == 0)
		compat_stats_out(ret_stats, &st);
	return ret;
}

COMPAT_0_1(compat_0_1_stats_delta, ktls_stats_delta);
KTLS_EXPORT int compat_0_1_stats_delta(const struct ktls_stats_0_1 *before,
				       const struct ktls_stats_0_1 *after,
				       struct ktls_stats_delta_0_1 *ret_delta)
{
	struct ktls_stats b, a;
	struct ktls_stats_delta d;
	int ret;

	if (before == NULL || after == NULL || ret_delta == NULL)
		return -EINVAL;
	compat_stats_in(&b, before);
	compat_stats_in(&a, after);
	ret = ktls_stats_delta_sized(&b, &a, sizeof(b), &d, sizeof(d));
	if (ret < 0)
		return ret;
	memset(ret_delta, 0, sizeof(*ret_delta));
	for (int i = 0; i < ABI_0_1_STAT_COUNT; i++)
		ret_delta->value[i] = d.value[i];
	ret_delta->present = (uint32_t)d.present;
	ret_delta->seconds = d.seconds;
	return 0;
}

/* ---- NICs: 0.1's struct is today's with room for three features ------------- */

COMPAT_0_1(compat_0_1_nic_get, ktls_nic_get);
KTLS_EXPORT int compat_0_1_nic_get(const char *ifname, struct ktls_nic_0_1 *ret_nic,
				   char *errbuf, size_t errlen)
{
	return ktls_nic_get_sized(ifname, (struct ktls_nic *)(void *)ret_nic, sizeof(*ret_nic),
				  errbuf, errlen);
}

COMPAT_0_1(compat_0_1_nic_list, ktls_nic_list);
KTLS_EXPORT int compat_0_1_nic_list(struct ktls_nic_0_1 **ret_nics, size_t *ret_count,
				    char *errbuf, size_t errlen)
{
	return ktls_nic_list_sized(sizeof(**ret_nics), (struct ktls_nic **)ret_nics, ret_count,
				   errbuf, errlen);
}
