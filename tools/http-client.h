/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The HTTP/1.1 client side of `ktls get`, as pure functions on bytes (no
 * I/O), so that unit tests can feed them fixed input: URL parsing, the GET
 * request, the response head (RFC 9112 sections 4-6), and the body framing
 * (Content-Length, chunked, or until the connection ends).
 * Every function returns 0 (or a length) on success and a negative errno on
 * failure, with a sentence in @err.
 */
#ifndef KTLS_HTTP_CLIENT_H
#define KTLS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bound on the status line plus headers (and on a chunked body's trailers). */
#define HTTP_HEAD_MAX 16384
/* Bound on one chunk-size line, extensions included. */
#define HTTP_CHUNK_LINE_MAX 256

struct http_url {
	char host[256];  /* without the brackets of an IPv6 literal */
	char port[6];    /* "443" when the URL has none */
	char path[4096]; /* path and query, "/" when the URL has none; no fragment */
	bool ipv6;       /* host is an IPv6 literal ([::1] in the URL) */
	bool literal;    /* host is an IPv4 or IPv6 address, not a name */
};

/*
 * Parse https://host[:port][/path][?query][#fragment].
 * Return: 0; -EINVAL (not https, no host, bad port, userinfo, spaces,
 *         too long), sentence in @err.
 */
int http_url_parse(const char *url, struct http_url *ret_url, char *err, size_t errlen);

/* "host" or "host:port", "[v6]" / "[v6]:port": the Host header's value. */
void http_url_authority(const struct http_url *url, char *out, size_t size);

/*
 * The GET request for @url into @out.  Return: its length, or -ENOSPC.
 */
int http_request_format(const struct http_url *url, const char *user_agent, char *out,
			size_t size);

/* How the body of a response is delimited (RFC 9112 section 6.3). */
enum http_framing {
	HTTP_BODY_NONE,    /* 1xx, 204, 304: no body */
	HTTP_BODY_LENGTH,  /* Content-Length */
	HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	HTTP_BODY_CLOSE,   /* neither: the body ends when the connection does */
};

struct http_response {
	int version_minor;      /* HTTP/1.0 or HTTP/1.1 */
	int status;             /* 100..999 */
	char reason[128];       /* reason phrase, cut to fit */
	enum http_framing framing;
	uint64_t content_length; /* with HTTP_BODY_LENGTH */
	bool keep_alive;        /* the connection may carry another request */
	size_t head_len;        /* bytes of status line, headers and the empty line */
};

/*
 * Parse a response head at the start of @buf (@len bytes received so far).
 * Bare LF line ends are accepted (RFC 9112 section 2.2).
 * Return: 1 and @ret_resp filled when the head is complete; 0 when more bytes
 *         are needed; -EMSGSIZE when no head ends within HTTP_HEAD_MAX bytes;
 *         -EBADMSG for a malformed head (which line, and why, in @err);
 *         -EOPNOTSUPP for a transfer coding other than chunked.
 */
int http_response_parse(const char *buf, size_t len, struct http_response *ret_resp, char *err,
			size_t errlen);

/* The body decoder's state; set up with http_body_init(). */
struct http_body {
	enum http_framing framing;
	uint64_t remaining; /* LENGTH: body bytes to come; CHUNKED: of this chunk */
	uint64_t received;  /* body bytes decoded so far */
	int chunk_state;    /* CHUNKED: where in the chunk syntax we are */
	size_t line_len;    /* CHUNKED: bytes of the current size or trailer line */
	size_t trailer_len; /* CHUNKED: trailer bytes so far */
	char line[HTTP_CHUNK_LINE_MAX];
	bool done;          /* the whole body has been decoded */
};

void http_body_init(struct http_body *body, const struct http_response *resp);

/*
 * Decode the next piece of body from @in (@len bytes, @len > 0 unless the
 * body is already done).  Stops after one run of body bytes, which lie at
 * @in + *@ret_data_off, *@ret_data_len long (0 when this step consumed only
 * framing); *@ret_used bytes of @in were consumed.  Call again with the
 * rest.  Once @body->done, unconsumed bytes belong to the next response.
 * Return: 0, or -EBADMSG for malformed chunked framing (@err says why).
 */
int http_body_decode(struct http_body *body, const char *in, size_t len, size_t *ret_used,
		     size_t *ret_data_off, size_t *ret_data_len, char *err, size_t errlen);

/*
 * The connection ended (clean close_notify when @clean) before the body was
 * done: whether that is the normal end (HTTP_BODY_CLOSE with a clean close)
 * or a truncation, with the sentence for the latter in @err.
 * Return: 0 or -EPIPE.
 */
int http_body_eof(struct http_body *body, bool clean, char *err, size_t errlen);

#endif
