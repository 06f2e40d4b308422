#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "utils.h"

void
mon_format_timestamp (const struct timespec *t, char out[MON_TIMESTAMP_LEN + 1])
{
  static const char digits[] = "0123456789";
  struct tm tm;
  long ns = t->tv_nsec;
  int i;

  gmtime_r (&t->tv_sec, &tm);
  /* Years past 9999 do not fit RFC 3339; the clock will not get there. */
  strftime (out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
  out[19] = '.';
  for (i = 28; i >= 20; i--)
    {
      out[i] = digits[ns % 10];
      ns /= 10;
    }
  out[29] = 'Z';
  out[30] = '\0';
}

void
mon_now_timestamp (char out[MON_TIMESTAMP_LEN + 1])
{
  struct timespec now;

  clock_gettime (CLOCK_REALTIME, &now);
  mon_format_timestamp (&now, out);
}

int
mon_set_nonblock (int fd, bool on, err_t *err)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0)
    return make_error (err, errno, "fcntl F_GETFL");
  flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (fcntl (fd, F_SETFL, flags) < 0)
    return make_error (err, errno, "fcntl F_SETFL");
  return 0;
}

int
mon_listen_unix (const char *path, err_t *err)
{
  struct sockaddr_un addr;
  cleanup_close int fd = -1;

  memset (&addr, 0, sizeof (addr));
  addr.sun_family = AF_UNIX;
  if (strlen (path) >= sizeof (addr.sun_path))
    return make_error (err, ENAMETOOLONG, "socket path `%s`", path);
  strcpy (addr.sun_path, path);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error (err, errno, "socket");
  if (unlink (path) < 0 && errno != ENOENT)
    return make_error (err, errno, "unlink `%s`", path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    return make_error (err, errno, "bind `%s`", path);
  if (chmod (path, 0600) < 0)
    return make_error (err, errno, "chmod `%s`", path);
  if (listen (fd, 16) < 0)
    return make_error (err, errno, "listen `%s`", path);
  return steal_fd (&fd);
}

int
mon_write_file_atomic (const char *dir, const char *name, const char *data, size_t len, bool durable, err_t *err)
{
  char tmp[4096], final[4096];
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;

  if ((size_t) snprintf (tmp, sizeof (tmp), ".%s.tmp", name) >= sizeof (tmp)
      || (size_t) snprintf (final, sizeof (final), "%s", name) >= sizeof (final))
    return make_error (err, ENAMETOOLONG, "file name `%s`", name);
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return make_error (err, errno, "open `%s`", dir);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error (err, errno, "create `%s/%s`", dir, tmp);
  if (write_all_fd (fd, data, len) < 0 || (durable && fsync (fd) < 0))
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return make_error (err, saved, "write `%s/%s`", dir, tmp);
    }
  if (renameat (dirfd, tmp, dirfd, final) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return make_error (err, saved, "rename `%s/%s`", dir, tmp);
    }
  if (durable)
    (void) fsync (dirfd);
  return 0;
}

size_t
mon_json_string (char *out, size_t used, size_t cap, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  size_t i;

#define PUT(c)                                                                                                        \
  do                                                                                                                  \
    {                                                                                                                 \
      if (used + 1 >= cap)                                                                                            \
        return cap;                                                                                                   \
      out[used++] = (c);                                                                                              \
    }                                                                                                                 \
  while (0)

  PUT ('"');
  for (i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (c == '"' || c == '\\')
        {
          PUT ('\\');
          PUT ((char) c);
        }
      else if (c == '\n')
        {
          PUT ('\\');
          PUT ('n');
        }
      else if (c < 0x20 || c == 0x7f)
        {
          PUT ('\\');
          PUT ('u');
          PUT ('0');
          PUT ('0');
          PUT (hex[c >> 4]);
          PUT (hex[c & 15]);
        }
      else
        PUT ((char) c);
    }
  PUT ('"');
#undef PUT
  out[used] = '\0';
  return used;
}

void
mon_base64 (const unsigned char *in, size_t len, char *out)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;

  for (i = 0; i + 2 < len; i += 3)
    {
      *out++ = alphabet[in[i] >> 2];
      *out++ = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
      *out++ = alphabet[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
      *out++ = alphabet[in[i + 2] & 63];
    }
  if (i < len)
    {
      *out++ = alphabet[in[i] >> 2];
      if (i + 1 < len)
        {
          *out++ = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
          *out++ = alphabet[(in[i + 1] & 15) << 2];
        }
      else
        {
          *out++ = alphabet[(in[i] & 3) << 4];
          *out++ = '=';
        }
      *out++ = '=';
    }
  *out = '\0';
}
