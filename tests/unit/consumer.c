/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program built against the installed libktls through pkg-config. */
#include <stdio.h>

#include <ktls.h>

int main(void)
{
	struct ktls_config *config = NULL;
	struct ktls_caps caps;
	int ret;

	ret = ktls_caps_get(&caps);
	if (ret < 0) {
		fprintf(stderr, "ktls_caps_get: %d\n", ret);
		return 1;
	}
	ret = ktls_config_new(KTLS_ROLE_CLIENT, &config);
	if (ret < 0) {
		fprintf(stderr, "ktls_config_new: %d\n", ret);
		return 1;
	}
	ktls_config_unref(config);
	printf("probe: %s\n", caps.summary);
	printf("first cipher: %s\n", ktls_cipher_name(KTLS_CIPHER_AES_128_GCM));
	return 0;
}
