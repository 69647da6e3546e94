/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct ktls_agent: the kernel's TLS handshake agent.
 *
 * The protocol, from the kernel's side (net/handshake/netlink.c, tlshd.c,
 * request.c):
 *  - a kernel TLS user queues a request on its socket; the family sends
 *    READY to the "tlshd" group (or fails the request with ESRCH when no
 *    one listens; at most a few requests wait unaccepted, per namespace);
 *  - ACCEPT (CAP_NET_ADMIN) takes the oldest waiting request: the kernel
 *    installs the socket as a new descriptor in the accepting process
 *    (O_CLOEXEC) and replies with it and the request's parameters;
 *  - the agent runs the handshake on that descriptor and installs the
 *    keys on the socket (TCP_ULP "tls", TLS_TX, TLS_RX);
 *  - DONE with the same descriptor number completes the request: the
 *    kernel looks the socket up by that descriptor, so it must still be
 *    open; the agent closes it afterwards, and the socket is the kernel's
 *    again.  Without DONE the kernel user waits for its own timeout (and
 *    cancels; a DONE after that is accepted and ignored).
 * One READY may stand for several requests and notifications can be
 * dropped (the socket overruns), so every wake-up ACCEPTs until the kernel
 * answers EAGAIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <linux/genetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "agent.h"

/* When the kernel gives no timeout: GnuTLS's default, which tlshd applies too. */
#define AGENT_DEFAULT_TIMEOUT_MS 40000
/* The multicast poll's user_data: its top byte is not KTLS_RING_USER_DATA_TAG. */
#define AGENT_POLL_TAG ((uint64_t)0x61 << 56 | 1)

struct ktls_agent {
	struct agent_base base;
	struct ktls_ring *ring;
	struct io_uring uring; /* with an engine of our own */
	bool own_ring;
	bool poll_armed;
	ktls_agent_done_fn done_fn;
	void *done_userdata;
	struct nl_sock *notify_sk; /* the "tlshd" group */
	struct nl_sock *req_sk;    /* ACCEPT and DONE */
	int family;
	int mcgrp;
	bool started, stopped;
	unsigned int default_timeout_ms;
	struct agent_hs *handshakes;
	struct ktls_agent_stats stats;
};

static uint64_t agent_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

KTLS_EXPORT const char *ktls_agent_auth_name(enum ktls_agent_auth auth)
{
	switch (auth) {
	case KTLS_AGENT_AUTH_UNAUTH:
		return "unauth";
	case KTLS_AGENT_AUTH_PSK:
		return "psk";
	case KTLS_AGENT_AUTH_X509:
		return "x509";
	default:
		return "unspec";
	}
}

static const char *agent_errno_name(int err)
{
	const char *name = err == 0 ? "ok" : strerrorname_np(err);

	return name != NULL ? name : "unknown errno";
}

KTLS_EXPORT int ktls_agent_probe(char *errbuf, size_t errlen)
{
	struct nl_sock *sk = NULL;
	int ret;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	ret = netlink_open(NETLINK_GENERIC, &sk, errbuf, errlen);
	if (ret < 0)
		return ret;
	if (genl_ctrl_resolve(sk, HANDSHAKE_FAMILY_NAME) < 0)
		ret = error_buf(errbuf, errlen, -EPROTONOSUPPORT,
				"this kernel has no \"%s\" generic netlink family (Linux 6.5 and "
				"later with CONFIG_NET_HANDSHAKE)", HANDSHAKE_FAMILY_NAME);
	else if (genl_ctrl_resolve_grp(sk, HANDSHAKE_FAMILY_NAME, HANDSHAKE_MCGRP_TLSHD) < 0)
		ret = error_buf(errbuf, errlen, -ENOENT,
				"the \"%s\" family has no \"%s\" multicast group", HANDSHAKE_FAMILY_NAME,
				HANDSHAKE_MCGRP_TLSHD);
	nl_socket_free(sk);
	return ret;
}

KTLS_EXPORT int ktls_agent_new(struct ktls_ring *ring, struct ktls_agent **ret_agent)
{
	struct ktls_agent *agent;
	int ret;

	if (ret_agent == NULL)
		return -EINVAL;
	agent = calloc(1, sizeof(*agent));
	if (agent == NULL)
		return -ENOMEM;
	agent->base.log_level = KTLS_LOG_INFO;
	agent->family = -1;
	agent->default_timeout_ms = AGENT_DEFAULT_TIMEOUT_MS;
	if (ring != NULL) {
		agent->ring = ring;
	} else {
		ret = io_uring_queue_init(256, &agent->uring, 0);
		if (ret < 0) {
			free(agent);
			return ret;
		}
		ret = ktls_ring_new(&agent->uring, 0, &agent->ring);
		if (ret < 0) {
			io_uring_queue_exit(&agent->uring);
			free(agent);
			return ret;
		}
		agent->own_ring = true;
	}
	*ret_agent = agent;
	return 0;
}

KTLS_EXPORT const char *ktls_agent_error(const struct ktls_agent *agent)
{
	return agent != NULL ? agent->base.error : "invalid argument: agent is NULL";
}

KTLS_EXPORT int ktls_agent_set_log(struct ktls_agent *agent, ktls_log_fn fn,
				   enum ktls_log_level max_level, void *userdata)
{
	if (agent == NULL)
		return -EINVAL;
	agent->base.log_fn = fn;
	agent->base.log_level = max_level;
	agent->base.log_userdata = userdata;
	return 0;
}

KTLS_EXPORT int ktls_agent_set_default_timeout(struct ktls_agent *agent, unsigned int ms)
{
	if (agent == NULL || ms == 0 || ms > 3600000)
		return -EINVAL;
	agent->default_timeout_ms = ms;
	return 0;
}

KTLS_EXPORT int ktls_agent_set_done_callback(struct ktls_agent *agent, ktls_agent_done_fn fn,
					     void *userdata)
{
	if (agent == NULL)
		return -EINVAL;
	agent->done_fn = fn;
	agent->done_userdata = userdata;
	return 0;
}

KTLS_EXPORT int ktls_agent_load_conf(struct ktls_agent *agent, const char *path)
{
	char err[ERROR_TEXT_MAX] = "";
	struct agent_conf conf;
	int ret;

	if (agent == NULL)
		return -EINVAL;
	if (agent->started)
		return agent_fail(&agent->base, -EBUSY, "the configuration is read before the start");
	/* tlshd 1.x: /etc/tlshd/config, and the older /etc/tlshd.conf where that is absent. */
	if (path == NULL)
		path = access("/etc/tlshd/config", F_OK) == 0 ? "/etc/tlshd/config"
							      : "/etc/tlshd.conf";
	ret = agent_conf_load(path, &conf, err, sizeof(err));
	if (ret < 0)
		return agent_fail(&agent->base, ret, "%s", err);
	agent_conf_free(&agent->base.conf);
	agent->base.conf = conf;
	agent->base.conf_loaded = true;
	/* tlshd's [debug] loglevel turns on its debug messages; here, ours. */
	if (conf.debug > 0 && agent->base.log_level < KTLS_LOG_DEBUG)
		agent->base.log_level = KTLS_LOG_DEBUG;
	agent_log(&agent->base, KTLS_LOG_INFO, "configuration %s", path);
	return 0;
}

KTLS_EXPORT int ktls_agent_fd(const struct ktls_agent *agent)
{
	if (agent == NULL || agent->notify_sk == NULL)
		return -EINVAL;
	return nl_socket_get_fd(agent->notify_sk);
}

KTLS_EXPORT int ktls_agent_get_stats(const struct ktls_agent *agent,
				     struct ktls_agent_stats *ret_stats)
{
	if (agent == NULL || ret_stats == NULL)
		return -EINVAL;
	*ret_stats = agent->stats;
	return 0;
}

/* ---- DONE -------------------------------------------------------------------- */

static int agent_send_done(struct ktls_agent *agent, struct agent_hs *hs)
{
	struct netlink_reply reply;
	struct nl_msg *msg = nlmsg_alloc();
	int ret = -ENOMEM;

	if (msg == NULL)
		return -ENOMEM;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, agent->family, 0, 0, HANDSHAKE_CMD_DONE,
			HANDSHAKE_FAMILY_VERSION) == NULL)
		goto out;
	ret = agent_msg_put_done(msg, (uint32_t)hs->result.status, hs->req.fd,
				 hs->result.remote_auth, hs->result.n_remote_auth);
	if (ret < 0)
		goto out;
	ret = netlink_exchange(agent->req_sk, msg, NULL, NULL, &reply);
	if (ret < 0)
		snprintf(hs->result.error + strlen(hs->result.error),
			 sizeof(hs->result.error) - strlen(hs->result.error),
			 "%sthe kernel refused DONE: %s%s%s", hs->result.error[0] ? "; " : "",
			 strerror(-ret), reply.extack[0] ? ": " : "", reply.extack);
out:
	nlmsg_free(msg);
	return ret;
}

static void agent_log_result(struct ktls_agent *agent, const struct ktls_agent_result *r)
{
	char name[AGENT_PEERNAME_MAX + 3] = "";

	if (r->peer_name[0] != '\0')
		snprintf(name, sizeof(name), " (%s)", r->peer_name);
	if (r->status == 0)
		agent_log(&agent->base, KTLS_LOG_INFO, "%s %s%s %s: %s %s, ok, %.1f ms%s%s",
			  r->role == KTLS_ROLE_CLIENT ? "client" : "server", r->peer, name,
			  ktls_agent_auth_name(r->auth), r->version, r->cipher, r->ms,
			  r->identity[0] ? ", peer " : "", r->identity);
	else
		agent_log(&agent->base, KTLS_LOG_INFO, "%s %s%s %s: failed, %s (%s), %.1f ms",
			  r->role == KTLS_ROLE_CLIENT ? "client" : "server", r->peer, name,
			  ktls_agent_auth_name(r->auth), agent_errno_name(r->status), r->error, r->ms);
}

/*
 * The end of every handshake: the connection goes, the socket gets its
 * file flags back, DONE tells the kernel, and our descriptor is closed.
 */
static void agent_hs_finish(struct agent_hs *hs, int status)
{
	struct ktls_agent *agent = hs->agent;

	agent_creds_unhook(hs);
	/* Not KTLS_CONN_OWN_FD: nothing is read or sent on the socket now. */
	ktls_conn_free(hs->conn);
	hs->conn = NULL;
	hs->result.status = status;
	if (status != 0)
		hs->result.n_remote_auth = 0;
	if (hs->req.fd >= 0) {
		(void)fcntl(hs->req.fd, F_SETFL, hs->fd_flags);
		if (agent_send_done(agent, hs) < 0)
			agent->stats.done_errors++;
		close(hs->req.fd);
	}
	hs->result.ms = (double)(agent_now_ns() - hs->start_ns) / 1e6;
	if (status == 0)
		agent->stats.succeeded++;
	else
		agent->stats.failed++;
	agent->stats.in_flight--;
	if (hs->prev != NULL)
		hs->prev->next = hs->next;
	else
		agent->handshakes = hs->next;
	if (hs->next != NULL)
		hs->next->prev = hs->prev;
	agent_log_result(agent, &hs->result);
	if (agent->done_fn != NULL)
		agent->done_fn(&hs->result, agent->done_userdata);
	free(hs);
}

static void agent_hs_fail(struct agent_hs *hs, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void agent_hs_fail(struct agent_hs *hs, int status, const char *fmt, ...)
{
	va_list ap;

	if (hs->result.error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(hs->result.error, sizeof(hs->result.error), fmt, ap);
		va_end(ap);
	}
	agent_hs_finish(hs, status);
}

/*
 * The status DONE carries for a failed handshake: what the kernel's users
 * tell apart (EACCES authentication, ETIMEDOUT, EKEYREJECTED an unknown
 * PSK identity), else the errno libktls gave.
 */
static int agent_status(const struct agent_hs *hs, int err)
{
	if (hs->psk_unknown)
		return EKEYREJECTED;
	switch (-err) {
	case ECONNABORTED:
		/* The peer's fatal alert: it refused us. */
		if (hs->conn != NULL && gnutls_alert_get(hs->conn->session) ==
						GNUTLS_A_UNKNOWN_PSK_IDENTITY)
			return EKEYREJECTED;
		return EACCES;
	case ECANCELED:
		return EIO;
	default:
		return err < 0 && -err < 4096 ? -err : EIO;
	}
}

static void agent_hs_done(struct ktls_conn *conn, ssize_t result, const void *data,
			  void *userdata)
{
	struct agent_hs *hs = userdata;
	struct ktls_info info;

	(void)data;
	if (result < 0) {
		snprintf(hs->result.error, sizeof(hs->result.error), "%s", ktls_conn_error(conn));
		agent_hs_finish(hs, agent_status(hs, (int)result));
		return;
	}
	if (ktls_conn_get_info(conn, &info) == 0) {
		snprintf(hs->result.version, sizeof(hs->result.version), "%s", info.version_name);
		snprintf(hs->result.cipher, sizeof(hs->result.cipher), "%s", info.cipher_name);
		if (hs->result.identity[0] == '\0')
			snprintf(hs->result.identity, sizeof(hs->result.identity), "%s",
				 info.peer_identity);
		if (hs->psk_serial != 0)
			hs->result.remote_auth[hs->result.n_remote_auth++] = (uint32_t)hs->psk_serial;
		else if (info.peer_auth == KTLS_PEER_CERTIFICATE)
			hs->result.remote_auth[hs->result.n_remote_auth++] = KTLS_AGENT_PEERID_X509;
	}
	agent_hs_finish(hs, 0);
}

/* "192.0.2.1:2049", "[2001:db8::1]:2049" */
static void agent_peer_text(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(out, size, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

/* The name a client checks the server's certificate against. */
static void agent_server_name(const struct agent_hs *hs, char *out, size_t size)
{
	const char *peer = hs->result.peer, *end;

	if (hs->req.peername[0] != '\0') {
		snprintf(out, size, "%s", hs->req.peername);
		return;
	}
	/* No name from the kernel: the address (its IP subjectAltName), not reverse DNS. */
	if (peer[0] == '[') {
		end = strchr(peer, ']');
		snprintf(out, size, "%.*s", end != NULL ? (int)(end - peer - 1) : 0, peer + 1);
	} else {
		end = strrchr(peer, ':');
		snprintf(out, size, "%.*s", end != NULL ? (int)(end - peer) : (int)strlen(peer), peer);
	}
}

/*
 * A request no handshake will run for: DONE with @status all the same (or
 * the kernel's user waits for its timeout), then the socket is closed.
 */
static void agent_answer_failed(struct ktls_agent *agent, const struct agent_request *req,
				int status)
{
	struct agent_hs answer = { .agent = agent, .base = &agent->base, .req = *req };

	answer.result.status = status;
	agent_send_done(agent, &answer);
	close(req->fd);
	agent->stats.failed++;
}

static void agent_hs_start(struct ktls_agent *agent, const struct agent_request *req)
{
	struct agent_hs *hs = calloc(1, sizeof(*hs));
	struct ktls_config *cfg = NULL;
	char why[ERROR_TEXT_MAX] = "", name[AGENT_PEERNAME_MAX];
	int proto = 0, status = EIO, ret;
	socklen_t plen = sizeof(proto);

	agent->stats.accepted++;
	if (hs == NULL) {
		agent_log(&agent->base, KTLS_LOG_ERROR, "out of memory for a handshake on fd %d",
			  req->fd);
		agent_answer_failed(agent, req, ENOMEM);
		return;
	}
	hs->agent = agent;
	hs->base = &agent->base;
	hs->req = *req;
	hs->start_ns = agent_now_ns();
	hs->fd_flags = fcntl(req->fd, F_GETFL);
	if (hs->fd_flags < 0)
		hs->fd_flags = O_RDWR;
	hs->result.role = req->msg_type == HANDSHAKE_MSG_TYPE_SERVERHELLO ? KTLS_ROLE_SERVER
									: KTLS_ROLE_CLIENT;
	hs->result.auth = req->auth_mode <= HANDSHAKE_AUTH_X509 ? (enum ktls_agent_auth)req->auth_mode
								: KTLS_AGENT_AUTH_UNSPEC;
	hs->result.timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : agent->default_timeout_ms;
	snprintf(hs->result.peer_name, sizeof(hs->result.peer_name), "%s", req->peername);
	agent_peer_text(req->fd, hs->result.peer, sizeof(hs->result.peer));
	hs->next = agent->handshakes;
	if (hs->next != NULL)
		hs->next->prev = hs;
	agent->handshakes = hs;
	agent->stats.in_flight++;
	agent_log(&agent->base, KTLS_LOG_DEBUG,
		  "accepted fd %d: %s, %s, peer %s, name \"%s\", timeout %u ms, %u peer id(s), "
		  "cert %d, key %d, keyring %d", req->fd,
		  req->msg_type == HANDSHAKE_MSG_TYPE_CLIENTHELLO   ? "ClientHello"
		  : req->msg_type == HANDSHAKE_MSG_TYPE_SERVERHELLO ? "ServerHello"
								    : "unknown message type",
		  ktls_agent_auth_name(hs->result.auth), hs->result.peer, req->peername,
		  req->timeout_ms, req->n_peerids, req->cert, req->privkey, req->keyring);

	if (req->msg_type != HANDSHAKE_MSG_TYPE_CLIENTHELLO &&
	    req->msg_type != HANDSHAKE_MSG_TYPE_SERVERHELLO) {
		agent_hs_fail(hs, EINVAL, "unknown handshake message type %u", req->msg_type);
		return;
	}
	if (getsockopt(req->fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0 ||
	    proto != IPPROTO_TCP) {
		agent_hs_fail(hs, EOPNOTSUPP, "a socket of protocol %d: only TCP is served", proto);
		return;
	}
	ret = agent_creds_get(hs, &cfg, &status, why, sizeof(why));
	if (ret < 0) {
		agent_hs_fail(hs, status, "%s", why);
		return;
	}
	ret = ktls_conn_new(cfg, req->fd, 0, &hs->conn);
	if (ret < 0) {
		agent_hs_fail(hs, -ret, "%s", ktls_config_error(cfg));
		ktls_config_unref(cfg);
		return;
	}
	ktls_config_unref(cfg); /* the connection holds its own reference */
	if (hs->result.role == KTLS_ROLE_CLIENT && req->auth_mode != HANDSHAKE_AUTH_PSK) {
		agent_server_name(hs, name, sizeof(name));
		ret = ktls_conn_set_server_name(hs->conn, name);
		if (ret < 0) {
			agent_hs_fail(hs, EINVAL, "%s", ktls_conn_error(hs->conn));
			return;
		}
	}
	if (hs->result.role == KTLS_ROLE_SERVER && req->auth_mode == HANDSHAKE_AUTH_PSK &&
	    agent_creds_hook(hs) < 0) {
		agent_hs_fail(hs, ENOMEM, "cannot set the PSK lookup");
		return;
	}
	ret = ktls_conn_ring_attach(hs->conn, agent->ring);
	if (ret == 0)
		ret = ring_conn_exact_records(hs->conn);
	if (ret == 0)
		ret = ktls_conn_ring_handshake(hs->conn, hs->result.timeout_ms, agent_hs_done, hs);
	if (ret < 0)
		agent_hs_fail(hs, EIO, "cannot start the handshake: %s", ktls_conn_error(hs->conn));
}

/* ---- ACCEPT --------------------------------------------------------------------- */

struct agent_accept {
	struct agent_request req;
	int parse_err;
	bool got;
};

static int agent_on_accept(struct nlmsghdr *nlh, void *arg)
{
	struct agent_accept *a = arg;
	struct agent_request req;
	int ret;

	if (a->got)
		return 0;
	ret = agent_msg_parse_accept(nlh, &req);
	if (ret == -ENOMSG)
		return 0;
	a->got = true;
	a->parse_err = ret;
	a->req = req;
	return 0;
}

/* One ACCEPT.  Return: 1 when a handshake started, -EAGAIN when none waits, or an errno. */
static int agent_accept_one(struct ktls_agent *agent)
{
	struct agent_accept a = { .parse_err = 0 };
	struct netlink_reply reply;
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	if (msg == NULL)
		return -ENOMEM;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, agent->family, 0, 0, HANDSHAKE_CMD_ACCEPT,
			HANDSHAKE_FAMILY_VERSION) == NULL ||
	    nla_put_u32(msg, HANDSHAKE_A_ACCEPT_HANDLER_CLASS, HANDSHAKE_HANDLER_CLASS_TLSHD) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = netlink_exchange(agent->req_sk, msg, agent_on_accept, &a, &reply);
	nlmsg_free(msg);
	if (a.got && a.req.fd >= 0 && a.parse_err == 0) {
		agent_hs_start(agent, &a.req);
		return 1;
	}
	if (a.got && a.req.fd >= 0) {
		/* A reply we cannot read still gave us the socket: answer, then close it. */
		agent->stats.accepted++;
		agent_log(&agent->base, KTLS_LOG_ERROR,
			  "ACCEPT reply for fd %d does not parse (%s): answered EIO", a.req.fd,
			  strerror(-a.parse_err));
		agent_answer_failed(agent, &a.req, EIO);
		return 1;
	}
	if (ret == -EAGAIN)
		return -EAGAIN;
	if (ret < 0)
		return agent_fail(&agent->base, ret, "ACCEPT: %s%s%s", strerror(-ret),
				  reply.extack[0] ? ": " : "", reply.extack);
	return a.got ? -EBADMSG : -EAGAIN;
}

/* Read what the multicast socket holds; the count is for the statistics only. */
static void agent_drain_notifications(struct ktls_agent *agent)
{
	unsigned char buf[8192];
	int fd = nl_socket_get_fd(agent->notify_sk);

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int ready;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* Notifications were dropped: the ACCEPT loop finds their requests. */
			agent_log(&agent->base, KTLS_LOG_DEBUG, "notification socket overrun");
			continue;
		}
		if (n <= 0)
			break;
		ready = agent_msg_count_ready(buf, (size_t)n);
		if (ready > 0)
			agent->stats.notifications += (uint64_t)ready;
	}
}

KTLS_EXPORT int ktls_agent_dispatch(struct ktls_agent *agent)
{
	int n = 0, ret;

	if (agent == NULL || !agent->started)
		return -EINVAL;
	if (agent->stopped)
		return 0;
	agent_drain_notifications(agent);
	for (;;) {
		ret = agent_accept_one(agent);
		if (ret == -EAGAIN)
			break;
		if (ret < 0)
			return n > 0 ? n : ret;
		n++;
	}
	return n;
}

/* ---- start, run, stop ------------------------------------------------------------- */

static int agent_arm_poll(struct ktls_agent *agent)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&agent->uring);

	if (sqe == NULL) {
		io_uring_submit(&agent->uring);
		sqe = io_uring_get_sqe(&agent->uring);
		if (sqe == NULL)
			return -EBUSY;
	}
	io_uring_prep_poll_multishot(sqe, nl_socket_get_fd(agent->notify_sk), POLLIN);
	io_uring_sqe_set_data64(sqe, AGENT_POLL_TAG);
	agent->poll_armed = true;
	return 0;
}

KTLS_EXPORT int ktls_agent_start(struct ktls_agent *agent)
{
	struct ktls_caps caps;
	char err[ERROR_TEXT_MAX] = "";
	int ret;

	if (agent == NULL)
		return -EINVAL;
	if (agent->started)
		return agent_fail(&agent->base, -EBUSY, "the agent is started already");
	ret = ktls_agent_probe(err, sizeof(err));
	if (ret < 0)
		return agent_fail(&agent->base, ret, "%s", err);
	/*
	 * What this kernel can take, found now rather than in the first
	 * handshake: without a TLS ULP every handshake would end in EOPNOTSUPP.
	 */
	ret = ktls_probe(&caps);
	if (ret < 0 || !caps.ulp_available)
		agent_log(&agent->base, KTLS_LOG_ERROR,
			  "this kernel cannot take TLS keys (%s): every handshake will fail",
			  ret < 0 ? strerror(-ret) : caps.summary);
	ret = agent_creds_init(&agent->base);
	if (ret < 0)
		return ret;
	ret = netlink_open(NETLINK_GENERIC, &agent->req_sk, err, sizeof(err));
	if (ret == 0)
		ret = netlink_open(NETLINK_GENERIC, &agent->notify_sk, err, sizeof(err));
	if (ret < 0)
		return agent_fail(&agent->base, ret, "%s", err);
	agent->family = genl_ctrl_resolve(agent->req_sk, HANDSHAKE_FAMILY_NAME);
	agent->mcgrp = genl_ctrl_resolve_grp(agent->notify_sk, HANDSHAKE_FAMILY_NAME,
					     HANDSHAKE_MCGRP_TLSHD);
	if (agent->family < 0 || agent->mcgrp < 0)
		return agent_fail(&agent->base, -EPROTONOSUPPORT,
				  "cannot resolve the handshake family or its tlshd group");
	nl_socket_disable_seq_check(agent->notify_sk);
	/* Room for bursts of READY; an overrun only costs notifications, not requests. */
	(void)nl_socket_set_buffer_size(agent->notify_sk, 1 << 20, 0);
	ret = nl_socket_add_membership(agent->notify_sk, agent->mcgrp);
	if (ret < 0) {
		ret = netlink_errno(ret);
		return agent_fail(&agent->base, ret, "joining the %s group: %s",
				  HANDSHAKE_MCGRP_TLSHD, strerror(-ret));
	}
	if (fcntl(nl_socket_get_fd(agent->notify_sk), F_SETFL,
		  fcntl(nl_socket_get_fd(agent->notify_sk), F_GETFL) | O_NONBLOCK) < 0)
		return agent_fail(&agent->base, -errno, "notification socket: %s", strerror(errno));
	agent->started = true;
	agent_log(&agent->base, KTLS_LOG_INFO, "listening on the %s family's %s group",
		  HANDSHAKE_FAMILY_NAME, HANDSHAKE_MCGRP_TLSHD);
	if (agent->own_ring) {
		ret = agent_arm_poll(agent);
		if (ret < 0)
			return agent_fail(&agent->base, ret, "cannot wait on the notification socket");
	}
	/* Requests queued before we listened have had their READY already. */
	ret = ktls_agent_dispatch(agent);
	return ret < 0 ? ret : 0;
}

KTLS_EXPORT int ktls_agent_run(struct ktls_agent *agent, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	int n = 0, ret;

	if (agent == NULL || !agent->own_ring || !agent->started)
		return -EINVAL;
	if (!agent->poll_armed && !agent->stopped) {
		ret = agent_arm_poll(agent);
		if (ret < 0)
			return ret;
	}
	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(&agent->uring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000L };

		io_uring_submit(&agent->uring);
		ret = io_uring_wait_cqe_timeout(&agent->uring, &cqe, &ts);
		if (ret == -ETIME)
			return 0;
	}
	if (ret < 0 && ret != -EBUSY)
		return ret;
	while (io_uring_peek_cqe(&agent->uring, &cqe) == 0) {
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(&agent->uring, cqe);
		if (copy.user_data == AGENT_POLL_TAG) {
			if (!(copy.flags & IORING_CQE_F_MORE))
				agent->poll_armed = false;
			if (copy.res < 0 && copy.res != -ECANCELED)
				agent_log(&agent->base, KTLS_LOG_ERROR, "waiting for notifications: %s",
					  strerror(-copy.res));
			ktls_agent_dispatch(agent);
			n++;
			continue;
		}
		n += ktls_ring_process_cqe(agent->ring, &copy);
	}
	io_uring_submit(&agent->uring);
	return n;
}

KTLS_EXPORT int ktls_agent_stop(struct ktls_agent *agent)
{
	if (agent == NULL)
		return -EINVAL;
	if (agent->started && !agent->stopped) {
		/* With no listener left the kernel fails new requests at once (ESRCH). */
		(void)nl_socket_drop_membership(agent->notify_sk, agent->mcgrp);
		agent_log(&agent->base, KTLS_LOG_INFO, "stopped taking handshakes; %u in flight",
			  agent->stats.in_flight);
	}
	agent->stopped = true;
	return 0;
}

KTLS_EXPORT void ktls_agent_free(struct ktls_agent *agent)
{
	if (agent == NULL)
		return;
	ktls_agent_stop(agent);
	if (agent->own_ring) {
		/*
		 * Cancel every handshake's I/O and let the ring finish it all
		 * before DONE: no receive of ours may still be waiting on a
		 * socket that is the kernel's again.
		 */
		for (struct agent_hs *hs = agent->handshakes; hs != NULL; hs = hs->next) {
			agent_creds_unhook(hs);
			ktls_conn_free(hs->conn);
			hs->conn = NULL;
		}
		io_uring_queue_exit(&agent->uring);
	}
	while (agent->handshakes != NULL)
		agent_hs_fail(agent->handshakes, EIO,
			      "the agent stopped before the handshake finished");
	if (agent->own_ring)
		ktls_ring_free(agent->ring);
	if (agent->notify_sk != NULL)
		nl_socket_free(agent->notify_sk);
	if (agent->req_sk != NULL)
		nl_socket_free(agent->req_sk);
	agent_creds_free(&agent->base);
	agent_conf_free(&agent->base.conf);
	free(agent);
}
