/* The exit record: when the container's process ends, the monitor writes <exit-dir>/<id>
 * atomically (a JSON object, see README.md) and exits; the daemon learns of it from inotify. */
#ifndef BERTH_MONITOR_EXIT_H
#define BERTH_MONITOR_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

struct exit_info
{
  pid_t pid;
  int wait_status; /* as from waitpid */
  struct timespec exited_at;
  bool oom_killed;
  unsigned long long log_bytes_dropped;
};

/* Renders the record as one JSON object and a newline into out; returns its length, or -1 if
 * cap is too small. Pure. The exit code of a process killed by signal N is 128 + N, as a shell
 * and the kubelet report it. */
int exit_format_json (const char *id, const struct exit_info *info, char *out, size_t cap);

int exit_write_file (const char *exit_dir, const char *id, const struct exit_info *info, err_t *err);

/* The OOM-kill counter of a process's memory cgroup: memory.oom_control's oom_kill on cgroup
 * v1, memory.events' oom_kill on v2. The cgroup directory is opened at start, while the
 * process is known to be in it; a count that grew by the exit means the kernel OOM-killed a
 * process of the container. */
struct oom_watch
{
  int dirfd;
  const char *file;
  long long start_count;
};

/* Never fails hard: without a memory cgroup the watch stays inactive (dirfd -1). */
void oom_watch_init (struct oom_watch *w, pid_t pid);
bool oom_watch_fired (const struct oom_watch *w);
void oom_watch_close (struct oom_watch *w);

#endif
