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
#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: ktls COMMAND [options]\n"
		     "       ktls help [COMMAND]\n"
		     "       ktls --version\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(out, "\n'ktls help COMMAND' (or 'ktls COMMAND --help') describes its options;\n"
		     "every command takes --json (JSON on stdout) and --version.\n"
		     "Exit status 2 is a usage error.\n");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(name, subcommands[i].name) == 0)
			return &subcommands[i];
	return NULL;
}

/* ktls help [COMMAND]: the list, or that command's --help. */
static int help(int argc, char **argv)
{
	const struct subcommand *cmd;
	char *args[] = { NULL, "--help", NULL };

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "ktls help: one command at a time\ntry 'ktls help'\n");
		return TOOL_EXIT_USAGE;
	}
	cmd = find(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "ktls help: unknown command '%s'\ntry 'ktls help'\n", argv[1]);
		return TOOL_EXIT_USAGE;
	}
	args[0] = (char *)cmd->name;
	return cmd->fn(2, args);
}

int main(int argc, char **argv)
{
	const struct subcommand *cmd;

	if (argc < 2) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help(1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return tool_print_version();
	if (strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	cmd = find(argv[1]);
	if (cmd != NULL)
		return cmd->fn(argc - 1, argv + 1);
	fprintf(stderr, "ktls: unknown %s '%s'\ntry 'ktls help'\n",
		argv[1][0] == '-' ? "option" : "command", argv[1]);
	return TOOL_EXIT_USAGE;
}
