/* The container's init, from clone() to execve. Runs as the child of create. Each step is one
 * kernel operation with its check; a failure goes back to the parent over the sync socket. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "container.h"
#include "log.h"
#include "mounts.h"
#include "process.h"
#include "spec.h"

static int
sync_recv (int fd, int expected, err_t *err)
{
  int msg;

  if (read_all_fd (fd, &msg, sizeof (msg)) < 0)
    return make_error (err, errno, "read from the sync socket");
  if (msg != expected)
    return make_error (err, 0, "unexpected message %#x on the sync socket", msg);
  return 0;
}

static int
apply_sysctl (json_t *spec, err_t *err)
{
  json_t *sysctl = spec_get (spec, "linux.sysctl");
  const char *key;
  json_t *value;

  json_object_foreach (sysctl, key, value)
  {
    cleanup_free char *path = NULL;
    char *p;
    const char *v = json_string_value (value);

    if (v == NULL)
      return make_error (err, 0, "linux.sysctl.%s must be a string", key);
    if (*key == '\0' || *key == '.' || strstr (key, "..") != NULL || strchr (key, '/') != NULL)
      return make_error (err, 0, "linux.sysctl: invalid key `%s`", key);
    if (asprintf (&path, "/proc/sys/%s", key) < 0)
      return make_error (err, ENOMEM, "sysctl");
    for (p = path + strlen ("/proc/sys/"); *p; p++)
      if (*p == '.')
        *p = '/';
    if (write_file (path, v, err) < 0)
      return err_prefix (err, "linux.sysctl `%s`", key);
  }
  return 0;
}

static int
send_fd (int sock, int fd, err_t *err)
{
  char name[] = "/dev/ptmx";
  struct iovec iov = { .iov_base = name, .iov_len = sizeof (name) - 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof (u.buf) };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);

  memset (u.buf, 0, sizeof (u.buf));
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof (int));
  if (sendmsg (sock, &msg, 0) < 0)
    return make_error (err, errno, "send the terminal to the console socket");
  return 0;
}

/* process.terminal: a pty from the container's own devpts; the master goes to whoever listens
 * on --console-socket, the slave becomes the init's controlling terminal and stdio. */
static int
setup_terminal (json_t *process, int console_fd, err_t *err)
{
  cleanup_close int master = -1;
  cleanup_close int slave = -1;
  char name[128];
  json_t *size = json_object_get (process, "consoleSize");

  if (console_fd < 0)
    return make_error (err, 0, "process.terminal needs --console-socket");
  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return make_error (err, errno, "open /dev/ptmx");
  if (unlockpt (master) < 0)
    return make_error (err, errno, "unlockpt");
  if (ptsname_r (master, name, sizeof (name)) != 0)
    return make_error (err, errno, "ptsname");
  slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return make_error (err, errno, "open `%s`", name);
  if (size != NULL)
    {
      struct winsize ws = { .ws_row = (unsigned short) json_integer_value (json_object_get (size, "height")),
                            .ws_col = (unsigned short) json_integer_value (json_object_get (size, "width")) };
      if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        return make_error (err, errno, "set the console size");
    }
  if (send_fd (console_fd, master, err) < 0)
    return -1;
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return make_error (err, errno, "set the controlling terminal");
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
    return make_error (err, errno, "dup the terminal to stdio");
  return 0;
}

static int
set_hostname (json_t *spec, bool new_uts, err_t *err)
{
  const char *hostname = spec_string (spec, "hostname");
  const char *domainname = spec_string (spec, "domainname");

  if ((hostname && *hostname) || (domainname && *domainname))
    if (!new_uts)
      return make_error (err, 0, "hostname and domainname need a new uts namespace");
  if (hostname && *hostname && sethostname (hostname, strlen (hostname)) < 0)
    return make_error (err, errno, "sethostname `%s`", hostname);
  if (domainname && *domainname && setdomainname (domainname, strlen (domainname)) < 0)
    return make_error (err, errno, "setdomainname `%s`", domainname);
  return 0;
}

int
container_init (struct init_ctx *ctx, err_t *err)
{
  json_t *process = json_object_get (ctx->spec, "process");
  json_t *user = json_object_get (process, "user");
  json_t *umask_v = json_object_get (user, "umask");
  const char *cwd = spec_string (process, "cwd");
  cleanup_close int fifo = -1;
  cleanup_free char *exe = NULL;
  cleanup_free const char **args = NULL;
  char **env = NULL;
  char fifo_path[64];
  int wfd, ret;

  log_quiet_stderr ();
  ret = sync_recv (ctx->sync_fd, SYNC_GO, err);
  if (ret < 0)
    return ret;
  if (ctx->ns->new_user && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    return make_error (err, errno, "become root in the user namespace");
  ret = ns_join (ctx->ns, err);
  if (ret < 0)
    return ret;
  /* After the parent placed us in our cgroup, so that it becomes the namespace's root. */
  if (ctx->ns->new_cgroup && unshare (CLONE_NEWCGROUP) < 0)
    return make_error (err, errno, "unshare the cgroup namespace");
  if (setsid () < 0)
    return make_error (err, errno, "setsid");

  /* Opened now, while the host's path is still reachable; reopened for writing at the end. */
  fifo = open (ctx->fifo_path, O_PATH | O_CLOEXEC);
  if (fifo < 0)
    return make_error (err, errno, "open `%s`", ctx->fifo_path);

  ret = set_hostname (ctx->spec, ctx->ns->new_uts, err);
  if (ret < 0)
    return ret;
  ret = setup_rootfs (ctx->spec, ctx->bundle, ctx->ns->new_user, ctx->no_pivot, err);
  if (ret < 0)
    return ret;
  ret = apply_sysctl (ctx->spec, err);
  if (ret < 0)
    return ret;
  ret = finish_rootfs (ctx->spec, err);
  if (ret < 0)
    return ret;
  if (json_is_true (json_object_get (process, "terminal")))
    {
      ret = setup_terminal (process, ctx->console_fd, err);
      if (ret < 0)
        return ret;
    }
  if (ctx->console_fd >= 0)
    close (ctx->console_fd);

  ret = apply_rlimits (process, err);
  if (ret < 0)
    return ret;
  ret = apply_oom_score_adj (process, err);
  if (ret < 0)
    return ret;
  ret = check_lsm (process, err);
  if (ret < 0)
    return ret;
  ret = build_env (process, &env, err);
  if (ret < 0)
    return ret;
  ret = spec_string_array (json_object_get (process, "args"), "process.args", &args, NULL, err);
  if (ret < 0)
    return ret;
  ret = find_executable (args[0], env, &exe, err);
  if (ret < 0)
    return ret;
  ret = apply_no_new_privileges (process, err);
  if (ret < 0)
    return ret;
  ret = apply_user_and_capabilities (process, err);
  if (ret < 0)
    return ret;
  if (chdir (cwd) < 0)
    return make_error (err, errno, "chdir to process.cwd `%s`", cwd);
  umask (umask_v ? (mode_t) json_integer_value (umask_v) : 0022);

  {
    int msg = SYNC_READY;
    if (write_all_fd (ctx->sync_fd, &msg, sizeof (msg)) < 0)
      return make_error (err, errno, "write to the sync socket");
    close (ctx->sync_fd);
    ctx->sync_fd = -1;
  }

  /* Blocks until start opens the fifo for reading (runc's exec.fifo protocol). */
  snprintf (fifo_path, sizeof (fifo_path), "/proc/self/fd/%d", fifo);
  wfd = open (fifo_path, O_WRONLY | O_CLOEXEC);
  if (wfd < 0)
    return make_error (err, errno, "open exec.fifo");
  if (write (wfd, "0", 1) != 1)
    return make_error (err, errno, "write exec.fifo");
  close (wfd);

  execve (exe, (char *const *) args, env);
  return make_error (err, errno, "exec `%s`", exe);
}
