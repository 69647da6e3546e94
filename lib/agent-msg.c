/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handshake family's messages (Documentation/netlink/specs/handshake.yaml;
 * the kernel side is net/handshake/netlink.c and tlshd.c): READY
 * notifications and ACCEPT replies parsed, DONE requests built.  Pure: no
 * I/O, any bytes allowed, so the parsers can be tested and fuzzed alone.
 */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "agent.h"

/* The genetlink header of @nlh, or NULL when the message is too short for one. */
static const struct genlmsghdr *msg_genl(const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return NULL;
	return (const struct genlmsghdr *)((const char *)nlh + NLMSG_HDRLEN);
}

static bool msg_u32(const struct nlattr *nla, uint32_t *ret)
{
	if (nla_len(nla) != sizeof(uint32_t))
		return false;
	memcpy(ret, nla_data(nla), sizeof(*ret));
	return true;
}

static bool msg_s32(const struct nlattr *nla, int32_t *ret)
{
	uint32_t v;

	if (!msg_u32(nla, &v))
		return false;
	memcpy(ret, &v, sizeof(*ret));
	return true;
}

/* HANDSHAKE_A_ACCEPT_CERTIFICATE: a nest of two serials (tls_handshake_put_certificate). */
static int msg_certificate(const struct nlattr *nest, struct agent_request *req)
{
	const struct nlattr *nla;
	int32_t cert = 0, key = 0;
	int rem;

	if (!netlink_attrs_exact(nla_data(nest), nla_len(nest)))
		return -EBADMSG;
	nla_for_each_attr(nla, (struct nlattr *)nla_data(nest), nla_len(nest), rem) {
		switch (nla_type(nla)) {
		case HANDSHAKE_A_X509_CERT:
			if (!msg_s32(nla, &cert))
				return -EBADMSG;
			break;
		case HANDSHAKE_A_X509_PRIVKEY:
			if (!msg_s32(nla, &key))
				return -EBADMSG;
			break;
		default:
			break;
		}
	}
	/* The kernel sends one; should more come, the first names the keys. */
	if (req->cert == 0 && req->privkey == 0) {
		req->cert = cert;
		req->privkey = key;
	}
	return 0;
}

/* A NUL-terminated string of at most AGENT_PEERNAME_MAX - 1 bytes (nla_put_string). */
static int msg_peername(const struct nlattr *nla, struct agent_request *req)
{
	const char *s = nla_data(nla);
	int len = nla_len(nla);
	const char *nul = len > 0 ? memchr(s, '\0', (size_t)len) : NULL;

	if (nul == NULL || nul == s || (size_t)(nul - s) >= sizeof(req->peername))
		return -EBADMSG;
	memcpy(req->peername, s, (size_t)(nul - s) + 1);
	return 0;
}

static int msg_accept_attr(const struct nlattr *nla, struct agent_request *req)
{
	switch (nla_type(nla)) {
	case HANDSHAKE_A_ACCEPT_SOCKFD:
		return msg_s32(nla, &req->fd) && req->fd >= 0 ? 0 : -EBADMSG;
	case HANDSHAKE_A_ACCEPT_MESSAGE_TYPE:
		return msg_u32(nla, &req->msg_type) ? 0 : -EBADMSG;
	case HANDSHAKE_A_ACCEPT_TIMEOUT:
		return msg_u32(nla, &req->timeout_ms) ? 0 : -EBADMSG;
	case HANDSHAKE_A_ACCEPT_AUTH_MODE:
		return msg_u32(nla, &req->auth_mode) ? 0 : -EBADMSG;
	case HANDSHAKE_A_ACCEPT_PEER_IDENTITY: {
		int32_t id;

		if (!msg_s32(nla, &id))
			return -EBADMSG;
		/* The kernel sends at most five; more would be a new kernel's, kept to the bound. */
		if (req->n_peerids < AGENT_PEERIDS_MAX)
			req->peerids[req->n_peerids++] = id;
		return 0;
	}
	case HANDSHAKE_A_ACCEPT_CERTIFICATE:
		return msg_certificate(nla, req);
	case HANDSHAKE_A_ACCEPT_PEERNAME:
		return msg_peername(nla, req);
	case HANDSHAKE_A_ACCEPT_KEYRING:
		return msg_s32(nla, &req->keyring) ? 0 : -EBADMSG;
	default:
		return 0; /* HANDLER_CLASS, or what a newer kernel adds */
	}
}

int agent_msg_parse_accept(const struct nlmsghdr *nlh, struct agent_request *ret)
{
	const struct genlmsghdr *g = msg_genl(nlh);
	struct agent_request req;
	const struct nlattr *head, *nla;
	int len, rem, err = 0;

	memset(&req, 0, sizeof(req));
	req.fd = -1;
	if (g == NULL)
		return -EBADMSG;
	if (g->cmd != HANDSHAKE_CMD_ACCEPT)
		return -ENOMSG;
	head = (const struct nlattr *)((const char *)g + GENL_HDRLEN);
	len = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
	/*
	 * SOCKFD first, whatever else is wrong: the fd is ours from the moment
	 * the kernel sent it, and only DONE on it ends the kernel's wait.
	 */
	nla_for_each_attr(nla, (struct nlattr *)head, len, rem) {
		if (nla_type(nla) == HANDSHAKE_A_ACCEPT_SOCKFD) {
			int32_t fd;

			if (msg_s32(nla, &fd) && fd >= 0)
				req.fd = fd;
			break;
		}
	}
	if (!netlink_attrs_exact(head, len))
		err = -EBADMSG;
	nla_for_each_attr(nla, (struct nlattr *)head, len, rem) {
		if (err == 0)
			err = msg_accept_attr(nla, &req);
	}
	if (err == 0 && req.fd < 0)
		err = -EBADMSG;
	if (err < 0) {
		int fd = req.fd;

		memset(ret, 0, sizeof(*ret));
		ret->fd = fd;
		return err;
	}
	*ret = req;
	return 0;
}

/* NLMSG_OK() with an int length, without its signed/unsigned comparison. */
static bool agent_nlmsg_ok(const struct nlmsghdr *nlh, int left)
{
	return left >= (int)sizeof(struct nlmsghdr) && nlh->nlmsg_len >= sizeof(struct nlmsghdr) &&
	       nlh->nlmsg_len <= (unsigned int)left;
}

int agent_msg_count_ready(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int n = 0, left;

	if (len > (size_t)INT32_MAX)
		return -EBADMSG;
	/* int: NLMSG_NEXT takes the last message's padding from it even when absent. */
	left = (int)len;
	for (; agent_nlmsg_ok(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
		const struct genlmsghdr *g;
		const struct nlattr *nla;
		uint32_t class = HANDSHAKE_HANDLER_CLASS_TLSHD;
		int rem, alen;

		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue; /* NOOP, an overrun report */
		g = msg_genl(nlh);
		if (g == NULL)
			return -EBADMSG;
		if (g->cmd != HANDSHAKE_CMD_READY)
			continue;
		alen = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
		nla = (const struct nlattr *)((const char *)g + GENL_HDRLEN);
		if (!netlink_attrs_exact(nla, alen))
			return -EBADMSG;
		nla_for_each_attr(nla, (struct nlattr *)nla, alen, rem)
			if (nla_type(nla) == HANDSHAKE_A_ACCEPT_HANDLER_CLASS && !msg_u32(nla, &class))
				return -EBADMSG;
		if (class == HANDSHAKE_HANDLER_CLASS_TLSHD)
			n++;
	}
	/* Bytes left that are not a whole message: a truncated buffer. */
	if (left > 0)
		return -EBADMSG;
	return n;
}

int agent_msg_put_done(struct nl_msg *msg, uint32_t status, int fd, const uint32_t *remote_auth,
		       unsigned int n_remote_auth)
{
	/* net/handshake/netlink.c reads the fd with nla_get_u32, the spec says s32. */
	if (nla_put_u32(msg, HANDSHAKE_A_DONE_STATUS, status) < 0 ||
	    nla_put_s32(msg, HANDSHAKE_A_DONE_SOCKFD, fd) < 0)
		return -EMSGSIZE;
	/* tlshd.c keeps the first of these as the peer's identity; none after a failure. */
	for (unsigned int i = 0; status == 0 && i < n_remote_auth; i++)
		if (nla_put_u32(msg, HANDSHAKE_A_DONE_REMOTE_AUTH, remote_auth[i]) < 0)
			return -EMSGSIZE;
	return 0;
}
