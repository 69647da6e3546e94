/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeds for the fuzz corpus: sends the requests that lib/diag.c and
 * lib/nic.c send, and writes every buffer the kernel answers with, byte for
 * byte, to DIR/PREFIX-N.  Run it where the answers are interesting (inside
 * user-mode Linux, with kTLS sockets open):
 *
 *   capture diag DIR PREFIX           sock_diag dump of IPv4 and IPv6 TCP sockets
 *   capture nic DIR PREFIX [IFACE]    ethtool FEATURES_GET for IFACE, or a dump
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ethtool_netlink.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

static int n_files;

/* Receive and save until DONE, an ACK or an error. */
static int capture_replies(struct nl_sock *sk, const char *dir, const char *prefix)
{
	for (;;) {
		struct sockaddr_nl from;
		unsigned char *buf = NULL;
		char path[4096];
		struct nlmsghdr *nlh;
		bool end = false;
		FILE *f;
		int n, rem;

		n = nl_recv(sk, &from, &buf, NULL);
		if (n <= 0) {
			fprintf(stderr, "capture: nl_recv: %s\n", nl_geterror(n));
			free(buf);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s-%d", dir, prefix, ++n_files);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
			fprintf(stderr, "capture: %s: %s\n", path, strerror(errno));
			free(buf);
			return 1;
		}
		printf("%s: %d bytes\n", path, n);
		rem = n;
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem))
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR ||
			    !(nlh->nlmsg_flags & NLM_F_MULTI))
				end = true;
		free(buf);
		if (end)
			return 0;
	}
}

static int capture_diag(const char *dir, const char *prefix)
{
	struct nl_sock *sk = nl_socket_alloc();
	int families[] = { AF_INET, AF_INET6 };

	if (sk == NULL || nl_connect(sk, NETLINK_SOCK_DIAG) < 0)
		return 1;
	nl_socket_disable_auto_ack(sk);
	for (int i = 0; i < 2; i++) {
		struct inet_diag_req_v2 req = {
			.sdiag_family = (unsigned char)families[i],
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_ext = 1u << (INET_DIAG_INFO - 1),
			.idiag_states = ~((1u << 10) | (1u << 3) | (1u << 6) | (1u << 12)),
		};
		struct nl_msg *msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);

		if (msg == NULL || nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) < 0 ||
		    nl_send_auto(sk, msg) < 0 || capture_replies(sk, dir, prefix) != 0)
			return 1;
		nlmsg_free(msg);
	}
	nl_socket_free(sk);
	return 0;
}

static int capture_nic(const char *dir, const char *prefix, const char *ifname)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg;
	int family;

	if (sk == NULL || genl_connect(sk) < 0)
		return 1;
	family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "capture: no ethtool family: %s\n", nl_geterror(family));
		return 1;
	}
	msg = nlmsg_alloc();
	if (msg == NULL ||
	    genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			ifname != NULL ? NLM_F_REQUEST : NLM_F_REQUEST | NLM_F_DUMP,
			ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION) == NULL)
		return 1;
	{
		struct nlattr *hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED);

		if (hdr == NULL ||
		    (ifname != NULL && nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0) ||
		    nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, 0) < 0)
			return 1;
		nla_nest_end(msg, hdr);
	}
	if (nl_send_auto(sk, msg) < 0 || capture_replies(sk, dir, prefix) != 0)
		return 1;
	nlmsg_free(msg);
	nl_socket_free(sk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "diag") == 0)
		return capture_diag(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "nic") == 0)
		return capture_nic(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	fprintf(stderr, "usage: capture diag DIR PREFIX | capture nic DIR PREFIX [IFACE]\n");
	return 2;
}
