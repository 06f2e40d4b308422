/* The control socket: one request line per connection, one reply line.
 *
 *     reopen\n               -> ok\n | error <text>\n     reopen the log file (after rotation)
 *     resize <rows> <cols>\n -> ok\n | error <text>\n     set the terminal size
 *
 * The reply is sent once the request took effect, so ReopenContainerLog can return knowing
 * every later byte goes to the new file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "io.h"
#include "monitor.h"
#include "utils.h"

#define CONTROL_LINE_MAX 256

struct control_client
{
  struct watch watch;
  struct control_client *next;
  char line[CONTROL_LINE_MAX];
  size_t len;
};

int
control_listen (struct monitor *m, const char *path, err_t *err)
{
  int fd = mon_listen_unix (path, err);

  if (fd < 0)
    return fd;
  m->control_listen.kind = WATCH_CONTROL_LISTEN;
  m->control_listen.fd = fd;
  return epoll_watch (m, &m->control_listen, EPOLLIN) < 0 ? make_error (err, errno, "epoll control socket") : 0;
}

void
control_accept (struct monitor *m)
{
  for (;;)
    {
      struct control_client *c;
      int fd = accept4 (m->control_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        return;
      c = calloc (1, sizeof (*c));
      if (c == NULL)
        {
          close (fd);
          return;
        }
      c->watch.kind = WATCH_CONTROL_CLIENT;
      c->watch.fd = fd;
      c->watch.owner = c;
      if (epoll_watch (m, &c->watch, EPOLLIN) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      c->next = m->controls;
      m->controls = c;
    }
}

static void
client_close (struct monitor *m, struct control_client *c)
{
  struct control_client **pp;

  for (pp = &m->controls; *pp; pp = &(*pp)->next)
    if (*pp == c)
      {
        *pp = c->next;
        break;
      }
  epoll_unwatch (m, &c->watch);
  close (c->watch.fd);
  free (c);
}

void
control_close_all (struct monitor *m)
{
  while (m->controls)
    client_close (m, m->controls);
  if (m->control_listen.fd >= 0)
    {
      epoll_unwatch (m, &m->control_listen);
      close (m->control_listen.fd);
      m->control_listen.fd = -1;
    }
}

int
monitor_resize (struct monitor *m, unsigned rows, unsigned cols, err_t *err)
{
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

  if (!m->opt->tty)
    return make_error (err, 0, "the container has no terminal");
  if (m->stdout_watch.fd < 0 || ioctl (m->stdout_watch.fd, TIOCSWINSZ, &ws) < 0)
    return make_error (err, errno, "resize terminal");
  return 0;
}

static int
run_request (struct monitor *m, char *line, err_t *err)
{
  unsigned rows, cols;
  char extra;

  if (strcmp (line, "reopen") == 0)
    return log_reopen (&m->log, err);
  if (sscanf (line, "resize %u %u%c", &rows, &cols, &extra) == 2)
    {
      if (rows > 65535 || cols > 65535)
        return make_error (err, 0, "terminal size out of range");
      return monitor_resize (m, rows, cols, err);
    }
  return make_error (err, 0, "unknown request `%s`", line);
}

void
control_client_ready (struct monitor *m, struct control_client *c, uint32_t events)
{
  char reply[CONTROL_LINE_MAX + 64];
  cleanup_err err_t err = NULL;
  cleanup_free char *msg = NULL;
  char *nl;
  ssize_t n;

  (void) events;
  n = read (c->watch.fd, c->line + c->len, sizeof (c->line) - 1 - c->len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      client_close (m, c);
      return;
    }
  c->len += (size_t) n;
  c->line[c->len] = '\0';
  nl = strchr (c->line, '\n');
  if (nl == NULL)
    {
      if (c->len == sizeof (c->line) - 1)
        client_close (m, c);
      return;
    }
  *nl = '\0';
  if (run_request (m, c->line, &err) < 0)
    {
      msg = err_message (&err);
      snprintf (reply, sizeof (reply), "error %s\n", msg ? msg : "unknown error");
    }
  else
    snprintf (reply, sizeof (reply), "ok\n");
  (void) send (c->watch.fd, reply, strlen (reply), MSG_NOSIGNAL | MSG_DONTWAIT);
  client_close (m, c);
}
