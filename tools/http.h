/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP/1.1 for ktls serve: request heads, paths, byte ranges, media types
 * and dates (RFC 9110, RFC 9112).  Pure functions: no I/O, unit-tested.
 */
#ifndef KTLS_HTTP_H
#define KTLS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A request head larger than this gets 431; a request-target longer, 414. */
#define HTTP_HEADER_MAX 8192
#define HTTP_URI_MAX 2048

enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER, /* answered with 405 */
};

struct http_request {
	enum http_method method;
	char method_name[16];        /* as sent (truncated), for the log */
	char target[HTTP_URI_MAX + 1];
	int minor;                   /* HTTP/1.<minor> */
	bool keep_alive;             /* after this response */
	bool has_range;
	char range[128];             /* the Range value, "" when none or too long */
	bool has_if_modified_since;
	time_t if_modified_since;
	size_t head_len;             /* bytes of the buffer this head used */
};

/*
 * Parse one request head at the start of @buf.
 * Return: the head's length (> 0, @ret_req filled); 0 when more bytes are
 * needed (and @len < HTTP_HEADER_MAX); or a negative HTTP status: -400
 * (malformed, no Host in HTTP/1.1), -414 (target too long), -431 (head too
 * large), -505 (not HTTP/1.x).  On -414/-431/-505 @ret_req->method_name and
 * a truncated target are still set for the log.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *ret_req);

/*
 * The file path a request-target names, relative to the served root: no
 * leading '/', percent-decoded, "." and empty segments removed; "" for the
 * root itself.  The query and fragment are dropped.  An absolute-form target
 * "https://AUTHORITY/PATH" names PATH (the authority is not checked).
 * Return: 0; -400 (neither origin-form nor https absolute-form, userinfo,
 *         bad escape, NUL, encoded '/');
 *         -403 (a ".." segment); -414 (longer than @size).
 */
int http_target_path(const char *target, char *out, size_t size);

/*
 * A Range header value against a file of @size bytes.  Only one range of
 * bytes is served; others are ignored (RFC 9110 section 14.2 allows it).
 * Return: 1 and the inclusive [@ret_first, @ret_last]; 0 to ignore the
 * header (send the whole file); -416 when unsatisfiable.
 */
int http_parse_range(const char *value, uint64_t size, uint64_t *ret_first, uint64_t *ret_last);

/* The media type for @path's extension; "application/octet-stream" if unknown. */
const char *http_mime_type(const char *path);

/* IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"; @size >= 30. */
void http_date_format(time_t t, char *buf, size_t size);

/* Parse an IMF-fixdate (or RFC 850 / asctime form).  Return: 0 or -1. */
int http_date_parse(const char *s, time_t *ret_t);

/* "OK", "Not Found"...; "" for unknown codes. */
const char *http_status_text(int status);

#endif
