/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP/1.1 for `ktls get`, without I/O: URLs, the request, response heads
 * and body framing (RFC 9112; RFC 3986 for the URL).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-client.h"

__attribute__((format(printf, 4, 5))) static int http_error(char *err, size_t errlen, int ret,
							    const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- URL ----------------------------------------------------------------- */

int http_url_parse(const char *url, struct http_url *ret_url, char *err, size_t errlen)
{
	static const char scheme[] = "https://";
	struct http_url u;
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t host_len, path_len;
	unsigned char addr[16];

	memset(&u, 0, sizeof(u));
	if (url == NULL || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
		return http_error(err, errlen, -EINVAL,
				  "URL must start with https:// (ktls get speaks only HTTPS)");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return http_error(err, errlen, -EINVAL,
					  "URL contains a space or control character");
	host = url + sizeof(scheme) - 1;
	path = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(path - host)) != NULL)
		return http_error(err, errlen, -EINVAL,
				  "URL has user information (user@host), which is not supported");
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(path - host));
		if (host_end == NULL)
			return http_error(err, errlen, -EINVAL, "IPv6 address in URL lacks its ']'");
		host++;
		u.ipv6 = true;
		p = host_end + 1;
		if (p < path && *p != ':')
			return http_error(err, errlen, -EINVAL, "unexpected text after ']' in URL");
	} else {
		host_end = memchr(host, ':', (size_t)(path - host));
		if (host_end == NULL)
			host_end = path;
		p = host_end;
	}
	if (p < path && *p == ':')
		port = p + 1;
	host_len = (size_t)(host_end - host);
	if (host_len == 0)
		return http_error(err, errlen, -EINVAL, "URL has no host");
	if (host_len >= sizeof(u.host))
		return http_error(err, errlen, -EINVAL, "host name in URL is too long");
	memcpy(u.host, host, host_len);
	if (u.ipv6 ? inet_pton(AF_INET6, u.host, addr) != 1 : false)
		return http_error(err, errlen, -EINVAL, "\"%s\" is not an IPv6 address", u.host);
	u.literal = u.ipv6 || inet_pton(AF_INET, u.host, addr) == 1;

	if (port != NULL) {
		size_t n = (size_t)(path - port);
		unsigned long v = 0;

		if (n == 0 || n > 5)
			return http_error(err, errlen, -EINVAL, "bad port in URL");
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)port[i]))
				return http_error(err, errlen, -EINVAL, "bad port in URL");
			v = v * 10 + (unsigned long)(port[i] - '0');
		}
		if (v == 0 || v > 65535)
			return http_error(err, errlen, -EINVAL, "port %lu out of range", v);
		snprintf(u.port, sizeof(u.port), "%lu", v);
	} else {
		snprintf(u.port, sizeof(u.port), "443");
	}

	path_len = strcspn(path, "#");
	if (path_len + 2 > sizeof(u.path))
		return http_error(err, errlen, -EINVAL, "URL path is too long");
	if (path_len == 0 || path[0] == '?')
		u.path[0] = '/';
	memcpy(u.path + strlen(u.path), path, path_len);
	*ret_url = u;
	return 0;
}

void http_url_authority(const struct http_url *url, char *out, size_t size)
{
	bool default_port = strcmp(url->port, "443") == 0;

	snprintf(out, size, "%s%s%s%s%s", url->ipv6 ? "[" : "", url->host, url->ipv6 ? "]" : "",
		 default_port ? "" : ":", default_port ? "" : url->port);
}

int http_request_format(const struct http_url *url, const char *user_agent, char *out,
			size_t size)
{
	char authority[300];
	int n;

	http_url_authority(url, authority, sizeof(authority));
	n = snprintf(out, size,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: %s\r\n"
		     "Accept: */*\r\n"
		     "Connection: keep-alive\r\n"
		     "\r\n",
		     url->path, authority, user_agent);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* ---- response head --------------------------------------------------------- */

/* RFC 9110 section 5.6.2 */
static bool http_is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The next line of the head: [*line, *line_len) without its CRLF or LF. */
static const char *http_next_line(const char *p, const char *end, size_t *ret_len)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (lf == NULL)
		return NULL;
	*ret_len = (size_t)(lf - p) - (lf > p && lf[-1] == '\r' ? 1 : 0);
	return lf + 1;
}

/* Does the comma-separated list @value (of @len bytes) hold @token, any case? */
static bool http_list_has(const char *value, size_t len, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value, *end = value + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma != NULL ? comma : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const char *t = e;

		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		p = e + (comma != NULL ? 1 : 0);
	}
	return false;
}

static int http_parse_status_line(const char *line, size_t len, struct http_response *resp,
				  char *err, size_t errlen)
{
	/* HTTP-version SP 3DIGIT SP [reason-phrase] (RFC 9112 section 4) */
	if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (len > 12 && line[12] != ' '))
		return http_error(err, errlen, -EBADMSG,
				  "malformed status line \"%.*s\" (expected \"HTTP/1.x NNN reason\")",
				  (int)(len > 80 ? 80 : len), line);
	resp->version_minor = line[7] - '0';
	resp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (resp->status < 100)
		return http_error(err, errlen, -EBADMSG, "status code %03d is not valid",
				  resp->status);
	if (len > 13)
		snprintf(resp->reason, sizeof(resp->reason), "%.*s", (int)(len - 13), line + 13);
	for (char *c = resp->reason; *c != '\0'; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	return 0;
}

static int http_parse_content_length(const char *v, size_t vlen, struct http_response *resp,
				     bool *seen, char *err, size_t errlen)
{
	uint64_t n = 0;

	if (vlen == 0 || vlen > 19)
		return http_error(err, errlen, -EBADMSG, "bad Content-Length \"%.*s\"",
				  (int)(vlen > 40 ? 40 : vlen), v);
	for (size_t i = 0; i < vlen; i++) {
		if (!isdigit((unsigned char)v[i]))
			return http_error(err, errlen, -EBADMSG, "bad Content-Length \"%.*s\"",
					  (int)(vlen > 40 ? 40 : vlen), v);
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	/* RFC 9112 section 6.3: differing lengths make the message invalid. */
	if (*seen && n != resp->content_length)
		return http_error(err, errlen, -EBADMSG,
				  "two different Content-Length headers (%" PRIu64 " and %" PRIu64
				  ")",
				  resp->content_length, n);
	*seen = true;
	resp->content_length = n;
	return 0;
}

int http_response_parse(const char *buf, size_t len, struct http_response *ret_resp, char *err,
			size_t errlen)
{
	struct http_response resp;
	const char *end, *p, *line, *next;
	const char *te = NULL;
	size_t line_len, te_len = 0;
	bool have_length = false, conn_close = false, conn_keep = false;
	int ret, line_no = 1;

	/* Find the empty line that ends the head, within the bound. */
	end = NULL;
	for (p = buf; p < buf + len && p < buf + HTTP_HEAD_MAX;) {
		next = http_next_line(p, buf + len, &line_len);
		if (next == NULL)
			break;
		if (line_len == 0 && p != buf) {
			end = next;
			break;
		}
		p = next;
	}
	if (end == NULL || (size_t)(end - buf) > HTTP_HEAD_MAX) {
		if (len >= HTTP_HEAD_MAX)
			return http_error(err, errlen, -EMSGSIZE,
					  "response headers exceed %d bytes", HTTP_HEAD_MAX);
		return 0;
	}

	memset(&resp, 0, sizeof(resp));
	resp.head_len = (size_t)(end - buf);
	line = buf;
	next = http_next_line(line, end, &line_len);
	ret = http_parse_status_line(line, line_len, &resp, err, errlen);
	if (ret < 0)
		return ret;

	for (line = next; line < end; line = next) {
		const char *colon, *v, *vend;
		size_t name_len;

		next = http_next_line(line, end, &line_len);
		line_no++;
		if (line_len == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return http_error(err, errlen, -EBADMSG,
					  "header line %d is folded (obsolete line folding, RFC 9112 "
					  "section 5.2)",
					  line_no);
		colon = memchr(line, ':', line_len);
		if (colon == NULL)
			return http_error(err, errlen, -EBADMSG, "header line %d has no ':': \"%.*s\"",
					  line_no, (int)(line_len > 60 ? 60 : line_len), line);
		name_len = (size_t)(colon - line);
		for (size_t i = 0; i < name_len; i++)
			if (!http_is_tchar((unsigned char)line[i]))
				return http_error(err, errlen, -EBADMSG,
						  "header line %d: invalid field name \"%.*s\"",
						  line_no, (int)(name_len > 60 ? 60 : name_len),
						  line);
		if (name_len == 0)
			return http_error(err, errlen, -EBADMSG, "header line %d: empty field name",
					  line_no);
		v = colon + 1;
		vend = line + line_len;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		for (const char *c = v; c < vend; c++)
			if (*c == '\0' || *c == '\r')
				return http_error(err, errlen, -EBADMSG,
						  "header line %d: NUL or CR in the value", line_no);

#define NAME_IS(s) (name_len == sizeof(s) - 1 && strncasecmp(line, s, name_len) == 0)
		if (NAME_IS("Content-Length")) {
			ret = http_parse_content_length(v, (size_t)(vend - v), &resp, &have_length,
							err, errlen);
			if (ret < 0)
				return ret;
		} else if (NAME_IS("Transfer-Encoding")) {
			if (te != NULL)
				return http_error(err, errlen, -EBADMSG,
						  "more than one Transfer-Encoding header");
			te = v;
			te_len = (size_t)(vend - v);
		} else if (NAME_IS("Connection")) {
			conn_close |= http_list_has(v, (size_t)(vend - v), "close");
			conn_keep |= http_list_has(v, (size_t)(vend - v), "keep-alive");
		}
#undef NAME_IS
	}

	/* RFC 9112 section 6.3, in its order. */
	if (resp.status < 200 || resp.status == 204 || resp.status == 304) {
		resp.framing = HTTP_BODY_NONE;
	} else if (te != NULL) {
		/* gzip and the like would need decoding; a GET never asks for them. */
		if (te_len != 7 || strncasecmp(te, "chunked", 7) != 0)
			return http_error(err, errlen, -EOPNOTSUPP,
					  "Transfer-Encoding \"%.*s\" is not supported (only chunked)",
					  (int)(te_len > 60 ? 60 : te_len), te);
		resp.framing = HTTP_BODY_CHUNKED;
	} else if (have_length) {
		resp.framing = HTTP_BODY_LENGTH;
	} else {
		resp.framing = HTTP_BODY_CLOSE;
	}
	/* RFC 9112 section 9.3: persistent by default from 1.1, opt-in for 1.0. */
	resp.keep_alive = resp.version_minor >= 1 ? !conn_close : conn_keep && !conn_close;
	if (resp.framing == HTTP_BODY_CLOSE)
		resp.keep_alive = false;
	*ret_resp = resp;
	return 1;
}

/* ---- body ------------------------------------------------------------------ */

enum {
	CHUNK_SIZE,   /* reading "hex[;ext]" up to its LF */
	CHUNK_DATA,   /* remaining bytes of chunk data */
	CHUNK_CR,     /* the CRLF after chunk data */
	CHUNK_LF,
	CHUNK_TRAILER /* trailer lines, up to an empty one */
};

void http_body_init(struct http_body *body, const struct http_response *resp)
{
	memset(body, 0, sizeof(*body));
	body->framing = resp->framing;
	body->chunk_state = CHUNK_SIZE;
	switch (resp->framing) {
	case HTTP_BODY_NONE:
		body->done = true;
		break;
	case HTTP_BODY_LENGTH:
		body->remaining = resp->content_length;
		body->done = resp->content_length == 0;
		break;
	default:
		break;
	}
}

static int http_chunk_size(struct http_body *body, char *err, size_t errlen)
{
	size_t n = body->line_len;
	uint64_t size = 0;
	size_t digits = 0;

	if (n > 0 && body->line[n - 1] == '\r')
		n--;
	while (digits < n && isxdigit((unsigned char)body->line[digits])) {
		unsigned char c = (unsigned char)body->line[digits];

		if (size >> 60 != 0)
			return http_error(err, errlen, -EBADMSG, "chunk size is too large");
		size = size << 4 | (uint64_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
		digits++;
	}
	/* chunk-size [ chunk-ext ] (RFC 9112 section 7.1.1): extensions are ignored. */
	if (digits == 0 ||
	    (digits < n && body->line[digits] != ';' && body->line[digits] != ' ' &&
	     body->line[digits] != '\t'))
		return http_error(err, errlen, -EBADMSG, "malformed chunk size line \"%.*s\"",
				  (int)(n > 40 ? 40 : n), body->line);
	body->remaining = size;
	body->chunk_state = size == 0 ? CHUNK_TRAILER : CHUNK_DATA;
	body->line_len = 0;
	return 0;
}

static int http_body_chunked(struct http_body *body, const char *in, size_t len, size_t *ret_used,
			     size_t *ret_off, size_t *ret_data, char *err, size_t errlen)
{
	size_t i = 0;
	int ret;

	while (i < len && !body->done) {
		char c = in[i];

		switch (body->chunk_state) {
		case CHUNK_DATA: {
			size_t n = len - i;

			if (n > body->remaining)
				n = (size_t)body->remaining;
			body->remaining -= n;
			body->received += n;
			if (body->remaining == 0)
				body->chunk_state = CHUNK_CR;
			*ret_off = i;
			*ret_data = n;
			*ret_used = i + n;
			return 0;
		}
		case CHUNK_CR:
			i++;
			if (c == '\n') {
				body->chunk_state = CHUNK_SIZE;
				break;
			}
			if (c != '\r')
				return http_error(err, errlen, -EBADMSG,
						  "chunk data is not followed by CRLF");
			body->chunk_state = CHUNK_LF;
			break;
		case CHUNK_LF:
			i++;
			if (c != '\n')
				return http_error(err, errlen, -EBADMSG,
						  "chunk data is not followed by CRLF");
			body->chunk_state = CHUNK_SIZE;
			break;
		case CHUNK_SIZE:
			i++;
			if (c == '\n') {
				ret = http_chunk_size(body, err, errlen);
				if (ret < 0)
					return ret;
				break;
			}
			if (body->line_len + 1 >= sizeof(body->line))
				return http_error(err, errlen, -EBADMSG,
						  "chunk size line longer than %d bytes",
						  HTTP_CHUNK_LINE_MAX);
			body->line[body->line_len++] = c;
			break;
		case CHUNK_TRAILER:
			i++;
			if (++body->trailer_len > HTTP_HEAD_MAX)
				return http_error(err, errlen, -EBADMSG,
						  "chunked trailer exceeds %d bytes", HTTP_HEAD_MAX);
			if (c == '\n') {
				/* An empty line ("\r\n" or "\n") ends the message. */
				if (body->line_len == 0 ||
				    (body->line_len == 1 && body->line[0] == '\r'))
					body->done = true;
				body->line_len = 0;
			} else if (body->line_len < 2) {
				body->line[body->line_len++] = c;
			} else {
				body->line_len = 2; /* a trailer field: content ignored */
			}
			break;
		default:
			return http_error(err, errlen, -EBADMSG, "chunk decoder state corrupt");
		}
	}
	*ret_used = i;
	return 0;
}

int http_body_decode(struct http_body *body, const char *in, size_t len, size_t *ret_used,
		     size_t *ret_data_off, size_t *ret_data_len, char *err, size_t errlen)
{
	size_t n;

	*ret_used = 0;
	*ret_data_off = 0;
	*ret_data_len = 0;
	if (body->done)
		return 0;
	switch (body->framing) {
	case HTTP_BODY_LENGTH:
		n = len < body->remaining ? len : (size_t)body->remaining;
		body->remaining -= n;
		body->received += n;
		body->done = body->remaining == 0;
		*ret_used = n;
		*ret_data_len = n;
		return 0;
	case HTTP_BODY_CLOSE:
		body->received += len;
		*ret_used = len;
		*ret_data_len = len;
		return 0;
	case HTTP_BODY_CHUNKED:
		return http_body_chunked(body, in, len, ret_used, ret_data_off, ret_data_len, err,
					 errlen);
	default:
		body->done = true;
		return 0;
	}
}

int http_body_eof(struct http_body *body, bool clean, char *err, size_t errlen)
{
	if (body->done)
		return 0;
	switch (body->framing) {
	case HTTP_BODY_CLOSE:
		if (clean) {
			body->done = true;
			return 0;
		}
		return http_error(err, errlen, -EPIPE,
				  "the server closed the connection without close_notify after %" PRIu64
				  " bytes of a body without length: the body may be truncated",
				  body->received);
	case HTTP_BODY_LENGTH:
		return http_error(err, errlen, -EPIPE,
				  "response truncated: the server closed the connection after %" PRIu64
				  " of %" PRIu64 " body bytes",
				  body->received, body->received + body->remaining);
	default:
		return http_error(err, errlen, -EPIPE,
				  "response truncated: the server closed the connection in the "
				  "middle of the chunked body, after %" PRIu64 " bytes",
				  body->received);
	}
}
