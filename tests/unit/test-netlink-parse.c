/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the netlink reply parsers of lib/diag.c (sock_diag) and
 * lib/nic.c (ethtool features) on messages built here the way the kernel
 * builds them (net/ipv4/inet_diag.c, net/tls/tls_main.c tls_get_info(),
 * net/ethtool/bitset.c), so that every field and every flag is checked on a
 * host without kTLS, and malformed ones are refused with -EBADMSG.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "private.h"
#include "unit.h"

/* What the kernel puts in one sock_diag reply. */
struct diag_spec {
	int family;
	const char *ulp;           /* NULL: no INET_DIAG_ULP_INFO */
	bool tls_nest;             /* INET_ULP_INFO_TLS present */
	int version, cipher, txconf, rxconf; /* 0: attribute absent */
	bool zc, nopad;
	bool tcp_info;
};

static struct nl_msg *diag_build(const struct diag_spec *sp)
{
	struct nl_msg *msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI);
	struct inet_diag_msg d;
	struct nlattr *ulp, *tls;

	if (msg == NULL)
		tap_bail("nlmsg_alloc_simple");
	memset(&d, 0, sizeof(d));
	d.idiag_family = (unsigned char)sp->family;
	d.idiag_state = 1;
	d.idiag_uid = 1000;
	d.idiag_inode = 424242;
	d.id.idiag_sport = htons(4433);
	d.id.idiag_dport = htons(51000);
	if (sp->family == AF_INET) {
		inet_pton(AF_INET, "10.1.2.3", d.id.idiag_src);
		inet_pton(AF_INET, "10.9.8.7", d.id.idiag_dst);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", d.id.idiag_src);
		inet_pton(AF_INET6, "2001:db8::2", d.id.idiag_dst);
	}
	nlmsg_append(msg, &d, sizeof(d), NLMSG_ALIGNTO);
	if (sp->tcp_info) {
		unsigned char ti[232];
		uint64_t acked = 123456789, received = 987654321;

		memset(ti, 0, sizeof(ti));
		memcpy(ti + 120, &acked, 8); /* tcpi_bytes_acked */
		memcpy(ti + 128, &received, 8); /* tcpi_bytes_received */
		nla_put(msg, INET_DIAG_INFO, sizeof(ti), ti);
	}
	if (sp->ulp != NULL) {
		/* The kernel nests without NLA_F_NESTED here (nla_nest_start_noflag). */
		ulp = nla_nest_start(msg, INET_DIAG_ULP_INFO);
		nla_put_string(msg, INET_ULP_INFO_NAME, sp->ulp);
		if (sp->tls_nest) {
			tls = nla_nest_start(msg, INET_ULP_INFO_TLS);
			if (sp->version)
				nla_put_u16(msg, TLS_INFO_VERSION, (uint16_t)sp->version);
			if (sp->cipher)
				nla_put_u16(msg, TLS_INFO_CIPHER, (uint16_t)sp->cipher);
			if (sp->txconf)
				nla_put_u16(msg, TLS_INFO_TXCONF, (uint16_t)sp->txconf);
			if (sp->rxconf)
				nla_put_u16(msg, TLS_INFO_RXCONF, (uint16_t)sp->rxconf);
			if (sp->zc)
				nla_put_flag(msg, TLS_INFO_ZC_RO_TX);
			if (sp->nopad)
				nla_put_flag(msg, TLS_INFO_RX_NO_PAD);
			nla_put_u16(msg, 99, 7); /* from a newer kernel: ignored */
			nla_nest_end(msg, tls);
		}
		nla_nest_end(msg, ulp);
	}
	return msg;
}

static int count_sock(const struct ktls_sock *s, void *userdata)
{
	(void)s;
	(*(int *)userdata)++;
	return 0;
}

static void test_diag_fields(void)
{
	struct diag_spec sp = { AF_INET6, "tls", true, 0x0304, 52, 2, 3, true, true, true };
	struct nl_msg *msg = diag_build(&sp);
	struct ktls_sock s;
	unsigned char want6[16];

	memset(&s, 0, sizeof(s));
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 1, "TLS socket: parsed as one");
	inet_pton(AF_INET6, "2001:db8::1", want6);
	tap_check(s.family == AF_INET6 && memcmp(s.local_addr, want6, 16) == 0 &&
			  s.local_port == 4433 && s.peer_port == 51000 && s.tcp_state == 1 &&
			  s.uid == 1000 && s.inode == 424242 && s.pid == 0,
		  "addresses, ports, state, uid, inode");
	tap_check(s.tls_info && s.version == KTLS_VERSION_TLS13 && s.cipher_type == 52 &&
			  s.cipher == KTLS_CIPHER_AES_256_GCM &&
			  strcmp(s.cipher_name, "AES-256-GCM") == 0,
		  "version and cipher (%s)", s.cipher_name);
	tap_check(s.tx == KTLS_SOCK_CONF_SW && s.rx == KTLS_SOCK_CONF_HW && s.tx_zerocopy_sendfile &&
			  s.rx_no_pad,
		  "TX sw, RX hw, zero-copy sendfile, RX no-padding");
	tap_check(s.bytes_acked == 123456789 && s.bytes_received == 987654321,
		  "byte counts from tcp_info");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, "tls", true, 0x0303, 55, 4, 1, false, false, false };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 1 && s.family == AF_INET &&
			  s.version == KTLS_VERSION_TLS12 && s.cipher == KTLS_CIPHER_NONE &&
			  strcmp(s.cipher_name, "SM4-GCM") == 0 && s.tx == KTLS_SOCK_CONF_HW_RECORD &&
			  s.rx == KTLS_SOCK_CONF_BASE && !s.tx_zerocopy_sendfile && !s.rx_no_pad &&
			  s.bytes_acked == 0,
		  "IPv4, a cipher libktls cannot install (SM4-GCM), hw-record/base, no tcp_info");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, "tls", true, 0, 0, 1, 1, false, false, false };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 1 && s.version == 0 &&
			  s.cipher_name[0] == '\0' && s.tx == KTLS_SOCK_CONF_BASE,
		  "TLS ULP before any key: no version, no cipher, base");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, "tls", true, 0x0304, 200, 9, 2, false, false, false };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 1 && strcmp(s.cipher_name, "cipher-200") == 0 &&
			  s.tx == KTLS_SOCK_CONF_UNKNOWN,
		  "unknown cipher and configuration values are shown as such");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, "tls", false, 0, 0, 0, 0, false, false, false };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 1 && !s.tls_info,
		  "ULP \"tls\" without details: listed, tls_info false");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, "mptcp", false, 0, 0, 0, 0, false, false, false };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 0, "another ULP (mptcp): not a TLS socket");
	nlmsg_free(msg);

	sp = (struct diag_spec){ AF_INET, NULL, false, 0, 0, 0, 0, false, false, true };
	msg = diag_build(&sp);
	tap_check(diag_parse_msg(nlmsg_hdr(msg), &s) == 0, "no ULP: not a TLS socket");
	nlmsg_free(msg);
}

/* Copy @msg into a buffer, then let @mangle break it. */
static size_t diag_bytes(const struct diag_spec *sp, unsigned char *buf, size_t size)
{
	struct nl_msg *msg = diag_build(sp);
	size_t len = nlmsg_hdr(msg)->nlmsg_len;

	if (len > size)
		tap_bail("message too large");
	memcpy(buf, nlmsg_hdr(msg), len);
	nlmsg_free(msg);
	return len;
}

/* Offset of the first attribute of @type (top level, after inet_diag_msg). */
static struct nlattr *find_attr(unsigned char *buf, int type)
{
	return nlmsg_find_attr((struct nlmsghdr *)buf, sizeof(struct inet_diag_msg), type);
}

static void test_diag_malformed(void)
{
	struct diag_spec sp = { AF_INET, "tls", true, 0x0304, 51, 2, 2, false, false, true };
	unsigned char buf[1024], two[2048];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ktls_sock s;
	struct nlattr *a;
	size_t len;
	int count = 0, ret;

	len = diag_bytes(&sp, buf, sizeof(buf));
	a = find_attr(buf, INET_DIAG_ULP_INFO);
	a->nla_len = (uint16_t)(a->nla_len + 64); /* runs past the message */
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "ULP nest longer than the message: -EBADMSG");

	len = diag_bytes(&sp, buf, sizeof(buf));
	a = find_attr(buf, INET_DIAG_ULP_INFO);
	a = nla_find(nla_data(a), nla_len(a), INET_ULP_INFO_TLS);
	a->nla_len = (uint16_t)(a->nla_len + 8); /* runs past the ULP nest that holds it */
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "TLS nest longer than its parent: -EBADMSG");

	len = diag_bytes(&sp, buf, sizeof(buf));
	a = (struct nlattr *)nla_data(find_attr(buf, INET_DIAG_ULP_INFO));
	((char *)nla_data(a))[nla_len(a) - 1] = 'x'; /* "tlsx", no NUL */
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "ULP name without its NUL: -EBADMSG");

	len = diag_bytes(&sp, buf, sizeof(buf));
	a = find_attr(buf, INET_DIAG_ULP_INFO);
	a = nla_find(nla_data(a), nla_len(a), INET_ULP_INFO_TLS);
	a = nla_find(nla_data(a), nla_len(a), TLS_INFO_VERSION);
	a->nla_len = NLA_HDRLEN + 1; /* a u16 in one byte */
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "TLS_INFO_VERSION of 1 byte: -EBADMSG");

	len = diag_bytes(&sp, buf, sizeof(buf));
	nlh->nlmsg_len = NLMSG_HDRLEN + 10; /* shorter than inet_diag_msg */
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "message shorter than inet_diag_msg: -EBADMSG");

	len = diag_bytes(&sp, buf, sizeof(buf));
	((struct inet_diag_msg *)NLMSG_DATA(nlh))->idiag_family = AF_UNIX;
	tap_check(diag_parse_msg(nlh, &s) == -EBADMSG, "family AF_UNIX: -EBADMSG");

	/* A buffer: two sockets, one without TLS, then DONE. */
	len = diag_bytes(&sp, two, sizeof(two));
	sp.ulp = NULL;
	len += diag_bytes(&sp, two + len, sizeof(two) - len);
	{
		struct nlmsghdr done = { .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE };

		memcpy(two + len, &done, sizeof(done));
		memset(two + len + NLMSG_HDRLEN, 0, 4);
		len += NLMSG_HDRLEN + 4;
	}
	ret = diag_parse_buffer(two, len, count_sock, &count);
	tap_check(ret == 0 && count == 1, "buffer of two replies and DONE: one TLS socket (%d)", count);
	count = 0;
	tap_check(diag_parse_buffer(two, len - 7, count_sock, &count) == 0 && count == 1,
		  "a truncated trailing message is ignored, as nlmsg_ok() says");
	{
		struct {
			struct nlmsghdr h;
			struct nlmsgerr e;
		} err = { { sizeof(err), NLMSG_ERROR, 0, 0, 0 }, { -EPERM, { 0 } } };

		tap_check(diag_parse_buffer(&err, sizeof(err), NULL, NULL) == -EPERM,
			  "NLMSG_ERROR: the kernel's errno");
		err.h.nlmsg_len = NLMSG_HDRLEN + 2;
		tap_check(diag_parse_buffer(&err, sizeof(err), NULL, NULL) == -EBADMSG,
			  "NLMSG_ERROR too short for nlmsgerr: -EBADMSG");
	}
	tap_check(diag_parse_buffer(NULL, 0, NULL, NULL) == 0, "an empty buffer");
	(void)len;
}

/* ---- ethtool features ------------------------------------------------- */

/* One verbose bitset, the way ethnl_put_bitset32() writes it. */
static void put_bitset(struct nl_msg *msg, int type, const char *const *names, const bool *values,
		       size_t n, bool nomask)
{
	struct nlattr *set = nla_nest_start(msg, type | NLA_F_NESTED), *bits, *bit;

	if (nomask)
		nla_put_flag(msg, ETHTOOL_A_BITSET_NOMASK);
	nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, 64);
	bits = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS | NLA_F_NESTED);
	for (size_t i = 0; i < n; i++) {
		if (nomask && !values[i])
			continue;
		bit = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS_BIT | NLA_F_NESTED);
		nla_put_u32(msg, ETHTOOL_A_BITSET_BIT_INDEX, (uint32_t)(40 + i));
		nla_put_string(msg, ETHTOOL_A_BITSET_BIT_NAME, names[i]);
		if (!nomask && values[i])
			nla_put_flag(msg, ETHTOOL_A_BITSET_BIT_VALUE);
		nla_nest_end(msg, bit);
	}
	nla_nest_end(msg, bits);
	nla_nest_end(msg, set);
}

static struct nl_msg *features_build(const char *dev, const bool hw[4], const bool active[4],
				     bool nomask)
{
	static const char *const names[4] = { "tx-checksumming", "tls-hw-tx-offload",
					      "tls-hw-rx-offload", "tls-hw-record" };
	static const bool none[4] = { false, false, false, false };
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *hdr;

	genlmsg_put(msg, 0, 0, 30, 0, 0, ETHTOOL_MSG_FEATURES_GET_REPLY, 1);
	hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED);
	nla_put_u32(msg, ETHTOOL_A_HEADER_DEV_INDEX, 7);
	nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, dev);
	nla_nest_end(msg, hdr);
	put_bitset(msg, ETHTOOL_A_FEATURES_HW, names, hw, 4, nomask);
	put_bitset(msg, ETHTOOL_A_FEATURES_WANTED, names, active, 4, nomask);
	put_bitset(msg, ETHTOOL_A_FEATURES_ACTIVE, names, active, 4, nomask);
	put_bitset(msg, ETHTOOL_A_FEATURES_NOCHANGE, names, none, 4, nomask);
	return msg;
}

static void test_features(void)
{
	static const bool hw[4] = { true, true, true, false }, active[4] = { true, true, false, false };
	static const bool off[4] = { true, false, false, false };
	struct ktls_nic nic;
	struct nl_msg *msg;

	for (int nomask = 1; nomask >= 0; nomask--) {
		msg = features_build("eth7", hw, active, nomask);
		memset(&nic, 0, sizeof(nic));
		tap_check(nic_parse_features(nlmsg_hdr(msg), &nic) == 0 && strcmp(nic.name, "eth7") == 0 &&
				  nic.ifindex == 7 && nic.tls_offload &&
				  nic.feature[KTLS_NIC_TLS_TX].available &&
				  nic.feature[KTLS_NIC_TLS_TX].active &&
				  nic.feature[KTLS_NIC_TLS_TX].wanted &&
				  nic.feature[KTLS_NIC_TLS_RX].available &&
				  !nic.feature[KTLS_NIC_TLS_RX].active &&
				  !nic.feature[KTLS_NIC_TLS_RECORD].available &&
				  !nic.feature[KTLS_NIC_TLS_TX].fixed,
			  "features reply, %s bitsets: TX available+on, RX available+off, record absent",
			  nomask ? "no-mask (listed = set)" : "masked (BIT_VALUE = set)");
		nlmsg_free(msg);
	}
	msg = features_build("lo", off, off, true);
	tap_check(nic_parse_features(nlmsg_hdr(msg), &nic) == 0 && !nic.tls_offload,
		  "a device without TLS features: tls_offload false");
	nlmsg_free(msg);

	/* Compact form (words, no names): not what we ask for, refused. */
	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 30, 0, 0, ETHTOOL_MSG_FEATURES_GET_REPLY, 1);
	{
		struct nlattr *hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED);
		struct nlattr *set;
		uint32_t words[2] = { 1, 0 };

		nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, "eth0");
		nla_nest_end(msg, hdr);
		set = nla_nest_start(msg, ETHTOOL_A_FEATURES_ACTIVE | NLA_F_NESTED);
		nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, 64);
		nla_put(msg, ETHTOOL_A_BITSET_VALUE, sizeof(words), words);
		nla_nest_end(msg, set);
	}
	tap_check(nic_parse_features(nlmsg_hdr(msg), &nic) == -EBADMSG,
		  "compact bitset (no names): -EBADMSG");
	nlmsg_free(msg);

	/* No header: whose features would these be? */
	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 30, 0, 0, ETHTOOL_MSG_FEATURES_GET_REPLY, 1);
	tap_check(nic_parse_features(nlmsg_hdr(msg), &nic) == -EBADMSG, "reply without a header: -EBADMSG");
	nlmsg_free(msg);
}

/* ---- replies captured inside user-mode Linux 6.1 (tests/fuzz/corpus) ---- */

static size_t read_capture(const char *dir, const char *name, unsigned char *buf, size_t size)
{
	char path[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		tap_bail("%s: %s", path, strerror(errno));
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

struct collected {
	struct ktls_sock socks[8];
	int n;
};

static int collect(const struct ktls_sock *s, void *userdata)
{
	struct collected *c = userdata;

	if (c->n < 8)
		c->socks[c->n] = *s;
	c->n++;
	return 0;
}

static const struct ktls_sock *by_port(const struct collected *c, unsigned int local,
				       unsigned int peer)
{
	for (int i = 0; i < c->n && i < 8; i++)
		if (c->socks[i].local_port == local && (peer == 0 || c->socks[i].peer_port == peer))
			return &c->socks[i];
	return NULL;
}

static int collect_nic(const struct ktls_nic *nic, void *userdata)
{
	(*(int *)userdata)++;
	return nic->tls_offload ? -EEXIST : 0;
}

/*
 * Captured with tests/fuzz/capture while openssl s_server (Options = KTLS)
 * served curl on ports 21001 (TLS 1.2 AES-256-GCM, IPv6 socket) and 21002
 * (TLS 1.3 ChaCha20-Poly1305, IPv4), and two ktls-peer processes talked
 * TLS 1.3 AES-128-CCM on port 21003.
 */
static void test_captures(const char *dir)
{
	static unsigned char buf[65536];
	struct collected c = { .n = 0 };
	const struct ktls_sock *s;
	size_t len;
	int n = 0, ret;
	struct ktls_nic nic;

	len = read_capture(dir, "diag/uml61-ipv4-with-done", buf, sizeof(buf));
	ret = diag_parse_buffer(buf, len, collect, &c);
	tap_check(ret == 0 && c.n == 3, "captured IPv4 dump: 3 kTLS sockets (%d), curl's are not", c.n);
	s = by_port(&c, 21002, 0);
	tap_check(s != NULL && s->family == AF_INET && s->version == KTLS_VERSION_TLS13 &&
			  s->cipher == KTLS_CIPHER_CHACHA20_POLY1305 && s->tx == KTLS_SOCK_CONF_SW &&
			  s->rx == KTLS_SOCK_CONF_BASE && s->tcp_state == 1 && s->inode != 0 &&
			  s->bytes_acked > 0,
		  "openssl TLS 1.3: ChaCha20-Poly1305, TX sw, RX base (OpenSSL 3.0 keeps TLS 1.3 RX)");
	s = by_port(&c, 21003, 0);
	tap_check(s != NULL && s->version == KTLS_VERSION_TLS13 && s->cipher == KTLS_CIPHER_AES_128_CCM &&
			  s->tx == KTLS_SOCK_CONF_SW && s->rx == KTLS_SOCK_CONF_SW,
		  "ktls-peer server TLS 1.3 AES-128-CCM, TX sw, RX sw");
	s = s != NULL ? by_port(&c, s->peer_port, 21003) : NULL;
	tap_check(s != NULL && s->cipher == KTLS_CIPHER_AES_128_CCM && s->rx == KTLS_SOCK_CONF_SW,
		  "ktls-peer client, the other end of the same connection");

	c.n = 0;
	len = read_capture(dir, "diag/uml61-ipv6-openssl-tls12", buf, sizeof(buf));
	ret = diag_parse_buffer(buf, len, collect, &c);
	s = c.n == 1 ? &c.socks[0] : NULL;
	tap_check(ret == 0 && s != NULL && s->family == AF_INET6 && s->local_port == 21001 &&
			  s->version == KTLS_VERSION_TLS12 && s->cipher == KTLS_CIPHER_AES_256_GCM &&
			  s->tx == KTLS_SOCK_CONF_SW && s->rx == KTLS_SOCK_CONF_SW,
		  "captured IPv6 dump: openssl TLS 1.2 AES-256-GCM, TX and RX sw");

	len = read_capture(dir, "nic/uml61-dump", buf, sizeof(buf));
	ret = nic_parse_buffer(buf, len, collect_nic, &n);
	tap_check(ret == 0 && n == 3, "captured ethtool dump: lo, veth0, veth1, none with TLS offload");
	len = read_capture(dir, "nic/uml61-veth0", buf, sizeof(buf));
	tap_check(nic_parse_features((const struct nlmsghdr *)buf, &nic) == 0 &&
			  strcmp(nic.name, "veth0") == 0 && !nic.tls_offload,
		  "captured veth0 reply: no TLS offload");
	len = read_capture(dir, "nic/uml61-enodev-extack", buf, sizeof(buf));
	tap_check(nic_parse_buffer(buf, len, NULL, NULL) == -ENODEV,
		  "captured reply for a missing device: -ENODEV");
}

int main(int argc, char **argv)
{
	test_diag_fields();
	test_diag_malformed();
	test_features();
	if (argc > 1)
		test_captures(argv[1]);
	else
		tap_skip("no corpus directory given");
	return tap_done();
}
