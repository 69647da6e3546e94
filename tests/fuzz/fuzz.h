/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The entry point every fuzz target defines (libFuzzer's), and replay.c calls. */
#ifndef KTLS_FUZZ_H
#define KTLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
