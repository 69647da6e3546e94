/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls-gnutls.h must compile on its own: nothing is included before it. */
#include <ktls-gnutls.h>

typedef int (*adopt_fn)(struct ktls_config *, gnutls_session_t, int, unsigned int,
			struct ktls_conn **);

int main(void)
{
	adopt_fn adopt = 0;

	/* Checks the declaration's type without referring to the symbol. */
	(void)sizeof(adopt = ktls_conn_adopt);
	return adopt != 0;
}
