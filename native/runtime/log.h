/* Diagnostics: errors and warnings go to stderr and, with --log, to that file in the format of
 * --log-format ("text", or "json" lines {"level","msg","time"} as runc writes them, which is
 * what CRI runtimes read back to explain a failure). */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include "error.h"

int log_open (const char *path, const char *format, err_t *err);
void log_msg (const char *level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
#define log_warning(...) log_msg ("warning", __VA_ARGS__)
/* Logs the error and releases it. */
void log_error (err_t *err);
/* The container's init shares stdio with the container: it logs to the file only. */
void log_quiet_stderr (void);

#endif
