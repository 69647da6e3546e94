/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The switch: once GnuTLS has finished the handshake (and handed over the
 * records it had already read: handshake_drain()), which direction's key
 * goes to the kernel (the offload policy against what the kernel can do,
 * per direction), and moving it there.  "Nothing can fail after the kernel
 * has accepted a key": every check and allocation happens first, and a
 * socket with the ULP but no key passes bytes through unchanged, so a key
 * the kernel refuses only leaves that direction with GnuTLS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "private.h"

__attribute__((format(printf, 3, 4)))
static void switch_set_reason(struct ktls_dir_info *dir, int err, const char *fmt, ...)
{
	va_list ap;

	dir->kernel = false;
	dir->reason_errno = err < 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(dir->reason, sizeof(dir->reason), fmt, ap);
	va_end(ap);
}

/*
 * The plaintext bound the peer's record size limit puts on our records
 * (RFC 8449 section 4: TLS 1.3's limit counts the inner content type), or 0
 * when it is no smaller than what the kernel sends anyway.
 */
static uint16_t switch_tx_payload_limit(const struct ktls_conn *conn)
{
	size_t limit = conn->hs.peer_record_limit;

	if (limit == 0)
		return 0;
	if (conn->sw.version == KTLS_VERSION_TLS13)
		limit--;
	return limit < RECORD_MAX_PLAINTEXT ? (uint16_t)limit : 0;
}

/* Decide, without touching the socket, whether a direction can go to the kernel. */
static bool switch_plan(struct ktls_conn *conn, enum ktls_dir dir, enum ktls_offload policy,
			const struct ktls_caps *caps)
{
	struct ktls_dir_info *info = dir == KTLS_DIR_TX ? &conn->sw.tx : &conn->sw.rx;
	const char *name = dir == KTLS_DIR_TX ? "TX" : "RX";

	if (policy == KTLS_OFFLOAD_OFF) {
		switch_set_reason(info, 0, "offload policy is off");
		return false;
	}
	if (!caps->ulp_available) {
		switch_set_reason(info, caps->ulp_errno, "%s", caps->summary);
		return false;
	}
	if (conn->sw.version != KTLS_VERSION_TLS12 && conn->sw.version != KTLS_VERSION_TLS13) {
		switch_set_reason(info, EOPNOTSUPP, "%s has no kernel offload",
				  gnutls_protocol_get_name(gnutls_protocol_get_version(conn->session)));
		return false;
	}
	if (conn->sw.cipher == KTLS_CIPHER_NONE) {
		switch_set_reason(info, EOPNOTSUPP, "cipher %s has no kernel TLS equivalent",
				  gnutls_cipher_get_name(gnutls_cipher_get(conn->session)));
		return false;
	}
	/*
	 * The kernel fills records up to 16384 bytes unless told otherwise
	 * (TLS_TX_MAX_PAYLOAD_LEN, Linux 6.19).  A peer that asked for smaller
	 * ones (RFC 8449 record_size_limit or RFC 6066 max_fragment_length)
	 * would reject them: the kernel takes TX with that limit where it can,
	 * and GnuTLS, which honours it, keeps TX elsewhere.
	 */
	if (dir == KTLS_DIR_TX && switch_tx_payload_limit(conn) > 0 && !caps->tx_max_payload_len) {
		switch_set_reason(info, EMSGSIZE,
				  "peer limits records to %zu bytes (record_size_limit); this "
				  "kernel sends records of up to %d (TLS_TX_MAX_PAYLOAD_LEN needs "
				  "Linux 6.19 or later)",
				  conn->hs.peer_record_limit, RECORD_MAX_PLAINTEXT);
		return false;
	}
	/*
	 * A kernel that cannot rekey cannot follow the peer's KeyUpdate; the
	 * config may prefer GnuTLS's RX, which can, to kernel RX (ktls.h).
	 */
	if (dir == KTLS_DIR_RX && conn->sw.version == KTLS_VERSION_TLS13 && !caps->tls13_rekey &&
	    conn->config->keyupdate == KTLS_KEYUPDATE_FOLLOW) {
		switch_set_reason(info, EOPNOTSUPP,
				  "kept in userspace to follow the peer's KeyUpdate "
				  "(KTLS_KEYUPDATE_FOLLOW; this kernel cannot rekey)");
		return false;
	}
	if (!probe_can_offload(caps, conn->sw.version, conn->sw.cipher, dir)) {
		switch_set_reason(info, EOPNOTSUPP, "this kernel cannot offload %s for TLS 1.%d %s",
				  ktls_cipher_name(conn->sw.cipher),
				  conn->sw.version == KTLS_VERSION_TLS13 ? 3 : 2, name);
		return false;
	}
	return true;
}

/* Pass one direction's key to the kernel.  The crypto_info never outlives this call. */
int switch_install(struct ktls_conn *conn, enum ktls_dir dir)
{
	struct ktls_dir_info *info = dir == KTLS_DIR_TX ? &conn->sw.tx : &conn->sw.rx;
	union keys_crypto_info crypto;
	socklen_t len = 0;
	char reason[sizeof(info->reason)];
	int ret;

	/* The first key comes from GnuTLS; after a KeyUpdate, from whoever runs the schedule. */
	if (secrets_ready(conn))
		ret = secrets_next_key(conn, dir, &crypto, &len, reason, sizeof(reason));
	else
		ret = keys_from_session(conn->session, dir, &crypto, &len, reason, sizeof(reason));
	if (ret == 0) {
		ret = kernel_set_key(conn->fd, dir, &crypto, len);
		if (ret < 0)
			snprintf(reason, sizeof(reason), "setsockopt(SOL_TLS, %s): %s",
				 dir == KTLS_DIR_TX ? "TLS_TX" : "TLS_RX", strerror(-ret));
	}
	keys_wipe(&crypto);
	if (ret < 0) {
		switch_set_reason(info, ret, "%s", reason);
		return ret;
	}
	info->kernel = true;
	info->reason_errno = 0;
	info->reason[0] = '\0';
	return 0;
}

static int switch_version(gnutls_session_t session)
{
	switch (gnutls_protocol_get_version(session)) {
	case GNUTLS_TLS1_3:
		return KTLS_VERSION_TLS13;
	case GNUTLS_TLS1_2:
		return KTLS_VERSION_TLS12;
	default:
		return 0;
	}
}

static int switch_move_keys(struct ktls_conn *conn)
{
	const struct ktls_config *config = conn->config;
	const struct ktls_caps *caps = probe_get();
	bool want_tx, want_rx, own_schedule;
	uint16_t limit;
	int ret;

	conn->sw.version = switch_version(conn->session);
	conn->sw.cipher = cipher_from_gnutls(gnutls_cipher_get(conn->session));
	conn->sw.tx_payload_max = switch_tx_payload_limit(conn);

	want_tx = switch_plan(conn, KTLS_DIR_TX, config->offload_tx, caps);
	want_rx = switch_plan(conn, KTLS_DIR_RX, config->offload_rx, caps);
	if (!want_tx && config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", conn->sw.tx.reason);
	if (!want_rx && config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", conn->sw.rx.reason);

	/* A TLS 1.2 session resumes as soon as it is made; a TLS 1.3 one needs a ticket. */
	if (conn->sw.version == KTLS_VERSION_TLS12)
		resume_client_save(conn);
	else
		resume_save_pending(conn);
	if (!want_tx && !want_rx)
		return 0;

	/* With both keys in the kernel, libktls can run the key schedule (secrets.c). */
	own_schedule = want_tx && want_rx && secrets_prepare(conn, conn->sw.version, conn->sw.cipher);

	ret = kernel_attach(conn->fd);
	if (ret < 0) {
		/* The probe said yes, so this socket is special (not TCP, or not established). */
		switch_set_reason(&conn->sw.tx, ret, "setsockopt(TCP_ULP, \"tls\"): %s",
				  strerror(-ret));
		conn->sw.rx = conn->sw.tx;
		if (config->offload_tx == KTLS_OFFLOAD_REQUIRE ||
		    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
			return error_conn(conn, -EOPNOTSUPP, "offload required: %s",
					  conn->sw.tx.reason);
		return 0;
	}

	/*
	 * The record size bound goes in before the TX key, so that its refusal
	 * (TLS 1.3's smallest value, 63, is only accepted after the key) keeps
	 * TX with GnuTLS instead of failing after the kernel took the key.
	 */
	limit = switch_tx_payload_limit(conn);
	if (want_tx && limit > 0) {
		ret = kernel_set_tx_payload_limit(conn->fd, limit);
		if (ret < 0) {
			switch_set_reason(&conn->sw.tx, ret,
					  "peer limits records to %zu bytes (record_size_limit) "
					  "and the kernel refused TLS_TX_MAX_PAYLOAD_LEN %u: %s",
					  conn->hs.peer_record_limit, (unsigned int)limit,
					  strerror(-ret));
			want_tx = false;
			if (config->offload_tx == KTLS_OFFLOAD_REQUIRE)
				return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s",
						  conn->sw.tx.reason);
		}
	}

	/*
	 * From the first accepted key on, GnuTLS's state for that direction is
	 * dead: nothing after this point may fail except a REQUIRE policy
	 * refusal, which ends the connection anyway.
	 */
	if (want_tx && switch_install(conn, KTLS_DIR_TX) < 0 &&
	    config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", conn->sw.tx.reason);
	if (want_rx && switch_install(conn, KTLS_DIR_RX) < 0 &&
	    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", conn->sw.rx.reason);
	if (own_schedule && conn->sw.tx.kernel && conn->sw.rx.kernel)
		secrets_start(conn);

	error_log(config, KTLS_LOG_INFO, "kTLS: TX %s, RX %s",
		  conn->sw.tx.kernel ? "kernel" : conn->sw.tx.reason,
		  conn->sw.rx.kernel ? "kernel" : conn->sw.rx.reason);
	return 0;
}

int switch_keys(struct ktls_conn *conn)
{
	int ret = switch_move_keys(conn);

	/* Secrets the schedule will not use go now. */
	if (!secrets_ready(conn))
		secrets_free(conn);
	return ret;
}
