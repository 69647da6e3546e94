/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which TCP sockets on this machine carry kernel TLS, and how: a sock_diag
 * dump (NETLINK_SOCK_DIAG, through libnl) with INET_DIAG_INFO requested, so
 * that tcp_diag adds INET_DIAG_ULP_INFO; net/tls/tls_main.c's tls_get_info()
 * nests the version, cipher and TX/RX configuration in it.  The kernel adds
 * ULP info only for CAP_NET_ADMIN (tcp_diag_get_aux()).
 *
 * The reply parser (diag_parse_msg, diag_parse_buffer) does no I/O and takes
 * any bytes: the fuzz target (tests/fuzz/fuzz-diag.c) calls it directly.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "abi.h"
#include "private.h"

/* TCP states (include/net/tcp_states.h); TCP_NEW_SYN_RECV is kernel-internal. */
#define DIAG_TCP_SYN_RECV 3
#define DIAG_TCP_TIME_WAIT 6
#define DIAG_TCP_LISTEN 10
#define DIAG_TCP_NEW_SYN_RECV 12

/* At most this many /proc/PID/fd entries are looked at when finding owners. */
#define DIAG_OWNER_SCAN_MAX (1u << 20)

static const struct nla_policy diag_policy[INET_DIAG_MAX + 1] = {
	[INET_DIAG_ULP_INFO] = { .type = NLA_NESTED },
};

static const struct nla_policy ulp_policy[INET_ULP_INFO_MAX + 1] = {
	[INET_ULP_INFO_NAME] = { .type = NLA_STRING },
	[INET_ULP_INFO_TLS] = { .type = NLA_NESTED },
};

static const struct nla_policy tls_policy[TLS_INFO_MAX + 1] = {
	[TLS_INFO_VERSION] = { .type = NLA_U16 },
	[TLS_INFO_CIPHER] = { .type = NLA_U16 },
	[TLS_INFO_TXCONF] = { .type = NLA_U16 },
	[TLS_INFO_RXCONF] = { .type = NLA_U16 },
	[TLS_INFO_ZC_RO_TX] = { .type = NLA_FLAG },
	[TLS_INFO_RX_NO_PAD] = { .type = NLA_FLAG },
	[TLS_INFO_TX_MAX_PAYLOAD_LEN] = { .type = NLA_U16 },
};

KTLS_EXPORT const char *ktls_sock_conf_name(enum ktls_sock_conf conf)
{
	switch (conf) {
	case KTLS_SOCK_CONF_BASE:
		return "base";
	case KTLS_SOCK_CONF_SW:
		return "sw";
	case KTLS_SOCK_CONF_HW:
		return "hw";
	case KTLS_SOCK_CONF_HW_RECORD:
		return "hw-record";
	default:
		return "unknown";
	}
}

static void diag_cipher(struct ktls_sock *s, uint16_t type)
{
	static const struct {
		uint16_t type;
		enum ktls_cipher cipher;
		const char *name;
	} table[] = {
		{ TLS_CIPHER_AES_GCM_128, KTLS_CIPHER_AES_128_GCM, NULL },
		{ TLS_CIPHER_AES_GCM_256, KTLS_CIPHER_AES_256_GCM, NULL },
		{ TLS_CIPHER_AES_CCM_128, KTLS_CIPHER_AES_128_CCM, NULL },
		{ TLS_CIPHER_CHACHA20_POLY1305, KTLS_CIPHER_CHACHA20_POLY1305, NULL },
		{ TLS_CIPHER_SM4_GCM, KTLS_CIPHER_NONE, "SM4-GCM" },
		{ TLS_CIPHER_SM4_CCM, KTLS_CIPHER_NONE, "SM4-CCM" },
		{ TLS_CIPHER_ARIA_GCM_128, KTLS_CIPHER_NONE, "ARIA-128-GCM" },
		{ TLS_CIPHER_ARIA_GCM_256, KTLS_CIPHER_NONE, "ARIA-256-GCM" },
	};

	s->cipher_type = type;
	s->cipher = KTLS_CIPHER_NONE;
	s->cipher_name[0] = '\0';
	if (type == 0)
		return;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].type != type)
			continue;
		s->cipher = table[i].cipher;
		snprintf(s->cipher_name, sizeof(s->cipher_name), "%s",
			 table[i].name != NULL ? table[i].name : ktls_cipher_name(table[i].cipher));
		return;
	}
	snprintf(s->cipher_name, sizeof(s->cipher_name), "cipher-%u", (unsigned int)type);
}

static enum ktls_sock_conf diag_conf(uint16_t v)
{
	return v >= TLS_CONF_BASE && v <= TLS_CONF_HW_RECORD ? (enum ktls_sock_conf)v
							       : KTLS_SOCK_CONF_UNKNOWN;
}

/*
 * struct tcp_info (include/uapi/linux/tcp.h) is ABI: fields are only ever
 * appended, and the kernel sends as much of it as it has.  glibc's copy in
 * netinet/tcp.h stops before these two, so their offsets are spelled out.
 */
#define DIAG_TCPI_BYTES_ACKED 120    /* __u64 tcpi_bytes_acked (Linux 4.1) */
#define DIAG_TCPI_BYTES_RECEIVED 128 /* __u64 tcpi_bytes_received (Linux 4.1) */

static void diag_tcp_info(struct ktls_sock *s, const struct nlattr *info)
{
	const unsigned char *p = nla_data(info);
	size_t len = (size_t)nla_len(info);

	if (len >= DIAG_TCPI_BYTES_ACKED + sizeof(uint64_t))
		memcpy(&s->bytes_acked, p + DIAG_TCPI_BYTES_ACKED, sizeof(uint64_t));
	if (len >= DIAG_TCPI_BYTES_RECEIVED + sizeof(uint64_t))
		memcpy(&s->bytes_received, p + DIAG_TCPI_BYTES_RECEIVED, sizeof(uint64_t));
}

int diag_parse_msg(const struct nlmsghdr *nlh, struct ktls_sock *ret_sock)
{
	struct nlattr *tb[INET_DIAG_MAX + 1], *ulp[INET_ULP_INFO_MAX + 1], *tls[TLS_INFO_MAX + 1];
	struct nlmsghdr *m = (struct nlmsghdr *)nlh;
	const struct inet_diag_msg *d;
	struct ktls_sock s;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -EBADMSG;
	if (netlink_parse_msg(nlh, sizeof(*d), tb, INET_DIAG_MAX, diag_policy) < 0)
		return -EBADMSG;
	d = nlmsg_data(m);
	if (d->idiag_family != AF_INET && d->idiag_family != AF_INET6)
		return -EBADMSG;
	if (tb[INET_DIAG_ULP_INFO] == NULL)
		return 0;
	if (netlink_parse_nested(ulp, INET_ULP_INFO_MAX, tb[INET_DIAG_ULP_INFO], ulp_policy) < 0)
		return -EBADMSG;
	if (ulp[INET_ULP_INFO_NAME] == NULL ||
	    strcmp(nla_get_string(ulp[INET_ULP_INFO_NAME]), "tls") != 0)
		return 0; /* another ULP (mptcp) */

	memset(&s, 0, sizeof(s));
	s.family = d->idiag_family;
	memcpy(s.local_addr, d->id.idiag_src, d->idiag_family == AF_INET ? 4 : 16);
	memcpy(s.peer_addr, d->id.idiag_dst, d->idiag_family == AF_INET ? 4 : 16);
	s.local_port = ntohs(d->id.idiag_sport);
	s.peer_port = ntohs(d->id.idiag_dport);
	s.tcp_state = d->idiag_state;
	s.uid = d->idiag_uid;
	s.inode = d->idiag_inode;
	s.cipher = KTLS_CIPHER_NONE;

	if (ulp[INET_ULP_INFO_TLS] != NULL) {
		if (netlink_parse_nested(tls, TLS_INFO_MAX, ulp[INET_ULP_INFO_TLS], tls_policy) < 0)
			return -EBADMSG;
		s.tls_info = true;
		if (tls[TLS_INFO_VERSION] != NULL)
			s.version = nla_get_u16(tls[TLS_INFO_VERSION]);
		if (tls[TLS_INFO_CIPHER] != NULL)
			diag_cipher(&s, nla_get_u16(tls[TLS_INFO_CIPHER]));
		if (tls[TLS_INFO_TXCONF] != NULL)
			s.tx = diag_conf(nla_get_u16(tls[TLS_INFO_TXCONF]));
		if (tls[TLS_INFO_RXCONF] != NULL)
			s.rx = diag_conf(nla_get_u16(tls[TLS_INFO_RXCONF]));
		s.tx_zerocopy_sendfile = tls[TLS_INFO_ZC_RO_TX] != NULL;
		s.rx_no_pad = tls[TLS_INFO_RX_NO_PAD] != NULL;
		if (tls[TLS_INFO_TX_MAX_PAYLOAD_LEN] != NULL)
			s.tx_max_payload_len = nla_get_u16(tls[TLS_INFO_TX_MAX_PAYLOAD_LEN]);
	}
	if (tb[INET_DIAG_INFO] != NULL)
		diag_tcp_info(&s, tb[INET_DIAG_INFO]);
	*ret_sock = s;
	return 1;
}

int diag_parse_buffer(const void *buf, size_t len, diag_sock_fn fn, void *userdata)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;

	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		struct ktls_sock s;
		int ret;

		ret = netlink_msg_kind(nlh);
		if (ret < 0)
			return ret;
		if (ret == NETLINK_MSG_DONE)
			return 0;
		if (ret == NETLINK_MSG_SKIP)
			continue;
		ret = diag_parse_msg(nlh, &s);
		if (ret < 0)
			return ret;
		if (ret > 0 && fn != NULL && (ret = fn(&s, userdata)) < 0)
			return ret;
	}
	return 0;
}

/* ---- the dump ---------------------------------------------------------- */

struct diag_list {
	struct ktls_sock *socks;
	size_t n, cap;
	unsigned int sockets_seen; /* every socket, TLS or not */
	unsigned int ulp_seen;     /* sockets the kernel described a ULP for */
};

static int diag_list_add(struct diag_list *l, const struct ktls_sock *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ktls_sock *p = reallocarray(l->socks, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		l->socks = p;
		l->cap = cap;
	}
	l->socks[l->n++] = *s;
	return 0;
}

static int diag_on_msg(struct nlmsghdr *nlh, void *arg)
{
	struct diag_list *l = arg;
	struct ktls_sock s;
	struct nlattr *ulp;
	int ret;

	ret = diag_parse_msg(nlh, &s);
	if (ret < 0)
		return ret;
	l->sockets_seen++;
	ulp = nlmsg_find_attr(nlh, sizeof(struct inet_diag_msg), INET_DIAG_ULP_INFO);
	if (ulp != NULL)
		l->ulp_seen++;
	return ret > 0 ? diag_list_add(l, &s) : 0;
}

static int diag_dump(struct nl_sock *sk, int family, struct diag_list *l, char *errbuf,
		     size_t errlen)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)family,
		.sdiag_protocol = IPPROTO_TCP,
		/* INET_DIAG_INFO is what makes tcp_diag add the ULP's attributes. */
		.idiag_ext = 1u << (INET_DIAG_INFO - 1),
		/* Only an established socket can get the TLS ULP (tls_init()). */
		.idiag_states = ~((1u << DIAG_TCP_LISTEN) | (1u << DIAG_TCP_SYN_RECV) |
				  (1u << DIAG_TCP_TIME_WAIT) | (1u << DIAG_TCP_NEW_SYN_RECV)),
	};
	struct netlink_reply reply;
	struct nl_msg *msg;
	int ret;

	msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
	if (msg == NULL)
		return error_buf(errbuf, errlen, -ENOMEM, "out of memory for a sock_diag request");
	ret = nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO);
	if (ret < 0) {
		nlmsg_free(msg);
		return error_buf(errbuf, errlen, -ENOMEM, "out of memory for a sock_diag request");
	}
	ret = netlink_exchange(sk, msg, diag_on_msg, l, &reply);
	nlmsg_free(msg);
	if (ret == -EBADMSG)
		return error_buf(errbuf, errlen, ret, "sock_diag sent a reply that does not parse");
	if (ret == -ENOENT && family == AF_INET6)
		return 0; /* no IPv6 in this kernel: no IPv6 sockets either */
	if (ret < 0)
		return error_buf(errbuf, errlen, ret,
				 "sock_diag dump of %s TCP sockets failed: %s%s%s",
				 family == AF_INET ? "IPv4" : "IPv6", strerror(-ret),
				 reply.extack[0] ? ": " : "", reply.extack);
	return 0;
}

/* CAP_NET_ADMIN in our effective set; the kernel asks netlink_net_capable(). */
static bool diag_have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return (data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN)) != 0;
}

/* "socket:[12345]" -> 12345 */
static bool diag_socket_inode(const char *link, uint64_t *ret_inode)
{
	char *end;
	unsigned long long v;

	if (strncmp(link, "socket:[", 8) != 0 || !isdigit((unsigned char)link[8]))
		return false;
	errno = 0;
	v = strtoull(link + 8, &end, 10);
	if (errno != 0 || strcmp(end, "]") != 0)
		return false;
	*ret_inode = v;
	return true;
}

static void diag_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, size - 1);
	close(fd);
	if (n <= 0) {
		comm[0] = '\0';
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/*
 * Which process holds socket:[inode]: the first pid (in /proc's order) with
 * such an fd.  Processes we may not inspect are skipped, so the answer is
 * complete for root and partial for others.
 */
static void diag_find_owners(struct ktls_sock *socks, size_t n)
{
	size_t left = 0, scanned = 0;
	struct dirent *p;
	DIR *proc;

	for (size_t i = 0; i < n; i++)
		if (socks[i].inode != 0)
			left++;
	if (left == 0 || (proc = opendir("/proc")) == NULL)
		return;
	while (left > 0 && scanned < DIAG_OWNER_SCAN_MAX && (p = readdir(proc)) != NULL) {
		char path[64], link[64];
		struct dirent *f;
		pid_t pid;
		DIR *fds;
		int dfd;

		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		pid = (pid_t)atoi(p->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		if (fds == NULL)
			continue;
		dfd = dirfd(fds);
		while (left > 0 && scanned < DIAG_OWNER_SCAN_MAX && (f = readdir(fds)) != NULL) {
			uint64_t inode;
			ssize_t len;

			if (f->d_name[0] == '.')
				continue;
			scanned++;
			len = readlinkat(dfd, f->d_name, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (!diag_socket_inode(link, &inode))
				continue;
			for (size_t i = 0; i < n; i++) {
				if (socks[i].inode != inode || socks[i].pid != 0)
					continue;
				socks[i].pid = pid;
				diag_comm(pid, socks[i].comm, sizeof(socks[i].comm));
				left--;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

KTLS_EXPORT int ktls_sock_list_sized(unsigned int flags, size_t sock_size,
				     struct ktls_sock **ret_socks, size_t *ret_count, char *errbuf,
				     size_t errlen)
{
	struct diag_list l = { 0 };
	struct nl_sock *sk = NULL;
	void *socks;
	int ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret_socks == NULL || ret_count == NULL || (flags & ~KTLS_SOCK_LIST_OWNERS) != 0 ||
	    sock_size < ABI_MIN_SOCK)
		return error_buf(errbuf, errlen, -EINVAL, "ktls_sock_list: invalid argument");

	ret = netlink_open(NETLINK_SOCK_DIAG, &sk, errbuf, errlen);
	if (ret == -EPROTONOSUPPORT)
		return error_buf(errbuf, errlen, ret,
				 "this kernel has no sock_diag (CONFIG_INET_DIAG)");
	if (ret < 0)
		return ret;
	ret = diag_dump(sk, AF_INET, &l, errbuf, errlen);
	if (ret == 0)
		ret = diag_dump(sk, AF_INET6, &l, errbuf, errlen);
	nl_socket_free(sk);
	if (ret < 0)
		goto fail;
	/*
	 * Without CAP_NET_ADMIN the kernel leaves INET_DIAG_ULP_INFO out of
	 * every reply: "no kTLS sockets" would then be a guess, not an answer.
	 */
	if (l.ulp_seen == 0 && !diag_have_net_admin()) {
		ret = error_buf(errbuf, errlen, -EPERM,
				"not permitted: the kernel shows which sockets use kTLS (sock_diag ULP "
				"info) only to CAP_NET_ADMIN; run as root");
		goto fail;
	}
	if (flags & KTLS_SOCK_LIST_OWNERS)
		diag_find_owners(l.socks, l.n);
	ret = abi_array_out(&socks, sock_size, l.socks, sizeof(*l.socks), l.n);
	if (ret < 0) {
		error_buf(errbuf, errlen, ret, "out of memory");
		goto fail;
	}
	free(l.socks);
	*ret_socks = socks;
	*ret_count = l.n;
	return 0;
fail:
	free(l.socks);
	return ret;
}

KTLS_EXPORT void ktls_sock_list_free(struct ktls_sock *socks)
{
	free(socks);
}
