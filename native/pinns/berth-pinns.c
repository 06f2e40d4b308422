/* berth-pinns: creates a pod's namespaces and pins them to files, so they outlive any process.
 *
 *   berth-pinns pin -d DIR -i ID [-n] [-c] [-u] [-H HOSTNAME] [-s KEY=VALUE]...
 *       Creates new network (-n), IPC (-c) and UTS (-u) namespaces and bind-mounts each onto
 *       DIR/net/ID, DIR/ipc/ID, DIR/uts/ID. A new network namespace gets its loopback interface
 *       up (the kernel creates `lo` down), so that CNI only has to configure the pod's network:
 *       one ioctl instead of executing the CNI loopback plugin, as CRI-O does too; the interface
 *       goes away with the namespace, so nothing is undone at teardown. HOSTNAME is set in the new
 *       UTS namespace; each KEY=VALUE sysctl (dotted, e.g. net.ipv4.ip_forward=1) is written
 *       inside the new namespaces, which is the only place a namespaced sysctl can be set before
 *       any container runs. On failure nothing is left pinned.
 *   berth-pinns pin-pid -d DIR -i ID -p PID
 *       Bind-mounts the pid namespace of process PID onto DIR/pid/ID (a pod's pid namespace is
 *       made by its pause process, so it is pinned after the fact). On failure nothing is left.
 *   berth-pinns unpin FILE...
 *       Unmounts and removes pinned namespace files; a file that is already gone is fine.
 *
 * The work happens in a forked child that unshares the namespaces while staying in the host's
 * mount namespace, so its bind mounts are visible to everyone (the same approach as CRI-O's
 * pinns). The child reports an error to the parent over a pipe before it exits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "utils.h"

#define MAX_SYSCTLS 128

struct ns_kind
{
  const char *name; /* as in /proc/self/ns/ and the pin directory */
  int flag;
  char option;
};

static const struct ns_kind kinds[] = {
  { "net", CLONE_NEWNET, 'n' },
  { "ipc", CLONE_NEWIPC, 'c' },
  { "uts", CLONE_NEWUTS, 'u' },
};
#define N_KINDS (sizeof (kinds) / sizeof (kinds[0]))

struct pin_request
{
  const char *dir;
  const char *id;
  int flags;
  const char *hostname;
  const char *sysctls[MAX_SYSCTLS];
  size_t n_sysctls;
  char *files[N_KINDS];
};

static void
usage (void)
{
  fprintf (stderr, "usage: berth-pinns pin -d DIR -i ID [-n] [-c] [-u] [-H HOSTNAME] [-s KEY=VALUE]...\n"
                   "       berth-pinns pin-pid -d DIR -i ID -p PID\n"
                   "       berth-pinns unpin FILE...\n");
}

static int
unpin_file (const char *file, err_t *err)
{
  if (umount2 (file, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return make_error (err, errno, "umount `%s`", file);
  if (unlink (file) < 0 && errno != ENOENT)
    return make_error (err, errno, "unlink `%s`", file);
  return 0;
}

/* A sysctl key names a file under /proc/sys: letters, digits and `._-` only, so that it can
 * never climb out with `..` or a `/`. */
static int
sysctl_path (const char *assignment, char *path, size_t size, const char **value, err_t *err)
{
  const char *eq = strchr (assignment, '=');
  size_t key_len, i, off;

  if (eq == NULL || eq == assignment)
    return make_error (err, 0, "sysctl `%s` is not KEY=VALUE", assignment);
  key_len = (size_t) (eq - assignment);
  off = (size_t) snprintf (path, size, "/proc/sys/");
  if (off + key_len >= size)
    return make_error (err, 0, "sysctl `%s`: key too long", assignment);
  for (i = 0; i < key_len; i++)
    {
      char c = assignment[i];
      if (c == '.' || c == '/')
        {
          if (i == 0 || assignment[i - 1] == '.' || assignment[i - 1] == '/' || i + 1 == key_len)
            return make_error (err, 0, "sysctl `%s`: malformed key", assignment);
          path[off + i] = '/';
        }
      else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
        path[off + i] = c;
      else
        return make_error (err, 0, "sysctl `%s`: invalid character in key", assignment);
    }
  path[off + key_len] = '\0';
  *value = eq + 1;
  return 0;
}

/* Sets `lo` up in the current network namespace; the kernel assigns 127.0.0.1/8 and ::1 when it
 * comes up. An AF_INET datagram socket is the cheapest handle for the interface ioctls. */
static int
loopback_up (err_t *err)
{
  cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;

  if (fd < 0)
    return make_error (err, errno, "socket");
  memset (&ifr, 0, sizeof (ifr));
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return make_error (err, errno, "get the flags of `lo`");
  if (ifr.ifr_flags & IFF_UP)
    return 0;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return make_error (err, errno, "set `lo` up");
  return 0;
}

/* Runs in the child: enter new namespaces, configure them, pin them. */
static int
child_pin (struct pin_request *req, err_t *err)
{
  size_t i;
  char path[512];

  if (unshare (req->flags) < 0)
    return make_error (err, errno, "unshare");
  if (req->flags & CLONE_NEWNET)
    {
      int ret = loopback_up (err);
      if (ret < 0)
        return ret;
    }
  if (req->hostname != NULL && sethostname (req->hostname, strlen (req->hostname)) < 0)
    return make_error (err, errno, "sethostname `%s`", req->hostname);
  for (i = 0; i < req->n_sysctls; i++)
    {
      const char *value = NULL;
      int ret = sysctl_path (req->sysctls[i], path, sizeof (path), &value, err);
      if (ret < 0)
        return ret;
      ret = write_file (path, value, err);
      if (ret < 0)
        return err_prefix (err, "sysctl `%s`", req->sysctls[i]);
    }
  for (i = 0; i < N_KINDS; i++)
    {
      if (req->files[i] == NULL)
        continue;
      snprintf (path, sizeof (path), "/proc/self/ns/%s", kinds[i].name);
      if (mount (path, req->files[i], NULL, MS_BIND, NULL) < 0)
        return make_error (err, errno, "bind `%s` to `%s`", path, req->files[i]);
    }
  return 0;
}

/* Creates the empty file DIR/KIND/ID that a namespace is bind-mounted onto; *file is set only
 * when the file was created. */
static int
create_pin_file (const char *dir, const char *kind, const char *id, char **file, err_t *err)
{
  cleanup_free char *kind_dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  int ret;

  if (asprintf (&kind_dir, "%s/%s", dir, kind) < 0)
    return make_error (err, errno, "asprintf");
  ret = mkdir_p (kind_dir, 0711, err);
  if (ret < 0)
    return ret;
  if (asprintf (&path, "%s/%s", kind_dir, id) < 0)
    return make_error (err, errno, "asprintf");
  /* O_EXCL: a pod's namespaces are pinned once; an existing file means a clash of IDs. */
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return make_error (err, errno, "create `%s`", path);
  *file = steal_pointer (&path);
  return 0;
}

static int
create_pin_files (struct pin_request *req, err_t *err)
{
  size_t i;

  for (i = 0; i < N_KINDS; i++)
    {
      int ret;

      if (!(req->flags & kinds[i].flag))
        continue;
      ret = create_pin_file (req->dir, kinds[i].name, req->id, &req->files[i], err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static void
remove_pin_files (struct pin_request *req)
{
  size_t i;

  for (i = 0; i < N_KINDS; i++)
    if (req->files[i] != NULL)
      {
        cleanup_err err_t ignored = NULL;
        unpin_file (req->files[i], &ignored);
      }
}

static int
pin (struct pin_request *req, err_t *err)
{
  int fds[2];
  pid_t pid;
  int status, ret;

  ret = create_pin_files (req, err);
  if (ret < 0)
    {
      remove_pin_files (req);
      return ret;
    }
  if (pipe2 (fds, O_CLOEXEC) < 0)
    {
      remove_pin_files (req);
      return make_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      remove_pin_files (req);
      return make_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      cleanup_err err_t e = NULL;
      close (fds[0]);
      if (child_pin (req, &e) < 0)
        {
          err_write_fd (fds[1], &e);
          _exit (1);
        }
      _exit (0);
    }
  close (fds[1]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        close (fds[0]);
        remove_pin_files (req);
        return make_error (err, errno, "waitpid");
      }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      /* The child wrote its error before exiting; the pipe holds it. */
      ret = err_read_fd (fds[0], err);
      close (fds[0]);
      remove_pin_files (req);
      return ret < 0 ? ret : make_error (err, 0, "namespace setup failed (status %d)", status);
    }
  close (fds[0]);
  return 0;
}

/* A pod ID names one file in each kind's directory. */
static bool
valid_id (const char *id)
{
  return id != NULL && *id != '\0' && strchr (id, '/') == NULL && strcmp (id, ".") != 0 && strcmp (id, "..") != 0;
}

static int
cmd_pin (int argc, char **argv)
{
  cleanup_err err_t err = NULL;
  struct pin_request req;
  int opt;
  size_t i;

  memset (&req, 0, sizeof (req));
  optind = 1;
  while ((opt = getopt (argc, argv, "d:i:ncuH:s:")) != -1)
    {
      switch (opt)
        {
        case 'd':
          req.dir = optarg;
          break;
        case 'i':
          req.id = optarg;
          break;
        case 'H':
          req.hostname = optarg;
          break;
        case 's':
          if (req.n_sysctls == MAX_SYSCTLS)
            {
              fprintf (stderr, "berth-pinns: more than %d sysctls\n", MAX_SYSCTLS);
              return 2;
            }
          req.sysctls[req.n_sysctls++] = optarg;
          break;
        default:
          for (i = 0; i < N_KINDS; i++)
            if (opt == kinds[i].option)
              break;
          if (i == N_KINDS)
            {
              usage ();
              return 2;
            }
          req.flags |= kinds[i].flag;
        }
    }
  if (req.dir == NULL || !valid_id (req.id) || optind != argc || req.flags == 0)
    {
      usage ();
      return 2;
    }
  if (req.hostname != NULL && !(req.flags & CLONE_NEWUTS))
    {
      fprintf (stderr, "berth-pinns: -H needs a new UTS namespace (-u)\n");
      return 2;
    }
  if (pin (&req, &err) < 0)
    {
      err_print (&err, "berth-pinns");
      for (i = 0; i < N_KINDS; i++)
        free (req.files[i]);
      return 1;
    }
  for (i = 0; i < N_KINDS; i++)
    free (req.files[i]);
  return 0;
}

/* No fork: this process stays in the host's mount namespace, and /proc/PID/ns/pid is a handle on
 * the namespace that the bind mount keeps alive after PID exits. */
static int
pin_pid (const char *dir, const char *id, pid_t pid, err_t *err)
{
  cleanup_free char *file = NULL;
  char source[64];
  int ret;

  ret = create_pin_file (dir, "pid", id, &file, err);
  if (ret < 0)
    return ret;
  snprintf (source, sizeof (source), "/proc/%d/ns/pid", (int) pid);
  if (mount (source, file, NULL, MS_BIND, NULL) < 0)
    {
      int saved = errno;
      cleanup_err err_t ignored = NULL;
      unpin_file (file, &ignored);
      return make_error (err, saved, "bind `%s` to `%s`", source, file);
    }
  return 0;
}

static int
cmd_pin_pid (int argc, char **argv)
{
  cleanup_err err_t err = NULL;
  const char *dir = NULL, *id = NULL;
  long pid = 0;
  char *end;
  int opt;

  optind = 1;
  while ((opt = getopt (argc, argv, "d:i:p:")) != -1)
    {
      switch (opt)
        {
        case 'd':
          dir = optarg;
          break;
        case 'i':
          id = optarg;
          break;
        case 'p':
          errno = 0;
          pid = strtol (optarg, &end, 10);
          if (errno != 0 || end == optarg || *end != '\0' || pid <= 0 || pid > INT_MAX)
            pid = 0;
          break;
        default:
          usage ();
          return 2;
        }
    }
  if (dir == NULL || !valid_id (id) || pid == 0 || optind != argc)
    {
      usage ();
      return 2;
    }
  if (pin_pid (dir, id, (pid_t) pid, &err) < 0)
    {
      err_print (&err, "berth-pinns");
      return 1;
    }
  return 0;
}

static int
cmd_unpin (int argc, char **argv)
{
  int i, failed = 0;

  if (argc < 2)
    {
      usage ();
      return 2;
    }
  for (i = 1; i < argc; i++)
    {
      cleanup_err err_t err = NULL;
      if (unpin_file (argv[i], &err) < 0)
        {
          err_print (&err, "berth-pinns");
          failed = 1;
        }
    }
  return failed;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "pin") == 0)
    return cmd_pin (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "pin-pid") == 0)
    return cmd_pin_pid (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "unpin") == 0)
    return cmd_unpin (argc - 1, argv + 1);
  usage ();
  return 2;
}
