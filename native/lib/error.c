#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
negative (int status)
{
  return status > 0 ? -status : -1;
}

int
make_error (err_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  if (err == NULL)
    return negative (status);
  /* The first failure is the cause; keep it rather than what it provoked. */
  if (*err != NULL)
    return negative ((*err)->status);

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);

  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    {
      free (msg);
      return negative (status);
    }
  (*err)->status = status;
  (*err)->msg = msg;
  return negative (status);
}

int
err_prefix (err_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx = NULL, *joined = NULL;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end (ap);
  if (ctx != NULL && asprintf (&joined, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = joined;
    }
  free (ctx);
  return negative ((*err)->status);
}

char *
err_message (const err_t *err)
{
  char *out = NULL;

  if (err == NULL || *err == NULL)
    return strdup ("unknown error");
  if ((*err)->status > 0)
    {
      if (asprintf (&out, "%s: %s", (*err)->msg ? (*err)->msg : "", strerror ((*err)->status)) < 0)
        return NULL;
      return out;
    }
  return strdup ((*err)->msg ? (*err)->msg : "unknown error");
}

void
err_release (err_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
err_print (err_t *err, const char *prog)
{
  char *msg = err_message (err);

  fprintf (stderr, "%s: %s\n", prog, msg ? msg : "unknown error");
  free (msg);
  err_release (err);
}

static int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
read_all (int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0)
    {
      ssize_t n = read (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
err_write_fd (int fd, const err_t *err)
{
  int hdr[2] = { 0, 0 };
  const char *msg = "unknown error";

  if (err != NULL && *err != NULL)
    {
      hdr[0] = (*err)->status;
      if ((*err)->msg)
        msg = (*err)->msg;
    }
  hdr[1] = (int) strlen (msg);
  if (write_all (fd, hdr, sizeof (hdr)) < 0 || write_all (fd, msg, (size_t) hdr[1]) < 0)
    return -1;
  return 0;
}

int
err_read_fd (int fd, err_t *err)
{
  int hdr[2];
  char *msg;

  if (read_all (fd, hdr, sizeof (hdr)) < 0 || hdr[1] < 0 || hdr[1] > (1 << 20))
    return make_error (err, 0, "child exited without reporting its error");
  msg = calloc (1, (size_t) hdr[1] + 1);
  if (msg == NULL)
    return make_error (err, ENOMEM, "read child error");
  if (read_all (fd, msg, (size_t) hdr[1]) < 0)
    {
      free (msg);
      return make_error (err, 0, "child error report truncated");
    }
  make_error (err, hdr[0], "%s", msg);
  free (msg);
  return hdr[0] > 0 ? -hdr[0] : -1;
}
