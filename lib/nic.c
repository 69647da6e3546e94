/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NIC TLS offload: the "tls-hw-tx-offload", "tls-hw-rx-offload" and
 * "tls-hw-record" netdev features, read and switched through the ethtool
 * generic-netlink family (Documentation/networking/ethtool-netlink.rst,
 * FEATURES_GET / FEATURES_SET), with libnl.
 *
 * Feature bit numbers differ between kernels, so bitsets are requested in
 * the verbose form, where each bit carries its name (no compact-bitset flag
 * in the request header), and found by name.
 *
 * The reply parser (nic_parse_features, nic_parse_buffer) does no I/O and
 * takes any bytes; tests/fuzz/fuzz-nic.c calls it directly.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/sockios.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "abi.h"
#include "private.h"

static const char *const feature_names[NIC_FEATURE_COUNT] = {
	[KTLS_NIC_TLS_TX] = "tls-hw-tx-offload",
	[KTLS_NIC_TLS_RX] = "tls-hw-rx-offload",
	[KTLS_NIC_TLS_RECORD] = "tls-hw-record",
};

static const struct nla_policy features_policy[ETHTOOL_A_FEATURES_MAX + 1] = {
	[ETHTOOL_A_FEATURES_HEADER] = { .type = NLA_NESTED },
	[ETHTOOL_A_FEATURES_HW] = { .type = NLA_NESTED },
	[ETHTOOL_A_FEATURES_WANTED] = { .type = NLA_NESTED },
	[ETHTOOL_A_FEATURES_ACTIVE] = { .type = NLA_NESTED },
	[ETHTOOL_A_FEATURES_NOCHANGE] = { .type = NLA_NESTED },
};

static const struct nla_policy header_policy[ETHTOOL_A_HEADER_MAX + 1] = {
	[ETHTOOL_A_HEADER_DEV_INDEX] = { .type = NLA_U32 },
	[ETHTOOL_A_HEADER_DEV_NAME] = { .type = NLA_STRING },
	[ETHTOOL_A_HEADER_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy bitset_policy[ETHTOOL_A_BITSET_MAX + 1] = {
	[ETHTOOL_A_BITSET_NOMASK] = { .type = NLA_FLAG },
	[ETHTOOL_A_BITSET_SIZE] = { .type = NLA_U32 },
	[ETHTOOL_A_BITSET_BITS] = { .type = NLA_NESTED },
};

static const struct nla_policy bit_policy[ETHTOOL_A_BITSET_BIT_MAX + 1] = {
	[ETHTOOL_A_BITSET_BIT_INDEX] = { .type = NLA_U32 },
	[ETHTOOL_A_BITSET_BIT_NAME] = { .type = NLA_STRING },
	[ETHTOOL_A_BITSET_BIT_VALUE] = { .type = NLA_FLAG },
};

KTLS_EXPORT const char *ktls_nic_feature_name(enum ktls_nic_feature feature)
{
	return feature >= 0 && feature < NIC_FEATURE_COUNT ? feature_names[feature] : NULL;
}

KTLS_EXPORT int ktls_nic_feature_from_name(const char *name)
{
	if (name != NULL)
		for (int i = 0; i < NIC_FEATURE_COUNT; i++)
			if (strcmp(name, feature_names[i]) == 0)
				return i;
	return -EINVAL;
}

/*
 * Which of our features a verbose bitset has set: with NOMASK every listed
 * bit is set; otherwise a listed bit is set when it carries BIT_VALUE.
 */
static int nic_parse_bitset(struct nlattr *attr, bool ret_set[NIC_FEATURE_COUNT])
{
	struct nlattr *tb[ETHTOOL_A_BITSET_MAX + 1], *bits, *bit;
	bool set[NIC_FEATURE_COUNT] = { false };
	bool nomask;
	int rem;

	if (netlink_parse_nested(tb, ETHTOOL_A_BITSET_MAX, attr, bitset_policy) < 0)
		return -EBADMSG;
	if (tb[ETHTOOL_A_BITSET_BITS] == NULL)
		/* The compact form (VALUE/MASK words without names), which we never ask for. */
		return tb[ETHTOOL_A_BITSET_VALUE] != NULL ? -EBADMSG : 0;
	nomask = tb[ETHTOOL_A_BITSET_NOMASK] != NULL;
	bits = tb[ETHTOOL_A_BITSET_BITS];
	if (!netlink_attrs_exact(nla_data(bits), nla_len(bits)))
		return -EBADMSG;
	nla_for_each_nested(bit, bits, rem) {
		struct nlattr *b[ETHTOOL_A_BITSET_BIT_MAX + 1];
		int f;

		if (nla_type(bit) != ETHTOOL_A_BITSET_BITS_BIT)
			continue;
		if (netlink_parse_nested(b, ETHTOOL_A_BITSET_BIT_MAX, bit, bit_policy) < 0)
			return -EBADMSG;
		if (b[ETHTOOL_A_BITSET_BIT_NAME] == NULL)
			continue; /* a bit the kernel has no name for is none of ours */
		f = ktls_nic_feature_from_name(nla_get_string(b[ETHTOOL_A_BITSET_BIT_NAME]));
		if (f >= 0)
			set[f] = nomask || b[ETHTOOL_A_BITSET_BIT_VALUE] != NULL;
	}
	memcpy(ret_set, set, sizeof(set));
	return 0;
}

int nic_parse_features(const struct nlmsghdr *nlh, struct ktls_nic *ret_nic)
{
	struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1], *hdr[ETHTOOL_A_HEADER_MAX + 1];
	static const int sets[] = { ETHTOOL_A_FEATURES_HW, ETHTOOL_A_FEATURES_WANTED,
				    ETHTOOL_A_FEATURES_ACTIVE, ETHTOOL_A_FEATURES_NOCHANGE };
	bool bits[4][NIC_FEATURE_COUNT];
	struct ktls_nic nic;

	if (netlink_parse_msg(nlh, GENL_HDRLEN, tb, ETHTOOL_A_FEATURES_MAX, features_policy) < 0)
		return -EBADMSG;
	if (tb[ETHTOOL_A_FEATURES_HEADER] == NULL ||
	    netlink_parse_nested(hdr, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_FEATURES_HEADER],
				 header_policy) < 0 ||
	    hdr[ETHTOOL_A_HEADER_DEV_NAME] == NULL)
		return -EBADMSG;
	memset(&nic, 0, sizeof(nic));
	nla_strlcpy(nic.name, hdr[ETHTOOL_A_HEADER_DEV_NAME], sizeof(nic.name));
	if (hdr[ETHTOOL_A_HEADER_DEV_INDEX] != NULL)
		nic.ifindex = (int)nla_get_u32(hdr[ETHTOOL_A_HEADER_DEV_INDEX]);
	for (size_t i = 0; i < 4; i++) {
		memset(bits[i], 0, sizeof(bits[i]));
		if (tb[sets[i]] != NULL && nic_parse_bitset(tb[sets[i]], bits[i]) < 0)
			return -EBADMSG;
	}
	for (int f = 0; f < NIC_FEATURE_COUNT; f++) {
		nic.feature[f].available = bits[0][f];
		nic.feature[f].wanted = bits[1][f];
		nic.feature[f].active = bits[2][f];
		nic.feature[f].fixed = bits[3][f];
		if (bits[0][f] || bits[2][f])
			nic.tls_offload = true;
	}
	*ret_nic = nic;
	return 0;
}

int nic_parse_buffer(const void *buf, size_t len,
		     int (*fn)(const struct ktls_nic *nic, void *userdata), void *userdata)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;

	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		struct ktls_nic nic;
		int ret;

		ret = netlink_msg_kind(nlh);
		if (ret < 0)
			return ret;
		if (ret == NETLINK_MSG_DONE)
			return 0;
		if (ret == NETLINK_MSG_SKIP)
			continue;
		ret = nic_parse_features(nlh, &nic);
		if (ret < 0)
			return ret;
		if (fn != NULL && (ret = fn(&nic, userdata)) < 0)
			return ret;
	}
	return 0;
}

/*
 * Which of our feature names a STRSET_GET reply for ETH_SS_FEATURES lists:
 * the features this kernel has at all (Linux 7.x dropped tls-hw-record).
 * Return: 0 or -EBADMSG.
 */
static int nic_parse_feature_names(const struct nlmsghdr *nlh,
				   bool ret_known[NIC_FEATURE_COUNT])
{
	static const struct nla_policy strset_policy[ETHTOOL_A_STRSET_MAX + 1] = {
		[ETHTOOL_A_STRSET_STRINGSETS] = { .type = NLA_NESTED },
	};
	static const struct nla_policy stringset_policy[ETHTOOL_A_STRINGSET_MAX + 1] = {
		[ETHTOOL_A_STRINGSET_ID] = { .type = NLA_U32 },
		[ETHTOOL_A_STRINGSET_STRINGS] = { .type = NLA_NESTED },
	};
	static const struct nla_policy string_policy[ETHTOOL_A_STRING_MAX + 1] = {
		[ETHTOOL_A_STRING_VALUE] = { .type = NLA_STRING },
	};
	struct nlattr *tb[ETHTOOL_A_STRSET_MAX + 1], *set, *str;
	bool known[NIC_FEATURE_COUNT] = { false };
	int rem, rem2;

	if (netlink_parse_msg(nlh, GENL_HDRLEN, tb, ETHTOOL_A_STRSET_MAX, strset_policy) < 0 ||
	    tb[ETHTOOL_A_STRSET_STRINGSETS] == NULL ||
	    !netlink_attrs_exact(nla_data(tb[ETHTOOL_A_STRSET_STRINGSETS]),
				 nla_len(tb[ETHTOOL_A_STRSET_STRINGSETS])))
		return -EBADMSG;
	nla_for_each_nested(set, tb[ETHTOOL_A_STRSET_STRINGSETS], rem) {
		struct nlattr *s[ETHTOOL_A_STRINGSET_MAX + 1];

		if (nla_type(set) != ETHTOOL_A_STRINGSETS_STRINGSET)
			continue;
		if (netlink_parse_nested(s, ETHTOOL_A_STRINGSET_MAX, set, stringset_policy) < 0)
			return -EBADMSG;
		if (s[ETHTOOL_A_STRINGSET_ID] == NULL ||
		    nla_get_u32(s[ETHTOOL_A_STRINGSET_ID]) != ETH_SS_FEATURES ||
		    s[ETHTOOL_A_STRINGSET_STRINGS] == NULL)
			continue;
		if (!netlink_attrs_exact(nla_data(s[ETHTOOL_A_STRINGSET_STRINGS]),
					 nla_len(s[ETHTOOL_A_STRINGSET_STRINGS])))
			return -EBADMSG;
		nla_for_each_nested(str, s[ETHTOOL_A_STRINGSET_STRINGS], rem2) {
			struct nlattr *v[ETHTOOL_A_STRING_MAX + 1];
			int f;

			if (netlink_parse_nested(v, ETHTOOL_A_STRING_MAX, str, string_policy) < 0)
				return -EBADMSG;
			if (v[ETHTOOL_A_STRING_VALUE] == NULL)
				continue;
			f = ktls_nic_feature_from_name(nla_get_string(v[ETHTOOL_A_STRING_VALUE]));
			if (f >= 0)
				known[f] = true;
		}
	}
	memcpy(ret_known, known, sizeof(known));
	return 0;
}

/* ---- talking to the kernel --------------------------------------------- */

/* The kernel's dev_valid_name(): checked here so that bad input never reaches netlink. */
static bool nic_valid_name(const char *name)
{
	size_t len;

	if (name == NULL || name[0] == '\0')
		return false;
	len = strnlen(name, IFNAMSIZ);
	if (len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r'))
			return false;
	}
	return true;
}

static int nic_check_name(const char *name, char *errbuf, size_t errlen)
{
	char shown[40];

	if (nic_valid_name(name))
		return 0;
	if (name == NULL || name[0] == '\0')
		return error_buf(errbuf, errlen, -EINVAL, "invalid interface name: empty");
	snprintf(shown, sizeof(shown), "%s", name);
	if (strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return error_buf(errbuf, errlen, -EINVAL,
				 "invalid interface name \"%s%s\": longer than %d characters",
				 shown, strlen(name) >= sizeof(shown) ? "..." : "", IFNAMSIZ - 1);
	return error_buf(errbuf, errlen, -EINVAL,
			 "invalid interface name \"%s\": '/', ':', whitespace, \".\" and \"..\" "
			 "are not allowed",
			 shown);
}

/*
 * The driver's name: ethtool netlink in Linux 6.1 has no DRVINFO message, so
 * ask the SIOCETHTOOL ioctl (allowed without privileges), then sysfs.
 */
static void nic_driver(struct ktls_nic *nic)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	char path[128], link[256];
	ssize_t n;
	int fd;

	nic->driver[0] = '\0';
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", nic->name);
	nic->virtual_device = access(path, F_OK) != 0 && errno == ENOENT &&
			      access("/sys/class/net", F_OK) == 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", nic->name);
	ifr.ifr_data = (char *)&info;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && info.driver[0] != '\0') {
			info.driver[sizeof(info.driver) - 1] = '\0';
			snprintf(nic->driver, sizeof(nic->driver), "%s", info.driver);
		}
		close(fd);
	}
	if (nic->driver[0] != '\0')
		return;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", nic->name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		const char *base;
		size_t len;

		link[n] = '\0';
		base = strrchr(link, '/');
		base = base != NULL ? base + 1 : link;
		len = strnlen(base, sizeof(nic->driver) - 1);
		memcpy(nic->driver, base, len);
		nic->driver[len] = '\0';
	}
}

struct nic_ctx {
	struct nl_sock *sk;
	int family;
	/* Replies land here. */
	struct ktls_nic *nics;
	size_t n, cap;
};

static int nic_open(struct nic_ctx *c, char *errbuf, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	ret = netlink_open(NETLINK_GENERIC, &c->sk, errbuf, errlen);
	if (ret < 0)
		return ret;
	c->family = genl_ctrl_resolve(c->sk, ETHTOOL_GENL_NAME);
	if (c->family < 0) {
		ret = netlink_errno(c->family);
		nl_socket_free(c->sk);
		c->sk = NULL;
		if (ret == -ENOENT)
			return error_buf(errbuf, errlen, -EOPNOTSUPP,
					 "this kernel has no ethtool netlink interface "
					 "(CONFIG_ETHTOOL_NETLINK)");
		return error_buf(errbuf, errlen, ret, "cannot resolve the ethtool netlink family: %s",
				 strerror(-ret));
	}
	return 0;
}

static void nic_close(struct nic_ctx *c)
{
	if (c->sk != NULL)
		nl_socket_free(c->sk);
	c->sk = NULL;
	free(c->nics);
	c->nics = NULL;
	c->n = c->cap = 0;
}

static int nic_on_reply(struct nlmsghdr *nlh, void *arg)
{
	struct nic_ctx *c = arg;
	struct ktls_nic nic;

	if (nlh->nlmsg_type != c->family)
		return 0;
	if (nic_parse_features(nlh, &nic) < 0)
		return -EBADMSG;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct ktls_nic *p = reallocarray(c->nics, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		c->nics = p;
		c->cap = cap;
	}
	c->nics[c->n++] = nic;
	return 0;
}

/* FEATURES_GET for @ifname, or for every interface when @ifname is NULL. */
static int nic_get(struct nic_ctx *c, const char *ifname, char *errbuf, size_t errlen)
{
	struct netlink_reply reply;
	struct nlattr *hdr;
	struct nl_msg *msg;
	int ret;

	c->n = 0;
	msg = nlmsg_alloc();
	if (msg == NULL)
		return error_buf(errbuf, errlen, -ENOMEM, "out of memory for an ethtool request");
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
			ifname != NULL ? NLM_F_REQUEST : NLM_F_REQUEST | NLM_F_DUMP,
			ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION) == NULL)
		goto nomem;
	/*
	 * The kernel validates strictly: nests must carry NLA_F_NESTED.  The
	 * flags (0: verbose bitsets, with names) go in every request: Linux 6.1
	 * refuses a dump whose header is absent or empty with -EINVAL.
	 */
	hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED);
	if (hdr == NULL ||
	    (ifname != NULL && nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0) ||
	    nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, 0) < 0)
		goto nomem;
	nla_nest_end(msg, hdr);
	ret = netlink_exchange(c->sk, msg, nic_on_reply, c, &reply);
	nlmsg_free(msg);
	if (ret == -ENODEV && ifname != NULL)
		return error_buf(errbuf, errlen, ret, "no interface %s", ifname);
	if (ret == -EBADMSG && reply.error == 0)
		return error_buf(errbuf, errlen, ret,
				 "ethtool sent a features reply that does not parse");
	if (ret < 0)
		return error_buf(errbuf, errlen, ret, "ethtool features of %s: %s%s%s",
				 ifname != NULL ? ifname : "all interfaces", strerror(-ret),
				 reply.extack[0] ? ": " : "", reply.extack);
	if (ifname != NULL && c->n != 1)
		return error_buf(errbuf, errlen, -EBADMSG,
				 "ethtool sent %zu feature replies for %s instead of one", c->n,
				 ifname);
	for (size_t i = 0; i < c->n; i++)
		nic_driver(&c->nics[i]);
	return 0;
nomem:
	nlmsg_free(msg);
	return error_buf(errbuf, errlen, -ENOMEM, "out of memory for an ethtool request");
}

KTLS_EXPORT int ktls_nic_get_sized(const char *ifname, struct ktls_nic *ret_nic, size_t nic_size,
				   char *errbuf, size_t errlen)
{
	struct nic_ctx c;
	int ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret_nic == NULL || nic_size < ABI_MIN_NIC)
		return error_buf(errbuf, errlen, -EINVAL, "ktls_nic_get: invalid argument");
	ret = nic_check_name(ifname, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = nic_open(&c, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = nic_get(&c, ifname, errbuf, errlen);
	if (ret == 0)
		abi_copy_out(ret_nic, nic_size, &c.nics[0], sizeof(c.nics[0]));
	nic_close(&c);
	return ret;
}

KTLS_EXPORT int ktls_nic_list_sized(size_t nic_size, struct ktls_nic **ret_nics, size_t *ret_count,
				    char *errbuf, size_t errlen)
{
	struct nic_ctx c;
	void *nics;
	int ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (ret_nics == NULL || ret_count == NULL || nic_size < ABI_MIN_NIC)
		return error_buf(errbuf, errlen, -EINVAL, "ktls_nic_list: invalid argument");
	ret = nic_open(&c, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = nic_get(&c, NULL, errbuf, errlen);
	if (ret == 0) {
		ret = abi_array_out(&nics, nic_size, c.nics, sizeof(*c.nics), c.n);
		if (ret < 0) {
			error_buf(errbuf, errlen, ret, "out of memory");
		} else {
			*ret_nics = nics;
			*ret_count = c.n;
		}
	}
	nic_close(&c);
	return ret;
}

KTLS_EXPORT void ktls_nic_list_free(struct ktls_nic *nics)
{
	free(nics);
}

struct nic_names {
	int family;
	bool known[NIC_FEATURE_COUNT];
	bool seen;
};

static int nic_on_names(struct nlmsghdr *nlh, void *arg)
{
	struct nic_names *n = arg;

	if (nlh->nlmsg_type != n->family)
		return 0;
	n->seen = true;
	return nic_parse_feature_names(nlh, n->known);
}

/*
 * A feature the kernel has no name for (FEATURES_SET said "bit name not
 * found"): say so, and which TLS features this kernel does have, from its
 * ETH_SS_FEATURES string set.  Returns -EOPNOTSUPP, or 0 when the kernel
 * does know @feature (the failure was something else).
 */
static int nic_unknown_feature(struct nic_ctx *c, enum ktls_nic_feature feature, char *errbuf,
			       size_t errlen)
{
	struct nic_names names = { .family = c->family };
	struct netlink_reply reply;
	struct nlattr *hdr, *sets, *set;
	struct nl_msg *msg = nlmsg_alloc();
	char list[128] = "";
	int ret = -ENOMEM;

	if (msg != NULL &&
	    genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, NLM_F_REQUEST,
			ETHTOOL_MSG_STRSET_GET, ETHTOOL_GENL_VERSION) != NULL &&
	    (hdr = nla_nest_start(msg, ETHTOOL_A_STRSET_HEADER | NLA_F_NESTED)) != NULL &&
	    nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, 0) == 0) {
		nla_nest_end(msg, hdr);
		if ((sets = nla_nest_start(msg, ETHTOOL_A_STRSET_STRINGSETS | NLA_F_NESTED)) != NULL &&
		    (set = nla_nest_start(msg, ETHTOOL_A_STRINGSETS_STRINGSET | NLA_F_NESTED)) !=
			    NULL &&
		    nla_put_u32(msg, ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES) == 0) {
			nla_nest_end(msg, set);
			nla_nest_end(msg, sets);
			ret = netlink_exchange(c->sk, msg, nic_on_names, &names, &reply);
		}
	}
	nlmsg_free(msg);
	if (ret < 0 || !names.seen || names.known[feature])
		return 0;
	for (int f = 0; f < NIC_FEATURE_COUNT; f++)
		if (names.known[f])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", feature_names[f]);
	return error_buf(errbuf, errlen, -EOPNOTSUPP,
			 "this kernel has no NIC feature %s (the TLS features it knows: %s)",
			 feature_names[feature], list[0] ? list : "none");
}

/* "driver veth of veth0", "lo (a virtual device)" */
static int nic_no_offload(const struct ktls_nic *nic, enum ktls_nic_feature f, bool enable,
			  char *errbuf, size_t errlen)
{
	if (!nic->tls_offload) {
		if (nic->driver[0] != '\0')
			return error_buf(errbuf, errlen, -EOPNOTSUPP,
					 "driver %s of %s has no TLS offload%s", nic->driver,
					 nic->name, nic->virtual_device ? " (virtual device)" : "");
		return error_buf(errbuf, errlen, -EOPNOTSUPP, "%s has no TLS offload%s", nic->name,
				 nic->virtual_device ? " (virtual device)" : " (driver unknown)");
	}
	return error_buf(errbuf, errlen, -EOPNOTSUPP, "driver %s of %s cannot switch %s %s",
			 nic->driver[0] != '\0' ? nic->driver : "(unknown)", nic->name,
			 feature_names[f], enable ? "on" : "off");
}

KTLS_EXPORT int ktls_nic_set(const char *ifname, enum ktls_nic_feature feature, bool enable,
			     char *errbuf, size_t errlen)
{
	struct netlink_reply reply;
	struct nlattr *hdr, *wanted, *bits, *bit;
	struct ktls_nic before;
	struct nl_msg *msg = NULL;
	struct nic_ctx c;
	int ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (feature < 0 || feature >= NIC_FEATURE_COUNT)
		return error_buf(errbuf, errlen, -EINVAL, "unknown NIC TLS feature %d", (int)feature);
	ret = nic_check_name(ifname, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = nic_open(&c, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = nic_get(&c, ifname, errbuf, errlen);
	if (ret < 0)
		goto out;
	before = c.nics[0];

	/*
	 * Ask even when the driver cannot do it: the kernel checks
	 * CAP_NET_ADMIN first (GENL_UNS_ADMIN_PERM), so an unprivileged caller
	 * learns that, and for a bit outside the changeable set the request
	 * changes nothing (ethnl_set_features() masks it with hw_features).
	 * One bit, listed without NOMASK: the list is the mask.
	 */
	msg = nlmsg_alloc();
	if (msg == NULL ||
	    genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c.family, 0, NLM_F_REQUEST,
			ETHTOOL_MSG_FEATURES_SET, ETHTOOL_GENL_VERSION) == NULL ||
	    (hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED)) == NULL ||
	    nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0 ||
	    nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, ETHTOOL_FLAG_OMIT_REPLY) < 0)
		goto nomem;
	nla_nest_end(msg, hdr);
	if ((wanted = nla_nest_start(msg, ETHTOOL_A_FEATURES_WANTED | NLA_F_NESTED)) == NULL ||
	    (bits = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS | NLA_F_NESTED)) == NULL ||
	    (bit = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS_BIT | NLA_F_NESTED)) == NULL ||
	    nla_put_string(msg, ETHTOOL_A_BITSET_BIT_NAME, feature_names[feature]) < 0 ||
	    (enable && nla_put_flag(msg, ETHTOOL_A_BITSET_BIT_VALUE) < 0))
		goto nomem;
	nla_nest_end(msg, bit);
	nla_nest_end(msg, bits);
	nla_nest_end(msg, wanted);

	ret = netlink_exchange(c.sk, msg, NULL, NULL, &reply);
	if (ret == -EPERM || ret == -EACCES) {
		ret = error_buf(errbuf, errlen, -EPERM,
				"not permitted: changing NIC features needs CAP_NET_ADMIN");
		goto out;
	}
	if (ret == -ENODEV) {
		ret = error_buf(errbuf, errlen, ret, "no interface %s", ifname);
		goto out;
	}
	if ((ret == -EOPNOTSUPP || ret == -EINVAL) &&
	    nic_unknown_feature(&c, feature, errbuf, errlen) < 0) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (ret < 0) {
		ret = error_buf(errbuf, errlen, ret, "cannot switch %s %s on %s: %s%s%s",
				feature_names[feature], enable ? "on" : "off", ifname,
				strerror(-ret), reply.extack[0] ? ": " : "", reply.extack);
		goto out;
	}
	if (!before.feature[feature].available && before.feature[feature].active != enable) {
		ret = nic_no_offload(&before, feature, enable, errbuf, errlen);
		goto out;
	}
	ret = nic_get(&c, ifname, errbuf, errlen);
	if (ret < 0)
		goto out;
	if (c.nics[0].feature[feature].active != enable)
		ret = error_buf(errbuf, errlen, -EIO,
				"driver %s of %s accepted %s %s but left it %s (it may depend on "
				"another feature that is off)",
				before.driver[0] != '\0' ? before.driver : "(unknown)", ifname,
				feature_names[feature], enable ? "on" : "off",
				enable ? "off" : "on");
	goto out;
nomem:
	ret = error_buf(errbuf, errlen, -ENOMEM, "out of memory for an ethtool request");
out:
	nlmsg_free(msg);
	nic_close(&c);
	return ret;
}
