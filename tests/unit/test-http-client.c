/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls get's HTTP/1.1 layer (tools/http-client.c) on fixed input: URLs, the
 * request, response heads (well-formed, malformed, oversize, arriving in
 * pieces), body framing (Content-Length, chunked, until close) and truncation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-client.h"
#include "unit.h"

/* ---- URLs ------------------------------------------------------------------ */

static void check_url(const char *text, const char *host, const char *port, const char *path,
		      bool ipv6, bool literal)
{
	struct http_url u;
	char err[200] = "";
	int ret = http_url_parse(text, &u, err, sizeof(err));

	if (!tap_check(ret == 0 && strcmp(u.host, host) == 0 && strcmp(u.port, port) == 0 &&
			       strcmp(u.path, path) == 0 && u.ipv6 == ipv6 && u.literal == literal,
		       "URL %s -> host \"%s\" port %s path \"%s\"", text, host, port, path))
		tap_diag("ret %d (%s): host \"%s\" port \"%s\" path \"%s\" ipv6 %d literal %d", ret,
			 err, ret == 0 ? u.host : "", ret == 0 ? u.port : "",
			 ret == 0 ? u.path : "", ret == 0 && u.ipv6, ret == 0 && u.literal);
}

static void check_bad_url(const char *text, const char *needle)
{
	struct http_url u;
	char err[200] = "";
	int ret = http_url_parse(text, &u, err, sizeof(err));

	tap_check_err(text, ret, EINVAL, err, needle, NULL);
}

static void test_urls(void)
{
	struct http_url u;
	char req[1024], auth[300];
	int n;

	check_url("https://example.com", "example.com", "443", "/", false, false);
	check_url("https://example.com:8443/a/b?x=1#frag", "example.com", "8443", "/a/b?x=1", false,
		  false);
	check_url("HTTPS://Host?q=1", "Host", "443", "/?q=1", false, false);
	check_url("https://[::1]:4433/x", "::1", "4433", "/x", true, true);
	check_url("https://[2001:db8::1]/", "2001:db8::1", "443", "/", true, true);
	check_url("https://127.0.0.1:00443/f", "127.0.0.1", "443", "/f", false, true);

	check_bad_url("http://example.com/", "https://");
	check_bad_url("ftp://example.com/", "https://");
	check_bad_url("https://", "no host");
	check_bad_url("https://:443/", "no host");
	check_bad_url("https://h:0/", "out of range");
	check_bad_url("https://h:65536/", "out of range");
	check_bad_url("https://h:12ab/", "bad port");
	check_bad_url("https://h:/", "bad port");
	check_bad_url("https://user:pw@h/", "user information");
	check_bad_url("https://[::1/", "']'");
	check_bad_url("https://[zz]/", "not an IPv6 address");
	check_bad_url("https://[::1]x/", "after ']'");
	check_bad_url("https://h/a b", "space");

	http_url_parse("https://[::1]:8443/p", &u, NULL, 0);
	http_url_authority(&u, auth, sizeof(auth));
	tap_check(strcmp(auth, "[::1]:8443") == 0, "Host of an IPv6 URL: %s", auth);
	http_url_parse("https://h.example:443/p?q", &u, NULL, 0);
	http_url_authority(&u, auth, sizeof(auth));
	tap_check(strcmp(auth, "h.example") == 0, "Host leaves out the default port: %s", auth);
	n = http_request_format(&u, "ua/1", req, sizeof(req));
	tap_check(n > 0 && strcmp(req, "GET /p?q HTTP/1.1\r\nHost: h.example\r\n"
				       "User-Agent: ua/1\r\nAccept: */*\r\n"
				       "Connection: keep-alive\r\n\r\n") == 0,
		  "the request: GET, Host, keep-alive, empty line");
	tap_check(http_request_format(&u, "ua/1", req, 20) == -ENOSPC,
		  "a request that does not fit: -ENOSPC");
}

/* ---- response heads -------------------------------------------------------- */

static int parse(const char *text, struct http_response *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	return http_response_parse(text, strlen(text), r, err, errlen);
}

static void test_heads(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
	struct http_response r;
	char err[300];
	bool partial_ok = true;
	int ret;

	ret = parse(ok, &r, err, sizeof(err));
	tap_check(ret == 1 && r.status == 200 && strcmp(r.reason, "OK") == 0 &&
			  r.version_minor == 1 && r.framing == HTTP_BODY_LENGTH &&
			  r.content_length == 5 && r.keep_alive && r.head_len == strlen(ok) - 5,
		  "200 with Content-Length: status, reason, length, keep-alive, head length");
	for (size_t i = 0; i < strlen(ok) - 5; i++)
		if (http_response_parse(ok, i, &r, err, sizeof(err)) != 0)
			partial_ok = false;
	tap_check(partial_ok, "every incomplete head asks for more bytes (0)");

	ret = parse("HTTP/1.1 404 Not Found\nContent-Length: 0\n\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.status == 404 && strcmp(r.reason, "Not Found") == 0 &&
			  r.framing == HTTP_BODY_LENGTH && r.content_length == 0,
		  "bare LF line ends are accepted");
	ret = parse("HTTP/1.1 200\r\n\r\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.status == 200 && r.reason[0] == '\0' &&
			  r.framing == HTTP_BODY_CLOSE && !r.keep_alive,
		  "no reason phrase; neither length nor chunked: body until close, not kept alive");
	ret = parse("HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.version_minor == 0 && r.framing == HTTP_BODY_CLOSE && !r.keep_alive,
		  "HTTP/1.0 as openssl s_server -WWW answers: until close");
	ret = parse("HTTP/1.0 200 ok\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", &r,
		    err, sizeof(err));
	tap_check(ret == 1 && r.keep_alive, "HTTP/1.0 with Connection: keep-alive is kept alive");
	ret = parse("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\n", &r,
		    err, sizeof(err));
	tap_check(ret == 1 && !r.keep_alive, "HTTP/1.1 with Connection: close is not kept alive");
	ret = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
		    &r, err, sizeof(err));
	tap_check(ret == 1 && r.framing == HTTP_BODY_CHUNKED && r.keep_alive,
		  "chunked wins over Content-Length (RFC 9112 section 6.3)");
	ret = parse("HTTP/1.1 204 No Content\r\n\r\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.framing == HTTP_BODY_NONE && r.keep_alive, "204 has no body");
	ret = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.framing == HTTP_BODY_NONE, "304 has no body, whatever it says");
	ret = parse("HTTP/1.1 100 Continue\r\n\r\n", &r, err, sizeof(err));
	tap_check(ret == 1 && r.status == 100 && r.framing == HTTP_BODY_NONE, "100 Continue");
	ret = parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", &r, err,
		    sizeof(err));
	tap_check(ret == 1 && r.content_length == 7, "repeated identical Content-Length is fine");

	ret = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &r, err,
		    sizeof(err));
	tap_check_err("Transfer-Encoding: gzip, chunked", ret, EOPNOTSUPP, err, "gzip, chunked",
		      "not supported", NULL);

	static const struct {
		const char *head, *needle;
	} bad[] = {
		{ "HTTP/2 200 OK\r\n\r\n", "malformed status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", "malformed status line" },
		{ "HTTP/1.1 200OK\r\n\r\n", "malformed status line" },
		{ "<html>hello</html>\r\n\r\n", "malformed status line" },
		{ "HTTP/1.1 099 Low\r\n\r\n", "not valid" },
		{ "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", "line 2 has no ':'" },
		{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "invalid field name" },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n", "folded" },
		{ "HTTP/1.1 200 OK\r\n: empty\r\n\r\n", "empty field name" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", "bad Content-Length \"12a\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		  "bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		  "two different Content-Length" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		  "more than one Transfer-Encoding" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[120];

		snprintf(what, sizeof(what), "malformed head %zu (%s)", i, bad[i].needle);
		ret = parse(bad[i].head, &r, err, sizeof(err));
		tap_check_err(what, ret, EBADMSG, err, bad[i].needle, NULL);
	}

	/* Heads that never end, or end too late. */
	size_t big = HTTP_HEAD_MAX + 100;
	char *buf = malloc(big + 1);

	if (buf == NULL)
		tap_bail("malloc");
	strcpy(buf, "HTTP/1.1 200 OK\r\n");
	for (size_t i = strlen(buf); i < big; i++)
		buf[i] = (i % 50 == 49) ? '\n' : 'X';
	buf[big] = '\0';
	for (size_t i = 17; i < big; i += 50)
		memcpy(buf + i, "H:", 2);
	ret = http_response_parse(buf, HTTP_HEAD_MAX - 1, &r, err, sizeof(err));
	tap_check(ret == 0, "a head just under the limit, not ended yet: more bytes (%d)", ret);
	ret = http_response_parse(buf, big, &r, err, sizeof(err));
	tap_check_err("headers over HTTP_HEAD_MAX", ret, EMSGSIZE, err, "exceed", NULL);
	memcpy(buf + HTTP_HEAD_MAX + 10, "\r\n\r\n", 4);
	ret = http_response_parse(buf, big, &r, err, sizeof(err));
	tap_check_err("a head that ends just past HTTP_HEAD_MAX", ret, EMSGSIZE, err, "exceed", NULL);
	free(buf);
}

/* ---- bodies ---------------------------------------------------------------- */

/*
 * Decode @in, @step bytes at a time (as if they arrived so), appending the
 * body to @out.  Returns the decoder's error, or the number of input bytes
 * consumed when the body was done (the rest belongs to the next response);
 * -EAGAIN when the input ended first.
 */
static long decode(struct http_body *b, const char *in, size_t len, size_t step, char *out,
		   size_t *out_len, char *err, size_t errlen)
{
	size_t pos = 0, avail = 0;

	*out_len = 0;
	while (!b->done) {
		size_t used, off, data;
		int ret;

		if (avail == 0) {
			if (pos == len)
				return -EAGAIN;
			avail = len - pos < step ? len - pos : step;
		}
		ret = http_body_decode(b, in + pos, avail, &used, &off, &data, err, errlen);
		if (ret < 0)
			return ret;
		memcpy(out + *out_len, in + pos + off, data);
		*out_len += data;
		pos += used;
		avail -= used;
	}
	return (long)pos;
}

static void check_body(const char *what, const char *head, const char *body_wire,
		       const char *want, const char *leftover)
{
	struct http_response r;
	struct http_body b;
	char err[300], out[4096];
	size_t out_len, len = strlen(body_wire);
	bool all = true;

	if (parse(head, &r, err, sizeof(err)) != 1)
		tap_bail("%s: head: %s", what, err);
	for (size_t step = 1; step <= len; step++) {
		long used;

		http_body_init(&b, &r);
		used = decode(&b, body_wire, len, step, out, &out_len, err, sizeof(err));
		if (used < 0 || out_len != strlen(want) || memcmp(out, want, out_len) != 0 ||
		    strcmp(body_wire + used, leftover) != 0 || b.received != strlen(want)) {
			tap_diag("%s: step %zu: used %ld (%s), body \"%.*s\"", what, step, used,
				 err, (int)out_len, out);
			all = false;
			break;
		}
	}
	tap_check(all, "%s: \"%s\" in pieces of every size, \"%s\" left for the next response",
		  what, want, leftover);
}

static void check_bad_chunked(const char *wire, int want_err, const char *needle)
{
	struct http_response r;
	struct http_body b;
	char err[300] = "", out[4096];
	size_t out_len;
	long ret;

	parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &r, err, sizeof(err));
	http_body_init(&b, &r);
	ret = decode(&b, wire, strlen(wire), 7, out, &out_len, err, sizeof(err));
	tap_check_err(needle, ret, want_err, err, needle, NULL);
}

static void test_bodies(void)
{
	static const char chunked_head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct http_response r;
	struct http_body b;
	char err[300], out[64], longline[400];
	size_t out_len;
	int ret;

	check_body("Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
		   "hello worldHTTP/1.1 200", "hello world", "HTTP/1.1 200");
	check_body("chunked", chunked_head,
		   "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT",
		   "hello world", "NEXT");
	check_body("chunked, bare LF, upper-case hex", chunked_head,
		   "A\nhelloworld\n0\n\n", "helloworld", "");
	check_body("Content-Length: 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "rest", "",
		   "rest");

	check_bad_chunked("zz\r\nhello\r\n", EBADMSG, "malformed chunk size line \"zz\"");
	check_bad_chunked("5\r\nhelloXX0\r\n\r\n", EBADMSG, "not followed by CRLF");
	check_bad_chunked("fffffffffffffffffff\r\n", EBADMSG, "chunk size is too large");
	memset(longline, '1', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "5;", 2);
	check_bad_chunked(longline, EBADMSG, "chunk size line longer than");
	check_bad_chunked("5\r\nhel", EAGAIN, "");

	/* A trailer that never ends is bounded. */
	size_t tlen = HTTP_HEAD_MAX + 200;
	char *trailer = malloc(tlen + 8);

	if (trailer == NULL)
		tap_bail("malloc");
	strcpy(trailer, "0\r\n");
	for (size_t i = 3; i < tlen; i++)
		trailer[i] = i % 40 == 0 ? '\n' : 'T';
	trailer[tlen] = '\0';
	check_bad_chunked(trailer, EBADMSG, "trailer exceeds");
	free(trailer);

	/* Where the connection ends. */
	parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", &r, err, sizeof(err));
	http_body_init(&b, &r);
	decode(&b, "abc", 3, 3, out, &out_len, err, sizeof(err));
	ret = http_body_eof(&b, true, err, sizeof(err));
	tap_check_err("the connection ends 7 bytes short of Content-Length", ret, EPIPE, err,
		      "truncated", "after 3 of 10 body bytes", NULL);

	parse(chunked_head, &r, err, sizeof(err));
	http_body_init(&b, &r);
	decode(&b, "5\r\nhel", 6, 6, out, &out_len, err, sizeof(err));
	ret = http_body_eof(&b, true, err, sizeof(err));
	tap_check_err("the connection ends inside a chunk", ret, EPIPE, err, "truncated",
		      "chunked body, after 3 bytes", NULL);

	parse("HTTP/1.0 200 ok\r\n\r\n", &r, err, sizeof(err));
	http_body_init(&b, &r);
	decode(&b, "abc", 3, 3, out, &out_len, err, sizeof(err));
	ret = http_body_eof(&b, true, err, sizeof(err));
	tap_check(ret == 0 && b.done && b.received == 3,
		  "body until close: close_notify ends it cleanly");
	http_body_init(&b, &r);
	decode(&b, "abc", 3, 3, out, &out_len, err, sizeof(err));
	ret = http_body_eof(&b, false, err, sizeof(err));
	tap_check_err("body until close: a close without close_notify", ret, EPIPE, err,
		      "without close_notify", "may be truncated", NULL);
}

int main(void)
{
	test_urls();
	test_heads();
	test_bodies();
	return tap_done();
}
