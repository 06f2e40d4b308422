#include "utils.h"

#include <errno.h>

void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
  *pp = NULL;
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
  *fd = -1;
}

void
cleanup_filep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
  *f = NULL;
}

void
cleanup_dirp (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
  *d = NULL;
}

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

int
write_all_fd (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EPIPE;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
read_all_fd (int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0)
    {
      ssize_t n = read (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EPIPE;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
read_file (const char *path, char **out, size_t *len, err_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 0;

  if (fd < 0)
    return make_error (err, errno, "open `%s`", path);
  for (;;)
    {
      ssize_t n;
      if (used + 1 >= cap)
        {
          char *grown;
          cap = cap ? cap * 2 : 4096;
          grown = realloc (buf, cap);
          if (grown == NULL)
            return make_error (err, ENOMEM, "read `%s`", path);
          buf = grown;
        }
      n = read (fd, buf + used, cap - used - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return make_error (err, errno, "read `%s`", path);
      if (n == 0)
        break;
      used += (size_t) n;
    }
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = steal_pointer (&buf);
  return 0;
}

int
write_file (const char *path, const char *data, err_t *err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    return make_error (err, errno, "open `%s`", path);
  if (write_all_fd (fd, data, strlen (data)) < 0)
    return make_error (err, errno, "write `%s`", path);
  return 0;
}

int
write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, bool durable, err_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_free char *dircopy = strdup (path);
  cleanup_close int fd = -1;
  cleanup_close int dirfd = -1;

  if (dircopy == NULL || asprintf (&tmp, "%s.tmp.%d", path, (int) getpid ()) < 0)
    return make_error (err, ENOMEM, "write `%s`", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return make_error (err, errno, "create `%s`", tmp);
  if (write_all_fd (fd, data, len) < 0 || (durable && fsync (fd) < 0))
    {
      int saved = errno;
      unlink (tmp);
      return make_error (err, saved, "write `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return make_error (err, saved, "rename `%s` to `%s`", tmp, path);
    }
  if (!durable)
    return 0;
  dirfd = open (dirname (dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0)
    (void) fsync (dirfd);
  return 0;
}

int
mkdir_p (const char *path, mode_t mode, err_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *p;

  if (copy == NULL)
    return make_error (err, ENOMEM, "mkdir `%s`", path);
  for (p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return make_error (err, errno, "mkdir `%s`", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return make_error (err, errno, "mkdir `%s`", copy);
  return 0;
}

static int
remove_entry (const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
  (void) sb;
  (void) ftwbuf;
  if (typeflag == FTW_DP)
    return rmdir (fpath) < 0 && errno != ENOENT ? -1 : 0;
  return unlink (fpath) < 0 && errno != ENOENT ? -1 : 0;
}

int
remove_tree (const char *path, err_t *err)
{
  if (nftw (path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
    return make_error (err, errno, "remove `%s`", path);
  return 0;
}
