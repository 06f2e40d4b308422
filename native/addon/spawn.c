/* How the daemon starts processes (part of berth-addon.node).
 *
 * Node's child_process forks the daemon, copying the page tables of a process of some 90 MiB,
 * and waits for the exec: about 3 ms per process on a 2-core host, where posix_spawn (glibc
 * runs it with CLONE_VM|CLONE_VFORK: nothing is copied) takes 0.5 ms. The daemon starts a
 * process for every runtime call and CNI plugin, several per RPC, so that difference was most of
 * its own time per pod.
 *
 *   spawn(file, argv, env, stdio, cwd, setsid) -> [pid, parentFd0, parentFd1, ...]
 *     file without a '/' is searched in PATH. stdio[i] says what the child's descriptor i is:
 *     -1 /dev/null, -2 one end of a new socket pair whose other end is returned at [1 + i]
 *     (the daemon wraps it in a net.Socket), n >= 0 the daemon's descriptor n. Every other
 *     descriptor of the daemon is close-on-exec. The child starts with every signal at its
 *     default disposition and none blocked (Node ignores SIGPIPE; a child must not inherit that).
 *     cwd may be null; setsid makes the child a session leader (detached from the daemon).
 *   setExitHandler(fn)
 *     fn(pid, code, signal) is called on the main thread when a child spawned here ends. One
 *     waiter thread per child blocks in waitid() on that pid alone, so processes started by
 *     libuv are never reaped here, and a pid stays valid (a zombie) until its exit is delivered.
 *     While children live, the event loop stays alive, as with child_process.
 */
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STDIO 16
#define STDIO_IGNORE (-1)
#define STDIO_PIPE (-2)
#define WAITER_STACK (64 * 1024)

extern char **environ;

struct exit_event
{
  pid_t pid;
  int code;   /* exit status, or -1 when killed */
  int signal; /* the signal that killed it, or 0 */
};

/* Shared by the main thread and the waiter threads. A second load of the addon in the same
 * process (test runners load modules once per test file) replaces the handler. */
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static napi_threadsafe_function exit_handler;
static size_t live_children; /* main thread only */

/* A JavaScript string as a malloc'd C string, or NULL with an exception pending. */
char *
string_of (napi_env env, napi_value value)
{
  size_t len;
  char *s;

  if (napi_get_value_string_utf8 (env, value, NULL, 0, &len) != napi_ok)
    {
      napi_throw_type_error (env, NULL, "expected a string");
      return NULL;
    }
  s = malloc (len + 1);
  if (s == NULL)
    {
      napi_throw_error (env, NULL, "out of memory");
      return NULL;
    }
  napi_get_value_string_utf8 (env, value, s, len + 1, &len);
  if (memchr (s, '\0', len) != NULL)
    {
      free (s);
      napi_throw_type_error (env, NULL, "a string holds a NUL character");
      return NULL;
    }
  return s;
}

static void
free_strings (char **strings)
{
  if (strings == NULL)
    return;
  for (char **s = strings; *s; s++)
    free (*s);
  free (strings);
}

/* A JavaScript array of strings as a NULL-terminated vector, or NULL with an exception pending. */
static char **
strings_of (napi_env env, napi_value array)
{
  uint32_t n;
  char **v;

  if (napi_get_array_length (env, array, &n) != napi_ok)
    {
      napi_throw_type_error (env, NULL, "expected an array of strings");
      return NULL;
    }
  v = calloc ((size_t) n + 1, sizeof *v);
  if (v == NULL)
    {
      napi_throw_error (env, NULL, "out of memory");
      return NULL;
    }
  for (uint32_t i = 0; i < n; i++)
    {
      napi_value item;
      if (napi_get_element (env, array, i, &item) != napi_ok || (v[i] = string_of (env, item)) == NULL)
        {
          free_strings (v);
          return NULL;
        }
    }
  return v;
}

static void *
wait_for_exit (void *arg)
{
  struct exit_event *event = arg;
  siginfo_t info;

  memset (&info, 0, sizeof info);
  while (waitid (P_PID, event->pid, &info, WEXITED) < 0 && errno == EINTR)
    ;
  if (info.si_code == CLD_EXITED)
    {
      event->code = info.si_status;
      event->signal = 0;
    }
  else
    {
      event->code = -1;
      event->signal = info.si_status;
    }
  pthread_mutex_lock (&handler_lock);
  if (exit_handler == NULL || napi_call_threadsafe_function (exit_handler, event, napi_tsfn_blocking) != napi_ok)
    free (event);
  pthread_mutex_unlock (&handler_lock);
  return NULL;
}

static void
deliver_exit (napi_env env, napi_value fn, void *context, void *data)
{
  struct exit_event *event = data;
  napi_value argv[3], undefined;

  (void) context;
  if (live_children > 0 && --live_children == 0 && exit_handler != NULL)
    napi_unref_threadsafe_function (env, exit_handler);
  if (env != NULL && fn != NULL && napi_create_int32 (env, event->pid, &argv[0]) == napi_ok
      && napi_create_int32 (env, event->code, &argv[1]) == napi_ok
      && napi_create_int32 (env, event->signal, &argv[2]) == napi_ok && napi_get_undefined (env, &undefined) == napi_ok)
    napi_call_function (env, undefined, fn, 3, argv, NULL);
  free (event);
}

napi_value
set_exit_handler (napi_env env, napi_callback_info cbinfo)
{
  size_t argc = 1;
  napi_value argv[1], name;
  napi_threadsafe_function tsfn, old;

  NAPI_CALL (env, napi_get_cb_info (env, cbinfo, &argc, argv, NULL, NULL));
  NAPI_CALL (env, napi_create_string_utf8 (env, "berth-spawn exit", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL (env, napi_create_threadsafe_function (env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, deliver_exit,
                                                    &tsfn));
  if (live_children == 0)
    NAPI_CALL (env, napi_unref_threadsafe_function (env, tsfn));
  pthread_mutex_lock (&handler_lock);
  old = exit_handler;
  exit_handler = tsfn;
  pthread_mutex_unlock (&handler_lock);
  if (old != NULL)
    {
      napi_unref_threadsafe_function (env, old);
      napi_release_threadsafe_function (old, napi_tsfn_release);
    }
  return NULL;
}

/* Moves `fd` to a descriptor above every child descriptor, close-on-exec, so that the dup2
 * of one child descriptor never overwrites the source of another. */
static int
above (int fd, int floor)
{
  return fcntl (fd, F_DUPFD_CLOEXEC, floor);
}

napi_value
spawn (napi_env env, napi_callback_info cbinfo)
{
  size_t argc = 6;
  napi_value argv[6], result, value;
  napi_valuetype type;
  char *file = NULL, *cwd = NULL;
  char **args = NULL, **envp = NULL;
  uint32_t n_stdio = 0;
  int sources[MAX_STDIO], parent_ends[MAX_STDIO];
  bool setsid_child = false;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t none, all;
  pid_t pid = -1;
  int ret = 0, failed_errno = 0;
  const char *failed_what = "spawn";
  struct exit_event *event = NULL;
  pthread_attr_t thread_attr;
  pthread_t thread;

  for (int i = 0; i < MAX_STDIO; i++)
    sources[i] = parent_ends[i] = -1;

  NAPI_CALL (env, napi_get_cb_info (env, cbinfo, &argc, argv, NULL, NULL));
  if (exit_handler == NULL)
    {
      napi_throw_error (env, NULL, "berth-spawn: setExitHandler must be called first");
      return NULL;
    }
  if ((file = string_of (env, argv[0])) == NULL || (args = strings_of (env, argv[1])) == NULL
      || (envp = strings_of (env, argv[2])) == NULL)
    goto out;
  if (napi_get_array_length (env, argv[3], &n_stdio) != napi_ok || n_stdio > MAX_STDIO)
    {
      napi_throw_type_error (env, NULL, "stdio: expected an array of at most 16 numbers");
      goto out;
    }
  if (napi_typeof (env, argv[4], &type) == napi_ok && type == napi_string && (cwd = string_of (env, argv[4])) == NULL)
    goto out;
  if (napi_typeof (env, argv[5], &type) == napi_ok && type == napi_boolean)
    napi_get_value_bool (env, argv[5], &setsid_child);

  for (uint32_t i = 0; i < n_stdio; i++)
    {
      int32_t spec;
      if (napi_get_element (env, argv[3], i, &value) != napi_ok || napi_get_value_int32 (env, value, &spec) != napi_ok)
        {
          napi_throw_type_error (env, NULL, "stdio: expected numbers");
          goto out;
        }
      if (spec == STDIO_IGNORE)
        sources[i] = open ("/dev/null", O_RDWR | O_CLOEXEC);
      else if (spec == STDIO_PIPE)
        {
          int pair[2];
          if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
            {
              failed_errno = errno, failed_what = "socketpair for";
              goto fail;
            }
          parent_ends[i] = pair[0];
          sources[i] = pair[1];
        }
      else
        sources[i] = dup (spec);
      if (sources[i] < 0)
        {
          failed_errno = errno, failed_what = "descriptor for";
          goto fail;
        }
      {
        int moved = above (sources[i], MAX_STDIO);
        if (moved < 0)
          {
            failed_errno = errno, failed_what = "descriptor for";
            goto fail;
          }
        close (sources[i]);
        sources[i] = moved;
      }
    }

  posix_spawn_file_actions_init (&actions);
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                       | (setsid_child ? POSIX_SPAWN_SETSID : 0));
  for (uint32_t i = 0; i < n_stdio; i++)
    posix_spawn_file_actions_adddup2 (&actions, sources[i], (int) i);
  if (cwd != NULL)
    posix_spawn_file_actions_addchdir_np (&actions, cwd);
  if (strchr (file, '/') != NULL)
    ret = posix_spawn (&pid, file, &actions, &attr, args, envp);
  else
    ret = posix_spawnp (&pid, file, &actions, &attr, args, envp);
  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  if (ret != 0)
    {
      failed_errno = ret;
      goto fail;
    }

  /* The child exists: from here on only its waiter may reap it. */
  event = calloc (1, sizeof *event);
  if (event != NULL)
    {
      event->pid = pid;
      pthread_attr_init (&thread_attr);
      pthread_attr_setstacksize (&thread_attr, WAITER_STACK);
      pthread_attr_setdetachstate (&thread_attr, PTHREAD_CREATE_DETACHED);
      ret = pthread_create (&thread, &thread_attr, wait_for_exit, event);
      pthread_attr_destroy (&thread_attr);
    }
  if (event == NULL || ret != 0)
    {
      /* Without a waiter nobody would ever learn of its exit: end it now. */
      free (event);
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      failed_errno = event == NULL ? ENOMEM : ret, failed_what = "waiter thread for";
      goto fail;
    }
  if (live_children++ == 0)
    napi_ref_threadsafe_function (env, exit_handler);

  for (uint32_t i = 0; i < n_stdio; i++)
    close (sources[i]), sources[i] = -1;
  if (napi_create_array_with_length (env, n_stdio + 1, &result) != napi_ok
      || napi_create_int32 (env, pid, &value) != napi_ok || napi_set_element (env, result, 0, value) != napi_ok)
    goto out;
  for (uint32_t i = 0; i < n_stdio; i++)
    {
      if (parent_ends[i] < 0)
        napi_get_null (env, &value);
      else
        napi_create_int32 (env, parent_ends[i], &value);
      napi_set_element (env, result, i + 1, value);
      parent_ends[i] = -1;
    }
  goto out_ok;

fail:
  throw_errno (env, failed_errno, failed_what, file, "spawn");
out:
  result = NULL;
out_ok:
  for (int i = 0; i < MAX_STDIO; i++)
    {
      if (sources[i] >= 0)
        close (sources[i]);
      if (parent_ends[i] >= 0)
        close (parent_ends[i]);
    }
  free (file);
  free (cwd);
  free_strings (args);
  free_strings (envp);
  return result;
}
