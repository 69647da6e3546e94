/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded, expiring map from a short key to a session blob, shared by the
 * threads of one config: the server's TLS 1.2 session-ID cache and the
 * client's session store both use it.  Blobs hold resumption secrets, so
 * every entry is wiped when it is replaced, evicted, expired or freed.
 *
 * Lookups scan linearly: the bound is a few thousand entries and a scan of
 * that is cheap next to the handshake it saves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "private.h"

static void session_entry_clear(struct session_entry *e)
{
	if (e->data != NULL) {
		explicit_bzero(e->data, e->data_len);
		free(e->data);
	}
	explicit_bzero(e, sizeof(*e));
}

int session_cache_init(struct session_cache *cache, size_t max_entries)
{
	if (cache->entries != NULL)
		return 0;
	memset(cache, 0, sizeof(*cache));
	cache->entries = calloc(max_entries, sizeof(*cache->entries));
	if (cache->entries == NULL)
		return -ENOMEM;
	cache->max_entries = max_entries;
	pthread_mutex_init(&cache->lock, NULL);
	return 0;
}

void session_cache_destroy(struct session_cache *cache)
{
	if (cache->entries == NULL)
		return;
	for (size_t i = 0; i < cache->max_entries; i++)
		session_entry_clear(&cache->entries[i]);
	free(cache->entries);
	cache->entries = NULL;
	pthread_mutex_destroy(&cache->lock);
}

/* Index of a live entry for @key, or -1; expired entries are cleared on the way. */
static long session_cache_find(struct session_cache *cache, const void *key, size_t key_len,
			       time_t now)
{
	long found = -1;

	for (size_t i = 0; i < cache->max_entries; i++) {
		struct session_entry *e = &cache->entries[i];

		if (e->data == NULL)
			continue;
		if (e->expires <= now) {
			session_entry_clear(e);
			continue;
		}
		if (found < 0 && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			found = (long)i;
	}
	return found;
}

int session_cache_put(struct session_cache *cache, const void *key, size_t key_len,
		      const void *data, size_t data_len, time_t expires)
{
	time_t now = time(NULL);
	struct session_entry *slot = NULL;
	unsigned char *copy;
	long i;

	if (key_len == 0 || key_len > SESSION_KEY_MAX || data_len == 0 || expires <= now)
		return -EINVAL;
	copy = malloc(data_len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, data, data_len);

	pthread_mutex_lock(&cache->lock);
	i = session_cache_find(cache, key, key_len, now);
	if (i >= 0) {
		slot = &cache->entries[i];
	} else {
		/* A free slot, else the least recently used entry makes room. */
		for (size_t j = 0; j < cache->max_entries; j++) {
			struct session_entry *e = &cache->entries[j];

			if (e->data == NULL) {
				slot = e;
				break;
			}
			if (slot == NULL || e->last_used < slot->last_used)
				slot = e;
		}
	}
	if (slot == NULL) { /* a cache of no entries */
		pthread_mutex_unlock(&cache->lock);
		explicit_bzero(copy, data_len);
		free(copy);
		return -ENOSPC;
	}
	session_entry_clear(slot);
	memcpy(slot->key, key, key_len);
	slot->key_len = key_len;
	slot->data = copy;
	slot->data_len = data_len;
	slot->expires = expires;
	slot->last_used = ++cache->clock;
	pthread_mutex_unlock(&cache->lock);
	return 0;
}

int session_cache_get(struct session_cache *cache, const void *key, size_t key_len, bool take,
		      unsigned char **ret_data, size_t *ret_len, time_t *ret_expires)
{
	int ret = -ENOENT;
	long i;

	pthread_mutex_lock(&cache->lock);
	i = session_cache_find(cache, key, key_len, time(NULL));
	if (i >= 0) {
		struct session_entry *e = &cache->entries[i];
		unsigned char *copy = malloc(e->data_len);

		if (copy == NULL) {
			ret = -ENOMEM;
		} else {
			memcpy(copy, e->data, e->data_len);
			*ret_data = copy;
			*ret_len = e->data_len;
			if (ret_expires != NULL)
				*ret_expires = e->expires;
			e->last_used = ++cache->clock;
			if (take)
				session_entry_clear(e);
			ret = 0;
		}
	}
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

int session_cache_remove(struct session_cache *cache, const void *key, size_t key_len)
{
	int ret = -ENOENT;
	long i;

	pthread_mutex_lock(&cache->lock);
	i = session_cache_find(cache, key, key_len, time(NULL));
	if (i >= 0) {
		session_entry_clear(&cache->entries[i]);
		ret = 0;
	}
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

int session_cache_walk(struct session_cache *cache,
		       int (*fn)(const struct session_entry *entry, void *userdata), void *userdata)
{
	time_t now = time(NULL);
	int ret = 0;

	pthread_mutex_lock(&cache->lock);
	for (size_t i = 0; i < cache->max_entries && ret >= 0; i++) {
		struct session_entry *e = &cache->entries[i];

		if (e->data == NULL)
			continue;
		if (e->expires <= now)
			session_entry_clear(e);
		else
			ret = fn(e, userdata);
	}
	pthread_mutex_unlock(&cache->lock);
	return ret;
}
