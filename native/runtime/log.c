#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utils.h"

static int log_fd = -1;
static int log_json = 0;
static int quiet_stderr = 0;

void
log_quiet_stderr (void)
{
  quiet_stderr = 1;
}

int
log_open (const char *path, const char *format, err_t *err)
{
  if (format != NULL && strcmp (format, "text") != 0 && strcmp (format, "json") != 0)
    return make_error (err, 0, "unknown log format `%s`: use text or json", format);
  log_json = format != NULL && strcmp (format, "json") == 0;
  if (path == NULL)
    return 0;
  log_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return make_error (err, errno, "open log file `%s`", path);
  return 0;
}

static void
now_rfc3339 (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  size_t n;

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  n = strftime (buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void
emit (const char *level, const char *msg)
{
  char when[64];

  if (!quiet_stderr && (strcmp (level, "error") == 0 || strcmp (level, "warning") == 0))
    fprintf (stderr, "berth-runtime: %s%s\n", strcmp (level, "warning") == 0 ? "warning: " : "", msg);
  if (log_fd < 0)
    return;
  now_rfc3339 (when, sizeof (when));
  if (log_json)
    {
      json_t *o = json_pack ("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
      char *line = o ? json_dumps (o, JSON_COMPACT) : NULL;
      if (line)
        {
          dprintf (log_fd, "%s\n", line);
          free (line);
        }
      json_decref (o);
    }
  else
    dprintf (log_fd, "%s %s: %s\n", when, level, msg);
}

void
log_msg (const char *level, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  emit (level, msg ? msg : fmt);
}

void
log_error (err_t *err)
{
  cleanup_free char *msg = err_message (err);

  emit ("error", msg ? msg : "unknown error");
  err_release (err);
}
