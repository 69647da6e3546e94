/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the handshake family's messages (lib/agent-msg.c) on messages
 * built here the way the kernel builds them (net/handshake/tlshd.c
 * tls_handshake_accept(), netlink.c handshake_genl_notify()), and the DONE
 * request read back the way the kernel reads it (tls_handshake_remote_peerids()).
 * Malformed input is refused with -EBADMSG, and the socket descriptor is
 * still reported so that the agent can answer and close it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "agent.h"
#include "unit.h"

#define FAMILY 0x1c

struct accept_spec {
	int fd;                 /* -1: no SOCKFD */
	uint32_t type, auth, timeout; /* timeout 0: absent, as the kernel omits it */
	int32_t peerids[10];
	unsigned int n_peerids;
	int32_t cert, key;      /* both 0: no CERTIFICATE nest */
	const char *peername;   /* NULL: absent */
	int32_t keyring;        /* 0: absent */
	bool unknown_attr;      /* an attribute a newer kernel might add */
};

static struct nl_msg *accept_build(const struct accept_spec *sp, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest;

	if (msg == NULL || genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd, HANDSHAKE_FAMILY_VERSION) == NULL)
		tap_bail("nlmsg_alloc");
	if (sp->fd >= 0)
		nla_put_u32(msg, HANDSHAKE_A_ACCEPT_SOCKFD, (uint32_t)sp->fd);
	nla_put_u32(msg, HANDSHAKE_A_ACCEPT_MESSAGE_TYPE, sp->type);
	if (sp->timeout)
		nla_put_u32(msg, HANDSHAKE_A_ACCEPT_TIMEOUT, sp->timeout);
	nla_put_u32(msg, HANDSHAKE_A_ACCEPT_AUTH_MODE, sp->auth);
	for (unsigned int i = 0; i < sp->n_peerids; i++)
		nla_put_u32(msg, HANDSHAKE_A_ACCEPT_PEER_IDENTITY, (uint32_t)sp->peerids[i]);
	if (sp->cert || sp->key) {
		nest = nla_nest_start(msg, HANDSHAKE_A_ACCEPT_CERTIFICATE);
		nla_put_u32(msg, HANDSHAKE_A_X509_CERT, (uint32_t)sp->cert);
		nla_put_u32(msg, HANDSHAKE_A_X509_PRIVKEY, (uint32_t)sp->key);
		nla_nest_end(msg, nest);
	}
	if (sp->peername != NULL)
		nla_put_string(msg, HANDSHAKE_A_ACCEPT_PEERNAME, sp->peername);
	if (sp->keyring)
		nla_put_u32(msg, HANDSHAKE_A_ACCEPT_KEYRING, (uint32_t)sp->keyring);
	if (sp->unknown_attr)
		nla_put_u64(msg, 42, 0x0102030405060708ull);
	return msg;
}

static int parse(struct nl_msg *msg, struct agent_request *req)
{
	int ret = agent_msg_parse_accept(nlmsg_hdr(msg), req);

	nlmsg_free(msg);
	return ret;
}

static void test_accept_full(void)
{
	struct accept_spec sp = { .fd = 7, .type = HANDSHAKE_MSG_TYPE_SERVERHELLO,
				  .auth = HANDSHAKE_AUTH_X509, .timeout = 5000, .cert = 111,
				  .key = 222, .peername = "nfs.example.org", .keyring = 333,
				  .unknown_attr = true };
	struct agent_request req;
	int ret = parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req);

	tap_check(ret == 0 && req.fd == 7 && req.msg_type == HANDSHAKE_MSG_TYPE_SERVERHELLO &&
			  req.auth_mode == HANDSHAKE_AUTH_X509 && req.timeout_ms == 5000 &&
			  req.cert == 111 && req.privkey == 222 &&
			  strcmp(req.peername, "nfs.example.org") == 0 && req.keyring == 333 &&
			  req.n_peerids == 0,
		  "ACCEPT with every attribute (and one unknown): all read (ret %d)", ret);
}

static void test_accept_psk(void)
{
	struct accept_spec sp = { .fd = 3, .type = HANDSHAKE_MSG_TYPE_CLIENTHELLO,
				  .auth = HANDSHAKE_AUTH_PSK, .peerids = { 10, 20, 30 },
				  .n_peerids = 3 };
	struct agent_request req;
	int ret = parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req);

	tap_check(ret == 0 && req.n_peerids == 3 && req.peerids[0] == 10 && req.peerids[1] == 20 &&
			  req.peerids[2] == 30 && req.timeout_ms == 0 && req.peername[0] == '\0' &&
			  req.cert == 0 && req.keyring == 0,
		  "ACCEPT for PSK: three peer identities in order, absent ones 0 / \"\"");

	sp.n_peerids = 10;
	for (int i = 0; i < 10; i++)
		sp.peerids[i] = 100 + i;
	ret = parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req);
	tap_check(ret == 0 && req.n_peerids == AGENT_PEERIDS_MAX && req.peerids[7] == 107,
		  "ten peer identities: the first %d kept", AGENT_PEERIDS_MAX);
}

static void test_accept_bad(void)
{
	struct accept_spec sp = { .fd = 9, .type = HANDSHAKE_MSG_TYPE_CLIENTHELLO,
				  .auth = HANDSHAKE_AUTH_UNAUTH };
	struct agent_request req;
	struct nl_msg *msg;
	char name[300];
	int ret;

	/* PEERNAME: NUL-terminated, not empty, shorter than the buffer. */
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nla_put(msg, HANDSHAKE_A_ACCEPT_PEERNAME, 4, "host");
	ret = parse(msg, &req);
	tap_check(ret == -EBADMSG && req.fd == 9,
		  "PEERNAME without its NUL: -EBADMSG, fd 9 still reported (ret %d, fd %d)", ret,
		  req.fd);
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nla_put(msg, HANDSHAKE_A_ACCEPT_PEERNAME, 1, "");
	tap_check(parse(msg, &req) == -EBADMSG, "empty PEERNAME: -EBADMSG");
	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	sp.peername = name;
	ret = parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req);
	tap_check(ret == 0 && strlen(req.peername) == 255, "a 255-byte PEERNAME fits");
	name[255] = 'a';
	name[256] = '\0';
	tap_check(parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req) == -EBADMSG,
		  "a 256-byte PEERNAME: -EBADMSG");
	sp.peername = NULL;

	/* Sizes. */
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nla_put_u16(msg, HANDSHAKE_A_ACCEPT_TIMEOUT, 5);
	ret = parse(msg, &req);
	tap_check(ret == -EBADMSG && req.fd == 9, "a 2-byte TIMEOUT: -EBADMSG, fd kept");
	sp.fd = -1;
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nla_put_u16(msg, HANDSHAKE_A_ACCEPT_SOCKFD, 5);
	ret = parse(msg, &req);
	tap_check(ret == -EBADMSG && req.fd == -1, "a 2-byte SOCKFD: -EBADMSG, no fd");
	ret = parse(accept_build(&sp, HANDSHAKE_CMD_ACCEPT), &req);
	tap_check(ret == -EBADMSG && req.fd == -1, "no SOCKFD: -EBADMSG");
	sp.fd = 9;

	/* A CERTIFICATE nest with a wrong-size serial. */
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	{
		struct nlattr *nest = nla_nest_start(msg, HANDSHAKE_A_ACCEPT_CERTIFICATE);

		nla_put_u8(msg, HANDSHAKE_A_X509_CERT, 1);
		nla_nest_end(msg, nest);
	}
	tap_check(parse(msg, &req) == -EBADMSG, "a CERTIFICATE nest with a 1-byte serial: -EBADMSG");

	/* An attribute that runs past the end of the message. */
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nla_put_string(msg, HANDSHAKE_A_ACCEPT_PEERNAME, "server.example");
	nlmsg_hdr(msg)->nlmsg_len -= 8;
	ret = parse(msg, &req);
	tap_check(ret == -EBADMSG && req.fd == 9,
		  "a message cut inside its last attribute: -EBADMSG, fd kept (ret %d)", ret);

	/* Not an ACCEPT, and shorter than a genetlink header. */
	tap_check(parse(accept_build(&sp, HANDSHAKE_CMD_DONE), &req) == -ENOMSG,
		  "a DONE message is not an ACCEPT: -ENOMSG");
	msg = accept_build(&sp, HANDSHAKE_CMD_ACCEPT);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN + 2;
	tap_check(parse(msg, &req) == -EBADMSG, "shorter than a genetlink header: -EBADMSG");
}

/* READY, as handshake_genl_notify() sends it: the class as its only attribute. */
static size_t ready_append(unsigned char *buf, size_t off, int class, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlmsghdr *nlh;

	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd, HANDSHAKE_FAMILY_VERSION);
	if (class >= 0)
		nla_put_u32(msg, HANDSHAKE_A_ACCEPT_HANDLER_CLASS, (uint32_t)class);
	nlh = nlmsg_hdr(msg);
	memcpy(buf + off, nlh, nlh->nlmsg_len);
	off += NLMSG_ALIGN(nlh->nlmsg_len);
	nlmsg_free(msg);
	return off;
}

static void test_ready(void)
{
	unsigned char buf[1024];
	struct nlmsghdr noop = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_NOOP };
	size_t len = 0;

	len = ready_append(buf, len, HANDSHAKE_HANDLER_CLASS_TLSHD, HANDSHAKE_CMD_READY);
	len = ready_append(buf, len, HANDSHAKE_HANDLER_CLASS_TLSHD, HANDSHAKE_CMD_READY);
	len = ready_append(buf, len, HANDSHAKE_HANDLER_CLASS_NONE, HANDSHAKE_CMD_READY);
	len = ready_append(buf, len, -1, HANDSHAKE_CMD_READY);
	len = ready_append(buf, len, HANDSHAKE_HANDLER_CLASS_TLSHD, HANDSHAKE_CMD_DONE);
	memcpy(buf + len, &noop, sizeof(noop));
	len += NLMSG_HDRLEN;
	tap_check(agent_msg_count_ready(buf, len) == 3,
		  "READY x2 for tlshd, one for another class, one without a class, a DONE and a "
		  "NOOP: 3 count (got %d)", agent_msg_count_ready(buf, len));
	tap_check(agent_msg_count_ready(buf, 0) == 0, "an empty read: 0");
	tap_check(agent_msg_count_ready(buf, len - NLMSG_HDRLEN - 3) == -EBADMSG,
		  "a buffer that ends inside a message: -EBADMSG");
}

/* DONE read back as net/handshake reads it: every attribute by type, in order. */
static void test_done(void)
{
	const uint32_t auth[] = { 555, 666 };
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nla;
	uint32_t status = 99, remote[4];
	int32_t fd = -1;
	unsigned int n = 0;
	int rem, ret;

	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, HANDSHAKE_CMD_DONE, HANDSHAKE_FAMILY_VERSION);
	ret = agent_msg_put_done(msg, 0, 12, auth, 2);
	nla_for_each_attr(nla, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(msg)), 0),
			  genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), rem) {
		if (nla_type(nla) == HANDSHAKE_A_DONE_STATUS)
			status = nla_get_u32(nla);
		else if (nla_type(nla) == HANDSHAKE_A_DONE_SOCKFD)
			fd = (int32_t)nla_get_u32(nla);
		else if (nla_type(nla) == HANDSHAKE_A_DONE_REMOTE_AUTH && n < 4)
			remote[n++] = nla_get_u32(nla);
	}
	nlmsg_free(msg);
	tap_check(ret == 0 && status == 0 && fd == 12 && n == 2 && remote[0] == 555 &&
			  remote[1] == 666,
		  "DONE: status 0, the fd, both remote-auth serials in order");

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, HANDSHAKE_CMD_DONE, HANDSHAKE_FAMILY_VERSION);
	ret = agent_msg_put_done(msg, EACCES, 12, auth, 2);
	n = 0;
	nla_for_each_attr(nla, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(msg)), 0),
			  genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), rem) {
		if (nla_type(nla) == HANDSHAKE_A_DONE_STATUS)
			status = nla_get_u32(nla);
		else if (nla_type(nla) == HANDSHAKE_A_DONE_REMOTE_AUTH)
			n++;
	}
	nlmsg_free(msg);
	tap_check(ret == 0 && status == EACCES && n == 0,
		  "DONE with a failure: status EACCES and no remote-auth serial");
}

/* Any bytes at all: no crash, no read outside the buffer (ASan/UBSan in CI). */
static void test_noise(void)
{
	unsigned char buf[512];
	unsigned int seed = 12345, bad = 0;

	for (int i = 0; i < 20000; i++) {
		struct agent_request req;
		size_t len = NLMSG_HDRLEN + GENL_HDRLEN + (size_t)(rand_r(&seed) % 200);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		struct genlmsghdr *g = (struct genlmsghdr *)(buf + NLMSG_HDRLEN);
		int ret;

		for (size_t j = 0; j < len; j++)
			buf[j] = (unsigned char)rand_r(&seed);
		nlh->nlmsg_len = (uint32_t)len;
		g->cmd = i % 3 ? HANDSHAKE_CMD_ACCEPT : (uint8_t)rand_r(&seed);
		ret = agent_msg_parse_accept(nlh, &req);
		if (ret != 0 && ret != -EBADMSG && ret != -ENOMSG)
			bad++;
		if (ret == 0 && (req.fd < 0 || req.n_peerids > AGENT_PEERIDS_MAX ||
				 strnlen(req.peername, sizeof(req.peername)) >= sizeof(req.peername)))
			bad++;
		ret = agent_msg_count_ready(buf, (size_t)(rand_r(&seed) % sizeof(buf)));
		if (ret < 0 && ret != -EBADMSG)
			bad++;
	}
	tap_check(bad == 0, "20000 random messages: only 0, -EBADMSG or -ENOMSG, and sane results");
}

int main(void)
{
	test_accept_full();
	test_accept_psk();
	test_accept_bad();
	test_ready();
	test_done();
	test_noise();
	return tap_done();
}
