/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct ktls_caps for the application: the kernel probe (probe.c) and the
 * io_uring engine's zero-copy probe (ring-tx.c), in one answer.
 */
#include <errno.h>

#include "abi.h"
#include "private.h"

KTLS_EXPORT int ktls_caps_get_sized(struct ktls_caps *ret_caps, size_t caps_size)
{
	struct ktls_caps caps;
	int ret;

	if (ret_caps == NULL || caps_size < ABI_MIN_CAPS)
		return -EINVAL;
	ret = probe_copy(&caps);
	if (ret < 0)
		return ret;
	/* A field a LIBKTLS_0.1 caller has no room for costs it no io_uring. */
	if (caps_size > offsetof(struct ktls_caps, ring_zerocopy_send))
		caps.ring_zerocopy_send = ktls_ring_zerocopy_send();
	abi_copy_out(ret_caps, caps_size, &caps, sizeof(caps));
	return 0;
}
