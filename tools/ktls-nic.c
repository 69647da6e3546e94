/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls nic: NIC TLS offload (ethtool's tls-hw-tx-offload, tls-hw-rx-offload,
 * tls-hw-record) for one interface or all, and switching them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* "-": the driver cannot do it; "off"/"on": it can; "on (fixed)": on, and cannot change. */
static const char *nic_cell(const struct ktls_nic_state *st)
{
	if (st->available)
		return st->active ? "on" : "off";
	return st->active ? "on (fixed)" : "-";
}

/* Why an interface has no TLS offload, in the library's words. */
static void nic_why_none(const struct ktls_nic *nic, char *buf, size_t size)
{
	if (nic->driver[0] != '\0')
		snprintf(buf, size, "driver %s has no TLS offload%s", nic->driver,
			 nic->virtual_device ? " (virtual device)" : "");
	else
		snprintf(buf, size, "no TLS offload%s",
			 nic->virtual_device ? " (virtual device)" : " (driver unknown)");
}

void nic_print_table(FILE *out, const struct ktls_nic *nics, size_t n)
{
	size_t with = 0;

	/* The last column is not padded: no trailing blanks. */
	fprintf(out, "%-16s %-14s", "Interface", "Driver");
	for (int f = 0; f < (KTLS_NIC_FEATURE_LAST + 1); f++)
		fprintf(out, f + 1 < (KTLS_NIC_FEATURE_LAST + 1) ? " %-18s" : " %s",
			ktls_nic_feature_name(f));
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%-16s %-14s", nics[i].name,
			nics[i].driver[0] ? nics[i].driver
					  : (nics[i].virtual_device ? "(virtual)" : "-"));
		for (int f = 0; f < (KTLS_NIC_FEATURE_LAST + 1); f++)
			fprintf(out, f + 1 < (KTLS_NIC_FEATURE_LAST + 1) ? " %-18s" : " %s",
				nic_cell(&nics[i].feature[f]));
		fputc('\n', out);
		if (nics[i].tls_offload)
			with++;
	}
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		char why[96];

		if (nics[i].tls_offload)
			continue;
		nic_why_none(&nics[i], why, sizeof(why));
		fprintf(out, "%s: %s\n", nics[i].name, why);
	}
	if (n > 0 && with == 0)
		fprintf(out, "kTLS here runs on the CPU (TX/RX \"sw\" in 'ktls stat').\n");
	fprintf(out, "(\"-\": the driver cannot offload it; off/on: it can, and it is off/on)\n");
}

void nic_print_json(FILE *out, const struct ktls_nic *nics, size_t n)
{
	fputs("{\n  \"interfaces\": [", out);
	for (size_t i = 0; i < n; i++) {
		const struct ktls_nic *nic = &nics[i];

		fputs(i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ", out);
		json_string(out, nic->name);
		fprintf(out, ", \"ifindex\": %d, \"driver\": ", nic->ifindex);
		if (nic->driver[0])
			json_string(out, nic->driver);
		else
			fputs("null", out);
		fprintf(out, ", \"virtual\": %s, \"tls_offload\": %s, \"features\": {",
			nic->virtual_device ? "true" : "false", nic->tls_offload ? "true" : "false");
		for (int f = 0; f < (KTLS_NIC_FEATURE_LAST + 1); f++) {
			const struct ktls_nic_state *st = &nic->feature[f];

			fprintf(out,
				"%s\"%s\": {\"available\": %s, \"wanted\": %s, \"active\": %s, "
				"\"fixed\": %s}",
				f == 0 ? "" : ", ", ktls_nic_feature_name(f),
				st->available ? "true" : "false", st->wanted ? "true" : "false",
				st->active ? "true" : "false", st->fixed ? "true" : "false");
		}
		fputs("}}", out);
	}
	fputs(n > 0 ? "\n  ]\n}\n" : "]\n}\n", out);
}

static int nic_exit_status(int err)
{
	switch (err) {
	case 0:
		return 0;
	case -EINVAL:
		return 2;
	case -EOPNOTSUPP:
		return 3;
	case -EPERM:
		return 4;
	default:
		return 1;
	}
}

static void nic_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls nic [IFACE] [--json]\n"
		"       ktls nic IFACE --enable FEATURE | --disable FEATURE\n\n"
		"Shows whether network interfaces can do TLS in the NIC (ethtool features\n"
		"tls-hw-tx-offload, tls-hw-rx-offload, tls-hw-record), and switches them.\n"
		"Without IFACE: every interface.  Changing a feature needs CAP_NET_ADMIN.\n\n"
		"  -e, --enable FEATURE   switch FEATURE on\n"
		"  -d, --disable FEATURE  switch FEATURE off\n"
		"  -j, --json             JSON instead of a table\n\n"
		"Exit status: 0, 1 failure (e.g. no such interface), 2 usage or invalid name,\n"
		"3 the driver has no such offload, 4 not permitted.\n");
}

int cmd_nic(int argc, char **argv)
{
	static const struct option options[] = {
		{ "enable", required_argument, NULL, 'e' },
		{ "disable", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	const char *ifname = NULL, *feature_arg = NULL;
	struct ktls_nic *nics = NULL, one;
	size_t n = 0;
	bool json = false, enable = false;
	char err[256];
	int opt, ret, feature = -1;

	while ((opt = tool_getopt(argc, argv, "nic", "e:d:jh", options)) != -1) {
		switch (opt) {
		case 'e':
		case 'd':
			if (feature_arg != NULL)
				return tool_usage_error("nic", "one --enable or --disable at a time");
			feature_arg = optarg;
			enable = opt == 'e';
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			nic_usage(stdout);
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		ifname = argv[optind++];
	if (optind < argc)
		return tool_usage_error("nic", "unexpected argument '%s'", argv[optind]);
	if (feature_arg != NULL) {
		feature = ktls_nic_feature_from_name(feature_arg);
		if (feature < 0)
			return tool_usage_error("nic",
						"unknown feature '%s' (tls-hw-tx-offload, "
						"tls-hw-rx-offload or tls-hw-record)",
						feature_arg);
		if (ifname == NULL)
			return tool_usage_error("nic", "--%s needs an interface",
						enable ? "enable" : "disable");
		ret = ktls_nic_set(ifname, feature, enable, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "ktls nic: cannot %s %s on %s: %s\n",
				enable ? "enable" : "disable", feature_arg, ifname, err);
			return nic_exit_status(ret);
		}
	}
	if (ifname != NULL) {
		ret = ktls_nic_get(ifname, &one, err, sizeof(err));
		if (ret == 0) {
			nics = &one;
			n = 1;
		}
	} else {
		ret = ktls_nic_list(&nics, &n, err, sizeof(err));
	}
	if (ret < 0) {
		fprintf(stderr, "ktls nic: %s\n", err);
		return nic_exit_status(ret);
	}
	if (json)
		nic_print_json(stdout, nics, n);
	else
		nic_print_table(stdout, nics, n);
	if (nics != &one)
		ktls_nic_list_free(nics);
	return 0;
}
