/* The container's init, from clone() to execve. Runs as the child of create. Each step is one
 * kernel operation with its check; a failure goes back to the parent over the sync socket. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "hooks.h"
#include "log.h"
#include "mounts.h"
#include "process.h"
#include "spec.h"

static int
sync_recv (int fd, int expected, err_t *err)
{
  int msg;

  if (read_all_fd (fd, &msg, sizeof (msg)) < 0)
    return make_error (err, errno, "read from the sync socket");
  if (msg != expected)
    return make_error (err, 0, "unexpected message %#x on the sync socket", msg);
  return 0;
}

/* Namespaces and mounts are in place: the parent runs prestart and createRuntime, and answers
 * with the state the hooks of the init get (the init cannot know its own host pid). */
static int
sync_hooks (int fd, json_t **state, err_t *err)
{
  cleanup_free char *text = NULL;
  json_error_t jerr;
  int msg = SYNC_HOOKS, len;

  if (write_all_fd (fd, &msg, sizeof (msg)) < 0)
    return make_error (err, errno, "write to the sync socket");
  if (sync_recv (fd, SYNC_HOOKS_DONE, err) < 0)
    return -1;
  if (read_all_fd (fd, &len, sizeof (len)) < 0 || len <= 0 || len > (1 << 20))
    return make_error (err, 0, "read the state from the sync socket");
  text = calloc (1, (size_t) len + 1);
  if (text == NULL)
    return make_error (err, ENOMEM, "state");
  if (read_all_fd (fd, text, (size_t) len) < 0)
    return make_error (err, 0, "read the state from the sync socket");
  *state = json_loads (text, 0, &jerr);
  if (*state == NULL)
    return make_error (err, 0, "parse the state: %s", jerr.text);
  return 0;
}

/* Writes the outcome of startContainer to exec.fifo: "0", or "E" and the error for start to
 * report (runtime-spec: a failing startContainer hook fails start). */
static int
report_start (int wfd, int hooks_ret, err_t *err)
{
  cleanup_free char *msg = NULL;

  if (hooks_ret >= 0)
    {
      if (write (wfd, "0", 1) != 1)
        return make_error (err, errno, "write exec.fifo");
      return 0;
    }
  msg = err_message (err);
  if (write (wfd, "E", 1) == 1 && msg)
    write_all_fd (wfd, msg, strlen (msg));
  return hooks_ret;
}

static int
apply_sysctl (json_t *spec, err_t *err)
{
  json_t *sysctl = spec_get (spec, "linux.sysctl");
  const char *key;
  json_t *value;

  json_object_foreach (sysctl, key, value)
  {
    cleanup_free char *path = NULL;
    char *p;
    const char *v = json_string_value (value);

    if (v == NULL)
      return make_error (err, 0, "linux.sysctl.%s must be a string", key);
    if (*key == '\0' || *key == '.' || strstr (key, "..") != NULL || strchr (key, '/') != NULL)
      return make_error (err, 0, "linux.sysctl: invalid key `%s`", key);
    if (asprintf (&path, "/proc/sys/%s", key) < 0)
      return make_error (err, ENOMEM, "sysctl");
    for (p = path + strlen ("/proc/sys/"); *p; p++)
      if (*p == '.')
        *p = '/';
    if (write_file (path, v, err) < 0)
      return err_prefix (err, "linux.sysctl `%s`", key);
  }
  return 0;
}

static int
set_hostname (json_t *spec, bool new_uts, err_t *err)
{
  const char *hostname = spec_string (spec, "hostname");
  const char *domainname = spec_string (spec, "domainname");

  if ((hostname && *hostname) || (domainname && *domainname))
    if (!new_uts)
      return make_error (err, 0, "hostname and domainname need a new uts namespace");
  if (hostname && *hostname && sethostname (hostname, strlen (hostname)) < 0)
    return make_error (err, errno, "sethostname `%s`", hostname);
  if (domainname && *domainname && setdomainname (domainname, strlen (domainname)) < 0)
    return make_error (err, errno, "setdomainname `%s`", domainname);
  return 0;
}

int
container_init (struct init_ctx *ctx, err_t *err)
{
  json_t *process = json_object_get (ctx->spec, "process");
  cleanup_exec_prep struct exec_prep prep = { 0 };
  cleanup_free char *rootfs = NULL;
  __attribute__ ((cleanup (json_decrefp))) json_t *state = NULL;
  char fifo_path[64];
  int wfd, ret;

  log_quiet_stderr ();
  ret = sync_recv (ctx->sync_fd, SYNC_GO, err);
  if (ret < 0)
    return ret;
  if (ctx->ns->new_user && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    return make_error (err, errno, "become root in the user namespace");
  ret = ns_join (ctx->ns, err);
  if (ret < 0)
    return ret;
  /* After the parent placed us in our cgroup, so that it becomes the namespace's root. */
  if (ctx->ns->new_cgroup && unshare (CLONE_NEWCGROUP) < 0)
    return make_error (err, errno, "unshare the cgroup namespace");
  if (setsid () < 0)
    return make_error (err, errno, "setsid");

  ret = set_hostname (ctx->spec, ctx->ns->new_uts, err);
  if (ret < 0)
    return ret;
  ret = setup_rootfs (ctx->spec, ctx->bundle, ctx->ns->new_user, &rootfs, err);
  if (ret < 0)
    return ret;
  ret = sync_hooks (ctx->sync_fd, &state, err);
  if (ret < 0)
    return ret;
  ret = hooks_run (ctx->spec, "createContainer", state, err);
  if (ret < 0)
    return ret;
  ret = enter_rootfs (rootfs, ctx->no_pivot, err);
  if (ret < 0)
    return ret;
  ret = apply_sysctl (ctx->spec, err);
  if (ret < 0)
    return ret;
  ret = finish_rootfs (ctx->spec, err);
  if (ret < 0)
    return ret;
  ret = process_prepare (process, ctx->spec, ctx->console_fd, true, &prep, err);
  if (ret < 0)
    return ret;

  {
    int msg = SYNC_READY;
    if (write_all_fd (ctx->sync_fd, &msg, sizeof (msg)) < 0)
      return make_error (err, errno, "write to the sync socket");
    close (ctx->sync_fd);
    ctx->sync_fd = -1;
  }

  /* Blocks until start opens the fifo for reading (runc's exec.fifo protocol). */
  snprintf (fifo_path, sizeof (fifo_path), "/proc/self/fd/%d", ctx->fifo_fd);
  wfd = open (fifo_path, O_WRONLY | O_CLOEXEC);
  if (wfd < 0)
    return make_error (err, errno, "open exec.fifo");
  json_object_set_new (state, "status", json_string ("created"));
  ret = report_start (wfd, hooks_run (ctx->spec, "startContainer", state, err), err);
  if (ret < 0)
    return ret;
  close (wfd);

  return process_exec (process, &prep, err);
}
