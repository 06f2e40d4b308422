/* The error contract of the native layer.
 *
 * A function that can fail takes `err_t *err` as its last argument and returns a negative
 * value on failure, after filling *err with make_error():
 *
 *     int fd = open (path, O_RDONLY);
 *     if (fd < 0)
 *       return make_error (err, errno, "open `%s`", path);
 *
 * Callers pass a failure up unchanged (`if (ret < 0) return ret;`), optionally adding context
 * with err_prefix(). Only main() and post-fork children print an error and exit; a child first
 * reports it to its parent (see err_write_fd/err_read_fd). */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stdarg.h>

struct err_s
{
  int status; /* an errno value, or 0 when the failure has no errno */
  char *msg;
};
typedef struct err_s *err_t;

/* Records the failure in *err (if err is not NULL and empty) and returns a negative value:
 * -status, or -1 when status is 0. */
int make_error (err_t *err, int status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Prepends "<context>: " to the message of an already recorded error; returns -1-ish value of
 * the existing error so that `return err_prefix (err, "...")` passes the failure up. */
int err_prefix (err_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The full message, "msg: strerror(status)" when status is set. Owned by the caller. */
char *err_message (const err_t *err);

void err_release (err_t *err);

/* Prints "<prog>: <message>" to stderr and releases the error. */
void err_print (err_t *err, const char *prog);

/* Sends an error over a descriptor as {int status, int len, char msg[len]} so that a forked
 * child can report it to its parent; err_read_fd is the receiving side. */
int err_write_fd (int fd, const err_t *err);
int err_read_fd (int fd, err_t *err);

#define cleanup_err __attribute__ ((cleanup (err_release)))

#endif
