/* The attach socket: any number of clients receive the container's stdout and stderr and may
 * write its stdin and resize its terminal. Frames both ways are
 *
 *     u8 type | u32 big-endian length | length bytes
 *
 * client to monitor: 0 stdin data, 3 resize (u16 rows, u16 cols, big-endian), 4 close stdin;
 * monitor to client: 1 stdout, 2 stderr. A client that cannot take a frame at once (its socket
 * buffer is full) is disconnected rather than allowed to stall the container's output.
 *
 * The --attach-fd client is the exception: for an exec session it is the only reader of the
 * output (the log, if any, is no substitute), so dropping it would lose output whenever the
 * daemon reads slowly. It gets backpressure instead: the rest of a frame its socket did not
 * take waits here (one frame at most), the pipes are not read meanwhile, and the process blocks
 * on its full pipe until the socket is writable again (EPOLLOUT), as on a slow terminal. */
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"
#include "monitor.h"
#include "utils.h"

enum
{
  FRAME_STDIN = 0,
  FRAME_STDOUT = 1,
  FRAME_STDERR = 2,
  FRAME_RESIZE = 3,
  FRAME_CLOSE_STDIN = 4,
};

#define FRAME_HEADER 5

struct attach_client
{
  struct watch watch;
  struct attach_client *next;
  unsigned char header[FRAME_HEADER];
  size_t header_len;
  unsigned char type;
  uint32_t remaining;
  unsigned char resize[4];
  size_t resize_len;
  bool used_stdin;
  bool paused;
  /* The --attach-fd client: never dropped for being slow (see the top of this file). */
  bool holds_output;
  /* The rest of the one frame its socket did not take (holds_output only), allocated on the
   * first need: FRAME_HEADER + OUTPUT_CHUNK bytes. */
  unsigned char *unsent;
  size_t unsent_off, unsent_len;
};

static uint32_t
client_events (const struct attach_client *c)
{
  return (c->paused ? 0 : EPOLLIN) | (c->unsent_off < c->unsent_len ? EPOLLOUT : 0);
}

static int
client_rewatch (struct monitor *m, struct attach_client *c)
{
  struct epoll_event ev = { .events = client_events (c), .data.ptr = &c->watch };

  return epoll_ctl (m->epfd, EPOLL_CTL_MOD, c->watch.fd, &ev);
}

int
attach_listen (struct monitor *m, const char *path, err_t *err)
{
  int fd = mon_listen_unix (path, err);

  if (fd < 0)
    return fd;
  m->attach_listen.kind = WATCH_ATTACH_LISTEN;
  m->attach_listen.fd = fd;
  return epoll_watch (m, &m->attach_listen, EPOLLIN) < 0 ? make_error (err, errno, "epoll attach socket") : 0;
}

/* Takes ownership of fd, a connected non-blocking stream socket, as a new client; on failure
 * fd is closed. */
static int
client_add (struct monitor *m, int fd, bool holds_output, err_t *err)
{
  struct attach_client *c = calloc (1, sizeof (*c));

  if (c == NULL)
    {
      close (fd);
      return make_error (err, ENOMEM, "attach client");
    }
  c->watch.kind = WATCH_ATTACH_CLIENT;
  c->watch.fd = fd;
  c->watch.owner = c;
  c->holds_output = holds_output;
  /* While stdin data waits, new clients wait too (see struct monitor). */
  c->paused = m->stdin_pending_len > 0;
  if (epoll_watch (m, &c->watch, c->paused ? 0 : EPOLLIN) < 0)
    {
      int saved = errno;
      close (fd);
      free (c);
      return make_error (err, saved, "epoll attach client");
    }
  c->next = m->clients;
  m->clients = c;
  return 0;
}

void
attach_accept (struct monitor *m)
{
  for (;;)
    {
      int fd = accept4 (m->attach_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        return;
      /* A client that cannot be added is dropped; the others go on. */
      (void) client_add (m, fd, false, NULL);
    }
}

int
attach_add_client (struct monitor *m, int fd, err_t *err)
{
  int ret;

  if (fcntl (fd, F_SETFD, FD_CLOEXEC) < 0)
    return make_error (err, errno, "--attach-fd %d", fd);
  if ((ret = mon_set_nonblock (fd, true, err)) < 0)
    return ret;
  return client_add (m, fd, true, err);
}

static void
client_close (struct monitor *m, struct attach_client *c)
{
  struct attach_client **pp;

  for (pp = &m->clients; *pp; pp = &(*pp)->next)
    if (*pp == c)
      {
        *pp = c->next;
        break;
      }
  epoll_unwatch (m, &c->watch);
  close (c->watch.fd);
  /* Its peer is gone (the daemon with it): the output flows again, to the log and the others. */
  if (m->output_blocker == c)
    {
      m->output_blocker = NULL;
      output_set_paused (m, false);
    }
  free (c->unsent);
  /* CRI StdinOnce: stdin closes when the first attach session that used it ends. */
  if (c->used_stdin && m->opt->stdin_once)
    monitor_close_stdin (m);
  free (c);
}

void
attach_close_all (struct monitor *m)
{
  while (m->clients)
    {
      struct attach_client *c = m->clients;
      m->clients = c->next;
      epoll_unwatch (m, &c->watch);
      close (c->watch.fd);
      free (c->unsent);
      free (c);
    }
  m->output_blocker = NULL;
  if (m->attach_listen.fd >= 0)
    {
      epoll_unwatch (m, &m->attach_listen);
      close (m->attach_listen.fd);
      m->attach_listen.fd = -1;
    }
}

void
monitor_close_stdin (struct monitor *m)
{
  if (m->stdin_watch.fd < 0)
    return;
  if (m->stdin_pending_len > 0)
    {
      m->stdin_close_requested = true;
      return;
    }
  epoll_unwatch (m, &m->stdin_watch);
  if (m->opt->tty)
    {
      /* A terminal has no end of file; ^D at the start of a line is what the line discipline
       * turns into one for the reader. */
      (void) write_all_fd (m->stdin_watch.fd, "\x04", 1);
    }
  close (m->stdin_watch.fd);
  m->stdin_watch.fd = -1;
}

static void
set_clients_paused (struct monitor *m, bool paused)
{
  struct attach_client *c;

  for (c = m->clients; c; c = c->next)
    if (c->paused != paused)
      {
        c->paused = paused;
        if (client_rewatch (m, c) < 0)
          c->paused = !paused;
      }
}

/* Writes stdin data without blocking; what the pipe does not take waits in stdin_pending,
 * and clients pause until it has drained. Called only while nothing is pending. */
static void
stdin_feed (struct monitor *m, const char *buf, size_t len)
{
  if (m->stdin_watch.fd < 0 || len == 0)
    return;
  if (m->stdin_pending_len > 0)
    {
      size_t room = sizeof (m->stdin_pending) - m->stdin_pending_len;
      size_t take = len < room ? len : room;
      memcpy (m->stdin_pending + m->stdin_pending_len, buf, take);
      m->stdin_pending_len += take;
      return;
    }
  while (len > 0)
    {
      ssize_t n = write (m->stdin_watch.fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0)
        {
          /* The reader is gone (EPIPE): nobody will read stdin again. */
          epoll_unwatch (m, &m->stdin_watch);
          close (m->stdin_watch.fd);
          m->stdin_watch.fd = -1;
          return;
        }
      buf += n;
      len -= (size_t) n;
    }
  if (len > 0)
    {
      size_t take = len < sizeof (m->stdin_pending) ? len : sizeof (m->stdin_pending);
      memcpy (m->stdin_pending, buf, take);
      m->stdin_pending_len = take;
      m->stdin_watch.kind = WATCH_STDIN;
      (void) epoll_watch (m, &m->stdin_watch, EPOLLOUT);
      set_clients_paused (m, true);
    }
}

void
attach_stdin_writable (struct monitor *m)
{
  while (m->stdin_pending_len > 0)
    {
      ssize_t n = write (m->stdin_watch.fd, m->stdin_pending, m->stdin_pending_len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          m->stdin_pending_len = 0;
          break;
        }
      memmove (m->stdin_pending, m->stdin_pending + n, m->stdin_pending_len - (size_t) n);
      m->stdin_pending_len -= (size_t) n;
    }
  epoll_unwatch (m, &m->stdin_watch);
  set_clients_paused (m, false);
  if (m->stdin_close_requested)
    monitor_close_stdin (m);
}

static void
handle_frame_bytes (struct monitor *m, struct attach_client *c, const char *buf, size_t len)
{
  while (len > 0)
    {
      size_t take;

      if (c->header_len < FRAME_HEADER)
        {
          c->header[c->header_len++] = (unsigned char) *buf++;
          len--;
          if (c->header_len < FRAME_HEADER)
            continue;
          c->type = c->header[0];
          c->remaining = ((uint32_t) c->header[1] << 24) | ((uint32_t) c->header[2] << 16)
                         | ((uint32_t) c->header[3] << 8) | c->header[4];
          c->resize_len = 0;
          if (c->type == FRAME_STDIN || c->type == FRAME_CLOSE_STDIN)
            c->used_stdin = true;
          if (c->type == FRAME_CLOSE_STDIN)
            monitor_close_stdin (m);
          if (c->remaining == 0)
            c->header_len = 0;
          continue;
        }
      take = len < c->remaining ? len : c->remaining;
      if (c->type == FRAME_STDIN)
        stdin_feed (m, buf, take);
      else if (c->type == FRAME_RESIZE)
        {
          size_t i;
          for (i = 0; i < take && c->resize_len < sizeof (c->resize); i++)
            c->resize[c->resize_len++] = (unsigned char) buf[i];
        }
      buf += take;
      len -= take;
      c->remaining -= (uint32_t) take;
      if (c->remaining == 0)
        {
          if (c->type == FRAME_RESIZE && c->resize_len == sizeof (c->resize))
            (void) monitor_resize (m, ((unsigned) c->resize[0] << 8) | c->resize[1],
                                   ((unsigned) c->resize[2] << 8) | c->resize[3], NULL);
          c->header_len = 0;
        }
    }
}

/* Sends what waits in c->unsent. Returns 1 when all of it went (the output flows again), 0 when
 * the socket is still full, -1 when the client was closed (its peer is gone). */
static int
client_flush (struct monitor *m, struct attach_client *c)
{
  while (c->unsent_off < c->unsent_len)
    {
      ssize_t n = send (c->watch.fd, c->unsent + c->unsent_off, c->unsent_len - c->unsent_off,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n < 0)
        {
          client_close (m, c);
          return -1;
        }
      c->unsent_off += (size_t) n;
    }
  c->unsent_off = c->unsent_len = 0;
  (void) client_rewatch (m, c);
  if (m->output_blocker == c)
    {
      m->output_blocker = NULL;
      output_set_paused (m, false);
    }
  return 1;
}

/* After the process ended: waits until the client holding output back took its frame or went
 * away. Its peer closing (the daemon gone) ends the wait with POLLHUP or POLLERR, so this never
 * outlives the daemon; a daemon that lives on but never reads holds the exit record back, as it
 * would hold back a running process. */
void
attach_flush_blocking (struct monitor *m)
{
  while (m->output_blocker)
    {
      struct pollfd p = { .fd = m->output_blocker->watch.fd, .events = POLLOUT };

      if (poll (&p, 1, -1) < 0 && errno != EINTR)
        {
          /* Cannot wait (not expected): drop the client rather than spin or lose the record. */
          client_close (m, m->output_blocker);
          return;
        }
      (void) client_flush (m, m->output_blocker);
    }
}

void
attach_client_ready (struct monitor *m, struct attach_client *c, uint32_t events)
{
  char buf[sizeof (m->stdin_pending)];
  ssize_t n;

  if ((events & EPOLLOUT) && c->unsent_off < c->unsent_len && client_flush (m, c) < 0)
    return;
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    return;
  if (c->paused)
    {
      /* Paused clients are only woken by a hang-up, which would otherwise repeat. */
      if (events & (EPOLLHUP | EPOLLERR))
        client_close (m, c);
      return;
    }
  n = read (c->watch.fd, buf, sizeof (buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      client_close (m, c);
      return;
    }
  handle_frame_bytes (m, c, buf, (size_t) n);
}

/* Keeps the part of a frame (header, then buf) after the first sent bytes for c, and stops
 * reading the pipes until c took it. Without memory for it, c is dropped like any client. */
static void
hold_rest (struct monitor *m, struct attach_client *c, const unsigned char *header, const char *buf, size_t len,
           size_t sent)
{
  size_t total = FRAME_HEADER + len;

  if (len > OUTPUT_CHUNK)
    {
      client_close (m, c);
      return;
    }
  if (c->unsent == NULL && (c->unsent = malloc (FRAME_HEADER + OUTPUT_CHUNK)) == NULL)
    {
      client_close (m, c);
      return;
    }
  memcpy (c->unsent, header, FRAME_HEADER);
  memcpy (c->unsent + FRAME_HEADER, buf, len);
  c->unsent_off = sent;
  c->unsent_len = total;
  if (client_rewatch (m, c) < 0)
    {
      client_close (m, c);
      return;
    }
  m->output_blocker = c;
  output_set_paused (m, true);
}

void
attach_broadcast (struct monitor *m, enum log_stream stream, const char *buf, size_t len)
{
  struct attach_client *c = m->clients;
  unsigned char header[FRAME_HEADER];

  header[0] = stream == LOG_STDERR ? FRAME_STDERR : FRAME_STDOUT;
  header[1] = (unsigned char) (len >> 24);
  header[2] = (unsigned char) (len >> 16);
  header[3] = (unsigned char) (len >> 8);
  header[4] = (unsigned char) len;
  while (c)
    {
      struct attach_client *next = c->next;
      struct iovec iov[2] = { { header, sizeof (header) }, { (void *) buf, len } };
      struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
      ssize_t n = sendmsg (c->watch.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

      if (n < 0 && errno == EAGAIN)
        n = 0;
      if (n >= 0 && (size_t) n < sizeof (header) + len && c->holds_output)
        hold_rest (m, c, header, buf, len, (size_t) n);
      else if (n != (ssize_t) (sizeof (header) + len))
        client_close (m, c);
      c = next;
    }
}
