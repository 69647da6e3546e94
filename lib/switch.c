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

/* @info's direction is the kernel's now. */
static void switch_kernel_took(struct ktls_dir_info *info)
{
	info->kernel = true;
	info->reason_errno = 0;
	info->reason[0] = '\0';
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
	switch_kernel_took(info);
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

int switch_plan_keys(struct ktls_conn *conn)
{
	struct conn_switch *sw = &conn->sw;
	const struct ktls_config *config = conn->config;
	const struct ktls_caps *caps = probe_get();

	if (sw->planned)
		return 0;
	sw->planned = true;
	sw->version = switch_version(conn->session);
	sw->cipher = cipher_from_gnutls(gnutls_cipher_get(conn->session));
	sw->tx_payload_max = switch_tx_payload_limit(conn);

	sw->want_tx = switch_plan(conn, KTLS_DIR_TX, config->offload_tx, caps);
	sw->want_rx = switch_plan(conn, KTLS_DIR_RX, config->offload_rx, caps);
	if (!sw->want_tx && config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", sw->tx.reason);
	if (!sw->want_rx && config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", sw->rx.reason);

	/* A TLS 1.2 session resumes as soon as it is made; a TLS 1.3 one needs a ticket. */
	if (sw->version == KTLS_VERSION_TLS12)
		resume_client_save(conn);
	else
		resume_save_pending(conn);

	/* With both keys in the kernel, libktls can run the key schedule (secrets.c). */
	sw->own_schedule = sw->want_tx && sw->want_rx &&
			   secrets_prepare(conn, sw->version, sw->cipher);
	return 0;
}

bool switch_engine_may_move(const struct ktls_conn *conn)
{
	const struct conn_switch *sw = &conn->sw;

	return sw->planned && sw->want_tx && sw->want_rx && switch_tx_payload_limit(conn) == 0 &&
	       !sw->attached && !sw->moved_unknown;
}

void switch_engine_moved(struct ktls_conn *conn, bool rx, bool tx, int tx_err)
{
	struct conn_switch *sw = &conn->sw;

	sw->attached = true;
	if (rx) {
		switch_kernel_took(&sw->rx);
		sw->rx_done = true;
	}
	if (!tx)
		return;
	sw->tx_done = true;
	if (tx_err == 0)
		switch_kernel_took(&sw->tx);
	else
		switch_set_reason(&sw->tx, tx_err, "setsockopt(SOL_TLS, TLS_TX): %s",
				  strerror(-tx_err));
}

/*
 * The ULP, where the engine's chain broke at a point it cannot name: on
 * (EEXIST) only if the chain put it there, and then the RX key may be on
 * too, which the kernel says (the RX parameters are readable once set).
 */
static int switch_attach(struct ktls_conn *conn)
{
	struct conn_switch *sw = &conn->sw;
	int ret;

	if (sw->attached)
		return 0;
	ret = kernel_attach(conn->fd);
	if (ret == -EEXIST && sw->moved_unknown) {
		ret = 0;
		if (sw->want_rx && kernel_rx_installed(conn->fd, sw->cipher)) {
			switch_kernel_took(&sw->rx);
			sw->rx_done = true;
		}
	}
	if (ret == 0)
		sw->attached = true;
	return ret;
}

static int switch_move_keys(struct ktls_conn *conn)
{
	struct conn_switch *sw = &conn->sw;
	const struct ktls_config *config = conn->config;
	bool want_tx = sw->want_tx && !sw->tx_done, want_rx;
	uint16_t limit;
	int ret;

	if (!sw->want_tx && !sw->want_rx)
		return 0;

	ret = switch_attach(conn);
	if (ret < 0) {
		/* The probe said yes, so this socket is special (not TCP, or not established). */
		switch_set_reason(&sw->tx, ret, "setsockopt(TCP_ULP, \"tls\"): %s",
				  strerror(-ret));
		sw->rx = sw->tx;
		if (config->offload_tx == KTLS_OFFLOAD_REQUIRE ||
		    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
			return error_conn(conn, -EOPNOTSUPP, "offload required: %s", sw->tx.reason);
		return 0;
	}
	/* Attaching may have found the RX key on already (switch_attach). */
	want_rx = sw->want_rx && !sw->rx_done;

	/*
	 * The record size bound goes in before the TX key, so that its refusal
	 * (TLS 1.3's smallest value, 63, is only accepted after the key) keeps
	 * TX with GnuTLS instead of failing after the kernel took the key.
	 */
	limit = switch_tx_payload_limit(conn);
	if (want_tx && limit > 0) {
		ret = kernel_set_tx_payload_limit(conn->fd, limit);
		if (ret < 0) {
			switch_set_reason(&sw->tx, ret,
					  "peer limits records to %zu bytes (record_size_limit) "
					  "and the kernel refused TLS_TX_MAX_PAYLOAD_LEN %u: %s",
					  conn->hs.peer_record_limit, (unsigned int)limit,
					  strerror(-ret));
			want_tx = false;
			if (config->offload_tx == KTLS_OFFLOAD_REQUIRE)
				return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s",
						  sw->tx.reason);
		}
	}

	/*
	 * From the first accepted key on, GnuTLS's state for that direction is
	 * dead: nothing after this point may fail except a REQUIRE policy
	 * refusal, which ends the connection anyway.
	 */
	if (want_tx)
		switch_install(conn, KTLS_DIR_TX);
	if (sw->want_tx && !sw->tx.kernel && config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", sw->tx.reason);
	if (want_rx && switch_install(conn, KTLS_DIR_RX) < 0 &&
	    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", sw->rx.reason);
	if (sw->own_schedule && sw->tx.kernel && sw->rx.kernel)
		secrets_start(conn);

	error_log(config, KTLS_LOG_INFO, "kTLS: TX %s, RX %s",
		  sw->tx.kernel ? "kernel" : sw->tx.reason,
		  sw->rx.kernel ? "kernel" : sw->rx.reason);
	return 0;
}

int switch_keys(struct ktls_conn *conn)
{
	int ret = switch_plan_keys(conn);

	if (ret == 0)
		ret = switch_move_keys(conn);
	/* Secrets the schedule will not use go now. */
	if (!secrets_ready(conn))
		secrets_free(conn);
	return ret;
}
