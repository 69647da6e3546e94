/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls serve's cache of small files: the bytes of a regular file read whole
 * through a confined open (openat2 RESOLVE_BENEATH), kept per thread and
 * handed out again while a stat of the same path still names the same file,
 * unchanged (device, inode, size, mode, mtime and ctime to the nanosecond).
 * A keep-alive request for a small file then costs one stat instead of
 * openat2, fstat, pread and close.
 *
 * Why a stat is enough: a path that now leads elsewhere (a replaced file, a
 * symlink moved to point outside the root) stats as another inode, and the
 * request falls back to the confined open.  The cached bytes are only ever
 * those of an inode that open allowed.  A file changed in the last two
 * seconds is not cached: a second write in the same clock tick could leave
 * its times as they were.
 *
 * Bodies are reference-counted blobs, since a send in flight may still point
 * at one that the cache has already replaced.
 */
#ifndef KTLS_TOOL_FILE_CACHE_H
#define KTLS_TOOL_FILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct file_blob {
	unsigned int refs;
	size_t len;
	unsigned char data[];
};

/* A blob of @len bytes (one reference), or NULL. */
struct file_blob *file_blob_new(size_t len);
struct file_blob *file_blob_ref(struct file_blob *b);
void file_blob_unref(struct file_blob *b);

struct file_cache;

/* Paths are looked up below @root_fd; at most @max_bytes of bodies are held.
 * The calls below take a NULL cache (out of memory) as one that holds nothing. */
struct file_cache *file_cache_new(int root_fd, size_t max_bytes);
void file_cache_free(struct file_cache *fc);

/*
 * The cached body of @path (as given to openat2 under the root; "" is the
 * root itself) with a new reference, and its stat in @st; NULL when there is
 * none or the file changed (the entry is dropped then).
 */
struct file_blob *file_cache_get(struct file_cache *fc, const char *path, struct stat *st);

/*
 * Offer the whole body of @path, read from an open file whose fstat was @st,
 * now that a second fstat of it (@st_after) says it did not change while it
 * was read; @now is the wall clock.  @index: @path was a directory and the
 * body is its index.html.  The cache takes its own reference, or none.
 */
/* Requests answered from the cache so far; any thread may ask. */
unsigned long file_cache_hits(const struct file_cache *fc);

void file_cache_put(struct file_cache *fc, const char *path, bool index, const struct stat *st,
		    const struct stat *st_after, time_t now, struct file_blob *body);

#endif
