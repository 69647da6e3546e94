/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ktls serve's cache of small files, revalidated by stat (file-cache.h). */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-cache.h"

/* Direct-mapped: a path's slot is fixed, a new path in it replaces the old. */
#define FILE_CACHE_SLOTS 256
/* Files changed this recently are not cached (their times may not move again). */
#define FILE_CACHE_SETTLE_S 2

struct file_cache_entry {
	char *path;      /* the request's path, the key */
	char *stat_path; /* what is stat'ed: the path, or its index.html */
	struct stat st;
	struct file_blob *body;
};

struct file_cache {
	int root_fd;
	size_t max_bytes, bytes;
	atomic_ulong hits; /* written by its thread only, read by the SIGUSR1 report */
	struct file_cache_entry slot[FILE_CACHE_SLOTS];
};

struct file_blob *file_blob_new(size_t len)
{
	struct file_blob *b = malloc(sizeof(*b) + len);

	if (b != NULL) {
		b->refs = 1;
		b->len = len;
	}
	return b;
}

struct file_blob *file_blob_ref(struct file_blob *b)
{
	b->refs++;
	return b;
}

void file_blob_unref(struct file_blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

struct file_cache *file_cache_new(int root_fd, size_t max_bytes)
{
	struct file_cache *fc = calloc(1, sizeof(*fc));

	if (fc != NULL) {
		fc->root_fd = root_fd;
		fc->max_bytes = max_bytes;
	}
	return fc;
}

static void file_cache_drop(struct file_cache *fc, struct file_cache_entry *e)
{
	if (e->body != NULL)
		fc->bytes -= e->body->len;
	file_blob_unref(e->body);
	free(e->path);
	free(e->stat_path);
	memset(e, 0, sizeof(*e));
}

void file_cache_free(struct file_cache *fc)
{
	if (fc == NULL)
		return;
	for (size_t i = 0; i < FILE_CACHE_SLOTS; i++)
		file_cache_drop(fc, &fc->slot[i]);
	free(fc);
}

static struct file_cache_entry *file_cache_slot(struct file_cache *fc, const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &fc->slot[h % FILE_CACHE_SLOTS];
}

static bool file_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

struct file_blob *file_cache_get(struct file_cache *fc, const char *path, struct stat *st)
{
	struct file_cache_entry *e;
	struct stat now;

	if (fc == NULL)
		return NULL;
	e = file_cache_slot(fc, path);
	if (e->path == NULL || strcmp(e->path, path) != 0)
		return NULL;
	if (fstatat(fc->root_fd, e->stat_path, &now, 0) != 0 || !file_same(&now, &e->st)) {
		file_cache_drop(fc, e);
		return NULL;
	}
	*st = e->st;
	atomic_fetch_add_explicit(&fc->hits, 1, memory_order_relaxed);
	return file_blob_ref(e->body);
}

unsigned long file_cache_hits(const struct file_cache *fc)
{
	return fc != NULL ? atomic_load_explicit(&fc->hits, memory_order_relaxed) : 0;
}

void file_cache_put(struct file_cache *fc, const char *path, bool index, const struct stat *st,
		    const struct stat *st_after, time_t now, struct file_blob *body)
{
	struct file_cache_entry *e;
	size_t need = strlen(path) + sizeof("/index.html");

	if (fc == NULL)
		return;
	e = file_cache_slot(fc, path);
	if (!file_same(st, st_after) || (size_t)st->st_size != body->len ||
	    st->st_mtim.tv_sec > now - FILE_CACHE_SETTLE_S ||
	    st->st_ctim.tv_sec > now - FILE_CACHE_SETTLE_S)
		return;
	file_cache_drop(fc, e);
	if (fc->bytes + body->len > fc->max_bytes)
		return;
	e->path = strdup(path);
	e->stat_path = malloc(need);
	if (e->path == NULL || e->stat_path == NULL) {
		file_cache_drop(fc, e);
		return;
	}
	if (!index)
		snprintf(e->stat_path, need, "%s", path[0] ? path : ".");
	else
		snprintf(e->stat_path, need, "%s%sindex.html", path,
			 path[0] && path[strlen(path) - 1] != '/' ? "/" : "");
	e->st = *st;
	e->body = file_blob_ref(body);
	fc->bytes += body->len;
}
