/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What sock_diag (diag.c) and ethtool (nic.c) share on top of libnl: a
 * socket, one request/reply exchange that ends at the kernel's ACK, DONE or
 * error, and the kernel's errno (not libnl's NLE_* translation of it) plus
 * its extended-ACK text, so that callers can say precisely what went wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>

#include "private.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* A netlink exchange with the kernel never legitimately takes this long. */
#define NETLINK_TIMEOUT_S 10

int netlink_msg_kind(const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_type == NLMSG_DONE)
		return NETLINK_MSG_DONE;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = nlmsg_data((struct nlmsghdr *)nlh);

		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
			return -EBADMSG;
		if (e->error == 0)
			return NETLINK_MSG_SKIP; /* an ACK */
		return e->error < 0 && e->error > -4096 ? e->error : -EBADMSG;
	}
	return nlh->nlmsg_type < NLMSG_MIN_TYPE ? NETLINK_MSG_SKIP : NETLINK_MSG_DATA;
}

int netlink_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -ETIMEDOUT; /* SO_RCVTIMEO expired */
	case NLE_INTR:
		return -EINTR;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_TRUNC:
	case NLE_MSG_OVERFLOW:
	case NLE_PARSE_ERR:
	case NLE_SEQ_MISMATCH:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

bool netlink_attrs_exact(const struct nlattr *head, int len)
{
	const struct nlattr *nla = head;
	int rem = len;

	while (nla_ok(nla, rem))
		nla = nla_next(nla, &rem);
	/* The last attribute may lack its alignment padding: rem is then -1..-3. */
	return rem <= 0 && rem > -NLA_ALIGNTO;
}

int netlink_parse_msg(const struct nlmsghdr *nlh, int hdrlen, struct nlattr **tb, int maxtype,
		      const struct nla_policy *policy)
{
	struct nlmsghdr *m = (struct nlmsghdr *)nlh;

	if (nlmsg_parse(m, hdrlen, tb, maxtype, policy) < 0 ||
	    !netlink_attrs_exact(nlmsg_attrdata(m, hdrlen), nlmsg_attrlen(m, hdrlen)))
		return -EBADMSG;
	return 0;
}

int netlink_parse_nested(struct nlattr **tb, int maxtype, const struct nlattr *nest,
			 const struct nla_policy *policy)
{
	struct nlattr *n = (struct nlattr *)nest;

	if (nla_parse_nested(tb, maxtype, n, policy) < 0 ||
	    !netlink_attrs_exact(nla_data(n), nla_len(n)))
		return -EBADMSG;
	return 0;
}

int netlink_open(int protocol, struct nl_sock **ret_sk, char *errbuf, size_t errlen)
{
	struct timeval tv = { .tv_sec = NETLINK_TIMEOUT_S };
	struct nl_sock *sk;
	int one = 1, ret, fd;

	sk = nl_socket_alloc();
	if (sk == NULL)
		return error_buf(errbuf, errlen, -ENOMEM, "out of memory for a netlink socket");
	ret = nl_connect(sk, protocol);
	if (ret < 0) {
		ret = netlink_errno(ret);
		error_buf(errbuf, errlen, ret, "cannot open a netlink socket (protocol %d): %s",
			  protocol, strerror(-ret));
		nl_socket_free(sk);
		return ret;
	}
	/* Replies larger than a page (dumps of many sockets) must not be cut. */
	nl_socket_enable_msg_peek(sk);
	fd = nl_socket_get_fd(sk);
	/* Best effort: the reasons are a courtesy, the errno is what counts. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*ret_sk = sk;
	return 0;
}

struct exchange {
	struct netlink_reply *reply;
	netlink_msg_fn fn;
	void *arg;
	bool done;
};

/*
 * The extended ACK's text follows struct nlmsgerr when the kernel set
 * NLM_F_ACK_TLVS (with NETLINK_CAP_ACK the request is not echoed first).
 */
static void exchange_extack(const struct nlmsgerr *e, struct netlink_reply *reply)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	const struct nlattr *nla;
	size_t off;
	int rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !(nlh->nlmsg_flags & NLM_F_CAPPED))
		return;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*e));
	if (nlh->nlmsg_len <= off)
		return;
	nla = (const struct nlattr *)((const char *)nlh + off);
	rem = (int)(nlh->nlmsg_len - off);
	for (; nla_ok(nla, rem); nla = nla_next(nla, &rem)) {
		if (nla_type(nla) != NLMSGERR_ATTR_MSG || nla_len(nla) < 1)
			continue;
		nla_strlcpy(reply->extack, nla, sizeof(reply->extack));
		return;
	}
}

static int exchange_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct exchange *x = arg;

	x->reply->error = e->error < 0 ? e->error : -e->error;
	exchange_extack(e, x->reply);
	x->done = true;
	return NL_STOP;
}

static int exchange_finish(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;

	x->done = true;
	return NL_STOP;
}

static int exchange_valid(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;
	int ret;

	if (x->fn == NULL)
		return NL_OK;
	ret = x->fn(nlmsg_hdr(msg), x->arg);
	if (ret < 0) {
		/* Stop here; the socket is closed with the rest of the reply unread. */
		x->reply->error = ret;
		x->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

int netlink_exchange(struct nl_sock *sk, struct nl_msg *msg, netlink_msg_fn fn, void *arg,
		     struct netlink_reply *reply)
{
	struct exchange x = { .reply = reply, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int ret;

	memset(reply, 0, sizeof(*reply));
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (cb == NULL)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, exchange_valid, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, exchange_finish, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, exchange_finish, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, exchange_error, &x);

	/* nl_send_auto() asks for an ACK, so every request ends with one (or DONE). */
	ret = nl_send_auto(sk, msg);
	if (ret < 0) {
		ret = netlink_errno(ret);
		goto out;
	}
	ret = 0;
	while (!x.done) {
		int r = nl_recvmsgs(sk, cb);

		if (x.done)
			break;
		if (r < 0) {
			ret = netlink_errno(r);
			break;
		}
	}
	if (ret == 0)
		ret = reply->error;
out:
	nl_cb_put(cb);
	return ret;
}
