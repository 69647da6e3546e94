/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls.h must compile on its own: nothing is included before it. */
#include <ktls.h>

int main(void)
{
	struct ktls_info info = { 0 };

	return (int)info.version;
}
