/* Small descriptor, socket, time and JSON helpers of berth-monitor. They live here rather than
 * in lib/ because only the monitor needs them; names carry a mon_ prefix to stay clear of lib/. */
#ifndef BERTH_MONITOR_IO_H
#define BERTH_MONITOR_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

/* "2024-05-01T12:34:56.123456789Z": RFC 3339 with nanoseconds, always UTC. */
#define MON_TIMESTAMP_LEN 30


/* Formats t as MON_TIMESTAMP_LEN characters plus a NUL into out. Pure. */
void mon_format_timestamp (const struct timespec *t, char out[MON_TIMESTAMP_LEN + 1]);
void mon_now_timestamp (char out[MON_TIMESTAMP_LEN + 1]);

int mon_set_nonblock (int fd, bool on, err_t *err);

/* Creates a listening unix stream socket at path (replacing a stale one), mode 0600,
 * non-blocking and close-on-exec. */
int mon_listen_unix (const char *path, err_t *err);

/* Writes a file atomically: a hidden temporary beside it, rename, so that a reader (or an
 * inotify watcher of IN_MOVED_TO) sees only the complete content. durable adds an fsync of the
 * file before the rename and of the directory after it, so that the file survives a crash. */
int mon_write_file_atomic (const char *dir, const char *name, const char *data, size_t len, bool durable,
                           err_t *err);

/* Appends s to out (capacity cap, always NUL-terminated) as a JSON string with its quotes.
 * Returns the new length, or cap when it did not fit. Pure. */
size_t mon_json_string (char *out, size_t used, size_t cap, const char *s, size_t len);

/* Standard base64 (RFC 4648 section 4) of in into out, which holds 4 * ((len + 2) / 3) + 1 bytes. */
void mon_base64 (const unsigned char *in, size_t len, char *out);

#endif
