/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NIC TLS offload on the build host: bad interface names are refused before
 * any netlink; "lo" exists everywhere and has no TLS offload; a missing
 * interface is -ENODEV.  Unprivileged "not permitted" is checked in the
 * kernel suite (tests/kernel/nic.sh), where the test runs as root and can
 * drop privileges.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static void test_names(void)
{
	tap_check(strcmp(ktls_nic_feature_name(KTLS_NIC_TLS_TX), "tls-hw-tx-offload") == 0 &&
			  strcmp(ktls_nic_feature_name(KTLS_NIC_TLS_RX), "tls-hw-rx-offload") == 0 &&
			  strcmp(ktls_nic_feature_name(KTLS_NIC_TLS_RECORD), "tls-hw-record") == 0 &&
			  ktls_nic_feature_name((KTLS_NIC_FEATURE_LAST + 1)) == NULL,
		  "feature names are ethtool's");
	tap_check(ktls_nic_feature_from_name("tls-hw-record") == KTLS_NIC_TLS_RECORD &&
			  ktls_nic_feature_from_name("tx-checksumming") == -EINVAL &&
			  ktls_nic_feature_from_name(NULL) == -EINVAL,
		  "feature from name; -EINVAL for others");
}

static void test_bad_names(void)
{
	static const struct {
		const char *name, *needle;
	} bad[] = {
		{ "", "empty" },
		{ "0123456789abcdef", "longer than 15" },
		{ "eth0/../lo", "'/'" },
		{ "eth0:1", "':'" },
		{ "eth 0", "whitespace" },
		{ "..", "\"..\"" },
	};
	struct ktls_nic nic;
	char err[160];

	memset(&nic, 0x5a, sizeof(nic));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "ktls_nic_get(\"%s\")", bad[i].name);
		tap_check_err(what, ktls_nic_get(bad[i].name, &nic, err, sizeof(err)), EINVAL, err,
			      "invalid interface name", bad[i].needle, NULL);
	}
	tap_check_err("ktls_nic_get(NULL)", ktls_nic_get(NULL, &nic, err, sizeof(err)), EINVAL, err,
		      "invalid interface name", NULL);
	tap_check_err("ktls_nic_set(\"a/b\")",
		      ktls_nic_set("a/b", KTLS_NIC_TLS_TX, true, err, sizeof(err)), EINVAL, err,
		      "invalid interface name", NULL);
	tap_check_err("ktls_nic_set(lo, feature 7)", ktls_nic_set("lo", 7, true, err, sizeof(err)),
		      EINVAL, err, "unknown NIC TLS feature", NULL);
	tap_check(nic.ifindex == 0x5a5a5a5a, "ret_nic untouched by the failures");
}

static void test_lo(void)
{
	struct ktls_nic nic, *all = NULL;
	size_t n = 0;
	char err[160];
	int ret;
	bool found = false;

	ret = ktls_nic_get("lo", &nic, err, sizeof(err));
	if (ret == -EOPNOTSUPP || ret == -EPROTONOSUPPORT) {
		tap_skip("no ethtool netlink here: %s", err);
		return;
	}
	tap_check(ret == 0, "ktls_nic_get(lo): %s", ret == 0 ? "ok" : err);
	if (ret < 0)
		return;
	tap_check(strcmp(nic.name, "lo") == 0 && nic.ifindex > 0, "lo: name and ifindex %d",
		  nic.ifindex);
	tap_check(!nic.tls_offload && !nic.feature[KTLS_NIC_TLS_TX].available &&
			  !nic.feature[KTLS_NIC_TLS_TX].active &&
			  !nic.feature[KTLS_NIC_TLS_RX].available &&
			  !nic.feature[KTLS_NIC_TLS_RECORD].available,
		  "lo has no TLS offload");
	tap_check(nic.driver[0] == '\0', "lo names no driver (\"%s\")", nic.driver);

	ret = ktls_nic_list(&all, &n, err, sizeof(err));
	tap_check(ret == 0 && n >= 1, "ktls_nic_list(): %zu interfaces", n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, "lo") == 0 && !all[i].tls_offload)
			found = true;
	tap_check(found, "the list has lo, without TLS offload");
	ktls_nic_list_free(all);

	/* Switching off what is off is allowed on any interface, for root. */
	ret = ktls_nic_set("lo", KTLS_NIC_TLS_TX, true, err, sizeof(err));
	if (ret == -EPERM)
		tap_check_err("ktls_nic_set(lo, tx on) unprivileged", ret, EPERM, err,
			      "not permitted", "CAP_NET_ADMIN", NULL);
	else
		tap_check_err("ktls_nic_set(lo, tx on)", ret, EOPNOTSUPP, err, "lo",
			      "no TLS offload", NULL);

	ret = ktls_nic_get("nosuchif-k7", &nic, err, sizeof(err));
	tap_check_err("ktls_nic_get(nosuchif-k7)", ret, ENODEV, err, "no interface nosuchif-k7",
		      NULL);
}

int main(void)
{
	test_names();
	test_bad_names();
	test_lo();
	return tap_done();
}
