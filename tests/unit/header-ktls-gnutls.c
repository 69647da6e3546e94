/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls-gnutls.h must compile on its own: nothing is included before it. */
#include <ktls-gnutls.h>

typedef int (*adopt_fn)(struct ktls_config *, gnutls_session_t, int, unsigned int,
			struct ktls_conn **);

int main(void)
{
	/* The declaration must have this exact type (the initializer checks it). */
	adopt_fn adopt = ktls_conn_adopt;

	return adopt == 0;
}
