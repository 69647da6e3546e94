/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stands in for libktls 0.1 at link time only: old-program links against
 * these definitions, so that its references carry @LIBKTLS_0.1 as a real
 * 0.1 binary's do, and runs against today's libktls.so.0 (never this one:
 * its file name is not the soname).  Nothing here is ever called.
 */
#include <stdlib.h>

#include <ktls.h> /* LIBKTLS_0.1's */

#define STUB abort()

int ktls_probe(struct ktls_caps *c) { (void)c; STUB; }
int ktls_stats_parse(const char *t, size_t l, struct ktls_stats *s, char *e, size_t n)
{ (void)t; (void)l; (void)s; (void)e; (void)n; STUB; }
int ktls_stats_read(struct ktls_stats *s, char *e, size_t n) { (void)s; (void)e; (void)n; STUB; }
int ktls_stats_delta(const struct ktls_stats *a, const struct ktls_stats *b, struct ktls_stats_delta *d)
{ (void)a; (void)b; (void)d; STUB; }
int ktls_nic_get(const char *i, struct ktls_nic *r, char *e, size_t n)
{ (void)i; (void)r; (void)e; (void)n; STUB; }
int ktls_nic_list(struct ktls_nic **r, size_t *c, char *e, size_t n)
{ (void)r; (void)c; (void)e; (void)n; STUB; }
void ktls_nic_list_free(struct ktls_nic *n) { (void)n; STUB; }
int ktls_config_new(enum ktls_role r, struct ktls_config **c) { (void)r; (void)c; STUB; }
void ktls_config_unref(struct ktls_config *c) { (void)c; STUB; }
const char *ktls_config_error(const struct ktls_config *c) { (void)c; STUB; }
int ktls_config_add_psk(struct ktls_config *c, const char *i, const void *k, size_t l)
{ (void)c; (void)i; (void)k; (void)l; STUB; }
int ktls_config_set_versions(struct ktls_config *c, int a, int b) { (void)c; (void)a; (void)b; STUB; }
int ktls_conn_new(struct ktls_config *c, int f, unsigned int g, struct ktls_conn **r)
{ (void)c; (void)f; (void)g; (void)r; STUB; }
int ktls_conn_handshake(struct ktls_conn *c) { (void)c; STUB; }
void ktls_conn_free(struct ktls_conn *c) { (void)c; STUB; }
int ktls_conn_get_info(const struct ktls_conn *c, struct ktls_info *i) { (void)c; (void)i; STUB; }
int ktls_sock_list(unsigned int f, struct ktls_sock **s, size_t *c, char *e, size_t n)
{ (void)f; (void)s; (void)c; (void)e; (void)n; STUB; }
void ktls_sock_list_free(struct ktls_sock *s) { (void)s; STUB; }
