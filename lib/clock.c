/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The monotonic clock, in nanoseconds: the engine's deadlines (the clock
 * io_uring's timeouts use), the core's KeyUpdate rate window, and when the
 * kernel's counters were read.
 */
#include <time.h>

#include "private.h"

uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
