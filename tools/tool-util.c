/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers the subcommands share: JSON strings, logging, kernel counters, certificates. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "tool.h"

void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

size_t tool_escape(const char *in, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';

		if (o + (plain ? 1 : 4) >= size)
			break;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

void tool_log(enum ktls_log_level level, const char *message, void *userdata)
{
	fprintf(stderr, "%s: %s\n", userdata != NULL ? (const char *)userdata : "libktls",
		message);
	(void)level;
}

long long tool_tls_stat(const char *name)
{
	FILE *f = fopen("/proc/net/tls_stat", "r");
	char key[64];
	long long value, found = -1;

	if (f == NULL)
		return -1;
	while (fscanf(f, "%63s %lld", key, &value) == 2)
		if (strcmp(key, name) == 0)
			found = value;
	fclose(f);
	return found;
}

int tool_loopback_pair(int *ret_client, int *ret_server)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, s = -1, err;

	if (l >= 0 && bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0 && listen(l, 1) == 0 &&
	    getsockname(l, (struct sockaddr *)&addr, &len) == 0 &&
	    (c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    connect(c, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	if (l >= 0)
		close(l);
	if (s < 0) {
		if (c >= 0)
			close(c);
		return -err;
	}
	*ret_client = c;
	*ret_server = s;
	return 0;
}

const char *tool_kernel_aead_driver(enum ktls_cipher cipher, char *buf, size_t size)
{
	/* The AEAD names kTLS asks the crypto API for (net/tls/tls_sw.c). */
	static const char *const names[(KTLS_CIPHER_LAST + 1)] = {
		[KTLS_CIPHER_AES_128_GCM] = "gcm(aes)",
		[KTLS_CIPHER_AES_256_GCM] = "gcm(aes)",
		[KTLS_CIPHER_AES_128_CCM] = "ccm(aes)",
		[KTLS_CIPHER_CHACHA20_POLY1305] = "rfc7539(chacha20,poly1305)",
	};
	char line[256], name[200] = "";
	FILE *f;

	snprintf(buf, size, "unknown");
	if (cipher < 0 || cipher >= (KTLS_CIPHER_LAST + 1) || (f = fopen("/proc/crypto", "r")) == NULL)
		return buf;
	while (fgets(line, sizeof(line), f) != NULL) {
		char value[200];

		if (sscanf(line, "name : %127s", value) == 1)
			snprintf(name, sizeof(name), "%s", value);
		else if (sscanf(line, "driver : %199s", value) == 1 &&
			 strcmp(name, names[cipher]) == 0) {
			snprintf(buf, size, "%s", value);
			break;
		}
	}
	fclose(f);
	return buf;
}

static bool tool_ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool tool_crypto_driver_portable(const char *driver)
{
	/* Components are separated by the template syntax: "tmpl(a,b(c))". */
	while (driver != NULL && *driver != '\0') {
		size_t len = strcspn(driver, "(),");

		if (tool_ends_with(driver, len, "-generic") || tool_ends_with(driver, len, "-lib"))
			return true;
		driver += len;
		if (*driver != '\0')
			driver++;
	}
	return false;
}

static int write_datum(const char *dir, const char *name, const gnutls_datum_t *d, mode_t mode)
{
	char path[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	n = write(fd, d->data, d->size);
	close(fd);
	return n == (ssize_t)d->size ? 0 : -EIO;
}

int tool_selfsigned(const char *dir, const char *hostname, enum tool_key_type type,
		    char *ret_fingerprint, size_t size)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	unsigned char serial[16], fp[32];
	size_t fp_size = sizeof(fp);
	time_t now = time(NULL);
	int ret;

	if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	if (type == TOOL_KEY_RSA_2048)
		ret = gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, 2048, 0);
	else
		ret = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
						   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (ret < 0)
		goto gnutls_out;
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f;
	if ((ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(crt, now + 30 * 86400)) < 0 ||
	    (ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, hostname,
						 strlen(hostname))) < 0 ||
	    (ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, hostname,
							strlen(hostname), GNUTLS_FSAN_SET)) < 0 ||
	    (ret = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (ret = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem)) < 0 ||
	    (ret = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem)) < 0 ||
	    (ret = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fp_size)) < 0)
		goto gnutls_out;

	ret = write_datum(dir, "cert.pem", &crt_pem, 0644);
	if (ret == 0)
		ret = write_datum(dir, "key.pem", &key_pem, 0600);
	if (ret == 0 && ret_fingerprint != NULL && size > 0) {
		ret_fingerprint[0] = '\0';
		for (size_t i = 0; i < fp_size && (i + 1) * 3 <= size; i++)
			snprintf(ret_fingerprint + i * 3, size - i * 3, i + 1 < fp_size ? "%02X:" : "%02X",
				 fp[i]);
	}
	goto out;
gnutls_out:
	ret = -EINVAL;
out:
	if (key_pem.data != NULL) {
		explicit_bzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(crt_pem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return ret;
}
