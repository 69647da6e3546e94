/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls bench: the results as a table for people, JSON for machines, an SVG bar chart. */
#include <string.h>

#include "bench-report.h"
#include "tool.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)

double bench_throughput_mib(const struct bench_mode *m)
{
	return m->seconds > 0 ? (double)m->bytes / MIB / m->seconds : 0.0;
}

double bench_per_gib(const struct bench_mode *m, double value)
{
	return m->bytes > 0 ? value * GIB / (double)m->bytes : 0.0;
}

double bench_cpu_per_gib(const struct bench_mode *m, const struct bench_side *s)
{
	return bench_per_gib(m, s->user_s + s->sys_s);
}

double bench_handshakes_per_s(const struct bench_handshake *h)
{
	return h->seconds > 0 ? (double)h->count / h->seconds : 0.0;
}

double bench_cpu_ms_per_handshake(const struct bench_handshake *h, const struct bench_side *s)
{
	return h->count > 0 ? (s->user_s + s->sys_s) * 1e3 / (double)h->count : 0.0;
}

bool bench_kernel_work_is_user(const struct bench_report *r)
{
	return r->acct_measured && r->acct_user_s > r->acct_sys_s;
}

const char *bench_status_name(enum bench_status status)
{
	switch (status) {
	case BENCH_OK:
		return "ok";
	case BENCH_UNAVAILABLE:
		return "unavailable";
	case BENCH_FAILED:
		return "failed";
	}
	return "unknown";
}

static const char *const generic_note =
	"the kernel's AEAD here is the portable C implementation (\"generic\"), while userspace "
	"GnuTLS may use CPU instructions: kTLS-versus-userspace speed is not meaningful on this "
	"kernel; compare kTLS modes with each other only";

static const char *const user_booking_note =
	"this kernel books its own work as user time (user-mode Linux does), so the 'usr' "
	"columns include the kernel's crypto and TCP work: a kTLS sender's user CPU here is not "
	"the program's own";

/* ---- table ------------------------------------------------------------ */

/* One section of the table: the rows, then each mode's details. */
static void table_section(FILE *out, const struct bench_mode *modes, int count)
{
	fprintf(out, "\n%-3s %-22s %9s %8s %8s %8s %8s %10s %10s %9s\n", "#", "mode", "MiB/s",
		"snd usr", "snd sys", "rcv usr", "rcv sys", "snd calls", "rcv calls", "records");
	fprintf(out, "%-3s %-22s %9s %8s %8s %8s %8s %10s %10s %9s\n", "", "", "", "s/GiB", "s/GiB",
		"s/GiB", "s/GiB", "/GiB", "/GiB", "/s");
	for (int i = 0; i < count; i++) {
		const struct bench_mode *m = &modes[i];

		if (m->status != BENCH_OK) {
			fprintf(out, "%-3d %-22s %s: %s\n", m->id, m->name, bench_status_name(m->status),
				m->reason);
			continue;
		}
		fprintf(out, "%-3d %-22s %9.1f %8.2f %8.2f %8.2f %8.2f %10.0f %10.0f ", m->id, m->name,
			bench_throughput_mib(m), bench_per_gib(m, m->sender.user_s),
			bench_per_gib(m, m->sender.sys_s), bench_per_gib(m, m->receiver.user_s),
			bench_per_gib(m, m->receiver.sys_s), bench_per_gib(m, (double)m->sender.syscalls),
			bench_per_gib(m, (double)m->receiver.syscalls));
		if (m->records > 0)
			fprintf(out, "%9.0f%s\n", m->seconds > 0 ? (double)m->records / m->seconds : 0.0,
				m->records_derived ? "*" : "");
		else
			fprintf(out, "%9s\n", "-");
	}
	fprintf(out, "\n");
	for (int i = 0; i < count; i++) {
		const struct bench_mode *m = &modes[i];

		fprintf(out, "%d %s: %s\n", m->id, m->name, m->title);
		if (m->status != BENCH_OK)
			continue;
		if (m->not_hashed)
			fprintf(out, "    %.1f MiB in %.2f s; SHA-256 sent %s, received: not hashed "
				     "(spliced to /dev/null; byte count matches)\n",
				(double)m->bytes / MIB, m->seconds, m->sha256_sent);
		else
			fprintf(out, "    %.1f MiB in %.2f s; SHA-256 sent %s, received %s: %s\n",
				(double)m->bytes / MIB, m->seconds, m->sha256_sent, m->sha256_received,
				strcmp(m->sha256_sent, m->sha256_received) == 0 ? "match" : "MISMATCH");
		if (m->tls_stat)
			fprintf(out, "    kernel: TX key %s, RX key %s (getsockopt SOL_TLS); tls_stat "
				     "TlsTxSw +%lld TlsRxSw +%lld TlsDecryptError +%lld\n",
				m->kernel_tx ? "held" : "not held", m->kernel_rx ? "held" : "not held",
				m->tx_sw, m->rx_sw, m->decrypt_error);
		fprintf(out, "    calls counted: sender %s; receiver %s\n", m->sender.syscalls_note,
			m->receiver.syscalls_note);
	}
}

void bench_report_table(FILE *out, const struct bench_report *r)
{
	fprintf(out, "ktls bench: %s, TLS %s, payload file %llu bytes, record size %u, %.1f s per mode",
		r->cipher, r->tls_version, (unsigned long long)r->payload_bytes, r->record_size,
		r->duration_s);
	if (r->max_bytes > 0)
		fprintf(out, " (at most %llu bytes)", (unsigned long long)r->max_bytes);
	fprintf(out, "\n  kernel: %s; CPU: %s\n", r->kernel, r->cpu);
	fprintf(out, "  TLS ULP: %s%s%s\n", r->tls_ulp ? "available" : "not available",
		r->tls_ulp ? "" : ": ", r->tls_ulp ? "" : r->tls_ulp_reason);
	fprintf(out, "  kernel AEAD driver for %s: %s\n", r->cipher, r->kernel_aead);
	fprintf(out, "  userspace crypto: GnuTLS %s (%s)\n", r->gnutls_version,
		r->cpu_aes == 1	  ? "the CPU has AES-NI ('aes' in /proc/cpuinfo); GnuTLS uses it for AES"
		: r->cpu_aes == 0 ? "no 'aes' flag in /proc/cpuinfo: portable code"
				  : "AES-NI unknown: no flags in /proc/cpuinfo");
	fprintf(out, "  OpenSSL (mode 7): %s\n",
		r->openssl_version[0] != '\0' ? r->openssl_version : "not built in");
	if (r->acct_measured)
		fprintf(out, "  CPU accounting: reading /dev/zero (kernel work only) was booked as user "
			     "%.2f s, system %.2f s%s\n", r->acct_user_s, r->acct_sys_s,
			bench_kernel_work_is_user(r) ? "" : " (as it should)");
	if (r->kernel_crypto_generic)
		fprintf(out, "  NOTE: %s\n", generic_note);
	if (bench_kernel_work_is_user(r))
		fprintf(out, "  NOTE: %s\n", user_booking_note);
	fprintf(out, "\nsend side (the receiver is always the same libktls receive loop, kernel RX "
		     "where possible; a TLS client for mode 7's OpenSSL server, else a server):");
	table_section(out, r->modes, BENCH_MODE_COUNT);
	fprintf(out, "\nreceive side (one sender: kTLS sendfile where the kernel takes TX keys, "
		     "else GnuTLS gnutls_record_send_file):");
	table_section(out, r->recv_modes, BENCH_RECV_MODE_COUNT);
	fprintf(out, "\nhandshakes (full and resumed, libktls client and server processes, "
		     "%.1f s per row):\n",
		r->handshake_duration_s);
	fprintf(out, "%-3s %-22s %9s %10s %10s %12s\n", "#", "handshake", "per s", "client ms",
		"server ms", "key install");
	fprintf(out, "%-3s %-22s %9s %10s %10s %12s\n", "", "", "", "CPU each", "CPU each", "us");
	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++) {
		const struct bench_handshake *h = &r->handshakes[i];

		if (h->status != BENCH_OK) {
			fprintf(out, "%-3d %-22s %s: %s\n", i + 1, h->name, bench_status_name(h->status),
				h->reason);
			continue;
		}
		fprintf(out, "%-3d %-22s %9.1f %10.3f %10.3f ", i + 1, h->name, bench_handshakes_per_s(h),
			bench_cpu_ms_per_handshake(h, &h->client),
			bench_cpu_ms_per_handshake(h, &h->server));
		if (h->key_installs > 0)
			fprintf(out, "%12.1f\n", h->key_install_us);
		else
			fprintf(out, "%12s\n", "-");
	}
	fprintf(out, "key install: mean time from libktls's \"handshake done\" log line (GnuTLS "
		     "finished) to its \"kTLS: TX ..., RX ...\" line (keys in the kernel), both sides.\n"
		     "each connection: connect (TCP_NODELAY), handshake, 1 byte server to client, "
		     "client close_notify, close; CPU is getrusage of each process over its interval.\n"
		     "resumed rows: one config each side for the whole row, so every connection after "
		     "the first resumes (TLS 1.3 with the ticket the last one read back from the kernel).\n");
	fprintf(out, "\nCPU seconds are getrusage(RUSAGE_SELF) of each process over its measured "
		     "interval; the receiver's include SHA-256 of every byte,\n"
		     "except in the receive splice modes (the file is hashed after the interval; "
		     "/dev/null is not hashed).\n"
		     "records/s marked * are derived (bytes / record size), not counted.\n");
}

/* ---- JSON ------------------------------------------------------------- */

static void json_kv_str(FILE *out, const char *key, const char *value, bool comma)
{
	json_string(out, key);
	fputc(':', out);
	json_string(out, value);
	if (comma)
		fputc(',', out);
}

static void json_side(FILE *out, const struct bench_mode *m, const struct bench_side *s)
{
	fprintf(out,
		"{\"user_s\":%.6f,\"sys_s\":%.6f,\"user_s_per_gib\":%.6f,\"sys_s_per_gib\":%.6f,"
		"\"cpu_s_per_gib\":%.6f,\"syscalls\":%llu,\"syscalls_per_gib\":%.1f,",
		s->user_s, s->sys_s, bench_per_gib(m, s->user_s), bench_per_gib(m, s->sys_s),
		bench_cpu_per_gib(m, s), (unsigned long long)s->syscalls,
		bench_per_gib(m, (double)s->syscalls));
	json_kv_str(out, "syscalls_counted", s->syscalls_note, false);
	fputc('}', out);
}

static void json_modes(FILE *out, const struct bench_mode *modes, int count)
{
	fputc('[', out);
	for (int i = 0; i < count; i++) {
		const struct bench_mode *m = &modes[i];

		fprintf(out, "%s{\"id\":%d,", i > 0 ? "," : "", m->id);
		json_kv_str(out, "name", m->name, true);
		json_kv_str(out, "title", m->title, true);
		json_kv_str(out, "status", bench_status_name(m->status), true);
		json_kv_str(out, "reason", m->reason, m->status == BENCH_OK);
		if (m->status != BENCH_OK) {
			fputc('}', out);
			continue;
		}
		fprintf(out, "\"bytes\":%llu,\"seconds\":%.6f,\"throughput_mib_s\":%.3f,",
			(unsigned long long)m->bytes, m->seconds, bench_throughput_mib(m));
		fprintf(out, "\"records\":%llu,\"records_per_s\":%.1f,\"records_derived\":%s,",
			(unsigned long long)m->records,
			m->seconds > 0 ? (double)m->records / m->seconds : 0.0,
			m->records_derived ? "true" : "false");
		fprintf(out, "\"sender\":");
		json_side(out, m, &m->sender);
		fprintf(out, ",\"receiver\":");
		json_side(out, m, &m->receiver);
		fputc(',', out);
		json_kv_str(out, "sha256_sent", m->sha256_sent, true);
		json_kv_str(out, "sha256_received",
			    m->not_hashed ? "not hashed (spliced)" : m->sha256_received, true);
		fprintf(out, "\"sha256_match\":%s,\"kernel_tx\":%s,\"kernel_rx\":%s,\"tls_stat\":",
			m->not_hashed ? "null"
			: strcmp(m->sha256_sent, m->sha256_received) == 0 && m->sha256_sent[0] != '\0'
				? "true"
				: "false",
			m->kernel_tx ? "true" : "false", m->kernel_rx ? "true" : "false");
		if (m->tls_stat)
			fprintf(out, "{\"TlsTxSw\":%lld,\"TlsRxSw\":%lld,\"TlsDecryptError\":%lld}}",
				m->tx_sw, m->rx_sw, m->decrypt_error);
		else
			fprintf(out, "null}");
	}
	fputc(']', out);
}

void bench_report_json(FILE *out, const struct bench_report *r)
{
	fprintf(out, "{\"tool\":\"ktls bench\",\"environment\":{");
	json_kv_str(out, "kernel", r->kernel, true);
	json_kv_str(out, "cpu", r->cpu, true);
	fprintf(out, "\"tls_ulp\":%s,", r->tls_ulp ? "true" : "false");
	json_kv_str(out, "tls_ulp_reason", r->tls_ulp_reason, true);
	json_kv_str(out, "kernel_aead_driver", r->kernel_aead, true);
	fprintf(out, "\"kernel_crypto_generic\":%s,", r->kernel_crypto_generic ? "true" : "false");
	json_kv_str(out, "note", r->kernel_crypto_generic ? generic_note : "", true);
	fprintf(out, "\"userspace\":{\"library\":\"GnuTLS\",");
	json_kv_str(out, "version", r->gnutls_version, true);
	fprintf(out, "\"cpu_aes\":%s},", r->cpu_aes == 1 ? "true" : r->cpu_aes == 0 ? "false" : "null");
	fprintf(out, "\"cpu_accounting\":");
	if (r->acct_measured) {
		fprintf(out, "{\"probe\":\"read /dev/zero\",\"user_s\":%.6f,\"sys_s\":%.6f,"
			     "\"kernel_work_booked_as_user\":%s,", r->acct_user_s, r->acct_sys_s,
			bench_kernel_work_is_user(r) ? "true" : "false");
		json_kv_str(out, "note", bench_kernel_work_is_user(r) ? user_booking_note : "", false);
		fputs("},", out);
	} else {
		fputs("null,", out);
	}
	/* mode 7's OpenSSL, null when the tool was built without it */
	fprintf(out, "\"openssl\":");
	if (r->openssl_version[0] != '\0')
		json_string(out, r->openssl_version);
	else
		fputs("null", out);
	fprintf(out, "},");
	fprintf(out, "\"parameters\":{");
	json_kv_str(out, "cipher", r->cipher, true);
	json_kv_str(out, "tls_version", r->tls_version, true);
	fprintf(out, "\"payload_bytes\":%llu,\"record_size\":%u,\"duration_s\":%.3f,\"max_bytes\":%llu},",
		(unsigned long long)r->payload_bytes, r->record_size, r->duration_s,
		(unsigned long long)r->max_bytes);
	fprintf(out, "\"modes\":");
	json_modes(out, r->modes, BENCH_MODE_COUNT);
	fprintf(out, ",\"receive\":");
	json_modes(out, r->recv_modes, BENCH_RECV_MODE_COUNT);
	fprintf(out, ",\"handshakes\":{\"duration_s\":%.3f,\"rows\":[", r->handshake_duration_s);
	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++) {
		const struct bench_handshake *h = &r->handshakes[i];

		fprintf(out, "%s{\"id\":%d,", i > 0 ? "," : "", i + 1);
		json_kv_str(out, "name", h->name, true);
		json_kv_str(out, "title", h->title, true);
		json_kv_str(out, "status", bench_status_name(h->status), true);
		json_kv_str(out, "reason", h->reason, h->status == BENCH_OK);
		if (h->status != BENCH_OK) {
			fputc('}', out);
			continue;
		}
		fprintf(out,
			"\"handshakes\":%llu,\"seconds\":%.6f,\"handshakes_per_s\":%.3f,"
			"\"client\":{\"user_s\":%.6f,\"sys_s\":%.6f,\"cpu_ms_per_handshake\":%.6f},"
			"\"server\":{\"user_s\":%.6f,\"sys_s\":%.6f,\"cpu_ms_per_handshake\":%.6f},"
			"\"kernel_keys\":%s,\"key_installs\":%llu,\"key_install_us\":",
			(unsigned long long)h->count, h->seconds, bench_handshakes_per_s(h),
			h->client.user_s, h->client.sys_s, bench_cpu_ms_per_handshake(h, &h->client),
			h->server.user_s, h->server.sys_s, bench_cpu_ms_per_handshake(h, &h->server),
			h->kernel_keys ? "true" : "false", (unsigned long long)h->key_installs);
		if (h->key_installs > 0)
			fprintf(out, "%.3f}", h->key_install_us);
		else
			fprintf(out, "null}");
	}
	fprintf(out, "]}}\n");
}

/* ---- SVG -------------------------------------------------------------- */

static void xml_text(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* A "nice" axis maximum at or above @v: 1, 2 or 5 times a power of ten. */
static double axis_max(double v)
{
	double p = 1e-3;

	if (v <= 0)
		return 1.0;
	while (p * 10 <= v)
		p *= 10;
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

#define SVG_W 900
#define LABEL_W 250
#define BAR_W 560
#define ROW_H 26

/* One horizontal bar chart; @value(m, which) for @bars bars per mode; returns the next y. */

/* A chart's axes: a vertical and a horizontal line, ticks at 0..max in
 * quarters, and the axis label with its units under them. */
static void svg_axis(FILE *out, int x0, int top, int y, double max, const char *label)
{
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", x0, top,
		x0, y);
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", x0, y,
		x0 + BAR_W, y);
	for (int t = 0; t <= 4; t++)
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"t\">%g</text>\n",
			x0 + BAR_W * t / 4, y + 14, max * t / 4);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x0 + BAR_W / 2, y + 32);
	xml_text(out, label);
	fprintf(out, "</text>\n");
}

static int svg_panel(FILE *out, const struct bench_mode *modes, int count, int y, const char *heading,
		     const char *axis, int bars, const char *const *bar_names,
		     const char *const *colors, double (*value)(const struct bench_mode *, int))
{
	double max = 0;
	int x0 = LABEL_W;

	for (int i = 0; i < count; i++)
		for (int b = 0; b < bars && modes[i].status == BENCH_OK; b++)
			if (value(&modes[i], b) > max)
				max = value(&modes[i], b);
	max = axis_max(max);
	fprintf(out, "<text x=\"10\" y=\"%d\" class=\"h\">", y);
	xml_text(out, heading);
	fprintf(out, "</text>\n");
	for (int b = 0; b < bars && bars > 1; b++)
		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\">%s</text>\n",
			x0 + b * 200, y + 8, colors[b], x0 + b * 200 + 16, y + 18, bar_names[b]);
	y += bars > 1 ? 30 : 14;
	int top = y;

	for (int i = 0; i < count; i++) {
		const struct bench_mode *m = &modes[i];
		int h = m->status == BENCH_OK ? bars * (ROW_H - 6) + 6 : ROW_H;

		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d. ", x0 - 8,
			y + h / 2 + 4, m->id);
		xml_text(out, m->name);
		fprintf(out, "</text>\n");
		if (m->status != BENCH_OK) {
			fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"na\">%s: ", x0 + 4, y + h / 2 + 4,
				bench_status_name(m->status));
			char shortened[90];

			snprintf(shortened, sizeof(shortened), "%s", m->reason);
			if (strlen(m->reason) >= sizeof(shortened))
				memcpy(shortened + sizeof(shortened) - 4, "...", 4);
			xml_text(out, shortened);
			fprintf(out, "</text>\n");
		} else {
			for (int b = 0; b < bars; b++) {
				double v = value(m, b);
				int w = (int)(v / max * BAR_W + 0.5), by = y + 3 + b * (ROW_H - 6);

				fprintf(out,
					"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
					"<text x=\"%d\" y=\"%d\">%.*f</text>\n",
					x0, by, w, ROW_H - 8, colors[b], x0 + w + 4, by + ROW_H - 11,
					v < 10 ? 2 : 1, v);
			}
		}
		y += h;
	}
	svg_axis(out, x0, top, y, max, axis);
	return y + 60;
}

static double value_throughput(const struct bench_mode *m, int bar)
{
	(void)bar;
	return bench_throughput_mib(m);
}

static double value_cpu(const struct bench_mode *m, int bar)
{
	return bench_cpu_per_gib(m, bar == 0 ? &m->sender : &m->receiver);
}

static int panel_height(const struct bench_mode *modes, int count, int bars)
{
	int h = (bars > 1 ? 30 : 14) + 60;

	for (int i = 0; i < count; i++)
		h += modes[i].status == BENCH_OK ? bars * (ROW_H - 6) + 6 : ROW_H;
	return h;
}

/* Full handshakes per second, one bar per row; a row that did not run gives its reason. */
static void svg_handshakes(FILE *out, const struct bench_report *r, int y, const char *color)
{
	double max = 0;
	int x0 = LABEL_W, top;

	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++)
		if (r->handshakes[i].status == BENCH_OK && bench_handshakes_per_s(&r->handshakes[i]) > max)
			max = bench_handshakes_per_s(&r->handshakes[i]);
	max = axis_max(max);
	fprintf(out, "<text x=\"10\" y=\"%d\" class=\"h\">Full handshakes per second, libktls "
		     "client and server processes (higher is better)</text>\n", y);
	y += 14;
	top = y;
	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++) {
		const struct bench_handshake *h = &r->handshakes[i];
		char shortened[90];

		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d. ", x0 - 8,
			y + ROW_H / 2 + 4, i + 1);
		xml_text(out, h->name);
		fprintf(out, "</text>\n");
		if (h->status != BENCH_OK) {
			snprintf(shortened, sizeof(shortened), "%s", h->reason);
			if (strlen(h->reason) >= sizeof(shortened))
				memcpy(shortened + sizeof(shortened) - 4, "...", 4);
			fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"na\">%s: ", x0 + 4,
				y + ROW_H / 2 + 4, bench_status_name(h->status));
			xml_text(out, shortened);
			fprintf(out, "</text>\n");
		} else {
			double v = bench_handshakes_per_s(h);
			int w = (int)(v / max * BAR_W + 0.5);

			fprintf(out,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
				"<text x=\"%d\" y=\"%d\">%.1f</text>\n",
				x0, y + 3, w, ROW_H - 8, color, x0 + w + 4, y + ROW_H - 8, v);
		}
		y += ROW_H;
	}
	svg_axis(out, x0, top, y, max, "handshakes per second (full, then resumed)");
}

void bench_report_svg(FILE *out, const struct bench_report *r)
{
	static const char *const one_color[] = { "#3b6fb6" };
	static const char *const cpu_colors[] = { "#d9822b", "#6a9f3a" };
	static const char *const cpu_names[] = { "sender", "receiver" };
	int y = 80 + (r->kernel_crypto_generic ? 20 : 0);
	int height = y + 20 + 14 + 60 + BENCH_HANDSHAKE_COUNT * ROW_H +
		     panel_height(r->modes, BENCH_MODE_COUNT, 1) +
		     panel_height(r->modes, BENCH_MODE_COUNT, 2) +
		     panel_height(r->recv_modes, BENCH_RECV_MODE_COUNT, 1) +
		     panel_height(r->recv_modes, BENCH_RECV_MODE_COUNT, 2);
	char line[600];

	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
		"<style>.title{font-size:18px;font-weight:bold}.h{font-size:15px;"
		"font-weight:bold}.na{fill:#a00}.t{font-size:11px}.note{fill:#a00}"
		"</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, height, SVG_W, height);
	snprintf(line, sizeof(line), "ktls bench: kTLS against userspace TLS, %s, TLS %s", r->cipher,
		 r->tls_version);
	fprintf(out, "<title>");
	xml_text(out, line);
	fprintf(out, "</title>\n<text x=\"10\" y=\"24\" class=\"title\">");
	xml_text(out, line);
	fprintf(out, "</text>\n<text x=\"10\" y=\"44\">");
	snprintf(line, sizeof(line), "kernel %s; CPU %s; TLS ULP %s; kernel AEAD %s", r->kernel,
		 r->cpu, r->tls_ulp ? "available" : "not available", r->kernel_aead);
	xml_text(out, line);
	fprintf(out, "</text>\n<text x=\"10\" y=\"62\">");
	snprintf(line, sizeof(line), "userspace GnuTLS %s%s; loopback, payload %llu bytes, %.1f s per mode",
		 r->gnutls_version, r->cpu_aes == 1 ? " (CPU has AES-NI)" : "",
		 (unsigned long long)r->payload_bytes, r->duration_s);
	xml_text(out, line);
	fprintf(out, "</text>\n");
	if (r->kernel_crypto_generic)
		fprintf(out, "<text x=\"10\" y=\"80\" class=\"note\">Kernel crypto is portable C "
			     "(generic): kTLS-versus-userspace speed is not meaningful on this "
			     "kernel.</text>\n");
	y = svg_panel(out, r->modes, BENCH_MODE_COUNT, y + 20,
		      "Throughput by mode (higher is better)", "throughput (MiB/s)", 1, NULL,
		      one_color, value_throughput);
	y = svg_panel(out, r->modes, BENCH_MODE_COUNT, y,
		      "CPU per GiB moved, user + system (lower is better)",
		      "CPU seconds per GiB (getrusage, user + system)", 2, cpu_names, cpu_colors,
		      value_cpu);
	y = svg_panel(out, r->recv_modes, BENCH_RECV_MODE_COUNT, y,
		      "Receive side: throughput by receive mode, one kTLS sendfile sender (higher is better)",
		      "receive throughput (MiB/s)", 1, NULL, one_color, value_throughput);
	y = svg_panel(out, r->recv_modes, BENCH_RECV_MODE_COUNT, y,
		      "Receive side: CPU per GiB received, user + system (lower is better)",
		      "receive CPU seconds per GiB (getrusage, user + system)", 2, cpu_names,
		      cpu_colors, value_cpu);
	svg_handshakes(out, r, y, one_color[0]);
	fprintf(out, "</svg>\n");
}
