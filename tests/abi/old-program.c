/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A program built against LIBKTLS_0.1's header (tests/abi/0.1/ktls.h, the
 * header as 0.1 shipped it), run against today's library: it must get 0.1's
 * structs filled as 0.1 filled them, and not one byte more.  Each struct is
 * followed by a canary that the library must leave alone.
 *
 * Runs on the build host and inside the kernel suites, where the connection
 * below is offloaded and ktls_sock_list() finds it (an array of 0.1 structs:
 * the stride must be 0.1's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ktls.h> /* LIBKTLS_0.1's */

#define CANARY 0x5a

static int n_points, n_failed;

__attribute__((format(printf, 2, 3))) static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	n_points++;
	if (!ok)
		n_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", n_points);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int canary_intact(const unsigned char *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i] != CANARY)
			return 0;
	return 1;
}

#define GUARDED(type, name)                                                                        \
	struct {                                                                                   \
		type value;                                                                        \
		unsigned char canary[256];                                                         \
	} name;                                                                                    \
	memset(&name, CANARY, sizeof(name))

static const char stats_text[] = "TlsCurrTxSw 2\n"
				 "TlsTxSw 17\n"
				 "TlsRxSw 9\n"
				 "TlsRxRekeyReceived 4\n"
				 "TlsSomethingNewer 99\n";

static void test_stats(void)
{
	GUARDED(struct ktls_stats, a);
	GUARDED(struct ktls_stats, b);
	GUARDED(struct ktls_stats_delta, d);
	char err[128];
	int ret;

	ret = ktls_stats_parse(stats_text, strlen(stats_text), &a.value, err, sizeof(err));
	check(ret == 0, "ktls_stats_parse (0.1)");
	check(a.value.value[KTLS_STAT_TX_SW] == 17 && a.value.value[KTLS_STAT_RX_SW] == 9 &&
		      a.value.value[KTLS_STAT_RX_REKEY_RECEIVED] == 4 &&
		      a.value.present == ((1u << KTLS_STAT_CURR_TX_SW) | (1u << KTLS_STAT_TX_SW) |
					  (1u << KTLS_STAT_RX_SW) |
					  (1u << KTLS_STAT_RX_REKEY_RECEIVED)) &&
		      a.value.taken_ns == 0,
	      "... 0.1's 17 counters and 32-bit mask, filled as 0.1 did (present 0x%x)",
	      a.value.present);
	check(canary_intact(a.canary, sizeof(a.canary)), "... and nothing written past 0.1's struct");
	b.value = a.value;
	b.value.value[KTLS_STAT_TX_SW] = 20;
	ret = ktls_stats_delta(&a.value, &b.value, &d.value);
	check(ret == 0 && d.value.value[KTLS_STAT_TX_SW] == 3 && d.value.present == a.value.present &&
		      canary_intact(d.canary, sizeof(d.canary)),
	      "ktls_stats_delta (0.1): TlsTxSw +%lld, canary intact",
	      (long long)d.value.value[KTLS_STAT_TX_SW]);
	{
		GUARDED(struct ktls_stats, r);

		ret = ktls_stats_read(&r.value, err, sizeof(err));

		check((ret == 0 || ret == -ENOENT) && canary_intact(r.canary, sizeof(r.canary)),
		      "ktls_stats_read (0.1): %d, canary intact", ret);
	}
}

static void test_caps(void)
{
	GUARDED(struct ktls_caps, c);
	int ret = ktls_probe(&c.value);

	check(ret == 0 && c.value.summary[0] != '\0' &&
		      canary_intact(c.canary, sizeof(c.canary)),
	      "ktls_probe (0.1): \"%s\", nothing written past 0.1's struct", c.value.summary);
}

static void test_nic(void)
{
	GUARDED(struct ktls_nic, n);
	struct ktls_nic *list = NULL;
	size_t count = 0;
	int ret = ktls_nic_get("lo", &n.value, NULL, 0);

	check((ret == 0 && strcmp(n.value.name, "lo") == 0 && canary_intact(n.canary, sizeof(n.canary))) ||
		      ret == -EOPNOTSUPP,
	      "ktls_nic_get (0.1) on lo: %d, 0.1's three features, canary intact", ret);
	ret = ktls_nic_list(&list, &count, NULL, 0);
	if (ret == 0) {
		int found = 0;

		for (size_t i = 0; i < count; i++)
			found |= strcmp(list[i].name, "lo") == 0 && list[i].ifindex > 0;
		check(found, "ktls_nic_list (0.1): %zu interfaces at 0.1's stride, lo among them",
		      count);
		ktls_nic_list_free(list);
	} else {
		check(ret == -EOPNOTSUPP, "ktls_nic_list (0.1): %d", ret);
	}
}

/* ---- a TLS 1.3 PSK connection over loopback ------------------------------------ */

static const unsigned char psk[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		exit(99);
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof(a)) < 0)
		exit(99);
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (*s < 0)
		exit(99);
	fcntl(*c, F_SETFL, O_NONBLOCK);
	fcntl(*s, F_SETFL, O_NONBLOCK);
}

static void test_conn(void)
{
	struct ktls_config *cc = NULL, *sc = NULL;
	struct ktls_conn *c = NULL, *s = NULL;
	int cfd, sfd, rc = -EAGAIN, rs = -EAGAIN;

	tcp_pair(&cfd, &sfd);
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) < 0 || ktls_config_new(KTLS_ROLE_SERVER, &sc) < 0 ||
	    ktls_config_add_psk(cc, "old-program", psk, sizeof(psk)) < 0 ||
	    ktls_config_add_psk(sc, "old-program", psk, sizeof(psk)) < 0 ||
	    ktls_config_set_versions(cc, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13) < 0 ||
	    ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) < 0 ||
	    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &s) < 0) {
		check(0, "PSK set-up (0.1): %s / %s", ktls_config_error(cc), ktls_config_error(sc));
		return;
	}
	for (int i = 0; i < 2000 && (rc == -EAGAIN || rs == -EAGAIN); i++) {
		struct pollfd p[2] = { { cfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (rc == -EAGAIN)
			rc = ktls_conn_handshake(c);
		if (rs == -EAGAIN)
			rs = ktls_conn_handshake(s);
		poll(p, 2, 5);
	}
	check(rc == 0 && rs == 0, "TLS 1.3 PSK handshake (0.1 calls): %d %d", rc, rs);
	if (rc == 0 && rs == 0) {
		GUARDED(struct ktls_info, info);
		struct ktls_sock *socks = NULL;
		size_t count = 0;
		int ret;

		ret = ktls_conn_get_info(s, &info.value);
		check(ret == 0 && strcmp(info.value.version_name, "TLS1.3") == 0 &&
			      info.value.peer_auth == KTLS_PEER_PSK &&
			      strcmp(info.value.peer_identity, "old-program") == 0 &&
			      canary_intact(info.canary, sizeof(info.canary)),
		      "ktls_conn_get_info (0.1): %s, PSK \"%s\", TX %s, canary intact",
		      info.value.version_name, info.value.peer_identity,
		      info.value.tx.kernel ? "kernel" : "userspace");
		ret = ktls_sock_list(0, &socks, &count, NULL, 0);
		if (ret == 0 && info.value.tx.kernel) {
			size_t ours = 0;

			for (size_t i = 0; i < count; i++)
				ours += socks[i].family == AF_INET &&
					(socks[i].version == KTLS_VERSION_TLS13) &&
					memcmp(socks[i].local_addr, "\x7f\x00\x00\x01", 4) == 0;
			check(ours == 2,
			      "ktls_sock_list (0.1): both ends of the connection, at 0.1's stride "
			      "(%zu of %zu)",
			      ours, count);
		} else {
			check(ret == 0 || ret == -EPERM || ret == -EPROTONOSUPPORT,
			      "ktls_sock_list (0.1): %d, %zu sockets (no kTLS here)", ret, count);
		}
		ktls_sock_list_free(socks);
	}
	ktls_conn_free(c);
	ktls_conn_free(s);
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

int main(void)
{
	test_caps();
	test_stats();
	test_nic();
	test_conn();
	printf("1..%d\n", n_points);
	return n_failed > 0;
}
