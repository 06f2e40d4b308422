/* berth-monitor: one process per container that keeps its stdio, CRI log and exit status
 * alive independently of the daemon (see README.md for the protocol). This header holds what
 * the per-concern files share: the options and the state of the event loop. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "exit.h"
#include "logging.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

#define MAX_RUNTIME_ARGS 32

/* The most container output one read takes (and so the largest output frame's payload). */
#define OUTPUT_CHUNK 8192

struct options
{
  const char *runtime;
  const char *runtime_args[MAX_RUNTIME_ARGS];
  int n_runtime_args;
  const char *id;
  const char *bundle;
  const char *runroot;
  const char *log_path;
  size_t log_max_line;
  const char *exit_dir;
  int sync_fd;
  bool stdin;
  bool stdin_once;
  bool tty;
  bool no_detach;
  /* An exec session instead of a container: `runtime exec --detach --process <file>` in the
   * running container --id; the exit record is named --exit-name (default: the id). */
  const char *exec_process;
  const char *exit_name;
  /* An inherited, connected stream socket that is an attach client from the start, before the
   * runtime runs: no output of a short exec session can pass before its client is there. */
  int attach_fd;
  /* exec-sync */
  double timeout;
  size_t max_output;
  const char *process;
  char **exec_args;
  int n_exec_args;
};

/* Every descriptor in the epoll set carries one of these, so one loop dispatches them all. */
enum watch_kind
{
  WATCH_SIGNAL,
  WATCH_STDOUT,
  WATCH_STDERR,
  WATCH_STDIN, /* writable again after EAGAIN */
  WATCH_ATTACH_LISTEN,
  WATCH_ATTACH_CLIENT,
  WATCH_CONTROL_LISTEN,
  WATCH_CONTROL_CLIENT,
};

struct watch
{
  enum watch_kind kind;
  int fd;
  void *owner;
};

struct attach_client;
struct control_client;

struct monitor
{
  const struct options *opt;
  int epfd;
  struct watch signal_watch;
  struct watch stdout_watch; /* a pipe, or the terminal master in tty mode */
  struct watch stderr_watch; /* fd -1 in tty mode */
  struct watch stdin_watch;  /* our end of stdin (pipe, or a dup of the master); fd -1 if none */
  struct log_writer log;
  pid_t container_pid;

  /* Attach (attach.c). stdin data a full pipe would not take waits here; while it waits, no
   * client is read, so a container that does not read its stdin holds back only its own input. */
  struct watch attach_listen;
  struct attach_client *clients;
  /* The --attach-fd client while its socket holds back the rest of a frame: the pipes are not
   * read until it took that rest (see attach_broadcast). NULL while output flows. */
  struct attach_client *output_blocker;
  char stdin_pending[8192];
  size_t stdin_pending_len;
  bool stdin_close_requested;

  /* Control (control.c). */
  struct watch control_listen;
  struct control_client *controls;
};

int epoll_watch (struct monitor *m, struct watch *w, uint32_t events);
void epoll_unwatch (struct monitor *m, struct watch *w);
/* Stops (or resumes) reading the container's stdout and stderr: the process then blocks on
 * its full pipe, as on a terminal that does not scroll. */
void output_set_paused (struct monitor *m, bool paused);

/* attach.c */
int attach_listen (struct monitor *m, const char *path, err_t *err);
void attach_accept (struct monitor *m);
int attach_add_client (struct monitor *m, int fd, err_t *err);
void attach_client_ready (struct monitor *m, struct attach_client *c, uint32_t events);
void attach_broadcast (struct monitor *m, enum log_stream stream, const char *buf, size_t len);
void attach_flush_blocking (struct monitor *m);
void attach_stdin_writable (struct monitor *m);
void attach_close_all (struct monitor *m);
void monitor_close_stdin (struct monitor *m);

/* control.c */
int control_listen (struct monitor *m, const char *path, err_t *err);
void control_accept (struct monitor *m);
void control_client_ready (struct monitor *m, struct control_client *c, uint32_t events);
void control_close_all (struct monitor *m);
int monitor_resize (struct monitor *m, unsigned rows, unsigned cols, err_t *err);

/* exec_sync.c */
int exec_sync_main (const struct options *opt);

#endif
