#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "process.h"
#include "runtime.h"
#include "spec.h"

extern char **environ;

/* What a failing hook printed goes into the error, like runc; the rest is dropped. */
#define OUTPUT_MAX 4096

json_t *
hook_state (const char *id, const char *status, pid_t pid, const char *bundle, json_t *annotations)
{
  json_t *s = json_pack ("{s:s, s:s, s:s, s:s}", "ociVersion", OCI_VERSION, "id", id, "status", status, "bundle",
                         bundle ? bundle : "");

  /* runtime-spec "State": pid is required while the container is created or running; a
   * stopped one has none (runc omits it). */
  if (s != NULL && pid > 0)
    json_object_set_new (s, "pid", json_integer (pid));
  if (s != NULL && json_is_object (annotations))
    json_object_set (s, "annotations", annotations);
  return s;
}

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the hook's child: stdin from the state pipe, stdout and stderr into the output pipe. */
static void __attribute__ ((noreturn))
exec_hook (const char *path, char **argv, char **envp, int in, int out)
{
  if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (out, 2) < 0)
    _exit (127);
  close_fds_on_exec (NULL);
  execve (path, argv, envp);
  dprintf (2, "exec `%s`: %s", path, strerror (errno));
  _exit (127);
}

static int
run_one (json_t *hook, const char *where, const char *state, err_t *err)
{
  const char *path = spec_string (hook, "path");
  json_t *timeout_v = json_object_get (hook, "timeout");
  cleanup_free const char **argv = NULL;
  cleanup_free const char **envp = NULL;
  const char *default_argv[2] = { path, NULL };
  char output[OUTPUT_MAX + 1];
  size_t used = 0;
  long long deadline = -1;
  int in[2] = { -1, -1 }, out[2] = { -1, -1 };
  int status = 0, ret;
  pid_t pid, done = 0;

  if (path == NULL || path[0] != '/')
    return make_error (err, 0, "%s: path must be an absolute path", where);
  if (timeout_v != NULL && (!json_is_integer (timeout_v) || json_integer_value (timeout_v) <= 0))
    return make_error (err, 0, "%s: timeout must be a positive integer", where);
  ret = spec_string_array (json_object_get (hook, "args"), where, &argv, NULL, err);
  if (ret < 0)
    return ret;
  /* Without env the hook gets the runtime's environment, as with runc. */
  if (json_object_get (hook, "env") != NULL)
    {
      ret = spec_string_array (json_object_get (hook, "env"), where, &envp, NULL, err);
      if (ret < 0)
        return ret;
    }
  if (pipe2 (in, O_CLOEXEC) < 0)
    return make_error (err, errno, "pipe");
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return make_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    ret = make_error (err, errno, "fork");
  if (pid == 0)
    exec_hook (path, (char **) (argv[0] ? argv : default_argv), envp ? (char **) envp : environ, in[0], out[1]);
  close (in[0]);
  close (out[1]);
  if (pid < 0)
    {
      close (in[1]);
      close (out[0]);
      return ret;
    }

  /* The state is small (well under a pipe's buffer); a hook that exits without reading it
   * must not kill us with SIGPIPE. */
  {
    struct sigaction ignore = { .sa_handler = SIG_IGN }, saved;
    sigaction (SIGPIPE, &ignore, &saved);
    write_all_fd (in[1], state, strlen (state));
    close (in[1]);
    sigaction (SIGPIPE, &saved, NULL);
  }

  if (timeout_v != NULL)
    deadline = now_ms () + json_integer_value (timeout_v) * 1000;
  /* Read until EOF (the hook and whatever it left running closed the pipe) or the deadline,
   * then reap. */
  for (;;)
    {
      struct pollfd p = { .fd = out[0], .events = POLLIN };
      int wait_ms = deadline < 0 ? 100 : (int) (deadline - now_ms ());
      char buf[512];
      ssize_t n;

      if (deadline >= 0 && wait_ms <= 0)
        break;
      if (poll (&p, 1, wait_ms > 100 ? 100 : wait_ms) < 0 && errno != EINTR)
        break;
      if (p.revents == 0)
        {
          /* A hook that exits but leaves a child holding the pipe is done all the same. */
          done = waitpid (pid, &status, WNOHANG);
          if (done == pid)
            break;
          continue;
        }
      n = read (out[0], buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (used < OUTPUT_MAX)
        {
          size_t take = (size_t) n < OUTPUT_MAX - used ? (size_t) n : OUTPUT_MAX - used;
          memcpy (output + used, buf, take);
          used += take;
        }
    }
  close (out[0]);
  output[used] = '\0';
  while (done != pid)
    {
      if (deadline >= 0 && now_ms () >= deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          return make_error (err, ETIMEDOUT, "%s `%s` timed out after %llds", where, path,
                             (long long) json_integer_value (timeout_v));
        }
      done = waitpid (pid, &status, deadline < 0 ? 0 : WNOHANG);
      if (done < 0 && errno != EINTR)
        return make_error (err, errno, "wait for %s", where);
      if (done == 0)
        usleep (10000);
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  while (used > 0 && output[used - 1] == '\n')
    output[--used] = '\0';
  if (WIFSIGNALED (status))
    return make_error (err, 0, "%s `%s` killed by signal %d%s%s", where, path, WTERMSIG (status), used ? ": " : "",
                       output);
  return make_error (err, 0, "%s `%s` exited with status %d%s%s", where, path, WEXITSTATUS (status), used ? ": " : "",
                     output);
}

static int
run_kind (json_t *spec, const char *kind, json_t *state, bool warn_only, err_t *err)
{
  json_t *list = spec_get (spec, "hooks");
  cleanup_free char *text = NULL;
  size_t i;

  list = json_is_object (list) ? json_object_get (list, kind) : NULL;
  if (json_array_size (list) == 0)
    return 0;
  text = json_dumps (state, JSON_COMPACT);
  if (text == NULL)
    return make_error (err, ENOMEM, "hook state");
  for (i = 0; i < json_array_size (list); i++)
    {
      char where[64];
      int ret;

      snprintf (where, sizeof (where), "hooks.%s[%zu]", kind, i);
      ret = run_one (json_array_get (list, i), where, text, err);
      if (ret < 0 && !warn_only)
        return ret;
      if (ret < 0)
        {
          cleanup_free char *msg = err_message (err);
          log_warning ("%s", msg ? msg : where);
          err_release (err);
        }
    }
  return 0;
}

int
hooks_run (json_t *spec, const char *kind, json_t *state, err_t *err)
{
  return run_kind (spec, kind, state, false, err);
}

void
hooks_run_warn (json_t *spec, const char *kind, json_t *state)
{
  cleanup_err err_t err = NULL;

  run_kind (spec, kind, state, true, &err);
}
