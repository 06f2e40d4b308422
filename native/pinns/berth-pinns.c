/* berth-pinns: creates a pod's namespaces and pins them to files, so they outlive any process.
 *
 *   berth-pinns pin -d DIR -i ID [-n] [-c] [-u] [-H HOSTNAME] [-s KEY=VALUE]...
 *       Creates new network (-n), IPC (-c) and UTS (-u) namespaces and bind-mounts each onto
 *       DIR/net/ID, DIR/ipc/ID, DIR/uts/ID. HOSTNAME is set in the new UTS namespace; each
 *       KEY=VALUE sysctl (dotted, e.g. net.ipv4.ip_forward=1) is written inside the new
 *       namespaces, which is the only place a namespaced sysctl can be set before any container
 *       runs. On failure nothing is left pinned.
 *   berth-pinns unpin FILE...
 *       Unmounts and removes pinned namespace files; a file that is already gone is fine.
 *
 * The work happens in a forked child that unshares the namespaces while staying in the host's
 * mount namespace, so its bind mounts are visible to everyone (the same approach as CRI-O's
 * pinns). The child reports an error to the parent over a pipe before it exits. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

/* Runs in the child: enter new namespaces, configure them, pin them. */
static int
child_pin (struct pin_request *req, err_t *err)
{
  size_t i;
  char path[512];

  if (unshare (req->flags) < 0)
    return make_error (err, errno, "unshare");
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

static int
create_pin_files (struct pin_request *req, err_t *err)
{
  size_t i;

  for (i = 0; i < N_KINDS; i++)
    {
      cleanup_free char *dir = NULL;
      cleanup_close int fd = -1;
      int ret;

      if (!(req->flags & kinds[i].flag))
        continue;
      if (asprintf (&dir, "%s/%s", req->dir, kinds[i].name) < 0)
        return make_error (err, errno, "asprintf");
      ret = mkdir_p (dir, 0711, err);
      if (ret < 0)
        return ret;
      if (asprintf (&req->files[i], "%s/%s", dir, req->id) < 0)
        return make_error (err, errno, "asprintf");
      /* O_EXCL: a pod's namespaces are pinned once; an existing file means a clash of IDs. */
      fd = open (req->files[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
      if (fd < 0)
        {
          int saved = errno;
          free (req->files[i]);
          req->files[i] = NULL;
          errno = saved;
          return make_error (err, errno, "create `%s/%s`", dir, req->id);
        }
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
  if (req.dir == NULL || req.id == NULL || optind != argc || req.flags == 0 || strchr (req.id, '/') != NULL
      || strcmp (req.id, ".") == 0 || strcmp (req.id, "..") == 0)
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
  if (argc >= 2 && strcmp (argv[1], "unpin") == 0)
    return cmd_unpin (argc - 1, argv + 1);
  usage ();
  return 2;
}
