/* berth-pause: the infra process of a pod.
 *
 * It holds the pod's namespaces open and, as PID 1 of the pod's pid namespace, adopts and
 * reaps orphaned processes so that none stays a zombie. SIGINT and SIGTERM end it with status
 * 0 (PID 1 of a namespace only receives signals it has a handler for, so the handlers are what
 * makes it stoppable); otherwise it sleeps. Built static so that it runs in an empty rootfs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

static void
on_shutdown (int signo)
{
  (void) signo;
  _exit (0);
}

static void
on_child (int signo)
{
  int saved = errno;

  (void) signo;
  /* One SIGCHLD may stand for several exited children: reap until none is left. */
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

static int
install_handler (int signo, void (*handler) (int), int flags, err_t *err)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset (&sa.sa_mask);
  if (sigaction (signo, &sa, NULL) < 0)
    return make_error (err, errno, "sigaction %d", signo);
  return 0;
}

int
main (int argc, char **argv)
{
  cleanup_err err_t err = NULL;

  if (argc > 1 && (strcmp (argv[1], "-v") == 0 || strcmp (argv[1], "--version") == 0))
    {
      printf ("berth-pause %s\n", BERTH_VERSION);
      return 0;
    }
  if (argc > 1)
    {
      fprintf (stderr, "usage: berth-pause [-v]\n");
      return 2;
    }

  if (install_handler (SIGINT, on_shutdown, 0, &err) < 0 || install_handler (SIGTERM, on_shutdown, 0, &err) < 0
      || install_handler (SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART, &err) < 0)
    {
      err_print (&err, "berth-pause");
      return 1;
    }
  /* Children that exited before the handler was in place are reaped here. */
  on_child (SIGCHLD);

  for (;;)
    pause ();
}
