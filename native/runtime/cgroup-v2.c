/* cgroup v2: one directory in the unified hierarchy at /sys/fs/cgroup. The v1-shaped values of
 * runtime-spec are converted as runc and crun convert them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "spec.h"
#include "utils.h"

#define V2_ROOT "/sys/fs/cgroup"

int cgroup_read_procs (const char *file, pid_t **pids, size_t *n, err_t *err);

/* Enables every controller the parent offers in each ancestor's subtree_control, so the
 * container's directory gets the interface files. */
static int
enable_controllers (const char *path, err_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *p;

  if (copy == NULL)
    return make_error (err, ENOMEM, "cgroup");
  for (p = copy;; p++)
    {
      cleanup_free char *dir = NULL, *controllers = NULL, *subtree = NULL;
      char *tok, *save = NULL;
      char saved = *p;

      if (*p != '/' && *p != '\0')
        continue;
      *p = '\0';
      if (asprintf (&dir, V2_ROOT "%s", copy) < 0)
        return make_error (err, ENOMEM, "cgroup");
      *p = saved;
      if (saved == '\0')
        break;
      if (mkdir (dir, 0755) < 0 && errno != EEXIST)
        return make_error (err, errno, "mkdir `%s`", dir);
      if (asprintf (&controllers, "%s/cgroup.controllers", dir) < 0 || asprintf (&subtree, "%s/cgroup.subtree_control", dir) < 0)
        return make_error (err, ENOMEM, "cgroup");
      {
        cleanup_free char *list = NULL;
        if (read_file (controllers, &list, NULL, err) < 0)
          return -1;
        for (tok = strtok_r (list, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
          {
            char buf[64];
            snprintf (buf, sizeof (buf), "+%s", tok);
            /* A controller the parent cannot delegate is skipped, not fatal. */
            (void) write_file (subtree, buf, NULL);
          }
      }
    }
  return 0;
}

static int
v2_enter (const char *path, pid_t pid, err_t *err)
{
  cleanup_free char *dir = NULL, *procs = NULL;
  char buf[32];
  int ret;

  ret = enable_controllers (path, err);
  if (ret < 0)
    return ret;
  if (asprintf (&dir, V2_ROOT "%s", path) < 0 || asprintf (&procs, "%s/cgroup.procs", dir) < 0)
    return make_error (err, ENOMEM, "cgroup");
  if (mkdir (dir, 0755) < 0 && errno != EEXIST)
    return make_error (err, errno, "mkdir `%s`", dir);
  snprintf (buf, sizeof (buf), "%d", (int) pid);
  return write_file (procs, buf, err);
}

static int
knob (const char *path, const char *file, const char *value, err_t *err)
{
  cleanup_free char *f = NULL;

  if (asprintf (&f, V2_ROOT "%s/%s", path, file) < 0)
    return make_error (err, ENOMEM, "cgroup");
  if (access (f, F_OK) < 0)
    return make_error (err, ENOTSUP, "`%s` does not exist: controller not available", f);
  return write_file (f, value, err);
}

static int
knob_ll (const char *path, const char *file, long long v, err_t *err)
{
  char buf[32];

  if (v < 0)
    snprintf (buf, sizeof (buf), "max");
  else
    snprintf (buf, sizeof (buf), "%lld", v);
  return knob (path, file, buf, err);
}

static int
v2_apply (const char *path, json_t *res, json_t *devices, err_t *err)
{
  json_t *mem = json_object_get (res, "memory");
  json_t *cpu = json_object_get (res, "cpu");
  json_t *pids = json_object_get (res, "pids");
  json_t *blkio = json_object_get (res, "blockIO");
  json_t *huge = json_object_get (res, "hugepageLimits");
  json_t *rules = json_object_get (res, "devices");
  size_t i;
  int ret;

  (void) devices;
  /* The device controller of v2 is an eBPF program; until it is written, only rule sets that
   * allow everything are accepted. */
  for (i = 0; rules && i < json_array_size (rules); i++)
    if (!json_is_true (json_object_get (json_array_get (rules, i), "allow")))
      return make_error (err, ENOTSUP, "linux.resources.devices deny rules are not supported on cgroup v2 yet");
  if (mem)
    {
      json_t *limit = json_object_get (mem, "limit");
      json_t *swap = json_object_get (mem, "swap");
      if (limit && (ret = knob_ll (path, "memory.max", json_integer_value (limit), err)) < 0)
        return ret;
      if (json_object_get (mem, "reservation")
          && (ret = knob_ll (path, "memory.low", json_integer_value (json_object_get (mem, "reservation")), err)) < 0)
        return ret;
      /* v1's swap is memory+swap; v2's swap.max is swap alone. */
      if (swap && limit)
        {
          long long s = json_integer_value (swap), l = json_integer_value (limit);
          if ((ret = knob_ll (path, "memory.swap.max", s < 0 ? -1 : s - l, err)) < 0)
            return ret;
        }
    }
  if (cpu)
    {
      json_t *shares = json_object_get (cpu, "shares");
      json_t *quota = json_object_get (cpu, "quota");
      json_t *period = json_object_get (cpu, "period");
      if (shares && json_integer_value (shares) > 0)
        {
          /* shares [2, 262144] -> weight [1, 10000] */
          long long s = json_integer_value (shares);
          if ((ret = knob_ll (path, "cpu.weight", 1 + ((s - 2) * 9999) / 262142, err)) < 0)
            return ret;
        }
      if (quota || period)
        {
          char buf[64];
          long long q = quota ? json_integer_value (quota) : -1;
          long long p = period && json_integer_value (period) > 0 ? json_integer_value (period) : 100000;
          if (q > 0)
            snprintf (buf, sizeof (buf), "%lld %lld", q, p);
          else
            snprintf (buf, sizeof (buf), "max %lld", p);
          if ((ret = knob (path, "cpu.max", buf, err)) < 0)
            return ret;
        }
      if (spec_string (cpu, "cpus") && *spec_string (cpu, "cpus")
          && (ret = knob (path, "cpuset.cpus", spec_string (cpu, "cpus"), err)) < 0)
        return ret;
      if (spec_string (cpu, "mems") && *spec_string (cpu, "mems")
          && (ret = knob (path, "cpuset.mems", spec_string (cpu, "mems"), err)) < 0)
        return ret;
    }
  if (pids && json_object_get (pids, "limit"))
    {
      long long l = json_integer_value (json_object_get (pids, "limit"));
      if ((ret = knob_ll (path, "pids.max", l <= 0 ? -1 : l, err)) < 0)
        return ret;
    }
  if (blkio && json_object_get (blkio, "weight"))
    {
      /* blkio weight [10, 1000] -> io.weight [1, 10000] */
      long long w = json_integer_value (json_object_get (blkio, "weight"));
      char buf[48];
      snprintf (buf, sizeof (buf), "default %lld", 1 + (w - 10) * 9999 / 990);
      if ((ret = knob (path, "io.weight", buf, err)) < 0)
        return ret;
    }
  for (i = 0; huge && i < json_array_size (huge); i++)
    {
      json_t *h = json_array_get (huge, i);
      cleanup_free char *file = NULL;
      const char *size = spec_string (h, "pageSize");
      if (size == NULL || asprintf (&file, "hugetlb.%s.max", size) < 0)
        return make_error (err, 0, "linux.resources.hugepageLimits[%zu]: pageSize is required", i);
      if ((ret = knob_ll (path, file, json_integer_value (json_object_get (h, "limit")), err)) < 0)
        return ret;
    }
  return 0;
}

static int
v2_pids (const char *path, pid_t **pids, size_t *n, err_t *err)
{
  cleanup_free char *file = NULL;

  if (asprintf (&file, V2_ROOT "%s/cgroup.procs", path) < 0)
    return make_error (err, ENOMEM, "cgroup");
  return cgroup_read_procs (file, pids, n, err);
}

static int
v2_destroy (const char *path, err_t *err)
{
  cleanup_free char *dir = NULL;

  if (asprintf (&dir, V2_ROOT "%s", path) < 0)
    return make_error (err, ENOMEM, "cgroup");
  return cgroup_remove_dir (dir, err);
}

const struct cgroup_ops cgroup_v2_ops = {
  .name = "v2", .enter = v2_enter, .apply = v2_apply, .pids = v2_pids, .destroy = v2_destroy,
};
