/* Cleanup attributes and small helpers shared by the native programs (after crun's utils.h).
 * A variable declared `cleanup_close int fd = -1;` is closed when it leaves scope; hand it
 * over explicitly with steal_fd()/steal_pointer(). */
#ifndef BERTH_UTILS_H
#define BERTH_UTILS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

void cleanup_freep (void *p);
void cleanup_closep (int *fd);
void cleanup_filep (FILE **f);
void cleanup_dirp (DIR **d);

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))

static inline void *
steal_pointer_impl (void *pp)
{
  void **p = pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define steal_pointer(pp) steal_pointer_impl (pp)

static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}


/* Reads a whole file; *out is NUL-terminated and owned by the caller. */
int read_file (const char *path, char **out, size_t *len, err_t *err);
/* Writes a file so that readers see either the old or the new content: write a temporary file
 * beside it, rename over. `durable` adds an fsync of the file before the rename and of the
 * directory after, so that the content also survives a power loss. */
int write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, bool durable, err_t *err);
/* Writes a short string to an existing file (for /proc and /sys knobs). */
int write_file (const char *path, const char *data, err_t *err);
int mkdir_p (const char *path, mode_t mode, err_t *err);
/* Removes a directory tree without following symlinks or crossing mount points. */
int remove_tree (const char *path, err_t *err);
int write_all_fd (int fd, const void *buf, size_t len);
int read_all_fd (int fd, void *buf, size_t len);
#endif
