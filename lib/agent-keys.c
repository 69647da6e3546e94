/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel keyrings (Documentation/security/keys/core.rst), through the
 * keyctl system call itself, so that the library needs no libkeyutils:
 * reading the keys the kernel names by serial, finding a PSK by the
 * identity a client offers, and the NVMe/TCP PSK identity format.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include "agent.h"

#define PSK_KEY_MIN 16

static long keys_keyctl(int cmd, unsigned long a2, unsigned long a3, unsigned long a4,
			unsigned long a5)
{
	long ret = syscall(SYS_keyctl, cmd, a2, a3, a4, a5);

	return ret < 0 ? -errno : ret;
}

int agent_key_read(int32_t serial, unsigned char **ret_data, size_t *ret_len)
{
	unsigned char *buf = NULL;
	size_t size = 0;
	long n;

	/* KEYCTL_READ returns the payload's length, whatever the buffer's. */
	n = keys_keyctl(KEYCTL_READ, (unsigned long)serial, 0, 0, 0);
	for (int tries = 0; n >= 0 && tries < 4; tries++) {
		if (buf != NULL && (size_t)n <= size) {
			*ret_data = buf;
			*ret_len = (size_t)n;
			return 0;
		}
		if (buf != NULL) {
			explicit_bzero(buf, size);
			free(buf);
		}
		size = (size_t)n + 1; /* the key may grow between the calls */
		buf = malloc(size);
		if (buf == NULL)
			return -ENOMEM;
		n = keys_keyctl(KEYCTL_READ, (unsigned long)serial, (unsigned long)buf, size, 0);
	}
	if (buf != NULL) {
		explicit_bzero(buf, size);
		free(buf);
	}
	return n < 0 ? (int)n : -EAGAIN;
}

int agent_key_description(int32_t serial, char *buf, size_t size)
{
	char desc[4096];
	const char *semi;
	long n;

	/* "type;uid;gid;perm;description" */
	n = keys_keyctl(KEYCTL_DESCRIBE, (unsigned long)serial, (unsigned long)desc, sizeof(desc), 0);
	if (n < 0)
		return (int)n;
	if ((size_t)n > sizeof(desc))
		return -ENAMETOOLONG;
	desc[sizeof(desc) - 1] = '\0';
	semi = strrchr(desc, ';');
	if (semi == NULL)
		return -EBADMSG;
	if (strlen(semi + 1) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, semi + 1);
	return 0;
}

int agent_key_link(int32_t keyring, int32_t into)
{
	long ret = keys_keyctl(KEYCTL_LINK, (unsigned long)keyring, (unsigned long)into, 0, 0);

	return ret < 0 ? (int)ret : 0;
}

int32_t agent_keyring_find(const char *proc_keys, const char *name)
{
	const char *line = proc_keys;
	size_t nlen;
	char *end;
	long long num;

	/* A list item keeps the blanks around it (GLib's string lists do too). */
	while (*name == ' ' || *name == '\t')
		name++;
	nlen = strlen(name);
	while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
		nlen--;
	if (nlen == 0)
		return -ENOENT;
	errno = 0;
	num = strtoll(name, &end, 0);
	if (end == name + nlen && errno == 0)
		return num > 0 && num <= INT32_MAX ? (int32_t)num : -ENOENT;
	/* "0c9e6561 I--Q---     2 perm 1f3f0000     0 65534 keyring   _uid.0: empty" */
	while (line != NULL && *line != '\0') {
		const char *next = strchr(line, '\n'), *p = line;
		unsigned long serial;
		char type[32];
		int field = 0;

		serial = strtoul(line, NULL, 16);
		/* to the eighth field (the type), then the description */
		while (p < (next != NULL ? next : p + strlen(p)) && field < 7) {
			while (*p == ' ')
				p++;
			while (*p != ' ' && *p != '\n' && *p != '\0')
				p++;
			field++;
		}
		while (*p == ' ')
			p++;
		if (sscanf(p, "%31s", type) == 1 && strcmp(type, "keyring") == 0) {
			p += strlen(type);
			while (*p == ' ')
				p++;
			if (strncmp(p, name, nlen) == 0 &&
			    (p[nlen] == ':' || p[nlen] == '\n' || p[nlen] == '\0') && serial > 0 &&
			    serial <= INT32_MAX)
				return (int32_t)serial;
		}
		line = next != NULL ? next + 1 : NULL;
	}
	return -ENOENT;
}

static bool keys_nqn(const char *s, size_t len, char *out, size_t size)
{
	if (len == 0 || len >= size || memchr(s, ' ', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isprint((unsigned char)s[i]))
			return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

KTLS_EXPORT int ktls_agent_psk_identity_parse(const char *identity,
					      struct ktls_agent_psk_identity *ret_id)
{
	struct ktls_agent_psk_identity id;
	const char *p, *sp1, *sp2, *sp3;
	size_t dlen;

	if (identity == NULL || ret_id == NULL)
		return -EINVAL;
	memset(&id, 0, sizeof(id));
	/* "NVMe" <version> <R|G> <hash, two digits> ' ' */
	if (strncmp(identity, "NVMe", 4) != 0 || (identity[4] != '0' && identity[4] != '1') ||
	    (identity[5] != 'R' && identity[5] != 'G') || identity[6] != '0' ||
	    (identity[7] != '1' && identity[7] != '2') || identity[8] != ' ')
		return -EINVAL;
	id.version = identity[4] - '0';
	id.generated = identity[5] == 'G';
	id.hash = identity[7] == '1' ? KTLS_AGENT_PSK_HASH_SHA256 : KTLS_AGENT_PSK_HASH_SHA384;
	p = identity + 9;
	sp1 = strchr(p, ' ');
	if (sp1 == NULL || !keys_nqn(p, (size_t)(sp1 - p), id.hostnqn, sizeof(id.hostnqn)))
		return -EINVAL;
	sp2 = strchr(sp1 + 1, ' ');
	if (!keys_nqn(sp1 + 1, sp2 != NULL ? (size_t)(sp2 - sp1 - 1) : strlen(sp1 + 1), id.subnqn,
		      sizeof(id.subnqn)))
		return -EINVAL;
	if (id.version == 0) {
		if (sp2 != NULL)
			return -EINVAL;
	} else {
		/* base64 of a hash-sized value: 44 characters for SHA-256, 64 for SHA-384 */
		if (sp2 == NULL)
			return -EINVAL;
		sp3 = sp2 + 1;
		dlen = strlen(sp3);
		if (dlen != (id.hash == KTLS_AGENT_PSK_HASH_SHA256 ? 44u : 64u))
			return -EINVAL;
		for (size_t i = 0; i < dlen; i++)
			if (!isalnum((unsigned char)sp3[i]) && sp3[i] != '+' && sp3[i] != '/' &&
			    sp3[i] != '=')
				return -EINVAL;
		memcpy(id.digest, sp3, dlen + 1);
	}
	*ret_id = id;
	return 0;
}

KTLS_EXPORT int ktls_agent_psk_lookup(int32_t keyring, const char *identity, void *key, size_t size,
				      size_t *ret_len, int32_t *ret_serial, char *errbuf,
				      size_t errlen)
{
	/* nvme-keyring's own type first; "user" keys serve wherever it is not loaded. */
	static const char *const types[] = { "psk", "user" };
	struct ktls_agent_psk_identity id;
	unsigned char buf[KTLS_AGENT_PSK_MAX + 1];
	size_t want_min = PSK_KEY_MIN, want_max = KTLS_AGENT_PSK_MAX;
	long serial = -ENOKEY, n;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (identity == NULL || key == NULL || ret_len == NULL)
		return error_buf(errbuf, errlen, -EINVAL, "identity, key and ret_len are required");
	if (ktls_agent_psk_identity_parse(identity, &id) == 0)
		want_min = want_max = id.hash == KTLS_AGENT_PSK_HASH_SHA256 ? 32 : 48;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		serial = keys_keyctl(KEYCTL_SEARCH, (unsigned long)keyring, (unsigned long)types[i],
				     (unsigned long)identity, 0);
		if (serial != -ENOKEY)
			break;
	}
	if (serial == -ENOKEY || serial == -EKEYREVOKED || serial == -EKEYEXPIRED || serial == -ENOENT)
		return error_buf(errbuf, errlen, -ENOKEY,
				 "no PSK with identity \"%s\" in keyring %d (%s)", identity, keyring,
				 strerror((int)-serial));
	if (serial < 0)
		return error_buf(errbuf, errlen, (int)serial,
				 "searching keyring %d for PSK \"%s\": %s", keyring, identity,
				 strerror((int)-serial));
	n = keys_keyctl(KEYCTL_READ, (unsigned long)serial, (unsigned long)buf, sizeof(buf), 0);
	if (n < 0) {
		explicit_bzero(buf, sizeof(buf));
		return error_buf(errbuf, errlen, n == -EKEYREVOKED || n == -EKEYEXPIRED ? -ENOKEY
											 : (int)n,
				 "reading PSK %ld (\"%s\"): %s", serial, identity, strerror((int)-n));
	}
	if ((size_t)n < want_min || (size_t)n > want_max) {
		explicit_bzero(buf, sizeof(buf));
		return error_buf(errbuf, errlen, -EKEYREJECTED,
				 "PSK %ld (\"%s\") has %ld bytes; %s %zu to %zu", serial, identity, n,
				 want_min == want_max ? "its hash needs" : "a PSK has", want_min,
				 want_max);
	}
	if ((size_t)n > size) {
		explicit_bzero(buf, sizeof(buf));
		return error_buf(errbuf, errlen, -ENOBUFS, "PSK %ld has %ld bytes, the buffer %zu",
				 serial, n, size);
	}
	memcpy(key, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	*ret_len = (size_t)n;
	if (ret_serial != NULL)
		*ret_serial = (int32_t)serial;
	return 0;
}
