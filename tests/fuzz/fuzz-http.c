/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls get's HTTP response parsing (tools/http-client.c) on arbitrary bytes:
 * the first byte picks how many bytes arrive at a time, the rest is what the
 * server sent: a head, then a body decoded with whatever framing the head
 * chose, then the end of the connection.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http-client.h"

static volatile unsigned long fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response resp;
	struct http_body body;
	char err[256], *buf;
	size_t step, pos, len, head = 0;
	unsigned long sum = 0;
	int ret = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	len = size - 1;
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, len);

	/* The head, as it grows by @step bytes (each parse sees only what has arrived). */
	for (size_t have = step < len ? step : len;; have = have + step < len ? have + step : len) {
		ret = http_response_parse(buf, have, &resp, err, sizeof(err));
		if (ret != 0 || have == len)
			break;
	}
	if (ret == 1) {
		head = resp.head_len;
		sum += (unsigned long)resp.status + resp.framing + strlen(resp.reason);
		http_body_init(&body, &resp);
		pos = head;
		while (!body.done && pos < len) {
			size_t avail = len - pos < step ? len - pos : step, used, off, n;

			if (http_body_decode(&body, buf + pos, avail, &used, &off, &n, err,
					     sizeof(err)) < 0)
				break;
			for (size_t i = 0; i < n; i++)
				sum += (unsigned char)buf[pos + off + i];
			pos += used;
		}
		(void)http_body_eof(&body, (data[0] & 1) != 0, err, sizeof(err));
		sum += (unsigned long)body.received;
	}
	free(buf);
	fuzz_sink = sum + strlen(err);
	return 0;
}
