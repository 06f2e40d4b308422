#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "spec.h"
#include "utils.h"

const struct mount_option mount_options[] = {
  { "defaults", false, 0, false },
  { "ro", false, MS_RDONLY, false },
  { "rw", true, MS_RDONLY, false },
  { "suid", true, MS_NOSUID, false },
  { "nosuid", false, MS_NOSUID, false },
  { "dev", true, MS_NODEV, false },
  { "nodev", false, MS_NODEV, false },
  { "exec", true, MS_NOEXEC, false },
  { "noexec", false, MS_NOEXEC, false },
  { "sync", false, MS_SYNCHRONOUS, false },
  { "async", true, MS_SYNCHRONOUS, false },
  { "dirsync", false, MS_DIRSYNC, false },
  { "remount", false, MS_REMOUNT, false },
  { "mand", false, MS_MANDLOCK, false },
  { "nomand", true, MS_MANDLOCK, false },
  { "atime", true, MS_NOATIME, false },
  { "noatime", false, MS_NOATIME, false },
  { "diratime", true, MS_NODIRATIME, false },
  { "nodiratime", false, MS_NODIRATIME, false },
  { "relatime", false, MS_RELATIME, false },
  { "norelatime", true, MS_RELATIME, false },
  { "strictatime", false, MS_STRICTATIME, false },
  { "nostrictatime", true, MS_STRICTATIME, false },
  { "bind", false, MS_BIND, false },
  { "rbind", false, MS_BIND | MS_REC, false },
  { "private", false, MS_PRIVATE, true },
  { "rprivate", false, MS_PRIVATE | MS_REC, true },
  { "shared", false, MS_SHARED, true },
  { "rshared", false, MS_SHARED | MS_REC, true },
  { "slave", false, MS_SLAVE, true },
  { "rslave", false, MS_SLAVE | MS_REC, true },
  { "unbindable", false, MS_UNBINDABLE, true },
  { "runbindable", false, MS_UNBINDABLE | MS_REC, true },
  { NULL, false, 0, false },
};

const struct recursive_option recursive_options[] = {
  { "rro", false, MOUNT_ATTR_RDONLY },
  { "rrw", true, MOUNT_ATTR_RDONLY },
  { "rnosuid", false, MOUNT_ATTR_NOSUID },
  { "rsuid", true, MOUNT_ATTR_NOSUID },
  { "rnodev", false, MOUNT_ATTR_NODEV },
  { "rdev", true, MOUNT_ATTR_NODEV },
  { "rnoexec", false, MOUNT_ATTR_NOEXEC },
  { "rexec", true, MOUNT_ATTR_NOEXEC },
  { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
  { NULL, false, 0 },
};

int
parse_mount_options (json_t *options, unsigned long *flags, unsigned long *propagation,
                     struct recursive_attrs *recursive, char **data, bool *recursive_bind, err_t *err)
{
  size_t i;
  size_t used = 0;
  cleanup_free char *buf = NULL;

  *flags = 0;
  *propagation = 0;
  recursive->set = 0;
  recursive->clear = 0;
  *data = NULL;
  *recursive_bind = false;
  if (options != NULL && !json_is_array (options))
    return make_error (err, 0, "mount options must be an array");
  for (i = 0; options && i < json_array_size (options); i++)
    {
      const char *o = json_string_value (json_array_get (options, i));
      const struct mount_option *m;
      const struct recursive_option *r;

      if (o == NULL)
        return make_error (err, 0, "mount options must be strings");
      for (r = recursive_options; r->name; r++)
        if (strcmp (r->name, o) == 0)
          break;
      if (r->name)
        {
          /* The last of a pair wins, as for the flags. */
          if (r->clear)
            {
              recursive->clear |= r->attr;
              recursive->set &= ~r->attr;
            }
          else
            {
              recursive->set |= r->attr;
              recursive->clear &= ~r->attr;
            }
          continue;
        }
      for (m = mount_options; m->name; m++)
        if (strcmp (m->name, o) == 0)
          break;
      if (m->name == NULL)
        {
          /* Anything else is file-system data (mode=755, size=65536k, newinstance, ...). */
          size_t len = strlen (o);
          char *grown = realloc (buf, used + len + 2);
          if (grown == NULL)
            return make_error (err, ENOMEM, "mount options");
          buf = grown;
          if (used)
            buf[used++] = ',';
          memcpy (buf + used, o, len + 1);
          used += len;
          continue;
        }
      if (strcmp (o, "rbind") == 0)
        *recursive_bind = true;
      if (m->propagation)
        *propagation |= m->flag;
      else if (m->clear)
        *flags &= ~m->flag;
      else
        *flags |= m->flag;
    }
  *data = steal_pointer (&buf);
  return 0;
}

/* Opens a path inside the rootfs, resolving symlinks and ".." as if rootfd were "/": a
 * symlink in an image cannot send a mount outside the container (openat2 RESOLVE_IN_ROOT). */
static int
open_in_root (int rootfd, const char *path, int flags, err_t *err)
{
  struct open_how how = { .flags = (unsigned long long) (flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT };
  int fd;

  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  fd = (int) syscall (SYS_openat2, rootfd, path, &how, sizeof (how));
  if (fd < 0)
    return make_error (err, errno, "open `%s` in the rootfs", path);
  return fd;
}

/* Creates every missing directory of path inside the rootfs; the last component becomes a
 * directory, or an empty file when as_file. Each prefix is resolved from the rootfs again, so
 * symlinks met on the way stay inside it. Returns an O_PATH descriptor of the result. */
static int
make_path_in_root (int rootfd, const char *path, bool as_file, err_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *cur;

  if (copy == NULL)
    return make_error (err, ENOMEM, "mkdir");
  for (cur = copy; *cur == '/'; cur++)
    ;
  while (*cur)
    {
      char *end = strchr (cur, '/');
      bool last = end == NULL || end[1] == '\0';
      cleanup_close int parent = -1;
      int fd;

      if (end)
        *end = '\0';
      fd = open_in_root (rootfd, copy, O_PATH, NULL);
      if (fd >= 0)
        close (fd);
      else if (errno != ENOENT)
        return make_error (err, errno, "open `%s` in the rootfs", copy);
      else
        {
          /* cur is the missing component; its parent is the prefix before it. */
          if (cur > copy + 1)
            {
              cur[-1] = '\0';
              parent = open_in_root (rootfd, copy, O_PATH | O_DIRECTORY, err);
              cur[-1] = '/';
            }
          else
            parent = open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, err);
          if (parent < 0)
            return parent;
          if (last && as_file)
            {
              int f = openat (parent, cur, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
              if (f < 0 && errno != EEXIST)
                return make_error (err, errno, "create `%s` in the rootfs", copy);
              if (f >= 0)
                close (f);
            }
          else if (mkdirat (parent, cur, 0755) < 0 && errno != EEXIST)
            return make_error (err, errno, "mkdir `%s` in the rootfs", copy);
        }
      if (end == NULL)
        break;
      *end = '/';
      cur = end + 1;
      while (*cur == '/')
        cur++;
    }
  return open_in_root (rootfd, path, O_PATH, err);
}

static void
fd_path (int fd, char *buf, size_t len)
{
  snprintf (buf, len, "/proc/self/fd/%d", fd);
}

/* Flags a remount must keep: in a user namespace the kernel refuses to clear locked flags. */
static unsigned long
locked_flags (const char *path)
{
  struct statvfs sv;
  unsigned long out = 0;

  if (statvfs (path, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    out |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    out |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    out |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    out |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    out |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    out |= MS_RELATIME;
  return out;
}

/* Binds every cgroup hierarchy of the init's own cgroups below dest (a tmpfs), as runc does for
 * a "cgroup" mount on cgroup v1; on a pure v2 host it mounts cgroup2 itself. */
static int mount_cgroups (int rootfd, const char *dest, unsigned long flags, err_t *err);

static int
mount_one (int rootfd, const char *bundle, json_t *m, size_t index, err_t *err)
{
  const char *dest = spec_string (m, "destination");
  const char *type = spec_string (m, "type");
  const char *source = spec_string (m, "source");
  unsigned long flags, propagation;
  struct recursive_attrs recursive;
  cleanup_free char *data = NULL;
  cleanup_free char *abs_source = NULL;
  cleanup_close int target = -1;
  cleanup_close int mounted = -1;
  bool rbind, is_bind, source_is_dir = true;
  char target_path[64], mounted_path[64];
  int ret;

  if (dest == NULL || dest[0] != '/')
    return make_error (err, 0, "mounts[%zu]: destination must be an absolute path", index);
  ret = parse_mount_options (json_object_get (m, "options"), &flags, &propagation, &recursive, &data, &rbind,
                             err);
  if (ret < 0)
    return err_prefix (err, "mounts[%zu]", index);
  is_bind = (flags & MS_BIND) || (type && strcmp (type, "bind") == 0);
  if (is_bind)
    {
      struct stat st;
      if (source == NULL)
        return make_error (err, 0, "mounts[%zu]: a bind mount needs a source", index);
      if (source[0] != '/')
        {
          if (asprintf (&abs_source, "%s/%s", bundle, source) < 0)
            return make_error (err, ENOMEM, "mount");
          source = abs_source;
        }
      if (stat (source, &st) < 0)
        return make_error (err, errno, "mounts[%zu]: bind source `%s`", index, source);
      source_is_dir = S_ISDIR (st.st_mode);
      flags |= MS_BIND;
    }
  if (type && strcmp (type, "cgroup") == 0)
    return mount_cgroups (rootfd, dest, flags, err);

  target = make_path_in_root (rootfd, dest, !source_is_dir, err);
  if (target < 0)
    return err_prefix (err, "mounts[%zu]", index);
  fd_path (target, target_path, sizeof (target_path));

  if (is_bind)
    {
      if (mount (source, target_path, NULL, MS_BIND | (rbind ? MS_REC : 0), NULL) < 0)
        return make_error (err, errno, "bind mount `%s` on `%s`", source, dest);
    }
  else
    {
      unsigned long mflags = flags & ~MS_REMOUNT;
      if (mount (source ? source : type, target_path, type, mflags, data) < 0)
        return make_error (err, errno, "mount `%s` (%s) on `%s`", source ? source : "", type ? type : "", dest);
    }

  /* The descriptor opened before the mount names the covered directory: reopen to reach the
   * new mount for the remount and the propagation change. */
  mounted = open_in_root (rootfd, dest, O_PATH, err);
  if (mounted < 0)
    return mounted;
  fd_path (mounted, mounted_path, sizeof (mounted_path));
  if (is_bind && (flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0)
    {
      unsigned long remount = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | locked_flags (mounted_path);
      if (mount (NULL, mounted_path, NULL, remount, NULL) < 0)
        return make_error (err, errno, "remount `%s` with its options", dest);
    }
  if (propagation && mount (NULL, mounted_path, NULL, propagation, NULL) < 0)
    return make_error (err, errno, "set propagation of `%s`", dest);
  if (recursive.set || recursive.clear)
    {
      struct mount_attr attr = { .attr_set = recursive.set, .attr_clr = recursive.clear };
      /* The whole tree: submounts of a bind source would keep their own flags otherwise. */
      if (syscall (SYS_mount_setattr, mounted, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof (attr)) < 0)
        return make_error (err, errno, "set recursive attributes of `%s` (mount_setattr)", dest);
    }
  return 0;
}

static int
mount_cgroups (int rootfd, const char *dest, unsigned long flags, err_t *err)
{
  cleanup_free char *mountinfo = NULL;
  cleanup_free char *self = NULL;
  cleanup_close int target = -1;
  char target_path[64];
  char *line, *save = NULL;
  int ret;

  target = make_path_in_root (rootfd, dest, false, err);
  if (target < 0)
    return target;
  fd_path (target, target_path, sizeof (target_path));
  ret = read_file ("/proc/self/mountinfo", &mountinfo, NULL, err);
  if (ret < 0)
    return ret;
  ret = read_file ("/proc/self/cgroup", &self, NULL, err);
  if (ret < 0)
    return ret;

  /* Pure cgroup v2 (the only line of /proc/self/cgroup is "0::/..."): mount cgroup2. */
  if (strncmp (self, "0::", 3) == 0 && strchr (self, '\n') == self + strlen (self) - 1)
    {
      if (mount ("cgroup2", target_path, "cgroup2", flags & ~(MS_BIND | MS_REC), NULL) < 0)
        return make_error (err, errno, "mount cgroup2 on `%s`", dest);
      return 0;
    }

  if (mount ("tmpfs", target_path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return make_error (err, errno, "mount tmpfs on `%s`", dest);

  for (line = strtok_r (mountinfo, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      /* mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source superopts */
      char root[4096], mountpoint[4096], fstype[64];
      char *sep = strstr (line, " - ");
      const char *name;
      cleanup_free char *sub = NULL;
      cleanup_free char *host = NULL;
      cleanup_close int dir = -1;
      char dir_path[64];
      char *cgline, *cgsave = NULL;
      cleanup_free char *selfcopy = NULL;
      const char *mypath = NULL;

      if (sep == NULL || sscanf (line, "%*d %*d %*s %4095s %4095s", root, mountpoint) != 2
          || sscanf (sep + 3, "%63s", fstype) != 1)
        continue;
      /* In hybrid mode the v2 hierarchy carries no controllers: only the v1 ones are bound,
       * as runc does. */
      if (strcmp (fstype, "cgroup") != 0)
        continue;
      name = strrchr (mountpoint, '/');
      name = name ? name + 1 : mountpoint;
      /* Find our path in this hierarchy: match the controller list of /proc/self/cgroup
       * against the hierarchy's directory name (cpu, memory, name=systemd -> systemd, "" -> unified). */
      selfcopy = strdup (self);
      if (selfcopy == NULL)
        return make_error (err, ENOMEM, "cgroup mount");
      for (cgline = strtok_r (selfcopy, "\n", &cgsave); cgline; cgline = strtok_r (NULL, "\n", &cgsave))
        {
          char *ctrl = strchr (cgline, ':');
          char *path = ctrl ? strchr (ctrl + 1, ':') : NULL;
          if (path == NULL)
            continue;
          *path++ = '\0';
          ctrl++;
          if (strncmp (ctrl, "name=", 5) == 0)
            ctrl += 5;
          if (strcmp (fstype, "cgroup2") == 0 ? *ctrl == '\0' : strcmp (ctrl, name) == 0)
            {
              mypath = path;
              break;
            }
        }
      if (mypath == NULL)
        continue;
      /* The host directory of our cgroup, relative to the hierarchy's root in this mount. */
      if (strcmp (root, "/") != 0 && strncmp (mypath, root, strlen (root)) == 0)
        mypath += strlen (root);
      if (asprintf (&host, "%s%s", mountpoint, mypath) < 0 || asprintf (&sub, "%s/%s", dest, name) < 0)
        return make_error (err, ENOMEM, "cgroup mount");
      dir = make_path_in_root (rootfd, sub, false, err);
      if (dir < 0)
        return dir;
      fd_path (dir, dir_path, sizeof (dir_path));
      if (mount (host, dir_path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return make_error (err, errno, "bind cgroup `%s` on `%s`", host, sub);
      close (dir);
      dir = open_in_root (rootfd, sub, O_PATH, err);
      if (dir < 0)
        return dir;
      fd_path (dir, dir_path, sizeof (dir_path));
      if (mount (NULL, dir_path, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (flags & MS_RDONLY),
                 NULL)
          < 0)
        return make_error (err, errno, "remount cgroup `%s`", sub);
    }
  /* The tmpfs itself stays writable (its directories are read-only binds): runc leaves it so,
   * and tools that create symlinks like cpu,cpuacct rely on it. */
  return 0;
}

struct device
{
  const char *path;
  char type;
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

/* The devices every container has (runtime-spec "Default Devices"). */
static const struct device default_devices[] = {
  { "/dev/null", 'c', 1, 3, 0666, 0, 0 },  { "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
  { "/dev/full", 'c', 1, 7, 0666, 0, 0 },  { "/dev/random", 'c', 1, 8, 0666, 0, 0 },
  { "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static int
create_device (int rootfd, const struct device *d, bool bind_from_host, err_t *err)
{
  cleanup_free char *copy = strdup (d->path);
  cleanup_close int parent = -1;
  char *slash, *name;
  mode_t type;

  if (copy == NULL)
    return make_error (err, ENOMEM, "device");
  slash = strrchr (copy, '/');
  if (slash == NULL || slash[1] == '\0')
    return make_error (err, 0, "invalid device path `%s`", d->path);
  *slash = '\0';
  name = slash + 1;
  parent = make_path_in_root (rootfd, *copy ? copy : "/", false, err);
  if (parent < 0)
    return parent;
  close (parent);
  parent = open_in_root (rootfd, *copy ? copy : "/", O_DIRECTORY | O_RDONLY, err);
  if (parent < 0)
    return parent;

  if (bind_from_host)
    {
      /* In a user namespace mknod is not permitted: bind the host's node instead. */
      cleanup_close int f = openat (parent, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      cleanup_close int target = -1;
      char target_path[64];
      if (f < 0 && errno != EEXIST)
        return make_error (err, errno, "create `%s`", d->path);
      target = open_in_root (rootfd, d->path, O_PATH, err);
      if (target < 0)
        return target;
      fd_path (target, target_path, sizeof (target_path));
      if (mount (d->path, target_path, NULL, MS_BIND, NULL) < 0)
        return make_error (err, errno, "bind device `%s`", d->path);
      return 0;
    }

  switch (d->type)
    {
    case 'c':
    case 'u':
      type = S_IFCHR;
      break;
    case 'b':
      type = S_IFBLK;
      break;
    case 'p':
      type = S_IFIFO;
      break;
    default:
      return make_error (err, 0, "device `%s`: unknown type `%c`", d->path, d->type);
    }
  /* An existing node (an image that ships /dev/null, or a bind) is replaced by ours. */
  if (unlinkat (parent, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
    return make_error (err, errno, "remove `%s`", d->path);
  if (mknodat (parent, name, type | (d->mode & 07777), makedev (d->major, d->minor)) < 0)
    return make_error (err, errno, "mknod `%s`", d->path);
  /* mknod is subject to the umask; the device's mode is exact. */
  if (fchmodat (parent, name, d->mode & 07777, 0) < 0)
    return make_error (err, errno, "chmod `%s`", d->path);
  if (fchownat (parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return make_error (err, errno, "chown `%s`", d->path);
  return 0;
}

static int
create_devices (int rootfd, json_t *spec, bool new_user, err_t *err)
{
  json_t *list = spec_get (spec, "linux.devices");
  size_t i;
  int ret;

  for (i = 0; i < sizeof (default_devices) / sizeof (default_devices[0]); i++)
    {
      ret = create_device (rootfd, &default_devices[i], new_user, err);
      if (ret < 0)
        return ret;
    }
  for (i = 0; list && i < json_array_size (list); i++)
    {
      json_t *d = json_array_get (list, i);
      const char *path = spec_string (d, "path");
      const char *type = spec_string (d, "type");
      json_t *mode = json_object_get (d, "fileMode");
      struct device dev;

      if (path == NULL || path[0] != '/' || type == NULL || strlen (type) != 1)
        return make_error (err, 0, "linux.devices[%zu]: path and type are required", i);
      dev.path = path;
      dev.type = type[0];
      dev.major = (unsigned) json_integer_value (json_object_get (d, "major"));
      dev.minor = (unsigned) json_integer_value (json_object_get (d, "minor"));
      dev.mode = mode ? (mode_t) json_integer_value (mode) : 0666;
      dev.uid = (uid_t) json_integer_value (json_object_get (d, "uid"));
      dev.gid = (gid_t) json_integer_value (json_object_get (d, "gid"));
      if (dev.type != 'p' && (dev.major == 0 && dev.minor == 0) && json_object_get (d, "major") == NULL)
        return make_error (err, 0, "linux.devices[%zu]: major and minor are required for `%s`", i, path);
      ret = create_device (rootfd, &dev, new_user && dev.type != 'p', err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int
create_dev_links (int rootfd, err_t *err)
{
  static const char *const links[][2] = {
    { "/proc/self/fd", "fd" },      { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
  };
  cleanup_close int dev = open_in_root (rootfd, "/dev", O_DIRECTORY | O_RDONLY, err);
  size_t i;

  if (dev < 0)
    return dev;
  for (i = 0; i < sizeof (links) / sizeof (links[0]); i++)
    {
      /* /dev/ptmx must lead to the container's devpts instance, not the host's node. */
      if (strcmp (links[i][1], "ptmx") == 0 && unlinkat (dev, "ptmx", 0) < 0 && errno != ENOENT)
        return make_error (err, errno, "remove /dev/ptmx");
      if (symlinkat (links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
        return make_error (err, errno, "symlink /dev/%s", links[i][1]);
    }
  if (access ("/proc/kcore", F_OK) == 0 && symlinkat ("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
    return make_error (err, errno, "symlink /dev/core");
  return 0;
}

/* pivot_root with the new root's own directory as put_old, then detach the old root: no
 * temporary directory is needed (crun's do_pivot, pivot_root(2) NOTES). */
static int
do_pivot (const char *rootfs, err_t *err)
{
  cleanup_close int oldroot = open ("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  cleanup_close int newroot = open (rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

  if (oldroot < 0)
    return make_error (err, errno, "open /");
  if (newroot < 0)
    return make_error (err, errno, "open `%s`", rootfs);
  if (fchdir (newroot) < 0)
    return make_error (err, errno, "fchdir to the rootfs");
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return make_error (err, errno, "pivot_root");
  if (fchdir (oldroot) < 0)
    return make_error (err, errno, "fchdir to the old root");
  /* Unmounting must not propagate to the host. */
  if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return make_error (err, errno, "make the old root rslave");
  if (umount2 (".", MNT_DETACH) < 0)
    return make_error (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return make_error (err, errno, "chdir /");
  return 0;
}

/* --no-pivot: move the rootfs over / and chroot, for file systems where pivot_root fails
 * (initramfs). Weaker: the old root stays reachable to a process that escapes the chroot. */
static int
do_chroot (const char *rootfs, err_t *err)
{
  if (chdir (rootfs) < 0)
    return make_error (err, errno, "chdir `%s`", rootfs);
  if (mount (rootfs, "/", NULL, MS_MOVE, NULL) < 0)
    return make_error (err, errno, "move the rootfs to /");
  if (chroot (".") < 0)
    return make_error (err, errno, "chroot");
  if (chdir ("/") < 0)
    return make_error (err, errno, "chdir /");
  return 0;
}

static unsigned long
propagation_flags (const char *name)
{
  const struct mount_option *m;

  for (m = mount_options; m->name; m++)
    if (m->propagation && strcmp (m->name, name) == 0)
      return m->flag;
  return 0;
}

int
setup_rootfs (json_t *spec, const char *bundle, bool new_user, char **rootfs_out, err_t *err)
{
  const char *root_path = spec_string (json_object_get (spec, "root"), "path");
  const char *propagation = spec_string (json_object_get (spec, "linux"), "rootfsPropagation");
  json_t *mounts = json_object_get (spec, "mounts");
  cleanup_free char *joined = NULL;
  cleanup_free char *rootfs = NULL;
  cleanup_close int rootfd = -1;
  unsigned long root_prop = MS_SLAVE | MS_REC;
  size_t i;
  int ret;

  if (root_path[0] == '/')
    joined = strdup (root_path);
  else if (asprintf (&joined, "%s/%s", bundle, root_path) < 0)
    joined = NULL;
  if (joined == NULL)
    return make_error (err, ENOMEM, "rootfs");
  rootfs = realpath (joined, NULL);
  if (rootfs == NULL)
    return make_error (err, errno, "rootfs `%s`", joined);

  /* No mount event of ours may reach the host: everything starts as a slave (or as asked by
   * rootfsPropagation; shared is applied after pivot_root, which needs a non-shared root). */
  if (propagation)
    {
      root_prop = propagation_flags (propagation);
      if (root_prop == 0)
        return make_error (err, 0, "linux.rootfsPropagation: unknown value `%s`", propagation);
      if (root_prop & MS_SHARED)
        root_prop = MS_SLAVE | MS_REC;
      root_prop |= MS_REC;
    }
  if (mount (NULL, "/", NULL, root_prop, NULL) < 0)
    return make_error (err, errno, "set propagation of /");
  /* pivot_root needs the new root to be a mount point. */
  if (mount (rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return make_error (err, errno, "bind the rootfs `%s` on itself", rootfs);
  if (mount (NULL, rootfs, NULL, MS_PRIVATE, NULL) < 0)
    return make_error (err, errno, "make the rootfs private");

  rootfd = open (rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0)
    return make_error (err, errno, "open `%s`", rootfs);
  if (mounts != NULL && !json_is_array (mounts))
    return make_error (err, 0, "mounts must be an array");
  for (i = 0; mounts && i < json_array_size (mounts); i++)
    {
      ret = mount_one (rootfd, bundle, json_array_get (mounts, i), i, err);
      if (ret < 0)
        return ret;
    }
  ret = create_devices (rootfd, spec, new_user, err);
  if (ret < 0)
    return ret;
  ret = create_dev_links (rootfd, err);
  if (ret < 0)
    return ret;
  *rootfs_out = steal_pointer (&rootfs);
  return 0;
}

int
enter_rootfs (const char *rootfs, bool no_pivot, err_t *err)
{
  return no_pivot ? do_chroot (rootfs, err) : do_pivot (rootfs, err);
}

static int
mask_path (const char *path, err_t *err)
{
  struct stat st;

  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : make_error (err, errno, "maskedPaths: stat `%s`", path);
  /* Directories are covered by an empty read-only tmpfs, files by /dev/null (runc does the same). */
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
        return make_error (err, errno, "maskedPaths: mount tmpfs on `%s`", path);
      return 0;
    }
  if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return make_error (err, errno, "maskedPaths: bind /dev/null on `%s`", path);
  return 0;
}

static int
readonly_path (const char *path, err_t *err)
{
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : make_error (err, errno, "readonlyPaths: bind `%s`", path);
  if (mount (NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked_flags (path), NULL) < 0)
    return make_error (err, errno, "readonlyPaths: remount `%s` read-only", path);
  return 0;
}

int
finish_rootfs (json_t *spec, err_t *err)
{
  json_t *masked = spec_get (spec, "linux.maskedPaths");
  json_t *readonly = spec_get (spec, "linux.readonlyPaths");
  const char *propagation = spec_string (json_object_get (spec, "linux"), "rootfsPropagation");
  json_t *root_ro = spec_get (spec, "root.readonly");
  size_t i;
  int ret;

  /* Read-only paths first, then masks: the order runc uses, visible in the mount table. */
  for (i = 0; readonly && i < json_array_size (readonly); i++)
    {
      const char *p = json_string_value (json_array_get (readonly, i));
      if (p == NULL)
        return make_error (err, 0, "linux.readonlyPaths[%zu] must be a string", i);
      ret = readonly_path (p, err);
      if (ret < 0)
        return ret;
    }
  for (i = 0; masked && i < json_array_size (masked); i++)
    {
      const char *p = json_string_value (json_array_get (masked, i));
      if (p == NULL)
        return make_error (err, 0, "linux.maskedPaths[%zu] must be a string", i);
      ret = mask_path (p, err);
      if (ret < 0)
        return ret;
    }
  if (json_is_true (root_ro)
      && mount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags ("/"), NULL) < 0)
    return make_error (err, errno, "remount the root read-only");
  if (propagation && (propagation_flags (propagation) & MS_SHARED)
      && mount (NULL, "/", NULL, propagation_flags (propagation) | MS_REC, NULL) < 0)
    return make_error (err, errno, "set rootfsPropagation `%s`", propagation);
  return 0;
}
