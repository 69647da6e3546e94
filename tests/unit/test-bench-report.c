/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls bench's writers (tools/bench-report.c) on fixed results: the JSON is
 * valid and carries every field, the SVG is well-formed and readable on its
 * own (title, axis labels with units, mode names, values on bars), the table
 * shows the environment and the reasons of modes that did not run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-report.h"
#include "unit.h"

#define GIB (1024ull * 1024 * 1024)

static void fill(struct bench_report *r, bool generic)
{
	static const char *const names[BENCH_MODE_COUNT] = {
		"gnutls-send", "gnutls-send-file", "ktls-send", "ktls-sendfile", "ktls-uring-splice",
		"tcp-sendfile", "openssl-sendfile",
	};

	memset(r, 0, sizeof(*r));
	snprintf(r->kernel, sizeof(r->kernel), "Linux 6.1.0 x86_64");
	snprintf(r->cpu, sizeof(r->cpu), "Test CPU \"quoted\" <&>");
	r->tls_ulp = true;
	snprintf(r->kernel_aead, sizeof(r->kernel_aead), "%s",
		 generic ? "gcm_base(ctr(aes-generic),ghash-generic)" : "generic-gcm-aesni");
	r->kernel_crypto_generic = generic;
	snprintf(r->gnutls_version, sizeof(r->gnutls_version), "3.7.9");
	snprintf(r->openssl_version, sizeof(r->openssl_version), "OpenSSL 3.0.22 \"test\"");
	r->cpu_aes = 1;
	r->acct_measured = true; /* as user-mode Linux books it */
	r->acct_user_s = 0.19;
	r->acct_sys_s = 0.01;
	snprintf(r->cipher, sizeof(r->cipher), "AES-128-GCM");
	snprintf(r->tls_version, sizeof(r->tls_version), "1.3");
	r->payload_bytes = 8u << 20;
	r->record_size = 16384;
	r->duration_s = 2;
	for (int i = 0; i < BENCH_MODE_COUNT; i++) {
		struct bench_mode *m = &r->modes[i];

		m->id = i + 1;
		m->name = names[i];
		m->title = "title with \"quotes\" & <angle brackets>";
		if (i == 4) {
			m->status = BENCH_UNAVAILABLE;
			snprintf(m->reason, sizeof(m->reason), "missing: io_uring engine <not landed>");
			continue;
		}
		m->status = BENCH_OK;
		m->bytes = GIB;
		m->seconds = 2.0 * (i + 1); /* 512, 256, 170.7, 128, -, 85.3, 73.1 MiB/s */
		m->sender.user_s = 0.5;
		m->sender.sys_s = 0.25;
		m->sender.syscalls = 131072;
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note), "send calls");
		m->receiver.user_s = 1.0;
		m->receiver.sys_s = 1.0;
		m->receiver.syscalls = 4096;
		snprintf(m->receiver.syscalls_note, sizeof(m->receiver.syscalls_note), "recv calls");
		m->records = 65536;
		m->records_derived = i >= 1;
		snprintf(m->sha256_sent, sizeof(m->sha256_sent), "%064d", i);
		snprintf(m->sha256_received, sizeof(m->sha256_received), "%064d", i);
		m->kernel_tx = i == 2 || i == 3 || i == 6;
		m->kernel_rx = true;
		m->tls_stat = true;
		m->tx_sw = m->kernel_tx;
		m->rx_sw = 1;
	}
	static const char *const recv_names[BENCH_RECV_MODE_COUNT] = {
		"gnutls-recv", "ktls-recv", "ktls-splice-null", "ktls-splice-file",
	};

	for (int i = 0; i < BENCH_RECV_MODE_COUNT; i++) {
		struct bench_mode *m = &r->recv_modes[i];

		m->id = i + 1;
		m->name = recv_names[i];
		m->title = "receive title";
		if (i == 3) {
			m->status = BENCH_UNAVAILABLE;
			snprintf(m->reason, sizeof(m->reason), "no kernel RX <here>");
			continue;
		}
		m->status = BENCH_OK;
		m->bytes = GIB;
		m->seconds = 4.0 * (i + 1); /* 256, 128, 85.3 MiB/s */
		m->sender.user_s = 0.25;
		m->sender.sys_s = 0.25;
		m->sender.syscalls = 128;
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note), "sendfile calls");
		m->receiver.user_s = 3.0;
		m->receiver.sys_s = 1.0;
		m->receiver.syscalls = 131072;
		snprintf(m->receiver.syscalls_note, sizeof(m->receiver.syscalls_note), "splice calls");
		m->records = 65536;
		m->records_derived = true;
		snprintf(m->sha256_sent, sizeof(m->sha256_sent), "%064d", 7);
		if (i == 2)
			m->not_hashed = true;
		else
			snprintf(m->sha256_received, sizeof(m->sha256_received), "%064d", 7);
		m->kernel_tx = true;
		m->kernel_rx = i > 0;
		m->tls_stat = true;
		m->tx_sw = 1;
		m->rx_sw = m->kernel_rx;
	}
	static const char *const hs_names[BENCH_HANDSHAKE_COUNT] = {
		"tls1.2-ecdsa-p256", "tls1.2-rsa-2048", "tls1.3-ecdsa-p256", "tls1.3-rsa-2048",
		"tls1.2-resumed",    "tls1.3-resumed",
	};

	r->handshake_duration_s = 1;
	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++) {
		struct bench_handshake *h = &r->handshakes[i];

		h->name = hs_names[i];
		h->title = "handshake title";
		if (i == 5) {
			h->status = BENCH_UNAVAILABLE;
			snprintf(h->reason, sizeof(h->reason), "resumption is not implemented <yet>");
			continue;
		}
		h->status = BENCH_OK;
		h->count = 1000;
		h->seconds = 2.0 * (i + 1); /* 500, 250, 166.7, 125 per s */
		h->client.user_s = 0.25;
		h->client.sys_s = 0.125; /* 0.375 ms each */
		h->server.user_s = 1.0;
		h->server.sys_s = 0.5; /* 1.5 ms each */
		h->kernel_keys = i != 1;
		h->key_installs = i != 1 ? 2000 : 0;
		h->key_install_us = i != 1 ? 12.5 : 0;
	}
}

static char *render(void (*writer)(FILE *, const struct bench_report *), const struct bench_report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		tap_bail("open_memstream failed");
	writer(f, r);
	fclose(f);
	return text;
}

/* ---- a strict JSON syntax check (RFC 8259), enough to catch writer mistakes ---- */

static const char *json_value(const char *p, int depth);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_str(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
				return NULL;
			}
		}
	}
	return p + 1;
}

static const char *json_num(const char *p)
{
	const char *start = p;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return NULL;
	if (*p == '0' && isdigit((unsigned char)p[1]))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p > start ? p : NULL;
}

static const char *json_value(const char *p, int depth)
{
	p = ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool object = *p == '{';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (object) {
				if ((p = json_str(ws(p))) == NULL)
					return NULL;
				p = ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if ((p = json_value(p, depth + 1)) == NULL)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_str(p);
	if (strncmp(p, "true", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	if (strncmp(p, "null", 4) == 0)
		return p + 4;
	return json_num(p);
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text, 0);

	return end != NULL && *ws(end) == '\0';
}

/* The text of one mode's object: from "id":N to the next "id" (or the end). */
static char *mode_json(const char *json, int id)
{
	char key[32];
	const char *start, *end;

	snprintf(key, sizeof(key), "{\"id\":%d,", id);
	start = strstr(json, key);
	if (start == NULL)
		return strdup("");
	end = strstr(start + 1, "{\"id\":");
	return strndup(start, end != NULL ? (size_t)(end - start) : strlen(start));
}

/* ---- a well-formedness check for the SVG: tags nest and close, no bare & or < ---- */

static bool xml_well_formed(const char *p, char *why, size_t size)
{
	char stack[64][32];
	int depth = 0;
	bool root_seen = false;

	while (*p != '\0') {
		if (*p == '&') {
			if (strncmp(p, "&amp;", 5) != 0 && strncmp(p, "&lt;", 4) != 0 &&
			    strncmp(p, "&gt;", 4) != 0 && strncmp(p, "&quot;", 6) != 0) {
				snprintf(why, size, "bare '&' at \"%.20s\"", p);
				return false;
			}
			p++;
			continue;
		}
		if (*p != '<') {
			if (depth == 0 && !isspace((unsigned char)*p)) {
				snprintf(why, size, "text outside the root at \"%.20s\"", p);
				return false;
			}
			p++;
			continue;
		}
		const char *end = strchr(p, '>');
		char name[32];
		size_t n;
		bool closing = p[1] == '/';

		if (end == NULL) {
			snprintf(why, size, "unterminated tag");
			return false;
		}
		for (const char *q = p + 1; q < end; q++)
			if (*q == '<') {
				snprintf(why, size, "'<' inside a tag at \"%.20s\"", p);
				return false;
			}
		n = strcspn(p + 1 + closing, " \t\n/>");
		if (n == 0 || n >= sizeof(name)) {
			snprintf(why, size, "bad tag at \"%.20s\"", p);
			return false;
		}
		memcpy(name, p + 1 + closing, n);
		name[n] = '\0';
		if (closing) {
			if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
				snprintf(why, size, "</%s> closes %s", name,
					 depth > 0 ? stack[depth - 1] : "nothing");
				return false;
			}
			depth--;
		} else if (end[-1] != '/') {
			if (depth == 0 && root_seen) {
				snprintf(why, size, "a second root element <%s>", name);
				return false;
			}
			if (depth == 64)
				return false;
			root_seen = true;
			snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		}
		p = end + 1;
	}
	if (depth != 0 || !root_seen) {
		snprintf(why, size, "%d element(s) left open", depth);
		return false;
	}
	return true;
}

int main(void)
{
	static struct bench_report r;
	char why[200] = "";

	fill(&r, true);
	char *json = render(bench_report_json, &r);

	tap_check(json_valid(json), "JSON output is valid JSON");
	tap_check(strstr(json, "\"kernel_aead_driver\":\"gcm_base(ctr(aes-generic),ghash-generic)\"") &&
			  strstr(json, "\"kernel_crypto_generic\":true") &&
			  strstr(json, "not meaningful") && strstr(json, "\"tls_ulp\":true") &&
			  strstr(json, "\"version\":\"3.7.9\"") && strstr(json, "\"cpu_aes\":true"),
		  "JSON environment: AEAD driver, generic warning, ULP, GnuTLS version, AES-NI");
	tap_check(strstr(json, "\"cpu\":\"Test CPU \\\"quoted\\\" <&>\"") != NULL,
		  "JSON strings are escaped");
	tap_check(strstr(json, "\"openssl\":\"OpenSSL 3.0.22 \\\"test\\\"\"},") != NULL,
		  "JSON environment names mode 7's OpenSSL version");
	tap_check(strstr(json, "\"cpu_accounting\":{\"probe\":\"read /dev/zero\",\"user_s\":0.190000,"
			       "\"sys_s\":0.010000,\"kernel_work_booked_as_user\":true,\"note\":\"this "
			       "kernel books its own work as user time") != NULL,
		  "JSON: the accounting probe, booked as user, with the note");
	for (int id = 1; id <= BENCH_MODE_COUNT; id++) {
		char *m = mode_json(json, id);

		if (id == 5) {
			tap_check(strstr(m, "\"status\":\"unavailable\"") &&
					  strstr(m, "\"reason\":\"missing: io_uring engine <not landed>\"") &&
					  strstr(m, "\"bytes\"") == NULL,
				  "JSON mode 5: unavailable, its reason, no numbers");
		} else {
			tap_check(strstr(m, "\"status\":\"ok\"") && strstr(m, "\"bytes\":1073741824") &&
					  strstr(m, "\"sender\":{") && strstr(m, "\"receiver\":{") &&
					  strstr(m, "\"sha256_match\":true") &&
					  strstr(m, "\"syscalls_per_gib\":131072.0") &&
					  strstr(m, "\"cpu_s_per_gib\":0.750000") &&
					  strstr(m, "\"cpu_s_per_gib\":2.000000") &&
					  strstr(m, "\"tls_stat\":{\"TlsTxSw\":"),
				  "JSON mode %d: status, bytes, both sides' CPU and calls per GiB, hashes, "
				  "counters", id);
		}
		free(m);
	}
	tap_check(strstr(json, "\"throughput_mib_s\":512.000") &&
			  strstr(json, "\"records_per_s\":32768.0,\"records_derived\":false"),
		  "JSON throughput and records/s computed from bytes and seconds");

	const char *rs = strstr(json, "],\"receive\":[{\"id\":1,\"name\":\"gnutls-recv\"");

	tap_check(rs != NULL && strstr(rs, "{\"id\":2,\"name\":\"ktls-recv\"") &&
			  strstr(rs, "{\"id\":3,\"name\":\"ktls-splice-null\"") &&
			  strstr(rs, "{\"id\":4,\"name\":\"ktls-splice-file\"") &&
			  strstr(rs, "],\"handshakes\":{") != NULL,
		  "JSON has a receive section after the modes, with its four modes in order, then handshakes");
	tap_check(rs != NULL && strstr(rs, "\"throughput_mib_s\":256.000") &&
			  strstr(rs, "\"cpu_s_per_gib\":4.000000") &&
			  strstr(rs, "\"sha256_match\":true,\"kernel_tx\":true,\"kernel_rx\":false,"
				     "\"tls_stat\":{\"TlsTxSw\":1,\"TlsRxSw\":0,"),
		  "JSON receive gnutls-recv: throughput, receiver CPU, hash, no RX key");
	tap_check(rs != NULL &&
			  strstr(rs, "\"sha256_received\":\"not hashed (spliced)\",\"sha256_match\":null,"),
		  "JSON receive ktls-splice-null: says it was not hashed, match is null");
	tap_check(rs != NULL && strstr(rs, "\"status\":\"unavailable\",\"reason\":\"no kernel RX <here>\"}]"),
		  "JSON receive mode 4: unavailable, its reason, no numbers");

	const char *hs = strstr(json, ",\"handshakes\":{\"duration_s\":1.000,\"rows\":[{\"id\":1,"
				      "\"name\":\"tls1.2-ecdsa-p256\"");

	tap_check(hs != NULL && strstr(hs, "\"handshakes\":1000,\"seconds\":2.000000,"
					   "\"handshakes_per_s\":500.000,") &&
			  strstr(hs, "\"cpu_ms_per_handshake\":0.375000}") &&
			  strstr(hs, "\"cpu_ms_per_handshake\":1.500000}") &&
			  strstr(hs, "\"kernel_keys\":true,\"key_installs\":2000,\"key_install_us\":12.500}") &&
			  strstr(hs, "\"kernel_keys\":false,\"key_installs\":0,\"key_install_us\":null}") &&
			  strstr(hs, "{\"id\":4,\"name\":\"tls1.3-rsa-2048\""),
		  "JSON handshakes: rate, CPU per handshake on each side, key install time or null");
	char *m7 = mode_json(json, 7);

	tap_check(strstr(m7, "\"name\":\"openssl-sendfile\"") &&
			  strstr(m7, "\"throughput_mib_s\":73.143") &&
			  strstr(m7, "\"kernel_tx\":true,\"kernel_rx\":true,\"tls_stat\":{\"TlsTxSw\":1,"),
		  "JSON mode 7 (OpenSSL): throughput, kernel TX and RX keys, counters");
	free(m7);
	tap_check(hs != NULL && strstr(hs, "{\"id\":6,\"name\":\"tls1.3-resumed\",\"title\":\"handshake title\","
					   "\"status\":\"unavailable\",\"reason\":\"resumption is not "
					   "implemented <yet>\"}]}}\n"),
		  "JSON handshakes: an unavailable row has its reason and no numbers");

	/* a mismatch is visible as such */
	snprintf(r.modes[0].sha256_received, sizeof(r.modes[0].sha256_received), "%064d", 9);
	free(json);
	json = render(bench_report_json, &r);
	char *m1 = mode_json(json, 1);

	tap_check(strstr(m1, "\"sha256_match\":false") != NULL, "JSON reports a hash mismatch");
	free(m1);
	free(json);

	/* built without OpenSSL: no version, mode 7 says why in its row, no numbers */
	fill(&r, true);
	r.openssl_version[0] = '\0';
	r.modes[6].status = BENCH_UNAVAILABLE;
	snprintf(r.modes[6].reason, sizeof(r.modes[6].reason),
		 "not built: OpenSSL development files absent");
	json = render(bench_report_json, &r);
	m1 = mode_json(json, 7);
	tap_check(json_valid(json) && strstr(json, "\"openssl\":null},\"parameters\":") &&
			  strstr(m1, "\"status\":\"unavailable\",\"reason\":\"not built: OpenSSL "
				     "development files absent\"}") &&
			  strstr(m1, "\"bytes\"") == NULL,
		  "JSON without OpenSSL: openssl null, mode 7 unavailable with its reason, no numbers");
	char *t = render(bench_report_table, &r);

	tap_check(strstr(t, "  OpenSSL (mode 7): not built in\n") &&
			  strstr(t, "\n7   openssl-sendfile       unavailable: not built: OpenSSL "
				    "development files absent\n"),
		  "table without OpenSSL: says so, and mode 7's row gives the reason");
	free(t);
	free(m1);
	free(json);
	fill(&r, true);

	char *svg = render(bench_report_svg, &r);

	tap_check(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40) == 0 &&
			  strstr(svg, "viewBox=") && strstr(svg, "</svg>\n"),
		  "SVG: a standalone svg element with its namespace and a viewBox");
	tap_check(xml_well_formed(svg, why, sizeof(why)), "SVG is well-formed%s%s", why[0] ? ": " : "",
		  why);
	tap_check(strstr(svg, "<title>ktls bench: kTLS against userspace TLS, AES-128-GCM, TLS 1.3</title>") &&
			  strstr(svg, "class=\"title\">ktls bench: kTLS against userspace TLS"),
		  "SVG has a title");
	tap_check(strstr(svg, ">throughput (MiB/s)</text>") &&
			  strstr(svg, ">CPU seconds per GiB (getrusage, user + system)</text>"),
		  "SVG axis labels name their units");
	bool names = true;

	for (int i = 0; i < BENCH_MODE_COUNT; i++) {
		char label[64];

		snprintf(label, sizeof(label), ">%d. %s</text>", r.modes[i].id, r.modes[i].name);
		names = names && strstr(svg, label) != NULL;
	}
	tap_check(names, "SVG names every mode");
	tap_check(strstr(svg, ">1. gnutls-recv</text>") && strstr(svg, ">2. ktls-recv</text>") &&
			  strstr(svg, ">3. ktls-splice-null</text>") &&
			  strstr(svg, ">4. ktls-splice-file</text>") &&
			  strstr(svg, ">receive throughput (MiB/s)</text>") &&
			  strstr(svg, ">receive CPU seconds per GiB (getrusage, user + system)</text>") &&
			  strstr(svg, ">256.0</text>") && strstr(svg, ">4.00</text>") &&
			  strstr(svg, "unavailable: no kernel RX &lt;here&gt;"),
		  "SVG has the receive panels: modes, values, axis labels, the unavailable reason");
	tap_check(strstr(svg, ">1. tls1.2-ecdsa-p256</text>") && strstr(svg, ">4. tls1.3-rsa-2048</text>") &&
			  strstr(svg, ">500.0</text>") && strstr(svg, ">125.0</text>") &&
			  strstr(svg, ">handshakes per second (full, then resumed)</text>") &&
			  strstr(svg, "unavailable: resumption is not implemented &lt;yet&gt;"),
		  "SVG has the handshake panel: rows, rates, axis label, an unavailable row's reason");
	tap_check(strstr(svg, ">512.0</text>") && strstr(svg, ">85.3</text>") &&
			  strstr(svg, ">0.75</text>") && strstr(svg, ">2.00</text>"),
		  "SVG prints the values on the bars (MiB/s; sender and receiver CPU s/GiB)");
	tap_check(strstr(svg, "unavailable: missing: io_uring engine &lt;not landed&gt;") != NULL,
		  "SVG shows why mode 5 did not run, escaped");
	tap_check(strstr(svg, "Kernel crypto is portable C") != NULL &&
			  strstr(svg, "CPU &quot;quoted&quot; &lt;&amp;&gt;") != NULL,
		  "SVG states the generic-crypto caveat and escapes the environment");
	tap_check(strstr(svg, ">sender</text>") && strstr(svg, ">receiver</text>"),
		  "SVG has a legend for the CPU bars");
	free(svg);
	fill(&r, false);
	svg = render(bench_report_svg, &r);
	tap_check(strstr(svg, "portable C") == NULL && xml_well_formed(svg, why, sizeof(why)),
		  "SVG without the caveat when the kernel's AEAD is not generic");
	free(svg);

	fill(&r, true);
	char *table = render(bench_report_table, &r);

	tap_check(strstr(table, "kernel: Linux 6.1.0 x86_64") &&
			  strstr(table, "TLS ULP: available") &&
			  strstr(table, "kernel AEAD driver for AES-128-GCM: gcm_base(ctr(aes-generic),ghash-generic)") &&
			  strstr(table, "userspace crypto: GnuTLS 3.7.9") &&
			  strstr(table, "  OpenSSL (mode 7): OpenSSL 3.0.22 \"test\"\n") &&
			  strstr(table, "NOTE: ") && strstr(table, "not meaningful"),
		  "table starts with the environment and the generic-crypto caveat");
	tap_check(strstr(table, "unavailable: missing: io_uring engine <not landed>") != NULL,
		  "table gives mode 5's reason in its row");
	tap_check(strstr(table, "\n7   openssl-sendfile            73.1 ") != NULL,
		  "table has the OpenSSL row with its throughput");
	tap_check(strstr(table, "  CPU accounting: reading /dev/zero (kernel work only) was booked as "
				"user 0.19 s, system 0.01 s\n") &&
			  strstr(table, "NOTE: this kernel books its own work as user time"),
		  "table: the accounting probe, and the note when the kernel's work is booked as user");
	tap_check(strstr(table, "512.0") != NULL && strstr(table, ": match") != NULL,
		  "table shows throughput and the hash check");
	tap_check(strstr(table, "\nreceive side (") && strstr(table, "\n1   gnutls-recv ") &&
			  strstr(table, "\n4   ktls-splice-file       unavailable: no kernel RX <here>") &&
			  strstr(table, "received: not hashed (spliced to /dev/null; byte count matches)"),
		  "table has the receive section, its unavailable row and the not-hashed splice");
	tap_check(strstr(table, "\nhandshakes (full and resumed, libktls client and server processes, "
				"1.0 s per row):\n") &&
			  strstr(table, "\n1   tls1.2-ecdsa-p256          500.0      0.375      1.500         12.5\n") &&
			  strstr(table, "\n2   tls1.2-rsa-2048            250.0      0.375      1.500            -\n") &&
			  strstr(table, "\n6   tls1.3-resumed         unavailable: resumption is not implemented <yet>\n"),
		  "table has the handshake rows, '-' without key installs, an unavailable row's reason");
	free(table);
	r.acct_user_s = 0.0;
	r.acct_sys_s = 0.2;
	table = render(bench_report_table, &r);
	json = render(bench_report_json, &r);
	tap_check(strstr(table, "booked as user 0.00 s, system 0.20 s (as it should)\n") &&
			  strstr(table, "books its own work as user") == NULL &&
			  strstr(json, "\"kernel_work_booked_as_user\":false,\"note\":\"\"}") && json_valid(json),
		  "kernel work booked as system time: no note");
	r.acct_measured = false;
	free(json);
	json = render(bench_report_json, &r);
	tap_check(strstr(json, "\"cpu_accounting\":null,") && json_valid(json),
		  "JSON: cpu_accounting null when the probe did not run");
	free(json);
	free(table);
	return tap_done();
}
