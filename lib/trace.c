/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handshake trace (ktls_config_set_handshake_trace): every handshake
 * message, sent or received, during the handshake and after it.
 */
#include "private.h"

KTLS_EXPORT const char *ktls_handshake_type_name(unsigned int type)
{
	/* RFC 8446 section 4, RFC 5246 section 7.4, RFC 6066 section 8 */
	static const char *const names[] = {
		[0] = "HelloRequest",	      [1] = "ClientHello",
		[2] = "ServerHello",	      [3] = "HelloVerifyRequest",
		[4] = "NewSessionTicket",     [5] = "EndOfEarlyData",
		[8] = "EncryptedExtensions",  [11] = "Certificate",
		[12] = "ServerKeyExchange",   [13] = "CertificateRequest",
		[14] = "ServerHelloDone",     [15] = "CertificateVerify",
		[16] = "ClientKeyExchange",   [20] = "Finished",
		[22] = "CertificateStatus",   [23] = "SupplementalData",
		[24] = "KeyUpdate",	      [25] = "CompressedCertificate",
	};

	if (type == KTLS_HANDSHAKE_CHANGE_CIPHER_SPEC)
		return "ChangeCipherSpec";
	if (type == KTLS_HANDSHAKE_HELLO_RETRY_REQUEST)
		return "HelloRetryRequest";
	if (type < sizeof(names) / sizeof(names[0]) && names[type] != NULL)
		return names[type];
	return "unknown";
}

void trace_message(struct ktls_conn *conn, bool incoming, unsigned int type, size_t len)
{
	const struct ktls_config *config = conn->config;

	if (config->trace_fn != NULL)
		config->trace_fn(conn, !incoming, type, len, config->trace_userdata);
}
