/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls serve's HTTP pieces (tools/http.c): request heads and their limits,
 * request-target to path (traversal refused), byte ranges, media types and
 * dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

static int parse(const char *text, struct http_request *req)
{
	return http_parse_request(text, strlen(text), req);
}

static void test_requests(void)
{
	struct http_request r;
	const char *get = "GET /a/b.txt?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\n"
			  "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nGET /next";
	int n = parse(get, &r);

	tap_check(n == (int)(strstr(get, "GET /next") - get) && r.method == HTTP_METHOD_GET &&
			  strcmp(r.target, "/a/b.txt?x=1") == 0 && r.minor == 1 && r.keep_alive &&
			  r.has_range && strcmp(r.range, "bytes=0-9") == 0 &&
			  r.has_if_modified_since && r.if_modified_since == 784111777,
		  "GET head parsed up to the pipelined next request (%d)", n);
	tap_check(parse("HEAD / HTTP/1.0\r\n\r\n", &r) > 0 && r.method == HTTP_METHOD_HEAD &&
			  !r.keep_alive,
		  "HTTP/1.0 without Host, no keep-alive by default");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", &r) > 0 &&
			  !r.keep_alive,
		  "Connection: close ends keep-alive");
	tap_check(parse("GET / HTTP/1.1\nHost: h\n\n", &r) > 0, "bare LF line ends accepted");
	tap_check(parse("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0,
		  "an empty line before the request is skipped");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\n", &r) == 0, "incomplete head: need more");
	tap_check(parse("POST / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0 &&
			  r.method == HTTP_METHOD_OTHER && strcmp(r.method_name, "POST") == 0,
		  "other methods are parsed (answered 405)");
	tap_check(parse("GET / HTTP/1.1\r\n\r\n", &r) == -400, "HTTP/1.1 without Host: 400");
	tap_check(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r) == -400,
		  "two Host fields: 400");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", &r) == -400,
		  "space in a field name: 400");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", &r) == -400,
		  "obs-fold: 400");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", &r) == -400,
		  "a line without colon: 400");
	tap_check(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", &r) == -400,
		  "a body on GET: 400");
	tap_check(parse("GET /\r\n\r\n", &r) == -400, "no version: 400");
	tap_check(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", &r) == -505, "HTTP/2.0: 505");
	tap_check(parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", &r) == -400, "bad method token: 400");

	char *big = malloc(HTTP_HEADER_MAX + 4096);
	int len = snprintf(big, 64, "GET /");

	memset(big + len, 'a', HTTP_URI_MAX + 100);
	len += HTTP_URI_MAX + 100;
	len += snprintf(big + len, 64, " HTTP/1.1\r\nHost: h\r\n\r\n");
	tap_check(http_parse_request(big, (size_t)len, &r) == -414 &&
			  strcmp(r.method_name, "GET") == 0,
		  "target over %d bytes: 414", HTTP_URI_MAX);
	tap_check(http_parse_request(big, HTTP_URI_MAX + 200, &r) == -414,
		  "an unfinished request line already too long: 414");
	len = snprintf(big, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
	while (len < HTTP_HEADER_MAX + 100)
		len += snprintf(big + len, 64, "X-Pad: %040d\r\n", 0);
	len += snprintf(big + len, 8, "\r\n");
	tap_check(http_parse_request(big, (size_t)len, &r) == -431, "head over %d bytes: 431",
		  HTTP_HEADER_MAX);
	tap_check(http_parse_request(big, HTTP_HEADER_MAX, &r) == -431,
		  "%d bytes and no end of head yet: 431", HTTP_HEADER_MAX);
	free(big);
}

static void test_paths(void)
{
	static const struct {
		const char *target, *path;
		int ret;
	} cases[] = {
		{ "/", "", 0 },
		{ "/a/b.txt", "a/b.txt", 0 },
		{ "//a///./b?q=/..", "a/b", 0 },
		{ "/a%20b#frag", "a b", 0 },
		{ "/..", NULL, -403 },
		{ "/a/../../etc/passwd", NULL, -403 },
		{ "/%2e%2e/etc", NULL, -403 },
		{ "/a/%2F/etc", NULL, -400 },
		{ "/a%00b", NULL, -400 },
		{ "/a%zz", NULL, -400 },
		{ "http://h/a", NULL, -400 },
		{ "a/b", NULL, -400 },
		{ "*", NULL, -400 },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = http_target_path(cases[i].target, out, sizeof(out));

		tap_check(ret == cases[i].ret && (cases[i].path == NULL || strcmp(out, cases[i].path) == 0),
			  "path of %s: %d%s%s", cases[i].target, ret, ret == 0 ? " " : "",
			  ret == 0 ? out : "");
	}
	tap_check(http_target_path("/aaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbb/cccccccccccccccccc",
				   out, sizeof(out)) == -414,
		  "a path longer than the buffer: 414");
}

static void test_ranges(void)
{
	static const struct {
		const char *value;
		uint64_t size;
		int ret;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-9", 100, 1, 0, 9 },
		{ "bytes=90-", 100, 1, 90, 99 },
		{ "bytes=-10", 100, 1, 90, 99 },
		{ "bytes=-1000", 100, 1, 0, 99 },
		{ "bytes=50-1000", 100, 1, 50, 99 },
		{ "bytes=100-", 100, -416, 0, 0 },
		{ "bytes=-0", 100, -416, 0, 0 },
		{ "bytes=0-", 0, -416, 0, 0 },
		{ "bytes=9-0", 100, 0, 0, 0 },
		{ "bytes=0-1,5-6", 100, 0, 0, 0 },
		{ "items=0-1", 100, 0, 0, 0 },
		{ "bytes=x-1", 100, 0, 0, 0 },
		{ "bytes=99999999999999999999999-", 100, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t f = 0, l = 0;
		int ret = http_parse_range(cases[i].value, cases[i].size, &f, &l);

		tap_check(ret == cases[i].ret && (ret != 1 || (f == cases[i].first && l == cases[i].last)),
			  "range %s of %llu: %d [%llu, %llu]", cases[i].value,
			  (unsigned long long)cases[i].size, ret, (unsigned long long)f,
			  (unsigned long long)l);
	}
}

static void test_types_dates(void)
{
	char buf[40];
	time_t t = 0;

	tap_check(strcmp(http_mime_type("a/index.HTML"), "text/html; charset=utf-8") == 0 &&
			  strcmp(http_mime_type("x.png"), "image/png") == 0 &&
			  strcmp(http_mime_type("a.b/noext"), "application/octet-stream") == 0 &&
			  strcmp(http_mime_type("file."), "application/octet-stream") == 0,
		  "media types by extension");
	http_date_format(784111777, buf, sizeof(buf));
	tap_check(strcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT") == 0, "IMF-fixdate: %s", buf);
	tap_check(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t) == 0 && t == 784111777,
		  "RFC 850 date");
	tap_check(http_date_parse("Sun Nov  6 08:49:37 1994", &t) == 0 && t == 784111777,
		  "asctime date");
	tap_check(http_date_parse("yesterday", &t) == -1 &&
			  http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t) == -1,
		  "malformed dates refused");
	tap_check(strcmp(http_status_text(416), "Range Not Satisfiable") == 0 &&
			  strcmp(http_status_text(431), "Request Header Fields Too Large") == 0,
		  "status texts");
}

int main(void)
{
	test_requests();
	test_paths();
	test_ranges();
	test_types_dates();
	return tap_done();
}
