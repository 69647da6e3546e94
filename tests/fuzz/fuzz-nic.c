/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ethtool FEATURES_GET reply parser (lib/nic.c) on arbitrary bytes, as
 * if one recv() on the generic-netlink socket had returned them.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "private.h"

/* Where the sums go, so that the reads are not optimised away. */
static volatile unsigned long fuzz_sink;

static int fuzz_on_nic(const struct ktls_nic *nic, void *userdata)
{
	unsigned long *sum = userdata;

	*sum += strlen(nic->name) + (unsigned long)nic->ifindex + nic->tls_offload;
	for (int f = 0; f < (KTLS_NIC_FEATURE_LAST + 1); f++)
		*sum += nic->feature[f].available + nic->feature[f].wanted + nic->feature[f].active +
			nic->feature[f].fixed;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size > 0 ? size : 1);
	unsigned long sum = 0;

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	(void)nic_parse_buffer(buf, size, fuzz_on_nic, &sum);
	free(buf);
	fuzz_sink = sum;
	return 0;
}
