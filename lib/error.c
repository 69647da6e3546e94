/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors and logging: every failure gets a negative errno for code and one
 * sentence for people.  The first failure on an object is the one kept,
 * because later ones are usually consequences of it.
 */
#include <errno.h>
#include <stdio.h>

#include "private.h"

static void error_format(char *dst, const char *fmt, va_list ap)
{
	if (dst[0] != '\0')
		return;
	vsnprintf(dst, ERROR_TEXT_MAX, fmt, ap);
}

int error_conn(struct ktls_conn *conn, int err, const char *fmt, ...)
{
	va_list ap;
	bool first = conn->error[0] == '\0';

	va_start(ap, fmt);
	error_format(conn->error, fmt, ap);
	va_end(ap);
	if (first)
		error_log(conn->config, KTLS_LOG_ERROR, "%s", conn->error);
	return err;
}

int error_config(struct ktls_config *config, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_format(config->error, fmt, ap);
	va_end(ap);
	return err;
}

void error_log(const struct ktls_config *config, enum ktls_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (config == NULL || config->log_fn == NULL || level > config->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	config->log_fn(level, line, config->log_userdata);
}

int error_from_gnutls(int gnutls_err)
{
	switch (gnutls_err) {
	case GNUTLS_E_SUCCESS:
		return 0;
	case GNUTLS_E_AGAIN:
		return -EAGAIN;
	case GNUTLS_E_INTERRUPTED:
		return -EINTR;
	case GNUTLS_E_MEMORY_ERROR:
		return -ENOMEM;
	case GNUTLS_E_TIMEDOUT:
		return -ETIMEDOUT;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		return -ECONNRESET;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return -ECONNABORTED;
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_EXPIRED:
	case GNUTLS_E_PK_SIG_VERIFY_FAILED:
		return -EACCES;
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
	case GNUTLS_E_NO_PRIORITIES_WERE_SET:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_UNWANTED_ALGORITHM:
	case GNUTLS_E_NO_APPLICATION_PROTOCOL:
		return -EPROTONOSUPPORT;
	case GNUTLS_E_DECRYPTION_FAILED:
		return -EBADMSG;
	default:
		return -EPROTO;
	}
}
