/* berth-netns-connect: connects to a TCP port inside a network namespace and relays the
 * connection over stdin/stdout (the daemon's port forwarding: node cannot setns).
 *
 *   berth-netns-connect NETNS_PATH PORT
 *
 * Joins the network namespace NETNS_PATH (a pinned pod namespace), connects to 127.0.0.1:PORT
 * there (kubelet port forwarding reaches the pod's loopback too), then copies stdin to the
 * socket and the socket to stdout. The end of stdin becomes a half-close of the socket
 * (shutdown SHUT_WR), the end of the socket's input closes stdout; it exits 0 once both
 * directions ended. A failure is one line on stderr and exit status 1.
 *
 * Why a relay and not passing the connected socket back (SCM_RIGHTS): node's net module
 * cannot receive descriptors over a unix socket. The relay costs one copy per direction. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "error.h"
#include "utils.h"

#define PROG "berth-netns-connect"
#define BUF_SIZE (64 * 1024)

static int
join_netns (const char *path, err_t *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return make_error (err, errno, "open `%s`", path);
  if (setns (fd, CLONE_NEWNET) < 0)
    {
      int saved = errno;
      close (fd);
      return make_error (err, saved, "setns `%s`", path);
    }
  close (fd);
  return 0;
}

static int
connect_port (int port, err_t *err)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0)
    return make_error (err, errno, "socket");
  while (connect (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    {
      int saved = errno;
      if (saved == EINTR)
        continue;
      close (fd);
      return make_error (err, saved, "connect 127.0.0.1:%d", port);
    }
  return fd;
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* One direction: returns 1 while it goes on, 0 at its end, -1 on an error. */
static int
copy_once (int from, int to, char *buf)
{
  ssize_t n = read (from, buf, BUF_SIZE);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 1;
  if (n <= 0)
    return n == 0 ? 0 : -1;
  return write_all (to, buf, (size_t) n) < 0 ? -1 : 1;
}

static int
relay (int sock, err_t *err)
{
  static char buf[BUF_SIZE];
  bool in_open = true, out_open = true;

  while (in_open || out_open)
    {
      struct pollfd fds[2] = { { .fd = in_open ? 0 : -1, .events = POLLIN }, { .fd = out_open ? sock : -1, .events = POLLIN } };
      int ret;

      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return make_error (err, errno, "poll");
        }
      if (in_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ret = copy_once (0, sock, buf);
          if (ret < 0)
            return make_error (err, errno, "copy to the port");
          if (ret == 0)
            {
              in_open = false;
              shutdown (sock, SHUT_WR);
            }
        }
      if (out_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ret = copy_once (sock, 1, buf);
          if (ret < 0 && errno == EPIPE)
            ret = 0; /* nobody reads our output any more */
          if (ret < 0)
            return make_error (err, errno, "copy from the port");
          if (ret == 0)
            {
              out_open = false;
              close (1);
            }
        }
    }
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_err err_t err = NULL;
  char *end = NULL;
  long port;
  int sock;

  if (argc != 3)
    {
      fprintf (stderr, "usage: " PROG " NETNS_PATH PORT\n");
      return 2;
    }
  port = strtol (argv[2], &end, 10);
  if (end == argv[2] || *end != '\0' || port < 1 || port > 65535)
    {
      fprintf (stderr, PROG ": invalid port `%s`\n", argv[2]);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  if (join_netns (argv[1], &err) < 0 || (sock = connect_port ((int) port, &err)) < 0 || relay (sock, &err) < 0)
    {
      err_print (&err, PROG);
      return 1;
    }
  return 0;
}
