/* berth-monitor: started by the daemon once per container (or exec session); detaches (own
 * session, its starter gone), runs `<runtime> create` (or `exec --detach`), reports the outcome
 * over the sync descriptor, and then stays as the process's parent and subreaper: it copies the
 * output into the CRI log and to attached clients, feeds stdin, serves control requests, and
 * writes the exit record when the process ends. The protocol is in README.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "monitor.h"
#include "utils.h"

#define PROG "berth-monitor"

static void
usage (FILE *out)
{
  fprintf (out, "usage: " PROG " --runtime PATH [--runtime-arg ARG]... --id ID --bundle DIR --runroot DIR\n"
                "         --log-path FILE [--log-max-line N] --exit-dir DIR [--sync-fd N]\n"
                "         [--stdin [--stdin-once]] [--tty] [--no-detach] [--exec-process FILE [--exit-name NAME]]\n"
                "         [--attach-fd N]\n"
                "       " PROG " exec-sync --runtime PATH [--runtime-arg ARG]... --id ID --runroot DIR\n"
                "         [--timeout SECONDS] [--max-output BYTES] (--process FILE | -- ARGS...)\n"
                "       " PROG " --version\n");
}

enum
{
  OPT_RUNTIME = 256,
  OPT_RUNTIME_ARG,
  OPT_ID,
  OPT_BUNDLE,
  OPT_RUNROOT,
  OPT_LOG_PATH,
  OPT_LOG_MAX_LINE,
  OPT_EXIT_DIR,
  OPT_SYNC_FD,
  OPT_STDIN,
  OPT_STDIN_ONCE,
  OPT_TTY,
  OPT_NO_DETACH,
  OPT_TIMEOUT,
  OPT_MAX_OUTPUT,
  OPT_PROCESS,
  OPT_VERSION,
  OPT_EXEC_PROCESS,
  OPT_EXIT_NAME,
  OPT_ATTACH_FD,
};

static const struct option long_options[] = {
  { "runtime", required_argument, NULL, OPT_RUNTIME },
  { "runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG },
  { "id", required_argument, NULL, OPT_ID },
  { "bundle", required_argument, NULL, OPT_BUNDLE },
  { "runroot", required_argument, NULL, OPT_RUNROOT },
  { "log-path", required_argument, NULL, OPT_LOG_PATH },
  { "log-max-line", required_argument, NULL, OPT_LOG_MAX_LINE },
  { "exit-dir", required_argument, NULL, OPT_EXIT_DIR },
  { "sync-fd", required_argument, NULL, OPT_SYNC_FD },
  { "stdin", no_argument, NULL, OPT_STDIN },
  { "stdin-once", no_argument, NULL, OPT_STDIN_ONCE },
  { "tty", no_argument, NULL, OPT_TTY },
  { "no-detach", no_argument, NULL, OPT_NO_DETACH },
  { "timeout", required_argument, NULL, OPT_TIMEOUT },
  { "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
  { "process", required_argument, NULL, OPT_PROCESS },
  { "version", no_argument, NULL, OPT_VERSION },
  { "exec-process", required_argument, NULL, OPT_EXEC_PROCESS },
  { "exit-name", required_argument, NULL, OPT_EXIT_NAME },
  { "attach-fd", required_argument, NULL, OPT_ATTACH_FD },
  { NULL, 0, NULL, 0 },
};

static int
parse_size (const char *name, const char *text, unsigned long long max, unsigned long long *out, err_t *err)
{
  char *end = NULL;
  unsigned long long v;

  errno = 0;
  v = strtoull (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max || text[0] == '-')
    return make_error (err, 0, "invalid --%s `%s`", name, text);
  *out = v;
  return 0;
}

static int
require_absolute (const char *name, const char *path, err_t *err)
{
  if (path == NULL)
    return make_error (err, 0, "--%s is required", name);
  /* The monitor moves to / once detached, so that it holds no directory busy. */
  if (path[0] != '/')
    return make_error (err, 0, "--%s must be an absolute path, not `%s`", name, path);
  return 0;
}

static int
parse_args (int argc, char **argv, bool exec_sync, struct options *o, err_t *err)
{
  unsigned long long v;
  int c, ret;

  memset (o, 0, sizeof (*o));
  o->sync_fd = -1;
  o->attach_fd = -1;
  o->log_max_line = LOG_MAX_LINE_LIMIT;
  o->max_output = 16 << 20;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "", long_options, NULL)) != -1)
    {
      switch (c)
        {
        case OPT_RUNTIME:
          o->runtime = optarg;
          break;
        case OPT_RUNTIME_ARG:
          if (o->n_runtime_args == MAX_RUNTIME_ARGS)
            return make_error (err, 0, "too many --runtime-arg");
          o->runtime_args[o->n_runtime_args++] = optarg;
          break;
        case OPT_ID:
          o->id = optarg;
          break;
        case OPT_BUNDLE:
          o->bundle = optarg;
          break;
        case OPT_RUNROOT:
          o->runroot = optarg;
          break;
        case OPT_LOG_PATH:
          o->log_path = optarg;
          break;
        case OPT_LOG_MAX_LINE:
          if ((ret = parse_size ("log-max-line", optarg, LOG_MAX_LINE_LIMIT, &v, err)) < 0)
            return ret;
          if (v == 0)
            return make_error (err, 0, "--log-max-line must be positive");
          o->log_max_line = v;
          break;
        case OPT_EXIT_DIR:
          o->exit_dir = optarg;
          break;
        case OPT_SYNC_FD:
          if ((ret = parse_size ("sync-fd", optarg, INT_MAX, &v, err)) < 0)
            return ret;
          o->sync_fd = (int) v;
          break;
        case OPT_STDIN:
          o->stdin = true;
          break;
        case OPT_STDIN_ONCE:
          o->stdin_once = true;
          break;
        case OPT_TTY:
          o->tty = true;
          break;
        case OPT_NO_DETACH:
          o->no_detach = true;
          break;
        case OPT_TIMEOUT:
          {
            char *end = NULL;
            o->timeout = strtod (optarg, &end);
            if (end == optarg || *end != '\0' || o->timeout < 0)
              return make_error (err, 0, "invalid --timeout `%s`", optarg);
            break;
          }
        case OPT_MAX_OUTPUT:
          if ((ret = parse_size ("max-output", optarg, 1ULL << 30, &v, err)) < 0)
            return ret;
          o->max_output = v;
          break;
        case OPT_PROCESS:
          o->process = optarg;
          break;
        case OPT_EXEC_PROCESS:
          o->exec_process = optarg;
          break;
        case OPT_EXIT_NAME:
          o->exit_name = optarg;
          break;
        case OPT_ATTACH_FD:
          if ((ret = parse_size ("attach-fd", optarg, INT_MAX, &v, err)) < 0)
            return ret;
          if (v < 3)
            return make_error (err, 0, "--attach-fd must be 3 or more");
          o->attach_fd = (int) v;
          break;
        default:
          return make_error (err, 0, "unknown or incomplete option `%s`", argv[optind - 1]);
        }
    }
  if (o->runtime == NULL || o->id == NULL || o->id[0] == '\0' || strchr (o->id, '/') || o->id[0] == '.')
    return make_error (err, 0, "--runtime and a valid --id are required");
  if ((ret = require_absolute ("runroot", o->runroot, err)) < 0)
    return ret;
  if (exec_sync)
    {
      o->exec_args = argv + optind;
      o->n_exec_args = argc - optind;
      if ((o->process == NULL) == (o->n_exec_args == 0))
        return make_error (err, 0, "exec-sync takes either --process or a command after --");
      return 0;
    }
  if (optind != argc)
    return make_error (err, 0, "unexpected argument `%s`", argv[optind]);
  if (o->stdin_once && !o->stdin)
    return make_error (err, 0, "--stdin-once needs --stdin");
  if (o->attach_fd >= 0 && o->attach_fd == o->sync_fd)
    return make_error (err, 0, "--attach-fd and --sync-fd must differ");
  if (o->exit_name == NULL)
    o->exit_name = o->id;
  if (o->exit_name[0] == '\0' || o->exit_name[0] == '.' || strchr (o->exit_name, '/'))
    return make_error (err, 0, "invalid --exit-name `%s`", o->exit_name);
  if (o->exec_process)
    {
      if (o->bundle)
        return make_error (err, 0, "--bundle and --exec-process exclude each other");
      if ((ret = require_absolute ("exec-process", o->exec_process, err)) < 0)
        return ret;
    }
  else if ((ret = require_absolute ("bundle", o->bundle, err)) < 0)
    return ret;
  if ((ret = require_absolute ("log-path", o->log_path, err)) < 0
      || (ret = require_absolute ("exit-dir", o->exit_dir, err)) < 0)
    return ret;
  return 0;
}

int
epoll_watch (struct monitor *m, struct watch *w, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = w };

  if (epoll_ctl (m->epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0)
    return 0;
  if (errno == EEXIST)
    return epoll_ctl (m->epfd, EPOLL_CTL_MOD, w->fd, &ev);
  return -1;
}

void
epoll_unwatch (struct monitor *m, struct watch *w)
{
  if (w->fd >= 0)
    (void) epoll_ctl (m->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void
output_set_paused (struct monitor *m, bool paused)
{
  struct watch *pipes[] = { &m->stdout_watch, &m->stderr_watch };
  size_t i;

  /* Out of the set rather than watched for no events: epoll reports EPOLLHUP regardless, and a
   * pipe whose writers are gone would wake the loop again and again. */
  for (i = 0; i < sizeof (pipes) / sizeof (pipes[0]); i++)
    if (pipes[i]->fd >= 0)
      {
        if (paused)
          epoll_unwatch (m, pipes[i]);
        else if (epoll_watch (m, pipes[i], EPOLLIN) < 0)
          fprintf (stderr, PROG ": epoll the output again: %s\n", strerror (errno));
      }
}

/* The sync message: one JSON line, then the descriptor is closed so the daemon sees EOF. */
static void
sync_send (int *sync_fd, const char *line)
{
  if (*sync_fd < 0)
    return;
  (void) write_all_fd (*sync_fd, line, strlen (line));
  close (*sync_fd);
  *sync_fd = -1;
}

static void
sync_send_error (int *sync_fd, const char *msg, int runtime_status)
{
  char buf[8192];
  size_t used;

  used = (size_t) snprintf (buf, sizeof (buf), "{\"error\":");
  used = mon_json_string (buf, used, sizeof (buf) - 64, msg, strlen (msg));
  if (used >= sizeof (buf) - 64)
    used = (size_t) snprintf (buf, sizeof (buf), "{\"error\":\"(message too long)\"");
  snprintf (buf + used, sizeof (buf) - used, ",\"runtime_status\":%d}\n", runtime_status);
  sync_send (sync_fd, buf);
}

static int
fail (int *sync_fd, err_t *err)
{
  cleanup_free char *msg = err_message (err);

  sync_send_error (sync_fd, msg ? msg : "unknown error", -1);
  err_print (err, PROG);
  return 1;
}

/* 0, 1 and 2 must be open before anything else is, or a pipe could land on them and be
 * dup2'ed over by the runtime's child. */
static void
ensure_std_fds (void)
{
  int fd;

  for (fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0)
      {
        int null = open ("/dev/null", O_RDWR);
        if (null >= 0 && null != fd)
          {
            dup2 (null, fd);
            close (null);
          }
      }
}

/* Closes every descriptor the starter left open but keep: the monitor lives as long as the
 * container, and must not hold the daemon's sockets or pipes open all that time. */
static void
close_inherited (int keep_a, int keep_b)
{
  int lo = keep_a < keep_b ? keep_a : keep_b, hi = keep_a < keep_b ? keep_b : keep_a;
  unsigned from = 3;

  /* Close every gap between the kept descriptors (those below 3 are stdio, always kept). */
  if (lo >= 3)
    {
      if ((unsigned) lo > from)
        close_range (from, (unsigned) lo - 1, 0);
      from = (unsigned) lo + 1;
    }
  if (hi >= 3 && hi != lo)
    {
      if ((unsigned) hi > from)
        close_range (from, (unsigned) hi - 1, 0);
      from = (unsigned) hi + 1;
    }
  close_range (from, ~0U, 0);
}

/* Own session, parent gone: a `kill -9` of the daemon, its process group or its terminal
 * session touches neither the monitor nor the container. */
static int
detach (err_t *err)
{
  pid_t pid = fork ();

  if (pid < 0)
    return make_error (err, errno, "fork");
  if (pid > 0)
    _exit (0);
  if (setsid () < 0)
    return make_error (err, errno, "setsid");
  return 0;
}

static int
path_in (char *out, size_t cap, const char *dir, const char *name, err_t *err)
{
  if ((size_t) snprintf (out, cap, "%s/%s", dir, name) >= cap)
    return make_error (err, ENAMETOOLONG, "path in `%s`", dir);
  return 0;
}

struct runtime_io
{
  int child_in, child_out, child_err; /* the runtime's stdio */
  int our_in, our_out, our_err;       /* our ends; our_err reads the runtime's error text */
};

static int
make_pipe (int *r, int *w, err_t *err)
{
  int fds[2];

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return make_error (err, errno, "pipe");
  *r = fds[0];
  *w = fds[1];
  return 0;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* The runtime's stdio is the container's: runc and crun hand their stdin, stdout and stderr
 * to the container process of a detached create without a terminal. With a terminal, stdio
 * comes from the console socket, and the runtime's own stderr is only its error text. */
static int
setup_runtime_io (const struct options *o, struct runtime_io *io, err_t *err)
{
  int ret;

  io->child_in = io->child_out = io->child_err = io->our_in = io->our_out = io->our_err = -1;
  if (o->tty)
    {
      io->child_in = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      io->child_out = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (io->child_in < 0 || io->child_out < 0)
        return make_error (err, errno, "open /dev/null");
      return make_pipe (&io->our_err, &io->child_err, err);
    }
  if (o->stdin)
    ret = make_pipe (&io->child_in, &io->our_in, err);
  else
    {
      io->child_in = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      ret = io->child_in < 0 ? make_error (err, errno, "open /dev/null") : 0;
    }
  if (ret < 0)
    return ret;
  if ((ret = make_pipe (&io->our_out, &io->child_out, err)) < 0)
    return ret;
  return make_pipe (&io->our_err, &io->child_err, err);
}

static void
exec_runtime_child (const char *const *argv, const struct runtime_io *io)
{
  sigset_t none;

  /* The blocked mask and ignored dispositions survive execve: hand the runtime (and so the
   * container) the defaults, not the monitor's signalfd setup. */
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  if (dup2 (io->child_in, 0) < 0 || dup2 (io->child_out, 1) < 0 || dup2 (io->child_err, 2) < 0)
    _exit (127);
  /* Nothing of ours leaks into the runtime or the container. */
  close_range (3, ~0U, 0);
  execv (argv[0], (char *const *) argv);
  dprintf (2, "exec `%s`: %s\n", argv[0], strerror (errno));
  _exit (127);
}

/* Reads what the failed runtime said on its stderr, trimmed; the pipe is non-blocking and
 * every writer but the runtime's (now exited) copy is closed. */
static void
read_runtime_error (int fd, char *out, size_t cap)
{
  size_t used = 0;
  ssize_t n;

  mon_set_nonblock (fd, true, NULL);
  while (used + 1 < cap && (n = read (fd, out + used, cap - 1 - used)) > 0)
    used += (size_t) n;
  while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
    used--;
  out[used] = '\0';
}

/* The terminal master the runtime sends over the console socket (runtime-spec, "Console"). */
static int
receive_console (int listen_fd, err_t *err)
{
  char data[256];
  char control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { data, sizeof (data) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof (control) };
  cleanup_close int conn = -1;
  struct cmsghdr *cmsg;
  int fd;

  /* The runtime connected and sent before it exited: the connection waits in the backlog. */
  conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return make_error (err, errno, "accept on the console socket (did the runtime honour --console-socket?)");
  if (recvmsg (conn, &msg, MSG_CMSG_CLOEXEC) < 0)
    return make_error (err, errno, "receive the terminal");
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS
      || cmsg->cmsg_len != CMSG_LEN (sizeof (int)))
    return make_error (err, 0, "the console socket carried no terminal");
  memcpy (&fd, CMSG_DATA (cmsg), sizeof (int));
  return fd;
}

static int
read_pid_file (const char *path, pid_t *pid, err_t *err)
{
  char buf[32];
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  long v;
  char *end;

  if (fd < 0)
    return make_error (err, errno, "open pid file `%s`", path);
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return make_error (err, n < 0 ? errno : 0, "read pid file `%s`", path);
  buf[n] = '\0';
  v = strtol (buf, &end, 10);
  if (v <= 0 || (*end != '\0' && *end != '\n'))
    return make_error (err, 0, "pid file `%s` holds `%s`", path, buf);
  *pid = (pid_t) v;
  return 0;
}

/* Copies one read of container output to the log and to attached clients. Returns 1 after
 * copying, 0 when nothing is there now, -1 at the end of the stream (EOF, or EIO from a
 * terminal master whose last slave closed). */
static int
pump (struct monitor *m, struct watch *w, enum log_stream stream)
{
  char buf[OUTPUT_CHUNK];
  ssize_t n;

  /* The --attach-fd client has not taken the last frame yet: this output waits in the pipe. */
  if (m->output_blocker)
    return 0;
  n = read (w->fd, buf, sizeof (buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (n <= 0)
    {
      epoll_unwatch (m, w);
      close_fd (&w->fd);
      return -1;
    }
  log_write (&m->log, stream, buf, (size_t) n);
  attach_broadcast (m, stream, buf, (size_t) n);
  return 1;
}

/* After the container's process ended, what it wrote is already in the pipe: read until
 * the pipe is empty, without waiting for processes that may still hold the write end. The
 * --attach-fd client still gets all of it: each frame its socket holds back is waited for
 * (or the client is gone), and the last one has gone before the caller closes the clients. */
static void
drain (struct monitor *m)
{
  for (;;)
    {
      attach_flush_blocking (m);
      if (m->stdout_watch.fd >= 0 && pump (m, &m->stdout_watch, LOG_STDOUT) > 0)
        continue;
      if (m->stderr_watch.fd >= 0 && pump (m, &m->stderr_watch, LOG_STDERR) > 0)
        continue;
      if (m->output_blocker == NULL)
        return;
    }
}

/* Reaps every child; returns true once the container's process is among them. */
static bool
reap (struct monitor *m, struct exit_info *info)
{
  struct signalfd_siginfo si;
  bool exited = false;
  pid_t pid;
  int status;

  while (read (m->signal_watch.fd, &si, sizeof (si)) == sizeof (si))
    ;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    if (pid == m->container_pid)
      {
        clock_gettime (CLOCK_REALTIME, &info->exited_at);
        info->pid = pid;
        info->wait_status = status;
        exited = true;
      }
  return exited;
}

static void
run_loop (struct monitor *m, struct exit_info *info)
{
  for (;;)
    {
      struct epoll_event ev;
      struct watch *w;
      /* One event per wait: a handler may free a client that a later event of the same batch
       * would name. */
      int n = epoll_wait (m->epfd, &ev, 1, -1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          fprintf (stderr, PROG ": epoll_wait: %s\n", strerror (errno));
          sleep (1);
          continue;
        }
      w = ev.data.ptr;
      errno = 0;
      switch (w->kind)
        {
        case WATCH_SIGNAL:
          if (reap (m, info))
            return;
          break;
        case WATCH_STDOUT:
          pump (m, w, LOG_STDOUT);
          break;
        case WATCH_STDERR:
          pump (m, w, LOG_STDERR);
          break;
        case WATCH_STDIN:
          attach_stdin_writable (m);
          break;
        case WATCH_ATTACH_LISTEN:
          attach_accept (m);
          break;
        case WATCH_ATTACH_CLIENT:
          attach_client_ready (m, w->owner, ev.events);
          break;
        case WATCH_CONTROL_LISTEN:
          control_accept (m);
          break;
        case WATCH_CONTROL_CLIENT:
          control_client_ready (m, w->owner, ev.events);
          break;
        }
    }
}

static int
make_runroot (const char *path, err_t *err)
{
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return make_error (err, errno, "mkdir `%s`", path);
  return 0;
}

static int
write_pid (const char *runroot, pid_t pid, err_t *err)
{
  char buf[32];
  int len = snprintf (buf, sizeof (buf), "%d\n", (int) pid);

  /* The runroot is volatile (under /run): the pid file need not survive a crash. */
  return mon_write_file_atomic (runroot, "monitor.pid", buf, (size_t) len, false, err);
}

int
main (int argc, char **argv)
{
  cleanup_err err_t err = NULL;
  struct options opt;
  struct monitor m;
  struct runtime_io io;
  struct exit_info info;
  struct oom_watch oom;
  char pid_file[PATH_MAX], console_path[PATH_MAX], attach_path[PATH_MAX], control_path[PATH_MAX];
  const char *argv_rt[MAX_RUNTIME_ARGS + 12];
  cleanup_close int console_listen = -1;
  sigset_t mask;
  pid_t runtime_pid;
  int status, i, n = 0, ret, sync_fd;
  char sync_line[128];

  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    {
      printf (PROG " %s\n", BERTH_VERSION);
      return 0;
    }
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      usage (stdout);
      return 0;
    }
  ensure_std_fds ();
  signal (SIGPIPE, SIG_IGN);
  if (argc > 1 && strcmp (argv[1], "exec-sync") == 0)
    {
      if (parse_args (argc - 1, argv + 1, true, &opt, &err) < 0)
        {
          err_print (&err, PROG);
          usage (stderr);
          return 2;
        }
      close_inherited (-1, -1);
      return exec_sync_main (&opt);
    }
  if (parse_args (argc, argv, false, &opt, &err) < 0)
    {
      sync_fd = -1;
      for (i = 1; i + 1 < argc; i++)
        if (strcmp (argv[i], "--sync-fd") == 0)
          sync_fd = atoi (argv[i + 1]);
      if (sync_fd < 3)
        sync_fd = -1;
      usage (stderr);
      fail (&sync_fd, &err);
      return 2;
    }
  sync_fd = opt.sync_fd;
  close_inherited (sync_fd, opt.attach_fd);
  if (sync_fd >= 0 && fcntl (sync_fd, F_SETFD, FD_CLOEXEC) < 0)
    {
      make_error (&err, errno, "sync descriptor %d", sync_fd);
      sync_fd = -1;
      return fail (&sync_fd, &err);
    }

  if (!opt.no_detach && detach (&err) < 0)
    return fail (&sync_fd, &err);
  if (chdir ("/") < 0)
    {
      make_error (&err, errno, "chdir /");
      return fail (&sync_fd, &err);
    }
  /* Orphans of the container (without a pid namespace of its own), and its first process
   * once `runtime create` exits, are re-parented to us rather than to init. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    {
      make_error (&err, errno, "PR_SET_CHILD_SUBREAPER");
      return fail (&sync_fd, &err);
    }

  memset (&m, 0, sizeof (m));
  m.opt = &opt;
  m.attach_listen.fd = m.control_listen.fd = m.stdin_watch.fd = -1;
  m.stdout_watch.fd = m.stderr_watch.fd = m.signal_watch.fd = -1;
  m.log.fd = -1;
  m.epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (m.epfd < 0)
    {
      make_error (&err, errno, "epoll_create1");
      return fail (&sync_fd, &err);
    }
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  if (sigprocmask (SIG_BLOCK, &mask, NULL) < 0
      || (m.signal_watch.fd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
    {
      make_error (&err, errno, "signalfd");
      return fail (&sync_fd, &err);
    }
  m.signal_watch.kind = WATCH_SIGNAL;

  if (make_runroot (opt.runroot, &err) < 0 || write_pid (opt.runroot, getpid (), &err) < 0
      || log_open (&m.log, opt.log_path, opt.log_max_line, &err) < 0
      || path_in (pid_file, sizeof (pid_file), opt.runroot, opt.exec_process ? "exec.pid" : "container.pid", &err) < 0
      || path_in (console_path, sizeof (console_path), opt.runroot, "console.sock", &err) < 0
      || path_in (attach_path, sizeof (attach_path), opt.runroot, "attach.sock", &err) < 0
      || path_in (control_path, sizeof (control_path), opt.runroot, "ctl.sock", &err) < 0
      || attach_listen (&m, attach_path, &err) < 0 || control_listen (&m, control_path, &err) < 0
      || (opt.attach_fd >= 0 && attach_add_client (&m, opt.attach_fd, &err) < 0)
      || setup_runtime_io (&opt, &io, &err) < 0)
    return fail (&sync_fd, &err);
  if (opt.tty && (console_listen = mon_listen_unix (console_path, &err)) < 0)
    return fail (&sync_fd, &err);
  unlink (pid_file);

  argv_rt[n++] = opt.runtime;
  for (i = 0; i < opt.n_runtime_args; i++)
    argv_rt[n++] = opt.runtime_args[i];
  if (opt.exec_process)
    {
      argv_rt[n++] = "exec";
      argv_rt[n++] = "--detach";
      argv_rt[n++] = "--process";
      argv_rt[n++] = opt.exec_process;
    }
  else
    {
      argv_rt[n++] = "create";
      argv_rt[n++] = "--bundle";
      argv_rt[n++] = opt.bundle;
    }
  argv_rt[n++] = "--pid-file";
  argv_rt[n++] = pid_file;
  if (opt.tty)
    {
      argv_rt[n++] = "--console-socket";
      argv_rt[n++] = console_path;
    }
  argv_rt[n++] = opt.id;
  argv_rt[n] = NULL;

  runtime_pid = fork ();
  if (runtime_pid < 0)
    {
      make_error (&err, errno, "fork");
      return fail (&sync_fd, &err);
    }
  if (runtime_pid == 0)
    exec_runtime_child (argv_rt, &io);
  close_fd (&io.child_in);
  close_fd (&io.child_out);
  close_fd (&io.child_err);
  while ((ret = waitpid (runtime_pid, &status, 0)) < 0 && errno == EINTR)
    ;
  if (ret < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      char text[4096];
      char msg[4200];
      read_runtime_error (io.our_err, text, sizeof (text));
      if (WIFSIGNALED (status))
        snprintf (msg, sizeof (msg), "%s %s killed by signal %d: %s", opt.runtime, argv_rt[opt.n_runtime_args + 1],
                  WTERMSIG (status), text);
      else
        snprintf (msg, sizeof (msg), "%s %s failed (exit status %d): %s", opt.runtime, argv_rt[opt.n_runtime_args + 1],
                  WIFEXITED (status) ? WEXITSTATUS (status) : -1, text);
      sync_send_error (&sync_fd, msg, WIFEXITED (status) ? WEXITSTATUS (status) : -1);
      fprintf (stderr, PROG ": %s\n", msg);
      unlink (attach_path);
      unlink (control_path);
      unlink (console_path);
      return 1;
    }
  if (read_pid_file (pid_file, &m.container_pid, &err) < 0)
    return fail (&sync_fd, &err);

  if (opt.tty)
    {
      int master = receive_console (console_listen, &err);
      unlink (console_path);
      close_fd (&io.our_err);
      if (master < 0)
        return fail (&sync_fd, &err);
      if (mon_set_nonblock (master, true, &err) < 0)
        return fail (&sync_fd, &err);
      m.stdout_watch.fd = master;
      if (opt.stdin && (m.stdin_watch.fd = fcntl (master, F_DUPFD_CLOEXEC, 3)) < 0)
        {
          make_error (&err, errno, "dup terminal");
          return fail (&sync_fd, &err);
        }
    }
  else
    {
      m.stdout_watch.fd = steal_fd (&io.our_out);
      m.stderr_watch.fd = steal_fd (&io.our_err);
      m.stdin_watch.fd = steal_fd (&io.our_in);
      if (mon_set_nonblock (m.stdout_watch.fd, true, &err) < 0 || mon_set_nonblock (m.stderr_watch.fd, true, &err) < 0
          || (m.stdin_watch.fd >= 0 && mon_set_nonblock (m.stdin_watch.fd, true, &err) < 0))
        return fail (&sync_fd, &err);
    }
  m.stdout_watch.kind = WATCH_STDOUT;
  m.stderr_watch.kind = WATCH_STDERR;
  m.stdin_watch.kind = WATCH_STDIN;
  if (epoll_watch (&m, &m.signal_watch, EPOLLIN) < 0 || epoll_watch (&m, &m.stdout_watch, EPOLLIN) < 0
      || (m.stderr_watch.fd >= 0 && epoll_watch (&m, &m.stderr_watch, EPOLLIN) < 0))
    {
      make_error (&err, errno, "epoll_ctl");
      return fail (&sync_fd, &err);
    }
  /* The baseline is taken before the report: once the daemon knows, it may start the container,
   * and an OOM kill right after start must count. */
  oom_watch_init (&oom, m.container_pid);
  snprintf (sync_line, sizeof (sync_line), "{\"pid\":%d,\"monitor_pid\":%d}\n", (int) m.container_pid, (int) getpid ());
  sync_send (&sync_fd, sync_line);

  memset (&info, 0, sizeof (info));
  run_loop (&m, &info);
  drain (&m);
  info.oom_killed = oom_watch_fired (&oom);
  info.log_bytes_dropped = m.log.dropped;
  oom_watch_close (&oom);
  attach_close_all (&m);
  control_close_all (&m);
  unlink (attach_path);
  unlink (control_path);
  log_close (&m.log);
  if (exit_write_file (opt.exit_dir, opt.exit_name, &info, &err) < 0)
    {
      err_print (&err, PROG);
      return 1;
    }
  return 0;
}
