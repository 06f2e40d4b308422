/* The CRI log writer: container output as the kubelet reads it,
 *
 *     <RFC3339Nano timestamp> <stdout|stderr> <P|F> <text>\n
 *
 * one line per piece, F for a piece that ended a line (its newline is not part of <text>), P
 * for a partial piece: the tail of a read that did not end in a newline, or a line cut at the
 * maximum line size. The kubelet joins P pieces up to the next F. */
#ifndef BERTH_MONITOR_LOGGING_H
#define BERTH_MONITOR_LOGGING_H

#include <stddef.h>

#include "error.h"
#include "io.h"

enum log_stream
{
  LOG_STDOUT = 1,
  LOG_STDERR = 2,
};

/* The most a CRI log line adds around its text: timestamp, stream, tag, three spaces, newline. */
#define CRI_LINE_OVERHEAD (MON_TIMESTAMP_LEN + 6 + 1 + 3 + 1)
/* The writer's output buffer, and so the longest line it writes before cutting a P piece. */
#define LOG_BUFFER_SIZE 16384
#define LOG_MAX_LINE_LIMIT (LOG_BUFFER_SIZE - CRI_LINE_OVERHEAD)

/* Formats as many whole pieces of in[0..in_len) as fit into out[0..out_cap) and returns how
 * many input bytes they covered; *out_len receives the bytes written. max_line 0 means no
 * limit. out_cap >= CRI_LINE_OVERHEAD + max_line guarantees progress. Pure: no I/O, no clock. */
size_t cri_format (const char *timestamp, enum log_stream stream, const char *in, size_t in_len, size_t max_line,
                   char *out, size_t out_cap, size_t *out_len);

struct log_writer
{
  const char *path;
  int fd;
  size_t max_line;
  /* Bytes of container output that could not be written (a full disk, a removed directory):
   * the container keeps running, the loss is counted and reported in the exit file. */
  unsigned long long dropped;
  int last_errno;
};

int log_open (struct log_writer *w, const char *path, size_t max_line, err_t *err);

/* Opens path anew and switches to it; the old descriptor is closed only once the new one is
 * open, so nothing is lost between them (ReopenContainerLog, after the kubelet rotated). */
int log_reopen (struct log_writer *w, err_t *err);

/* Writes one read of container output. Never fails: a write error drops and counts. */
void log_write (struct log_writer *w, enum log_stream stream, const char *buf, size_t len);

void log_close (struct log_writer *w);

#endif
