/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls probe: the kernel's kTLS capability table. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "tool.h"

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void probe_print_json(const struct ktls_caps *caps, const struct utsname *u)
{
	printf("{\n  \"kernel\": ");
	json_string(stdout, u->release);
	printf(",\n  \"ulp_available\": %s,\n  \"summary\": ", caps->ulp_available ? "true" : "false");
	json_string(stdout, caps->summary);
	printf(",\n  \"ciphers\": [\n");
	for (int v = 0; v < 2; v++)
		for (int c = 0; c < (KTLS_CIPHER_LAST + 1); c++)
			printf("    {\"version\": \"TLS1.%d\", \"cipher\": \"%s\", \"tx\": %s, \"rx\": %s}%s\n",
			       v == 0 ? 2 : 3, ktls_cipher_name(c),
			       caps->tx_ciphers[v] & (1u << c) ? "true" : "false",
			       caps->rx_ciphers[v] & (1u << c) ? "true" : "false",
			       v == 1 && c == (KTLS_CIPHER_LAST + 1) - 1 ? "" : ",");
	printf("  ],\n  \"tx_zerocopy_sendfile\": %s,\n  \"rx_expect_no_pad\": %s,\n"
	       "  \"tls13_rekey\": %s,\n  \"tx_max_payload_len\": %s\n}\n",
	       caps->tx_zerocopy_sendfile ? "true" : "false",
	       caps->rx_expect_no_pad ? "true" : "false", caps->tls13_rekey ? "true" : "false",
	       caps->tx_max_payload_len ? "true" : "false");
}

static void probe_print_table(const struct ktls_caps *caps, const struct utsname *u)
{
	printf("kernel %s: %s\n\n", u->release, caps->summary);
	printf("%-20s %-8s %-4s %-4s\n", "cipher", "version", "TX", "RX");
	for (int c = 0; c < (KTLS_CIPHER_LAST + 1); c++)
		for (int v = 0; v < 2; v++)
			printf("%-20s TLS1.%d   %-4s %-4s\n", ktls_cipher_name(c), v == 0 ? 2 : 3,
			       yes_no(caps->tx_ciphers[v] & (1u << c)),
			       yes_no(caps->rx_ciphers[v] & (1u << c)));
	printf("\nTX zero-copy sendfile (TLS_TX_ZEROCOPY_RO): %s\n", yes_no(caps->tx_zerocopy_sendfile));
	printf("RX no-padding hint (TLS_RX_EXPECT_NO_PAD):  %s\n", yes_no(caps->rx_expect_no_pad));
	printf("TLS 1.3 rekey (KeyUpdate on kTLS sockets):  %s\n", yes_no(caps->tls13_rekey));
	printf("TX record size limit (TLS_TX_MAX_PAYLOAD_LEN): %s\n", yes_no(caps->tx_max_payload_len));
	if (!caps->ulp_available)
		printf("\nConnections will use GnuTLS's userspace record layer (offload policy auto),\n"
		       "or fail with EOPNOTSUPP (offload policy require).\n");
}

int cmd_probe(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	struct ktls_caps caps;
	struct utsname u;
	bool json = false;
	int opt, ret;

	while ((opt = tool_getopt(argc, argv, "probe", "jh", options)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: ktls probe [--json]\n\n"
			       "Tries kernel TLS on loopback sockets and prints what this kernel can\n"
			       "offload, per cipher, version and direction.\n\n"
			       "  -j, --json    JSON instead of a table\n");
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return tool_usage_error("probe", "unexpected argument '%s'", argv[optind]);
	ret = ktls_probe(&caps);
	if (ret < 0) {
		fprintf(stderr, "ktls probe: %s\n", strerror(-ret));
		return 1;
	}
	uname(&u);
	if (json)
		probe_print_json(&caps, &u);
	else
		probe_print_table(&caps, &u);
	return 0;
}
