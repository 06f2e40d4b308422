#include "logging.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "utils.h"

static const char *
stream_name (enum log_stream stream)
{
  return stream == LOG_STDERR ? "stderr" : "stdout";
}

size_t
cri_format (const char *timestamp, enum log_stream stream, const char *in, size_t in_len, size_t max_line,
            char *out, size_t out_cap, size_t *out_len)
{
  const char *name = stream_name (stream);
  size_t ts_len = strlen (timestamp), name_len = strlen (name);
  size_t consumed = 0, used = 0;

  if (max_line == 0)
    max_line = SIZE_MAX - 1;
  while (consumed < in_len)
    {
      const char *rest = in + consumed;
      size_t rest_len = in_len - consumed;
      /* A newline right after max_line bytes still ends the line: look one byte further. */
      size_t window = rest_len < max_line + 1 ? rest_len : max_line + 1;
      const char *nl = memchr (rest, '\n', window);
      size_t piece, advance, need;
      char tag;

      if (nl != NULL)
        {
          piece = (size_t) (nl - rest);
          advance = piece + 1;
          tag = 'F';
        }
      else
        {
          piece = rest_len < max_line ? rest_len : max_line;
          advance = piece;
          tag = 'P';
        }
      need = ts_len + 1 + name_len + 1 + 1 + 1 + piece + 1;
      if (need > out_cap - used)
        break;
      memcpy (out + used, timestamp, ts_len);
      used += ts_len;
      out[used++] = ' ';
      memcpy (out + used, name, name_len);
      used += name_len;
      out[used++] = ' ';
      out[used++] = tag;
      out[used++] = ' ';
      memcpy (out + used, rest, piece);
      used += piece;
      out[used++] = '\n';
      consumed += advance;
    }
  *out_len = used;
  return consumed;
}

static int
open_log (const char *path, err_t *err)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);

  if (fd < 0)
    return make_error (err, errno, "open log `%s`", path);
  return fd;
}

int
log_open (struct log_writer *w, const char *path, size_t max_line, err_t *err)
{
  int fd = open_log (path, err);

  if (fd < 0)
    return fd;
  w->path = path;
  w->fd = fd;
  w->max_line = max_line;
  w->dropped = 0;
  w->last_errno = 0;
  return 0;
}

int
log_reopen (struct log_writer *w, err_t *err)
{
  int fd = open_log (w->path, err);

  if (fd < 0)
    return fd;
  close (w->fd);
  w->fd = fd;
  return 0;
}

void
log_write (struct log_writer *w, enum log_stream stream, const char *buf, size_t len)
{
  /* Static: the monitor is single-threaded and its RSS is meant to stay small. */
  static char out[LOG_BUFFER_SIZE];
  char ts[MON_TIMESTAMP_LEN + 1];
  size_t max_line = w->max_line;

  if (max_line == 0 || max_line > LOG_MAX_LINE_LIMIT)
    max_line = LOG_MAX_LINE_LIMIT;
  mon_now_timestamp (ts);
  while (len > 0)
    {
      size_t out_len = 0;
      size_t n = cri_format (ts, stream, buf, len, max_line, out, sizeof (out), &out_len);

      if (w->fd >= 0 && write_all_fd (w->fd, out, out_len) < 0)
        {
          if (w->last_errno != errno)
            fprintf (stderr, "berth-monitor: write log `%s`: %s (output is dropped until it works again)\n",
                     w->path, strerror (errno));
          w->last_errno = errno;
          w->dropped += n;
        }
      else
        w->last_errno = 0;
      buf += n;
      len -= n;
    }
}

void
log_close (struct log_writer *w)
{
  if (w->fd >= 0)
    close (w->fd);
  w->fd = -1;
}
