#include "exit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "utils.h"

int
exit_format_json (const char *id, const struct exit_info *info, char *out, size_t cap)
{
  char ts[MON_TIMESTAMP_LEN + 1];
  int code = 0, signo = 0;
  size_t used;
  int n;

  if (WIFEXITED (info->wait_status))
    code = WEXITSTATUS (info->wait_status);
  else if (WIFSIGNALED (info->wait_status))
    {
      signo = WTERMSIG (info->wait_status);
      code = 128 + signo;
    }
  mon_format_timestamp (&info->exited_at, ts);

  n = snprintf (out, cap, "{\"id\":");
  if (n < 0 || (size_t) n >= cap)
    return -1;
  used = mon_json_string (out, (size_t) n, cap, id, strlen (id));
  if (used >= cap)
    return -1;
  n = snprintf (out + used, cap - used,
                ",\"pid\":%d,\"exit_code\":%d,\"signal\":%d,\"oom_killed\":%s,\"exited_at\":\"%s\","
                "\"log_bytes_dropped\":%llu}\n",
                (int) info->pid, code, signo, info->oom_killed ? "true" : "false", ts, info->log_bytes_dropped);
  if (n < 0 || (size_t) n >= cap - used)
    return -1;
  return (int) (used + (size_t) n);
}

int
exit_write_file (const char *exit_dir, const char *id, const struct exit_info *info, err_t *err)
{
  char buf[1024];
  int len = exit_format_json (id, info, buf, sizeof (buf));

  if (len < 0)
    return make_error (err, ENAMETOOLONG, "exit record of `%s`", id);
  return mon_write_file_atomic (exit_dir, id, buf, (size_t) len, true, err);
}

/* The memory controller's mount point: a cgroup v1 hierarchy whose super options name
 * "memory", else the cgroup2 mount. Fields of /proc/self/mountinfo are described in proc(5). */
static bool
find_memory_mount (char *out, size_t cap, bool *v2)
{
  cleanup_file FILE *f = fopen ("/proc/self/mountinfo", "re");
  char line[4096];
  bool found = false;

  if (f == NULL)
    return false;
  while (fgets (line, sizeof (line), f))
    {
      char *fields[24];
      char *save = NULL, *tok, *sep = NULL;
      int nf = 0, i;

      for (tok = strtok_r (line, " \n", &save); tok && nf < 24; tok = strtok_r (NULL, " \n", &save))
        fields[nf++] = tok;
      /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
      for (i = 6; i < nf; i++)
        if (strcmp (fields[i], "-") == 0)
          {
            sep = fields[i];
            break;
          }
      if (sep == NULL || i + 3 >= nf)
        continue;
      if (strcmp (fields[i + 1], "cgroup") == 0)
        {
          char *opt, *osave = NULL;
          for (opt = strtok_r (fields[i + 3], ",", &osave); opt; opt = strtok_r (NULL, ",", &osave))
            if (strcmp (opt, "memory") == 0)
              {
                snprintf (out, cap, "%s", fields[4]);
                *v2 = false;
                return true;
              }
        }
      else if (strcmp (fields[i + 1], "cgroup2") == 0 && !found)
        {
          snprintf (out, cap, "%s", fields[4]);
          *v2 = true;
          found = true;
        }
    }
  return found;
}

/* The process's cgroup path for the memory controller (v1) or the unified hierarchy (v2),
 * from /proc/<pid>/cgroup lines "hierarchy-id:controllers:path". */
static bool
find_cgroup_path (pid_t pid, bool v2, char *out, size_t cap)
{
  char path[64], line[4096];
  cleanup_file FILE *f = NULL;

  snprintf (path, sizeof (path), "/proc/%d/cgroup", (int) pid);
  f = fopen (path, "re");
  if (f == NULL)
    return false;
  while (fgets (line, sizeof (line), f))
    {
      char *c1 = strchr (line, ':'), *c2, *nl;
      if (c1 == NULL || (c2 = strchr (c1 + 1, ':')) == NULL)
        continue;
      *c2 = '\0';
      if ((nl = strchr (c2 + 1, '\n')) != NULL)
        *nl = '\0';
      if (v2 && c1 == line + 1 && line[0] == '0' && c1 + 1 == c2)
        {
          snprintf (out, cap, "%s", c2 + 1);
          return true;
        }
      if (!v2)
        {
          char *opt, *save = NULL;
          for (opt = strtok_r (c1 + 1, ",", &save); opt; opt = strtok_r (NULL, ",", &save))
            if (strcmp (opt, "memory") == 0)
              {
                snprintf (out, cap, "%s", c2 + 1);
                return true;
              }
        }
    }
  return false;
}

static long long
read_oom_kill_count (int dirfd, const char *file)
{
  char buf[1024];
  cleanup_close int fd = openat (dirfd, file, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  char *p;

  if (fd < 0)
    return -1;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  for (p = buf; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, "oom_kill ", 9) == 0)
      return strtoll (p + 9, NULL, 10);
  return -1;
}

void
oom_watch_init (struct oom_watch *w, pid_t pid)
{
  char mount[1024], cgroup[2048], dir[4096];
  bool v2 = false;

  w->dirfd = -1;
  w->file = NULL;
  w->start_count = -1;
  if (!find_memory_mount (mount, sizeof (mount), &v2) || !find_cgroup_path (pid, v2, cgroup, sizeof (cgroup)))
    return;
  if ((size_t) snprintf (dir, sizeof (dir), "%s%s", mount, cgroup) >= sizeof (dir))
    return;
  w->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  w->file = v2 ? "memory.events" : "memory.oom_control";
  if (w->dirfd >= 0)
    w->start_count = read_oom_kill_count (w->dirfd, w->file);
}

bool
oom_watch_fired (const struct oom_watch *w)
{
  long long now;

  if (w->dirfd < 0 || w->start_count < 0)
    return false;
  now = read_oom_kill_count (w->dirfd, w->file);
  return now > w->start_count;
}

void
oom_watch_close (struct oom_watch *w)
{
  if (w->dirfd >= 0)
    close (w->dirfd);
  w->dirfd = -1;
}
