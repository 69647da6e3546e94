/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls: one binary, one file per subcommand (tools/ktls-<name>.c). */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct subcommand subcommands[] = {
	{ "probe", cmd_probe, "show what this kernel can offload (kTLS capability table)" },
	{ "loopback", cmd_loopback,
	  "handshake and transfer over loopback, then show where the keys went" },
	{ "stat", cmd_stat, "kTLS sockets of every process (like ss), and the kernel's TLS counters" },
	{ "nic", cmd_nic, "NIC TLS offload per interface; switch it on or off" },
	{ "bench", cmd_bench, "kTLS against userspace TLS over loopback: throughput, CPU, calls" },
	{ "get", cmd_get, "fetch an https:// URL; -v traces the handshake and where the crypto ran" },
	{ "serve", cmd_serve, "HTTPS/1.1 static file server on the io_uring engine" },
	{ "agent", cmd_agent, "the kernel's TLS handshake agent (NFS, NVMe/TCP), in tlshd's place" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: ktls <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(out, "\n'ktls <command> --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ktls: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
