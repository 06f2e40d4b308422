/* exec-sync mode (CRI ExecSync): run a command in a running container with a deadline,
 * capture stdout and stderr up to a limit, and print one JSON result on stdout:
 *
 *     {"exit_code":N,"signal":N,"timed_out":bool,"stdout":"<base64>","stderr":"<base64>",
 *      "stdout_truncated":bool,"stderr_truncated":bool}
 *
 * or {"error":"..."} when the runtime could not start the command. The command runs through
 * `runtime exec --detach --pid-file`: the runtime exits once the process runs, the process is
 * re-parented to us (subreaper), and on timeout we SIGKILL the process itself. Killing a
 * foreground `runtime exec` would leave the process running in the container. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "monitor.h"
#include "utils.h"

struct capture
{
  int fd;
  char *data;
  size_t len, cap, limit;
  bool truncated;
};

static void
capture_read (struct capture *c)
{
  char buf[8192];
  ssize_t n = read (c->fd, buf, sizeof (buf));

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      close (c->fd);
      c->fd = -1;
      return;
    }
  if (c->len + (size_t) n > c->limit)
    {
      c->truncated = true;
      n = (ssize_t) (c->limit - c->len);
    }
  if (c->len + (size_t) n > c->cap)
    {
      size_t cap = c->cap ? c->cap : 8192;
      char *grown;
      while (cap < c->len + (size_t) n)
        cap *= 2;
      if (cap > c->limit)
        cap = c->limit;
      grown = realloc (c->data, cap);
      if (grown == NULL)
        {
          c->truncated = true;
          return;
        }
      c->data = grown;
      c->cap = cap;
    }
  memcpy (c->data + c->len, buf, (size_t) n);
  c->len += (size_t) n;
}

/* One non-blocking read; false once the pipe is empty or closed. */
static bool
drain_once (struct capture *c)
{
  errno = 0;
  capture_read (c);
  return c->fd >= 0 && errno != EAGAIN;
}

static void
print_base64_field (const char *name, const struct capture *c)
{
  char *enc = malloc (4 * ((c->len + 2) / 3) + 1);

  if (enc == NULL)
    {
      printf ("\"%s\":\"\",\"%s_truncated\":true", name, name);
      return;
    }
  mon_base64 ((const unsigned char *) c->data, c->len, enc);
  printf ("\"%s\":\"%s\",\"%s_truncated\":%s", name, enc, name, c->truncated ? "true" : "false");
  free (enc);
}

/* How long a process killed on timeout may take to be reaped before exec-sync reports anyway. */
#define KILL_GRACE_SECONDS 2.0

static void
arm_timer (int timerfd, double seconds)
{
  struct itimerspec its = { 0 };

  its.it_value.tv_sec = (time_t) seconds;
  its.it_value.tv_nsec = (long) ((seconds - (double) its.it_value.tv_sec) * 1e9);
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
    its.it_value.tv_nsec = 1;
  timerfd_settime (timerfd, 0, &its, NULL);
}

static pid_t
read_pid (const char *path)
{
  char buf[32] = { 0 };
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0 || read (fd, buf, sizeof (buf) - 1) <= 0)
    return 0;
  return (pid_t) strtol (buf, NULL, 10);
}

static int
print_error (const char *msg)
{
  char buf[8192];
  size_t used = mon_json_string (buf, 0, sizeof (buf), msg, strlen (msg));

  if (used >= sizeof (buf))
    snprintf (buf, sizeof (buf), "\"(message too long)\"");
  printf ("{\"error\":%s}\n", buf);
  fflush (stdout);
  return 1;
}

int
exec_sync_main (const struct options *o)
{
  cleanup_err err_t err = NULL;
  cleanup_close int epfd = -1, sigfd = -1, timerfd = -1;
  struct capture out = { .fd = -1, .limit = o->max_output }, err_cap = { .fd = -1, .limit = o->max_output };
  const char **argv;
  char pid_file[PATH_MAX];
  int out_pipe[2], err_pipe[2], null_fd, i, n = 0, status = 0, runtime_status = 0;
  pid_t runtime_pid, pid = 0;
  bool runtime_done = false, exited = false, timed_out = false;
  sigset_t mask;
  struct epoll_event ev;

  argv = calloc ((size_t) (o->n_runtime_args + o->n_exec_args + 12), sizeof (char *));
  if (argv == NULL)
    return print_error ("out of memory");
  if ((size_t) snprintf (pid_file, sizeof (pid_file), "%s/exec-%d.pid", o->runroot, (int) getpid ()) >= sizeof (pid_file))
    return print_error ("--runroot is too long");
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return print_error ("PR_SET_CHILD_SUBREAPER failed");
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sigfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  timerfd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (sigfd < 0 || epfd < 0 || timerfd < 0 || null_fd < 0 || pipe2 (out_pipe, O_CLOEXEC) < 0
      || pipe2 (err_pipe, O_CLOEXEC) < 0)
    return print_error (strerror (errno));

  argv[n++] = o->runtime;
  for (i = 0; i < o->n_runtime_args; i++)
    argv[n++] = o->runtime_args[i];
  argv[n++] = "exec";
  argv[n++] = "--detach";
  argv[n++] = "--pid-file";
  argv[n++] = pid_file;
  if (o->process)
    {
      argv[n++] = "--process";
      argv[n++] = o->process;
    }
  argv[n++] = o->id;
  for (i = 0; i < o->n_exec_args; i++)
    argv[n++] = o->exec_args[i];
  argv[n] = NULL;

  runtime_pid = fork ();
  if (runtime_pid < 0)
    return print_error (strerror (errno));
  if (runtime_pid == 0)
    {
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGPIPE, SIG_DFL);
      if (dup2 (null_fd, 0) < 0 || dup2 (out_pipe[1], 1) < 0 || dup2 (err_pipe[1], 2) < 0)
        _exit (127);
      close_range (3, ~0U, 0);
      execv (argv[0], (char *const *) argv);
      dprintf (2, "exec `%s`: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  close (null_fd);
  close (out_pipe[1]);
  close (err_pipe[1]);
  out.fd = out_pipe[0];
  err_cap.fd = err_pipe[0];
  mon_set_nonblock (out.fd, true, NULL);
  mon_set_nonblock (err_cap.fd, true, NULL);

  if (o->timeout > 0)
    arm_timer (timerfd, o->timeout);
  ev.events = EPOLLIN;
  ev.data.fd = sigfd;
  epoll_ctl (epfd, EPOLL_CTL_ADD, sigfd, &ev);
  ev.data.fd = timerfd;
  epoll_ctl (epfd, EPOLL_CTL_ADD, timerfd, &ev);
  ev.data.fd = out.fd;
  epoll_ctl (epfd, EPOLL_CTL_ADD, out.fd, &ev);
  ev.data.fd = err_cap.fd;
  epoll_ctl (epfd, EPOLL_CTL_ADD, err_cap.fd, &ev);

  /* Done when the process was reaped, or when the runtime failed to start it. */
  while (!exited && !(runtime_done && pid == 0))
    {
      int ready = epoll_wait (epfd, &ev, 1, -1);
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready < 0)
        return print_error (strerror (errno));
      if (ev.data.fd == sigfd)
        {
          struct signalfd_siginfo si;
          pid_t got;
          int st;
          while (read (sigfd, &si, sizeof (si)) == sizeof (si))
            ;
          /* The runtime first, by its pid: the process it started may already be a zombie
           * re-parented to us, and reaping that with waitpid(-1) before its pid is known
           * would lose its status. */
          if (!runtime_done && waitpid (runtime_pid, &st, WNOHANG) == runtime_pid)
            {
              runtime_done = true;
              runtime_status = st;
              if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
                {
                  pid = read_pid (pid_file);
                  unlink (pid_file);
                  if (pid > 0 && timed_out)
                    kill (pid, SIGKILL);
                }
            }
          if (pid > 0)
            while ((got = waitpid (-1, &st, WNOHANG)) > 0)
              if (got == pid)
                {
                  exited = true;
                  status = st;
                }
        }
      else if (ev.data.fd == timerfd)
        {
          uint64_t expirations;
          (void) read (timerfd, &expirations, sizeof (expirations));
          if (timed_out)
            {
              /* The killed process was not reaped within the grace period (a runtime left it
               * to another parent): give up waiting for its status. */
              status = SIGKILL;
              break;
            }
          timed_out = true;
          if (pid > 0)
            kill (pid, SIGKILL);
          else if (!runtime_done)
            kill (runtime_pid, SIGKILL);
          arm_timer (timerfd, KILL_GRACE_SECONDS);
        }
      else if (ev.data.fd == out.fd)
        capture_read (&out);
      else if (ev.data.fd == err_cap.fd)
        capture_read (&err_cap);
    }
  unlink (pid_file);
  /* What the process (or the failing runtime) wrote before it exited is in the pipes already;
   * a process it left behind may hold them open, so read what is there and stop. */
  while (out.fd >= 0 && drain_once (&out))
    ;
  while (err_cap.fd >= 0 && drain_once (&err_cap))
    ;
  if (pid == 0)
    {
      char msg[4096];
      snprintf (msg, sizeof (msg), "%s exec %s (status %d): %.*s", o->runtime, timed_out ? "timed out" : "failed",
                WIFEXITED (runtime_status) ? WEXITSTATUS (runtime_status) : -1, (int) err_cap.len,
                err_cap.data ? err_cap.data : "");
      return print_error (msg);
    }
  printf ("{\"exit_code\":%d,\"signal\":%d,\"timed_out\":%s,",
          WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status),
          WIFSIGNALED (status) ? WTERMSIG (status) : 0, timed_out ? "true" : "false");
  print_base64_field ("stdout", &out);
  printf (",");
  print_base64_field ("stderr", &err_cap);
  printf ("}\n");
  fflush (stdout);
  free (out.data);
  free (err_cap.data);
  free (argv);
  (void) err;
  return 0;
}
