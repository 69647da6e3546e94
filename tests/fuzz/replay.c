/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays a corpus through a fuzz target without libFuzzer, so that the
 * `fuzz` suite runs under any compiler (and under ASan/UBSan in the
 * sanitizer build).  Arguments are files or directories (every regular file
 * in it, in name order).  Each input is handed over in a buffer of exactly
 * its size, so that a read past the end is caught by the sanitizers.
 * TAP: one point per input.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_inputs;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0, n;
	unsigned char chunk[4096];

	if (f == NULL) {
		printf("not ok %d - %s: %s\n", ++n_inputs, path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > cap) {
			unsigned char *p = realloc(buf, len + n);

			if (p == NULL) {
				free(buf);
				fclose(f);
				printf("not ok %d - %s: out of memory\n", ++n_inputs, path);
				return -1;
			}
			buf = p;
			cap = len + n;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf != NULL ? buf : (const unsigned char *)"", len);
	free(buf);
	printf("ok %d - %s (%zu bytes)\n", ++n_inputs, path, len);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n;

		if (stat(argv[i], &st) < 0) {
			printf("not ok %d - %s: %s\n", ++n_inputs, argv[i], strerror(errno));
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += replay_file(argv[i]) < 0;
			continue;
		}
		n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			printf("not ok %d - %s: %s\n", ++n_inputs, argv[i], strerror(errno));
			failed++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
			if (names[j]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
				failed += replay_file(path) < 0;
			free(names[j]);
		}
		free(names);
	}
	if (n_inputs == 0) {
		printf("1..0 # SKIP no corpus given\n");
		return 1; /* an empty corpus is a broken test, not a pass */
	}
	printf("1..%d\n", n_inputs);
	return failed ? 1 : 0;
}
