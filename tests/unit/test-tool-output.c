/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What 'ktls stat' and 'ktls nic' print, for fixed data: the table, the
 * JSON (exact text, so that scripts can rely on it), filters, empty results
 * and failures.  The printers are the tool's own (tools/ktls-stat.c,
 * tools/ktls-nic.c).  And the state file ktls agent writes for ktls stat
 * (tools/agent-state.c): written, read back, printed; hostile text stays
 * escaped; a file of an agent that is gone is not shown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"
#include "unit.h"

static struct ktls_sock socks[2];
static struct ktls_stats stats;

static void setup(void)
{
	struct ktls_sock *s = &socks[0];

	memset(socks, 0, sizeof(socks));
	s->family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", s->local_addr);
	inet_pton(AF_INET, "127.0.0.1", s->peer_addr);
	s->local_port = 4433;
	s->peer_port = 50122;
	s->tcp_state = 1;
	s->inode = 123456;
	s->pid = 321;
	snprintf(s->comm, sizeof(s->comm), "openssl");
	s->tls_info = true;
	s->version = KTLS_VERSION_TLS13;
	s->cipher_type = 52;
	s->cipher = KTLS_CIPHER_AES_256_GCM;
	snprintf(s->cipher_name, sizeof(s->cipher_name), "AES-256-GCM");
	s->tx = KTLS_SOCK_CONF_SW;
	s->rx = KTLS_SOCK_CONF_BASE;
	s->tx_zerocopy_sendfile = true;
	s->tx_max_payload_len = 16384; /* reported, not limited */
	s->bytes_acked = 1000;
	s->bytes_received = 20;

	s = &socks[1];
	s->family = AF_INET6;
	inet_pton(AF_INET6, "::1", s->local_addr);
	inet_pton(AF_INET6, "::1", s->peer_addr);
	s->local_port = 50200;
	s->peer_port = 8443;
	s->tcp_state = 8;
	s->inode = 654321;
	s->uid = 1000;
	s->tls_info = true;
	s->version = KTLS_VERSION_TLS12;
	s->cipher_type = 54;
	s->cipher = KTLS_CIPHER_CHACHA20_POLY1305;
	snprintf(s->cipher_name, sizeof(s->cipher_name), "CHACHA20-POLY1305");
	s->tx = KTLS_SOCK_CONF_SW;
	s->rx = KTLS_SOCK_CONF_SW;
	s->rx_no_pad = true;
	s->tx_max_payload_len = 1023; /* a TLS 1.2 peer's record_size_limit of 1023 */

	memset(&stats, 0, sizeof(stats));
	stats.present = (1u << KTLS_STAT_CURR_TX_SW) | (1u << KTLS_STAT_TX_SW) |
			(1u << KTLS_STAT_DECRYPT_ERROR);
	stats.value[KTLS_STAT_CURR_TX_SW] = 2;
	stats.value[KTLS_STAT_TX_SW] = 17;
	stats.value[KTLS_STAT_DECRYPT_ERROR] = 1;
}

/* Run one printer into a string. */
#define CAPTURE(buf, call)                                                                         \
	do {                                                                                       \
		size_t size_;                                                                      \
		FILE *out = open_memstream(&(buf), &size_);                                        \
		if (out == NULL)                                                                   \
			tap_bail("open_memstream");                                                \
		call;                                                                              \
		fclose(out);                                                                       \
	} while (0)

static bool same(const char *what, const char *got, const char *want)
{
	bool ok = strcmp(got, want) == 0;

	tap_check(ok, "%s", what);
	if (!ok) {
		tap_diag("got:");
		tap_diag("%s", got);
		tap_diag("wanted:");
		tap_diag("%s", want);
	}
	return ok;
}

static void test_stat_json(void)
{
	struct stat_filter any = { .port = -1 }, port = { .port = 8443 },
			   cipher = { .port = -1, .cipher = "aes-256-gcm" };
	char *buf = NULL;

	CAPTURE(buf, stat_print_json(out, socks, 2, NULL, &any, &stats, NULL, NULL, NULL));
	same("stat --json, two sockets and counters", buf,
	     "{\n  \"sockets\": [\n"
	     "    {\"state\": \"ESTAB\", \"family\": \"ipv4\", \"local\": \"127.0.0.1\", "
	     "\"local_port\": 4433, \"peer\": \"127.0.0.1\", \"peer_port\": 50122, \"inode\": "
	     "123456, \"uid\": 0, \"pid\": 321, \"process\": \"openssl\", \"tls_info\": true, "
	     "\"version\": \"TLS1.3\", \"cipher\": \"AES-256-GCM\", \"tx\": \"sw\", \"rx\": "
	     "\"base\", \"tx_zerocopy_sendfile\": true, \"rx_no_pad\": false, "
	     "\"tx_max_payload_len\": 16384, \"bytes_acked\": 1000, \"bytes_received\": 20},\n"
	     "    {\"state\": \"CLOSE-WAIT\", \"family\": \"ipv6\", \"local\": \"::1\", "
	     "\"local_port\": 50200, \"peer\": \"::1\", \"peer_port\": 8443, \"inode\": 654321, "
	     "\"uid\": 1000, \"pid\": null, \"process\": null, \"tls_info\": true, \"version\": "
	     "\"TLS1.2\", \"cipher\": \"CHACHA20-POLY1305\", \"tx\": \"sw\", \"rx\": \"sw\", "
	     "\"tx_zerocopy_sendfile\": false, \"rx_no_pad\": true, \"tx_max_payload_len\": 1023, "
	     "\"bytes_acked\": 0, "
	     "\"bytes_received\": 0}\n  ],\n"
	     "  \"counters\": {\"TlsCurrTxSw\": 2, \"TlsTxSw\": 17, \"TlsDecryptError\": 1}\n}\n");
	free(buf);

	CAPTURE(buf, stat_print_json(out, socks, 2, NULL, &port, &stats, NULL, NULL, NULL));
	tap_check(strstr(buf, "\"peer_port\": 8443") != NULL && strstr(buf, "4433") == NULL,
		  "--port 8443 keeps the socket with that peer port only");
	free(buf);
	CAPTURE(buf, stat_print_json(out, socks, 2, NULL, &cipher, &stats, NULL, NULL, NULL));
	tap_check(strstr(buf, "AES-256-GCM") != NULL && strstr(buf, "CHACHA20") == NULL,
		  "--cipher matches in any case");
	free(buf);

	CAPTURE(buf, stat_print_json(out, NULL, 0, NULL, &any, NULL,
				     "no /proc/net/tls_stat: \"quoted\"\n", NULL, NULL));
	same("stat --json, nothing, no counters", buf,
	     "{\n  \"sockets\": [],\n  \"counters\": null,\n"
	     "  \"counters_error\": \"no /proc/net/tls_stat: \\\"quoted\\\"\\u000a\"\n}\n");
	free(buf);

	CAPTURE(buf, stat_print_json(out, NULL, 0, "not permitted: CAP_NET_ADMIN", &any, &stats,
				     NULL, NULL, NULL));
	tap_check(strstr(buf, "\"sockets\": null,\n  \"sockets_error\": \"not permitted: "
			      "CAP_NET_ADMIN\"") != NULL,
		  "stat --json, not permitted: sockets null with the reason");
	free(buf);
}

static void test_stat_text(void)
{
	struct stat_filter any = { .port = -1 }, none = { .port = 1 };
	char *buf = NULL;

	CAPTURE(buf, stat_print_sockets_text(out, socks, 2, &any));
	same("stat table", buf,
	     "State       Local                   Peer                    Process                "
	     "Version Cipher             TX        RX        Flags\n"
	     "ESTAB       127.0.0.1:4433          127.0.0.1:50122         openssl/321            "
	     "TLS1.3  AES-256-GCM        sw        base      zc-sendfile\n"
	     "CLOSE-WAIT  [::1]:50200             [::1]:8443              -                      "
	     "TLS1.2  CHACHA20-POLY1305  sw        sw        rx-no-pad,tx-max=1023\n");
	free(buf);

	CAPTURE(buf, stat_print_sockets_text(out, NULL, 0, &any));
	same("stat table, no kTLS socket", buf, "No TCP socket uses kernel TLS.\n");
	free(buf);
	CAPTURE(buf, stat_print_sockets_text(out, socks, 2, &none));
	same("stat table, nothing matches", buf, "No kernel TLS socket matches (2 in all).\n");
	free(buf);

	CAPTURE(buf, stat_print_counters_text(out, &stats, NULL));
	same("counters", buf,
	     "Kernel TLS counters (/proc/net/tls_stat):\n"
	     "  TlsCurrTxSw            2\n"
	     "  TlsTxSw                17\n"
	     "  TlsDecryptError        1\n");
	free(buf);
}

static void test_nic(void)
{
	struct ktls_nic nics[2];
	char *buf = NULL;

	memset(nics, 0, sizeof(nics));
	snprintf(nics[0].name, sizeof(nics[0].name), "lo");
	nics[0].ifindex = 1;
	nics[0].virtual_device = true;
	snprintf(nics[1].name, sizeof(nics[1].name), "eth1");
	nics[1].ifindex = 3;
	snprintf(nics[1].driver, sizeof(nics[1].driver), "mlx5_core");
	nics[1].tls_offload = true;
	nics[1].feature[KTLS_NIC_TLS_TX] = (struct ktls_nic_state){ true, true, true, false };
	nics[1].feature[KTLS_NIC_TLS_RX] = (struct ktls_nic_state){ true, false, false, false };

	CAPTURE(buf, nic_print_json(out, nics, 2));
	same("nic --json", buf,
	     "{\n  \"interfaces\": [\n"
	     "    {\"name\": \"lo\", \"ifindex\": 1, \"driver\": null, \"virtual\": true, "
	     "\"tls_offload\": false, \"features\": {\"tls-hw-tx-offload\": {\"available\": false, "
	     "\"wanted\": false, \"active\": false, \"fixed\": false}, \"tls-hw-rx-offload\": "
	     "{\"available\": false, \"wanted\": false, \"active\": false, \"fixed\": false}, "
	     "\"tls-hw-record\": {\"available\": false, \"wanted\": false, \"active\": false, "
	     "\"fixed\": false}}},\n"
	     "    {\"name\": \"eth1\", \"ifindex\": 3, \"driver\": \"mlx5_core\", \"virtual\": false, "
	     "\"tls_offload\": true, \"features\": {\"tls-hw-tx-offload\": {\"available\": true, "
	     "\"wanted\": true, \"active\": true, \"fixed\": false}, \"tls-hw-rx-offload\": "
	     "{\"available\": true, \"wanted\": false, \"active\": false, \"fixed\": false}, "
	     "\"tls-hw-record\": {\"available\": false, \"wanted\": false, \"active\": false, "
	     "\"fixed\": false}}}\n  ]\n}\n");
	free(buf);

	CAPTURE(buf, nic_print_table(out, nics, 2));
	same("nic table", buf,
	     "Interface        Driver         tls-hw-tx-offload  tls-hw-rx-offload  tls-hw-record\n"
	     "lo               (virtual)      -                  -                  -\n"
	     "eth1             mlx5_core      on                 off                -\n"
	     "\n"
	     "lo: no TLS offload (virtual device)\n"
	     "(\"-\": the driver cannot offload it; off/on: it can, and it is off/on)\n");
	free(buf);

	CAPTURE(buf, nic_print_json(out, NULL, 0));
	same("nic --json, no interfaces", buf, "{\n  \"interfaces\": []\n}\n");
	free(buf);
}

/* ktls bench and ktls loopback warn when the kernel's crypto is portable C. */
static void test_crypto_driver(void)
{
	static const struct {
		const char *driver;
		bool portable;
	} cases[] = {
		{ "gcm_base(ctr(aes-generic),ghash-generic)", true }, /* Linux 6.1 */
		{ "gcm_base(ctr(aes-lib),ghash-lib)", true },         /* Linux 7.x */
		{ "ccm_base(ctr(aes-lib),cbcmac(aes-lib))", true },
		{ "rfc7539(chacha20-generic,poly1305-generic)", true },
		{ "generic-gcm-aesni", false },
		{ "gcm_base(ctr(aes-aesni),ghash-clmulni)", false },
		{ "rfc7539(chacha20-simd,poly1305-simd)", false },
		{ "unknown", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_check(tool_crypto_driver_portable(cases[i].driver) == cases[i].portable,
			  "crypto driver \"%s\" is %s", cases[i].driver,
			  cases[i].portable ? "portable C" : "not portable C");
}

static void test_agent_state(void)
{
	char path[] = "/tmp/ktls-agent-state.XXXXXX", err[300] = "";
	struct agent_state *st = calloc(1, sizeof(*st)), *got = calloc(1, sizeof(*got));
	struct ktls_agent_result r;
	char *buf;
	int fd;

	if (st == NULL || got == NULL || (fd = mkstemp(path)) < 0)
		tap_bail("agent state setup");
	close(fd);
	agent_state_init(st);
	for (int i = 0; i < AGENT_STATE_RECENT + 2; i++) {
		memset(&r, 0, sizeof(r));
		r.role = i % 2 == 0 ? KTLS_ROLE_CLIENT : KTLS_ROLE_SERVER;
		r.auth = i % 2 == 0 ? KTLS_AGENT_AUTH_UNAUTH : KTLS_AGENT_AUTH_X509;
		snprintf(r.peer, sizeof(r.peer), "127.0.0.1:%d", 2049 + i);
		if (i == AGENT_STATE_RECENT + 1) {
			r.status = 13;
			snprintf(r.peer_name, sizeof(r.peer_name), "evil\tname\n\x1b[31m");
			snprintf(r.error, sizeof(r.error), "peer certificate rejected");
		} else {
			snprintf(r.version, sizeof(r.version), "TLS1.3");
			snprintf(r.cipher, sizeof(r.cipher), "AES-256-GCM");
		}
		r.ms = 10.5 + i;
		agent_state_add(st, &r);
	}
	st->stats = (struct ktls_agent_stats){ .notifications = 20, .accepted = 18, .succeeded = 17,
					       .failed = 1, .done_errors = 0, .in_flight = 0 };
	tap_check(agent_state_write(path, st) == 0, "agent state written");
	tap_check(agent_state_read(path, got, err, sizeof(err)) == 0, "agent state read back%s%s",
		  err[0] ? ": " : "", err);
	tap_check(got->pid == getpid() && got->stats.accepted == 18 && got->stats.failed == 1 &&
			  got->n_recent == AGENT_STATE_RECENT,
		  "pid, counters and the last %d handshakes (of %d) come back", AGENT_STATE_RECENT,
		  AGENT_STATE_RECENT + 2);

	CAPTURE(buf, agent_state_print_text(out, got));
	tap_check(strncmp(buf, "ktls agent (pid ", 16) == 0 &&
			  strstr(buf, ": 18 handshakes, 17 ok, 1 failed, 0 running; 0 DONE refused\n") !=
				  NULL,
		  "stat text: the counters");
	tap_check(strstr(buf, "127.0.0.1:2051") != NULL && strstr(buf, "127.0.0.1:2050 ") == NULL,
		  "stat text: the oldest handshakes dropped, the third on");
	tap_check(strstr(buf, "server 127.0.0.1:2052 x509: TLS1.3 AES-256-GCM, ok, 13.5 ms\n") !=
			  NULL,
		  "stat text: a handshake that worked: side, peer, auth, version, cipher, ms");
	tap_check(strstr(buf, "server 127.0.0.1:2066 (evil\\x09name\\x0a\\x1b[31m) x509: failed, "
			      "Permission denied (peer certificate rejected), 27.5 ms\n") != NULL &&
			  strchr(buf, '\x1b') == NULL && strchr(buf, '\t') == NULL,
		  "stat text: a failed one, its status and reason; hostile text escaped");
	free(buf);

	CAPTURE(buf, stat_print_json(out, NULL, 0, NULL, &(struct stat_filter){ .port = -1 }, &stats,
				     NULL, got, NULL));
	tap_check(strstr(buf, "\"agent\": {\"pid\": ") != NULL &&
			  strstr(buf, "\"handshakes\": 18, \"ok\": 17, \"failed\": 1") != NULL &&
			  strstr(buf, "\"side\": \"server\", \"auth\": \"x509\", \"peer\": "
				      "\"127.0.0.1:2052\"") != NULL &&
			  strstr(buf, "\"status\": 13, \"ok\": false") != NULL,
		  "stat --json: the agent's counters and handshakes");
	free(buf);
	CAPTURE(buf, stat_print_json(out, NULL, 0, NULL, &(struct stat_filter){ .port = -1 }, &stats,
				     NULL, NULL, "x: its agent (pid 1) is gone"));
	tap_check(strstr(buf, "\"agent\": null,\n  \"agent_error\": \"x: its agent (pid 1) is gone\"") !=
			  NULL,
		  "stat --json: an agent state that cannot be used says why");
	free(buf);

	/* A pid that cannot exist (beyond pid_max's limit): that agent is gone. */
	st->pid = 4194304 + 1;
	tap_check(agent_state_write(path, st) == 0 &&
			  agent_state_read(path, got, err, sizeof(err)) == -ESRCH &&
			  strstr(err, "is gone") != NULL,
		  "a state file whose agent is gone is not shown (%s)", err);
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs("something else\n", f);
		fclose(f);
	}
	tap_check(agent_state_read(path, got, err, sizeof(err)) == -EBADMSG,
		  "another file: -EBADMSG (%s)", err);
	unlink(path);
	tap_check(agent_state_read(path, got, err, sizeof(err)) == -ENOENT, "no file: -ENOENT");
	free(st);
	free(got);
}

int main(void)
{
	setup();
	test_crypto_driver();
	test_stat_json();
	test_stat_text();
	test_nic();
	test_agent_state();
	return tap_done();
}
