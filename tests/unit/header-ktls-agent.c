/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls-agent.h must compile on its own: nothing is included before it. */
#include <ktls-agent.h>

int main(void)
{
	struct ktls_agent_result result = { 0 };

	return (int)result.status;
}
