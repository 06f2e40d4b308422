#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "utils.h"

int
console_socket_connect (const char *path, err_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (strlen (path) >= sizeof (addr.sun_path))
    return make_error (err, ENAMETOOLONG, "console socket `%s`", path);
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    return make_error (err, errno, "connect to the console socket `%s`", path);
  return steal_fd (&fd);
}

/* One message whose data is the master's name ("/dev/ptmx") and whose SCM_RIGHTS carries the
 * master, as runc's utils.SendFd does. */
static int
send_fd (int sock, int fd, err_t *err)
{
  static const char name[] = "/dev/ptmx";
  struct iovec iov = { .iov_base = (void *) name, .iov_len = strlen (name) };
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

int
terminal_setup (json_t *process, int console_fd, err_t *err)
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
