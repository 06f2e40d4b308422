/* exec: a new process in an existing container. Three processes, as in runc's nsexec:
 *
 *   the runtime (parent)   puts the joining child in the container's cgroup, sends GO, learns
 *                          the process's pid, waits for execve (EOF on the sync socket) or an
 *                          error, writes --pid-file, and without --detach waits for the exit;
 *   the joining child      joins the init's namespaces (/proc/<pid>/ns/<type>: user first, then the
 *                          others, mount last) and clones the process with CLONE_PARENT, since
 *                          joining a pid namespace only applies to children (setns(2));
 *   the process            sets up terminal, rlimits, LSM label, environment, credentials and
 *                          seccomp like the init does, then execs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "log.h"
#include "process.h"
#include "spec.h"
#include "state.h"
#include "terminal.h"

struct exec_plan
{
  int fd[NS_MAX]; /* joined in this order */
  int type[NS_MAX];
  const char *name[NS_MAX];
  int n;
  int pid_fd; /* joined last, for the clone */
};

static void
exec_plan_close (struct exec_plan *p)
{
  int i;

  for (i = 0; i < p->n; i++)
    close (p->fd[i]);
  p->n = 0;
  if (p->pid_fd >= 0)
    close (p->pid_fd);
  p->pid_fd = -1;
}

static bool
same_namespace (int fd, const char *proc)
{
  char self[64];
  struct stat a, b;

  snprintf (self, sizeof (self), "/proc/self/ns/%s", proc);
  return fstat (fd, &a) == 0 && stat (self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Every namespace config.json lists, taken from the init (it holds the new ones and the joined
 * ones alike). One we are already in is skipped: setns into one's own user namespace fails. */
static int
exec_plan_build (json_t *spec, pid_t init, struct exec_plan *p, err_t *err)
{
  json_t *list = spec_get (spec, "linux.namespaces");
  int order[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWNS };
  size_t k, i;

  memset (p, 0, sizeof (*p));
  p->pid_fd = -1;
  for (k = 0; k < sizeof (order) / sizeof (order[0]) + 1; k++)
    for (i = 0; i < json_array_size (list); i++)
      {
        const char *type = spec_string (json_array_get (list, i), "type");
        const struct ns_type *t = type ? ns_lookup (type) : NULL;
        char path[64];
        int fd;

        if (t == NULL)
          return make_error (err, 0, "linux.namespaces[%zu]: unknown type `%s`", i, type ? type : "");
        if (k < sizeof (order) / sizeof (order[0]) ? t->flag != order[k] : t->flag != CLONE_NEWPID)
          continue;
        snprintf (path, sizeof (path), "/proc/%d/ns/%s", (int) init, t->proc);
        fd = open (path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          return make_error (err, errno, "open `%s`", path);
        if (same_namespace (fd, t->proc))
          {
            close (fd);
            continue;
          }
        if (t->flag == CLONE_NEWPID)
          {
            p->pid_fd = fd;
            continue;
          }
        p->fd[p->n] = fd;
        p->type[p->n] = t->flag;
        p->name[p->n] = t->name;
        p->n++;
      }
  return 0;
}

static int
send_error (int fd, err_t *err)
{
  int msg = SYNC_ERROR;

  if (write_all_fd (fd, &msg, sizeof (msg)) < 0)
    return -1;
  return err_write_fd (fd, err);
}

/* The process: the last steps of the init, in the same order (init.c). */
static int
exec_process (json_t *process, json_t *spec, int console_fd, err_t *err)
{
  cleanup_exec_prep struct exec_prep prep = { 0 };
  int ret;

  if (setsid () < 0)
    return make_error (err, errno, "setsid");
  ret = process_prepare (process, spec, console_fd, false, &prep, err);
  if (ret < 0)
    return ret;
  return process_exec (process, &prep, err);
}

/* The joining child. Never returns. */
static void __attribute__ ((noreturn))
exec_join (struct exec_plan *plan, json_t *process, json_t *spec, int sync_fd, int console_fd)
{
  cleanup_err err_t err = NULL;
  int go[2] = { -1, -1 };
  int msg, i;
  pid_t pid;
  char byte;

  log_quiet_stderr ();
  if (read_all_fd (sync_fd, &msg, sizeof (msg)) < 0 || msg != SYNC_GO)
    _exit (1);
  for (i = 0; i < plan->n; i++)
    {
      if (setns (plan->fd[i], plan->type[i]) < 0)
        {
          make_error (&err, errno, "join the container's %s namespace", plan->name[i]);
          goto fail;
        }
      /* The credentials of a joined user namespace's root, as runc's nsexec takes them. */
      if (plan->type[i] == CLONE_NEWUSER && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
        {
          make_error (&err, errno, "become root in the container's user namespace");
          goto fail;
        }
    }
  if (plan->pid_fd >= 0 && setns (plan->pid_fd, CLONE_NEWPID) < 0)
    {
      make_error (&err, errno, "join the container's pid namespace");
      goto fail;
    }
  /* The process waits for a byte on go[0] so that our SYNC_PID reaches the parent before
   * anything it writes. */
  if (pipe2 (go, O_CLOEXEC) < 0)
    {
      make_error (&err, errno, "pipe");
      goto fail;
    }
  /* CLONE_PARENT: the process is the runtime's child, which waits for it. */
  pid = (pid_t) syscall (SYS_clone, (unsigned long) CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      make_error (&err, errno, "clone");
      goto fail;
    }
  if (pid == 0)
    {
      close (go[1]);
      if (read (go[0], &byte, 1) != 1)
        _exit (127);
      close (go[0]);
      exec_process (process, spec, console_fd, &err);
      send_error (sync_fd, &err);
      _exit (127);
    }
  msg = SYNC_PID;
  if (write_all_fd (sync_fd, &msg, sizeof (msg)) < 0 || write_all_fd (sync_fd, &pid, sizeof (pid)) < 0
      || write (go[1], "g", 1) != 1)
    {
      kill (pid, SIGKILL);
      _exit (1);
    }
  _exit (0);

fail:
  send_error (sync_fd, &err);
  _exit (1);
}

static pid_t forward_to = -1;

static void
forward_signal (int signo)
{
  if (forward_to > 0)
    kill (forward_to, signo);
}

/* Without --detach the runtime stands for the process: the signals a supervisor sends it go
 * on to the process (runc forwards them the same way). */
static void
forward_signals (pid_t pid)
{
  static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
  struct sigaction sa = { .sa_handler = forward_signal };
  size_t i;

  forward_to = pid;
  sigemptyset (&sa.sa_mask);
  for (i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
    sigaction (sigs[i], &sa, NULL);
}

static int
wait_status (pid_t pid, int *status, err_t *err)
{
  int ws;

  while (waitpid (pid, &ws, 0) < 0)
    if (errno != EINTR)
      return make_error (err, errno, "waitpid %d", (int) pid);
  *status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
  return 0;
}

static void
reap (pid_t *pid)
{
  if (*pid > 0)
    {
      kill (*pid, SIGKILL);
      while (waitpid (*pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  *pid = -1;
}

int
container_exec (const struct container *c, json_t *process, const struct exec_opts *o, int *status, err_t *err)
{
  __attribute__ ((cleanup (exec_plan_close))) struct exec_plan plan = { .pid_fd = -1 };
  __attribute__ ((cleanup (reap))) pid_t joiner = -1;
  __attribute__ ((cleanup (reap))) pid_t proc = -1;
  cleanup_close int console = -1;
  cleanup_close int sync_fd = -1;
  const char *cgpath = json_string_value (json_object_get (c->state, "cgroupPath"));
  const struct cgroup_ops *cg = cgroup_ops_by_name (json_string_value (json_object_get (c->state, "cgroupDriver")));
  int sv[2], msg, ret;

  if (strcmp (container_status (c), "stopped") == 0)
    return make_error (err, 0, "cannot exec in a stopped container `%s`", c->id);
  if (json_is_true (json_object_get (process, "terminal")) && o->console_socket == NULL)
    return make_error (err, 0, "exec --tty needs --console-socket");
  ret = exec_plan_build (c->spec, container_pid (c), &plan, err);
  if (ret < 0)
    return ret;
  if (o->console_socket)
    {
      console = console_socket_connect (o->console_socket, err);
      if (console < 0)
        return -1;
    }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return make_error (err, errno, "socketpair");
  sync_fd = sv[0];

  joiner = fork ();
  if (joiner < 0)
    {
      close (sv[1]);
      return make_error (err, errno, "fork");
    }
  if (joiner == 0)
    {
      close (sv[0]);
      exec_join (&plan, process, c->spec, sv[1], console);
    }
  close (sv[1]);

  /* The cgroup first: the process is cloned inside it and so are its children. */
  if (cgpath != NULL && cg->enter (cgpath, joiner, err) < 0)
    return err_prefix (err, "join cgroup `%s`", cgpath);
  msg = SYNC_GO;
  if (write_all_fd (sync_fd, &msg, sizeof (msg)) < 0)
    return make_error (err, errno, "write to the sync socket");
  if (read_all_fd (sync_fd, &msg, sizeof (msg)) < 0)
    return make_error (err, 0, "the exec child exited before it joined the container");
  if (msg == SYNC_ERROR)
    return err_read_fd (sync_fd, err);
  if (msg != SYNC_PID || read_all_fd (sync_fd, &proc, sizeof (proc)) < 0)
    return make_error (err, 0, "unexpected message %#x from the exec child", msg);
  waitpid (joiner, NULL, 0);
  joiner = -1;

  /* EOF: the socket was closed on execve. Anything else is the process's error report. */
  if (read_all_fd (sync_fd, &msg, sizeof (msg)) == 0)
    {
      if (msg == SYNC_ERROR)
        return err_read_fd (sync_fd, err);
      return make_error (err, 0, "unexpected message %#x from the exec'd process", msg);
    }

  if (o->pid_file)
    {
      char buf[32];
      int n = snprintf (buf, sizeof (buf), "%d", (int) proc);
      ret = write_file_atomic (o->pid_file, buf, (size_t) n, 0644, false, err);
      if (ret < 0)
        return ret;
    }
  if (o->detach)
    {
      proc = -1; /* it runs on */
      return 0;
    }
  forward_signals (proc);
  ret = wait_status (proc, status, err);
  proc = -1;
  return ret;
}
