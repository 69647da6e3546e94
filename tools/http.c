/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP/1.1 request heads, paths, ranges, media types and dates for ktls serve. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* token characters (RFC 9110 section 5.6.2) */
static bool http_tchar(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The end of the head ("\r\n\r\n", or bare "\n\n"), or 0 when not there yet. */
static size_t http_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Trim optional whitespace around a field value in place. */
static void http_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Does a comma-separated list value contain @token (any case)? */
static bool http_list_has(const char *v, size_t len, const char *token)
{
	size_t tl = strlen(token);

	while (len > 0) {
		const char *comma = memchr(v, ',', len);
		size_t item = comma ? (size_t)(comma - v) : len;
		const char *p = v;
		size_t n = item;

		http_trim(&p, &n);
		if (n == tl && strncasecmp(p, token, tl) == 0)
			return true;
		if (comma == NULL)
			break;
		v += item + 1;
		len -= item + 1;
	}
	return false;
}

static int http_parse_line(const char *line, size_t len, struct http_request *req)
{
	const char *sp1 = memchr(line, ' ', len), *sp2;
	size_t mlen, tlen;

	if (sp1 == NULL)
		return -400;
	mlen = (size_t)(sp1 - line);
	snprintf(req->method_name, sizeof(req->method_name), "%.*s", (int)mlen, line);
	for (size_t i = 0; i < mlen; i++)
		if (!http_tchar((unsigned char)line[i]))
			return -400;
	if (mlen == 0)
		return -400;
	sp2 = memchr(sp1 + 1, ' ', len - mlen - 1);
	tlen = sp2 ? (size_t)(sp2 - sp1 - 1) : len - mlen - 1;
	snprintf(req->target, sizeof(req->target), "%.*s", (int)tlen, sp1 + 1);
	if (tlen > HTTP_URI_MAX)
		return -414;
	if (sp2 == NULL || tlen == 0)
		return -400;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)sp1[1 + i] <= ' ' || (unsigned char)sp1[1 + i] >= 0x7f)
			return -400;
	size_t vlen = len - (size_t)(sp2 + 1 - line);
	const char *v = sp2 + 1;

	if (vlen != 8 || strncmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) ||
	    v[6] != '.' || !isdigit((unsigned char)v[7]))
		return -400;
	if (v[5] != '1')
		return -505;
	req->minor = v[7] - '0';
	if (mlen == 3 && memcmp(line, "GET", 3) == 0)
		req->method = HTTP_METHOD_GET;
	else if (mlen == 4 && memcmp(line, "HEAD", 4) == 0)
		req->method = HTTP_METHOD_HEAD;
	else
		req->method = HTTP_METHOD_OTHER;
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *ret_req)
{
	struct http_request req;
	size_t end, pos, line_end;
	bool host = false, conn_close = false, conn_keep = false;
	int ret;

	memset(&req, 0, sizeof(req));
	/* Empty lines before a request are allowed (RFC 9112 section 2.2). */
	pos = 0;
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	end = http_head_end(buf + pos, len - pos);
	if (end == 0) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		if (nl == NULL && len - pos > HTTP_URI_MAX + 32) {
			/* The request line alone is too long: say which part. */
			http_parse_line(buf + pos, len - pos, &req);
			*ret_req = req;
			return -414;
		}
		if (len >= HTTP_HEADER_MAX) {
			if (nl != NULL)
				http_parse_line(buf + pos, (size_t)(nl - buf - pos), &req);
			*ret_req = req;
			return -431;
		}
		return 0;
	}
	end += pos;
	if (end > HTTP_HEADER_MAX) {
		*ret_req = req;
		return -431;
	}
	line_end = (size_t)((const char *)memchr(buf + pos, '\n', end - pos) - buf);
	ret = http_parse_line(buf + pos, line_end - pos - (buf[line_end - 1] == '\r'), &req);
	if (ret < 0) {
		*ret_req = req;
		return ret;
	}
	pos = line_end + 1;
	while (pos < end) {
		const char *line = buf + pos, *colon;
		size_t ll = (size_t)((const char *)memchr(line, '\n', end - pos) - line);
		size_t next = pos + ll + 1;

		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		/* obs-fold and whitespace before the colon are refused (RFC 9112 section 5) */
		colon = memchr(line, ':', ll);
		if (colon == NULL || colon == line) {
			*ret_req = req;
			return -400;
		}
		for (const char *p = line; p < colon; p++)
			if (!http_tchar((unsigned char)*p)) {
				*ret_req = req;
				return -400;
			}
		size_t nlen = (size_t)(colon - line);
		const char *v = colon + 1;
		size_t vlen = ll - nlen - 1;

		http_trim(&v, &vlen);
		for (size_t i = 0; i < vlen; i++)
			if (v[i] == '\0' || v[i] == '\r') {
				*ret_req = req;
				return -400;
			}
		if (nlen == 4 && strncasecmp(line, "Host", 4) == 0) {
			if (host) {
				*ret_req = req;
				return -400; /* RFC 9112 section 3.2 */
			}
			host = true;
		} else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
			conn_close |= http_list_has(v, vlen, "close");
			conn_keep |= http_list_has(v, vlen, "keep-alive");
		} else if (nlen == 5 && strncasecmp(line, "Range", 5) == 0) {
			req.has_range = true;
			if (vlen < sizeof(req.range))
				snprintf(req.range, sizeof(req.range), "%.*s", (int)vlen, v);
		} else if (nlen == 17 && strncasecmp(line, "If-Modified-Since", 17) == 0) {
			char date[64];

			if (vlen < sizeof(date)) {
				snprintf(date, sizeof(date), "%.*s", (int)vlen, v);
				req.has_if_modified_since =
					http_date_parse(date, &req.if_modified_since) == 0;
			}
		} else if ((nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) ||
			   (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0 &&
			    !(vlen == 1 && v[0] == '0'))) {
			/* GET and HEAD carry no body here; one would desynchronise the stream. */
			*ret_req = req;
			return -400;
		}
		pos = next;
	}
	if (req.minor >= 1 && !host) {
		*ret_req = req;
		return -400;
	}
	req.keep_alive = req.minor >= 1 ? !conn_close : conn_keep && !conn_close;
	req.head_len = end;
	*ret_req = req;
	return (int)end;
}

static int http_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The absolute-form (RFC 9112 section 3.2.2), "https://host[:port]/path":
 * the start of its path ("" when it has none), or NULL when it is not one we
 * serve.  Only https (this server speaks nothing else); the authority is not
 * compared with anything (a file server has one site, and the Host field it
 * replaces is not checked either), but userinfo is refused (RFC 9110 section
 * 4.2.4) and it must not be empty.
 */
static const char *http_absolute_path(const char *target)
{
	const char *authority, *end;

	if (strncasecmp(target, "https://", 8) != 0)
		return NULL;
	authority = target + 8;
	end = authority + strcspn(authority, "/?#");
	if (end == authority || memchr(authority, '@', (size_t)(end - authority)) != NULL)
		return NULL;
	return end;
}

int http_target_path(const char *target, char *out, size_t size)
{
	size_t o = 0;
	const char *p = target;

	if (size == 0)
		return -414;
	if (*p != '/' && (p = http_absolute_path(target)) == NULL)
		return -400; /* authority-form, "*", other schemes: not for a file server */
	while (*p != '\0' && *p != '?' && *p != '#') {
		char buf[256];
		size_t n = 0;

		while (*p == '/')
			p++;
		while (*p != '\0' && *p != '/' && *p != '?' && *p != '#') {
			char c = *p++;

			if (c == '%') {
				int hi = http_hex(p[0]), lo = hi < 0 ? -1 : http_hex(p[1]);

				if (lo < 0)
					return -400;
				c = (char)(hi << 4 | lo);
				p += 2;
				if (c == '\0' || c == '/' || c == '\\')
					return -400;
			}
			if (n + 1 >= sizeof(buf))
				return -414;
			buf[n++] = c;
		}
		if (n == 0 || (n == 1 && buf[0] == '.'))
			continue;
		if (n == 2 && buf[0] == '.' && buf[1] == '.')
			return -403;
		if (o + n + 2 > size)
			return -414;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, buf, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static int http_number(const char **s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)**s))
		return -1;
	while (isdigit((unsigned char)**s)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(**s - '0');
		(*s)++;
	}
	*ret = v;
	return 0;
}

int http_parse_range(const char *value, uint64_t size, uint64_t *ret_first, uint64_t *ret_last)
{
	const char *p = value;
	uint64_t first, last;

	if (strncasecmp(p, "bytes=", 6) != 0)
		return 0;
	p += 6;
	while (*p == ' ')
		p++;
	if (strchr(p, ',') != NULL)
		return 0; /* several ranges: the whole file instead */
	if (*p == '-') {
		p++;
		if (http_number(&p, &last) < 0 || *p != '\0')
			return 0;
		if (last == 0 || size == 0)
			return -416;
		first = last >= size ? 0 : size - last;
		last = size - 1;
	} else {
		if (http_number(&p, &first) < 0 || *p++ != '-')
			return 0;
		if (*p == '\0') {
			last = size ? size - 1 : 0;
		} else if (http_number(&p, &last) < 0 || *p != '\0' || last < first) {
			return 0;
		}
		if (first >= size)
			return -416;
		if (last >= size)
			last = size - 1;
	}
	*ret_first = first;
	*ret_last = last;
	return 1;
}

const char *http_mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" }, { "css", "text/css" },
		{ "js", "text/javascript" },            { "json", "application/json" },
		{ "xml", "application/xml" },           { "svg", "image/svg+xml" },
		{ "png", "image/png" },                 { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },               { "gif", "image/gif" },
		{ "webp", "image/webp" },               { "ico", "image/vnd.microsoft.icon" },
		{ "pdf", "application/pdf" },           { "zip", "application/zip" },
		{ "gz", "application/gzip" },           { "tar", "application/x-tar" },
		{ "mp4", "video/mp4" },                 { "webm", "video/webm" },
		{ "mp3", "audio/mpeg" },                { "wasm", "application/wasm" },
		{ "woff2", "font/woff2" },              { "iso", "application/octet-stream" },
	};
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0')
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static const char *const http_days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void http_date_format(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", http_days[tm.tm_wday],
		 tm.tm_mday, http_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

int http_date_parse(const char *s, time_t *ret_t)
{
	struct tm tm;
	char mon[4] = "", wday[10] = "", tail[8] = "";
	int day, year, h, m, sec, n = 0;

	memset(&tm, 0, sizeof(tm));
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &day, mon, &year, &h, &m, &sec,
		   tail, &n) == 8 && s[n] == '\0' && strcmp(tail, "GMT") == 0) {
		;
	} else if (sscanf(s, "%9[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wday, &day, mon, &year,
			  &h, &m, &sec, tail, &n) == 8 && s[n] == '\0' && strcmp(tail, "GMT") == 0) {
		/* RFC 850: two-digit year (RFC 9110 section 5.6.7: 50 years rule, simplified) */
		year += year < 70 ? 2000 : 1900;
	} else if (sscanf(s, "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &h, &m, &sec, &year,
			  &n) == 7 && s[n] == '\0') {
		; /* asctime */
	} else {
		return -1;
	}
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, http_months[i]) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon < 0 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1900)
		return -1;
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*ret_t = timegm(&tm);
	return 0;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}
