/* console-receiver SOCKET OUT: the listening end of an OCI runtime's --console-socket, for
 * tests. Listens on SOCKET, prints "ready", accepts one connection, takes the pty master sent
 * with SCM_RIGHTS (runc's docs/terminals.md protocol), prints the name that came with it, and
 * copies everything the container writes to the terminal into OUT until the last slave closes.
 * Gives up after 20 seconds. Node cannot receive descriptors, hence this helper. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
fail (const char *what)
{
  fprintf (stderr, "console-receiver: %s: %s\n", what, strerror (errno));
  return 1;
}

int
main (int argc, char **argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char name[256] = { 0 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = name, .iov_len = sizeof (name) - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof (u.buf) };
  struct cmsghdr *c;
  char buf[4096];
  int sock, conn, master, out;
  ssize_t n;

  if (argc != 3 || strlen (argv[1]) >= sizeof (addr.sun_path))
    {
      fprintf (stderr, "usage: console-receiver SOCKET OUT\n");
      return 2;
    }
  alarm (20);
  strcpy (addr.sun_path, argv[1]);
  sock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (sock < 0 || bind (sock, (struct sockaddr *) &addr, sizeof (addr)) < 0 || listen (sock, 1) < 0)
    return fail ("listen");
  printf ("ready\n");
  fflush (stdout);
  conn = accept (sock, NULL, NULL);
  if (conn < 0)
    return fail ("accept");
  if (recvmsg (conn, &msg, 0) < 0)
    return fail ("recvmsg");
  c = CMSG_FIRSTHDR (&msg);
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
    {
      fprintf (stderr, "console-receiver: no descriptor in the message\n");
      return 1;
    }
  memcpy (&master, CMSG_DATA (c), sizeof (int));
  printf ("%s\n", name);
  fflush (stdout);
  out = open (argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0)
    return fail ("open OUT");
  /* EIO once every slave is closed: the container's side is done. */
  while ((n = read (master, buf, sizeof (buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && write (out, buf, (size_t) n) != n)
      return fail ("write OUT");
  close (out);
  unlink (argv[1]);
  return 0;
}
