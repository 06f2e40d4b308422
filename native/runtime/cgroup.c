#include "cgroup.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "spec.h"
#include "utils.h"

const struct cgroup_ops *
cgroup_host_ops (void)
{
  struct statfs sf;

  if (statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
    return &cgroup_v2_ops;
  return &cgroup_v1_ops;
}

const struct cgroup_ops *
cgroup_ops_by_name (const char *name)
{
  if (name && strcmp (name, "v2") == 0)
    return &cgroup_v2_ops;
  return &cgroup_v1_ops;
}

char *
cgroup_path_for (json_t *spec, const char *id)
{
  const char *p = spec_string (json_object_get (spec, "linux"), "cgroupsPath");
  char *out = NULL;

  if (p == NULL || *p == '\0')
    {
      if (asprintf (&out, "/berth-runtime/%s", id) < 0)
        return NULL;
      return out;
    }
  /* runtime-spec: a relative path is interpreted relative to a runtime-chosen location; like
   * runc we take it from the hierarchy's root. */
  if (asprintf (&out, "%s%s", p[0] == '/' ? "" : "/", p) < 0)
    return NULL;
  return out;
}

int
cgroup_signal_all (const struct cgroup_ops *ops, const char *path, int signo, err_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0, i;
  int ret;

  ret = ops->pids (path, &pids, &n, err);
  if (ret < 0)
    return ret;
  for (i = 0; i < n; i++)
    if (kill (pids[i], signo) < 0 && errno != ESRCH)
      return make_error (err, errno, "kill %d", (int) pids[i]);
  return 0;
}

/* Reads a cgroup.procs file into a pid array. Shared by both backends. */
int cgroup_read_procs (const char *file, pid_t **pids, size_t *n, err_t *err);

int
cgroup_read_procs (const char *file, pid_t **pids, size_t *n, err_t *err)
{
  cleanup_free char *text = NULL;
  char *line, *save = NULL;
  pid_t *v = NULL;
  size_t count = 0;
  int ret;

  *pids = NULL;
  *n = 0;
  ret = read_file (file, &text, NULL, err);
  if (ret < 0)
    return ret;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      pid_t *grown = realloc (v, sizeof (pid_t) * (count + 1));
      if (grown == NULL)
        {
          free (v);
          return make_error (err, ENOMEM, "read `%s`", file);
        }
      v = grown;
      v[count++] = (pid_t) atoi (line);
    }
  *pids = v;
  *n = count;
  return 0;
}

int
cgroup_remove_dir (const char *dir, err_t *err)
{
  int tries;

  for (tries = 0; rmdir (dir) < 0; tries++)
    {
      if (errno == ENOENT)
        break;
      /* EBUSY while the last task's exit is still being accounted: brief, so retry often. */
      if (errno != EBUSY || tries >= 1000)
        return make_error (err, errno, "remove cgroup `%s`", dir);
      usleep (1000);
    }
  return 0;
}
