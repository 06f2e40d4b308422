/* cgroup v1: the container has one directory per mounted hierarchy, all at the same path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "spec.h"
#include "utils.h"

int cgroup_read_procs (const char *file, pid_t **pids, size_t *n, err_t *err);

#define MAX_HIERARCHIES 16

struct hierarchy
{
  char mountpoint[256];
  char options[256]; /* super options: the controllers, e.g. "rw,cpu" or "rw,name=systemd" */
};

static int
list_hierarchies (struct hierarchy *h, size_t *n, err_t *err)
{
  cleanup_free char *text = NULL;
  char *line, *save = NULL;
  int ret;

  *n = 0;
  ret = read_file ("/proc/self/mountinfo", &text, NULL, err);
  if (ret < 0)
    return ret;
  for (line = strtok_r (text, "\n", &save); line && *n < MAX_HIERARCHIES; line = strtok_r (NULL, "\n", &save))
    {
      char mountpoint[256], fstype[32], source[64], options[256];
      char *sep = strstr (line, " - ");
      size_t i;
      bool dup = false;

      if (sep == NULL || sscanf (line, "%*d %*d %*s %*s %255s", mountpoint) != 1
          || sscanf (sep + 3, "%31s %63s %255s", fstype, source, options) != 3 || strcmp (fstype, "cgroup") != 0)
        continue;
      for (i = 0; i < *n; i++)
        if (strcmp (h[i].options, options) == 0)
          dup = true;
      if (dup)
        continue;
      snprintf (h[*n].mountpoint, sizeof (h[*n].mountpoint), "%s", mountpoint);
      snprintf (h[*n].options, sizeof (h[*n].options), "%s", options);
      (*n)++;
    }
  return 0;
}

static bool
has_controller (const struct hierarchy *h, const char *ctrl)
{
  cleanup_free char *copy = strdup (h->options);
  char *tok, *save = NULL;

  for (tok = copy ? strtok_r (copy, ",", &save) : NULL; tok; tok = strtok_r (NULL, ",", &save))
    if (strcmp (tok, ctrl) == 0)
      return true;
  return false;
}

/* The directory of path in the hierarchy holding ctrl; NULL when it is not mounted. */
static char *
controller_dir (const char *ctrl, const char *path)
{
  struct hierarchy h[MAX_HIERARCHIES];
  size_t n, i;
  char *out = NULL;

  if (list_hierarchies (h, &n, NULL) < 0)
    return NULL;
  for (i = 0; i < n; i++)
    if (has_controller (&h[i], ctrl))
      {
        if (asprintf (&out, "%s%s", h[i].mountpoint, path) < 0)
          return NULL;
        return out;
      }
  return NULL;
}

/* A new cpuset cgroup starts with empty cpus and mems, and a process cannot join it until
 * they are set: copy them down from the parent, level by level. */
static int
init_cpuset (const char *dir, err_t *err)
{
  const char *files[] = { "cpuset.cpus", "cpuset.mems" };
  size_t i;

  for (i = 0; i < 2; i++)
    {
      cleanup_free char *mine = NULL, *parent = NULL, *value = NULL, *current = NULL;
      cleanup_free char *dircopy = strdup (dir);
      char *slash = dircopy ? strrchr (dircopy, '/') : NULL;

      if (slash == NULL)
        return make_error (err, ENOMEM, "cpuset");
      *slash = '\0';
      if (asprintf (&mine, "%s/%s", dir, files[i]) < 0 || asprintf (&parent, "%s/%s", dircopy, files[i]) < 0)
        return make_error (err, ENOMEM, "cpuset");
      if (read_file (mine, &current, NULL, err) < 0)
        return -1;
      if (current[0] != '\n' && current[0] != '\0')
        continue;
      if (read_file (parent, &value, NULL, err) < 0)
        return -1;
      if (write_file (mine, value, err) < 0)
        return -1;
    }
  return 0;
}

/* Hybrid hosts also mount a controller-less cgroup2 here; the container joins it too (runc
 * does), so tools that read the v2 path of a process find the container's. */
#define HYBRID_UNIFIED "/sys/fs/cgroup/unified"

static bool
hybrid_unified (void)
{
  struct statfs sf;
  return statfs (HYBRID_UNIFIED, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int
v1_enter (const char *path, pid_t pid, err_t *err)
{
  struct hierarchy h[MAX_HIERARCHIES];
  size_t n, i;
  char buf[32];
  int ret;

  ret = list_hierarchies (h, &n, err);
  if (ret < 0)
    return ret;
  snprintf (buf, sizeof (buf), "%d", (int) pid);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *dir = NULL;
      cleanup_free char *procs = NULL;

      if (asprintf (&dir, "%s%s", h[i].mountpoint, path) < 0 || asprintf (&procs, "%s/cgroup.procs", dir) < 0)
        return make_error (err, ENOMEM, "cgroup");
      if (has_controller (&h[i], "cpuset"))
        {
          /* Create and initialise each level from the top. */
          char *p;
          for (p = dir + strlen (h[i].mountpoint) + 1; (p = strchr (p, '/')) != NULL; p++)
            {
              *p = '\0';
              if (mkdir (dir, 0755) < 0 && errno != EEXIST)
                return make_error (err, errno, "mkdir `%s`", dir);
              ret = init_cpuset (dir, err);
              *p = '/';
              if (ret < 0)
                return ret;
            }
          if (mkdir (dir, 0755) < 0 && errno != EEXIST)
            return make_error (err, errno, "mkdir `%s`", dir);
          ret = init_cpuset (dir, err);
          if (ret < 0)
            return ret;
        }
      else if (mkdir_p (dir, 0755, err) < 0)
        return -1;
      if (write_file (procs, buf, err) < 0)
        return err_prefix (err, "join cgroup");
    }
  if (hybrid_unified ())
    {
      cleanup_free char *dir = NULL;
      cleanup_free char *procs = NULL;
      if (asprintf (&dir, HYBRID_UNIFIED "%s", path) < 0 || asprintf (&procs, "%s/cgroup.procs", dir) < 0)
        return make_error (err, ENOMEM, "cgroup");
      if (mkdir_p (dir, 0755, err) < 0 || write_file (procs, buf, err) < 0)
        return err_prefix (err, "join the unified cgroup");
    }
  return 0;
}

static int
write_knob (const char *ctrl, const char *path, const char *file, const char *value, err_t *err)
{
  cleanup_free char *dir = controller_dir (ctrl, path);
  cleanup_free char *knob = NULL;

  if (dir == NULL)
    return make_error (err, ENOTSUP, "the %s cgroup controller is not mounted on this host", ctrl);
  if (asprintf (&knob, "%s/%s", dir, file) < 0)
    return make_error (err, ENOMEM, "cgroup");
  if (access (knob, F_OK) < 0)
    return make_error (err, ENOTSUP, "`%s` does not exist: not supported by this host", knob);
  return write_file (knob, value, err);
}

static int
write_int (const char *ctrl, const char *path, const char *file, json_t *v, err_t *err)
{
  char buf[32];

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v))
    return make_error (err, 0, "linux.resources: %s must be an integer", file);
  snprintf (buf, sizeof (buf), "%lld", (long long) json_integer_value (v));
  return write_knob (ctrl, path, file, buf, err);
}

/* The devices the container may always use, after the spec's own rules (runc's defaults):
 * mknod of anything, the default device set, the pty devices and /dev/net/tun. */
static const char *const default_allowed_devices[] = {
  "b *:* m",   "c *:* m",   "c 1:3 rwm", "c 1:5 rwm",  "c 1:7 rwm",    "c 1:8 rwm",
  "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm", NULL,
};

static int
device_rule (json_t *rule, char *buf, size_t len)
{
  const char *type = spec_string (rule, "type");
  const char *access_ = spec_string (rule, "access");
  json_t *major = json_object_get (rule, "major");
  json_t *minor = json_object_get (rule, "minor");
  char maj[24] = "*", min[24] = "*";

  if (major && json_is_integer (major) && json_integer_value (major) >= 0)
    snprintf (maj, sizeof (maj), "%lld", (long long) json_integer_value (major));
  if (minor && json_is_integer (minor) && json_integer_value (minor) >= 0)
    snprintf (min, sizeof (min), "%lld", (long long) json_integer_value (minor));
  if (type == NULL || strcmp (type, "a") == 0)
    return snprintf (buf, len, "a *:* %s", access_ ? access_ : "rwm");
  return snprintf (buf, len, "%s %s:%s %s", type, maj, min, access_ ? access_ : "rwm");
}

static int
apply_devices (const char *path, json_t *rules, json_t *devices, err_t *err)
{
  size_t i;
  char buf[96];
  int ret;

  if (rules == NULL && devices == NULL)
    return 0;
  for (i = 0; rules && i < json_array_size (rules); i++)
    {
      json_t *r = json_array_get (rules, i);
      device_rule (r, buf, sizeof (buf));
      ret = write_knob ("devices", path, json_is_true (json_object_get (r, "allow")) ? "devices.allow" : "devices.deny",
                        buf, err);
      if (ret < 0)
        return ret;
    }
  for (i = 0; default_allowed_devices[i]; i++)
    {
      ret = write_knob ("devices", path, "devices.allow", default_allowed_devices[i], err);
      if (ret < 0)
        return ret;
    }
  /* The devices the spec creates are usable too. */
  for (i = 0; devices && i < json_array_size (devices); i++)
    {
      json_t *d = json_array_get (devices, i);
      const char *type = spec_string (d, "type");
      if (type == NULL || strcmp (type, "p") == 0)
        continue;
      snprintf (buf, sizeof (buf), "%c %lld:%lld rwm", type[0] == 'u' ? 'c' : type[0],
                (long long) json_integer_value (json_object_get (d, "major")),
                (long long) json_integer_value (json_object_get (d, "minor")));
      ret = write_knob ("devices", path, "devices.allow", buf, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int
v1_apply (const char *path, json_t *res, json_t *devices, err_t *err)
{
  json_t *mem = json_object_get (res, "memory");
  json_t *cpu = json_object_get (res, "cpu");
  json_t *pids = json_object_get (res, "pids");
  json_t *blkio = json_object_get (res, "blockIO");
  json_t *huge = json_object_get (res, "hugepageLimits");
  size_t i;
  int ret;

  ret = apply_devices (path, json_object_get (res, "devices"), devices, err);
  if (ret < 0)
    return ret;
  if (mem)
    {
      ret = write_int ("memory", path, "memory.limit_in_bytes", json_object_get (mem, "limit"), err);
      if (ret < 0)
        return ret;
      ret = write_int ("memory", path, "memory.soft_limit_in_bytes", json_object_get (mem, "reservation"), err);
      if (ret < 0)
        return ret;
      /* memory+swap must stay >= memory: written after the limit. */
      ret = write_int ("memory", path, "memory.memsw.limit_in_bytes", json_object_get (mem, "swap"), err);
      if (ret < 0)
        return ret;
    }
  if (cpu)
    {
      json_t *shares = json_object_get (cpu, "shares");
      if (shares && json_integer_value (shares) != 0
          && (ret = write_int ("cpu", path, "cpu.shares", shares, err)) < 0)
        return ret;
      /* The period first: a quota is checked against the current period. */
      if ((ret = write_int ("cpu", path, "cpu.cfs_period_us", json_object_get (cpu, "period"), err)) < 0)
        return ret;
      if ((ret = write_int ("cpu", path, "cpu.cfs_quota_us", json_object_get (cpu, "quota"), err)) < 0)
        return ret;
      if (spec_string (cpu, "cpus") && *spec_string (cpu, "cpus")
          && (ret = write_knob ("cpuset", path, "cpuset.cpus", spec_string (cpu, "cpus"), err)) < 0)
        return ret;
      if (spec_string (cpu, "mems") && *spec_string (cpu, "mems")
          && (ret = write_knob ("cpuset", path, "cpuset.mems", spec_string (cpu, "mems"), err)) < 0)
        return ret;
    }
  if (pids && json_object_get (pids, "limit"))
    {
      long long limit = json_integer_value (json_object_get (pids, "limit"));
      char buf[32];
      /* runtime-spec: 0 or -1 mean no limit. */
      if (limit <= 0)
        snprintf (buf, sizeof (buf), "max");
      else
        snprintf (buf, sizeof (buf), "%lld", limit);
      if ((ret = write_knob ("pids", path, "pids.max", buf, err)) < 0)
        return ret;
    }
  if (blkio && json_object_get (blkio, "weight"))
    {
      /* With the BFQ scheduler the knob is blkio.bfq.weight (runc falls back the same way). */
      cleanup_free char *dir = controller_dir ("blkio", path);
      cleanup_free char *plain = NULL;
      const char *file = "blkio.weight";
      if (dir && asprintf (&plain, "%s/blkio.weight", dir) >= 0 && access (plain, F_OK) < 0)
        file = "blkio.bfq.weight";
      if ((ret = write_int ("blkio", path, file, json_object_get (blkio, "weight"), err)) < 0)
        return ret;
    }
  for (i = 0; huge && i < json_array_size (huge); i++)
    {
      json_t *h = json_array_get (huge, i);
      cleanup_free char *file = NULL;
      const char *size = spec_string (h, "pageSize");
      if (size == NULL || asprintf (&file, "hugetlb.%s.limit_in_bytes", size) < 0)
        return make_error (err, 0, "linux.resources.hugepageLimits[%zu]: pageSize is required", i);
      if ((ret = write_int ("hugetlb", path, file, json_object_get (h, "limit"), err)) < 0)
        return ret;
    }
  return 0;
}

static int
v1_pids (const char *path, pid_t **pids, size_t *n, err_t *err)
{
  /* Every process is in every hierarchy: any one will do; pids and memory are the usual. */
  cleanup_free char *dir = controller_dir ("pids", path);
  cleanup_free char *file = NULL;

  if (dir == NULL)
    dir = controller_dir ("memory", path);
  if (dir == NULL || asprintf (&file, "%s/cgroup.procs", dir) < 0)
    return make_error (err, ENOTSUP, "no pids or memory cgroup hierarchy");
  return cgroup_read_procs (file, pids, n, err);
}

static int
v1_destroy (const char *path, err_t *err)
{
  struct hierarchy h[MAX_HIERARCHIES];
  size_t n, i;
  int ret;

  ret = list_hierarchies (h, &n, err);
  if (ret < 0)
    return ret;
  if (hybrid_unified () && n < MAX_HIERARCHIES)
    snprintf (h[n++].mountpoint, sizeof (h[0].mountpoint), "%s", HYBRID_UNIFIED);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *dir = NULL;
      if (asprintf (&dir, "%s%s", h[i].mountpoint, path) < 0)
        return make_error (err, ENOMEM, "cgroup");
      ret = cgroup_remove_dir (dir, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
  .name = "v1", .enter = v1_enter, .apply = v1_apply, .pids = v1_pids, .destroy = v1_destroy,
};
