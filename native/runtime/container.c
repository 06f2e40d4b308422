#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "hooks.h"
#include "log.h"
#include "spec.h"
#include "state.h"
#include "terminal.h"

/* runtime-spec config.md "POSIX-platform Hooks": the six kinds; anything else is a typo that
 * must not pass silently. */
static int
check_hooks (json_t *spec, err_t *err)
{
  static const char *const kinds[]
      = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
  json_t *hooks = json_object_get (spec, "hooks");
  const char *key;
  json_t *v;
  size_t i;

  if (hooks != NULL && !json_is_object (hooks))
    return make_error (err, 0, "hooks must be an object");
  json_object_foreach (hooks, key, v)
  {
    for (i = 0; i < sizeof (kinds) / sizeof (kinds[0]); i++)
      if (strcmp (kinds[i], key) == 0)
        break;
    if (i == sizeof (kinds) / sizeof (kinds[0]))
      return make_error (err, 0, "hooks.%s: unknown kind of hook", key);
    if (!json_is_array (v) && !json_is_null (v))
      return make_error (err, 0, "hooks.%s must be an array", key);
  }
  return 0;
}

static int
write_id_map (pid_t pid, const char *file, json_t *mappings, err_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  size_t used = 0, i;

  if (!json_is_array (mappings) || json_array_size (mappings) == 0)
    return make_error (err, 0, "a new user namespace needs linux.%s", strcmp (file, "uid_map") == 0 ? "uidMappings"
                                                                                                      : "gidMappings");
  text = calloc (json_array_size (mappings), 64);
  if (text == NULL)
    return make_error (err, ENOMEM, "%s", file);
  for (i = 0; i < json_array_size (mappings); i++)
    {
      json_t *m = json_array_get (mappings, i);
      used += (size_t) sprintf (text + used, "%lld %lld %lld\n", (long long) json_integer_value (json_object_get (m, "containerID")),
                                (long long) json_integer_value (json_object_get (m, "hostID")),
                                (long long) json_integer_value (json_object_get (m, "size")));
    }
  if (asprintf (&path, "/proc/%d/%s", (int) pid, file) < 0)
    return make_error (err, ENOMEM, "%s", file);
  /* The whole map in one write: the kernel accepts a single write per map file. */
  return write_file (path, text, err);
}

/* The init's namespaces and mounts exist, pivot_root is yet to come: prestart and
 * createRuntime run here in the runtime's namespaces, then the init gets the state for its own
 * hooks (runtime-spec runtime.md "Lifecycle", steps 3 and 4). */
static int
run_create_hooks (int fd, json_t *spec, const char *id, pid_t child, const char *bundle, err_t *err)
{
  __attribute__ ((cleanup (json_decrefp))) json_t *state
      = hook_state (id, "creating", child, bundle, json_object_get (spec, "annotations"));
  cleanup_free char *text = NULL;
  int msg = SYNC_HOOKS_DONE, len;

  if (state == NULL)
    return make_error (err, ENOMEM, "hook state");
  if (hooks_run (spec, "prestart", state, err) < 0 || hooks_run (spec, "createRuntime", state, err) < 0)
    return -1;
  text = json_dumps (state, JSON_COMPACT);
  if (text == NULL)
    return make_error (err, ENOMEM, "hook state");
  len = (int) strlen (text);
  if (write_all_fd (fd, &msg, sizeof (msg)) < 0 || write_all_fd (fd, &len, sizeof (len)) < 0
      || write_all_fd (fd, text, (size_t) len) < 0)
    return make_error (err, errno, "write to the sync socket");
  return 0;
}

static char *
now_rfc3339 (void)
{
  struct timespec ts;
  struct tm tm;
  char buf[64];
  size_t n;

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  n = strftime (buf, sizeof (buf), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, sizeof (buf) - n, ".%09ldZ", ts.tv_nsec);
  return strdup (buf);
}

static void
cleanup_child (pid_t *pid)
{
  if (*pid > 0)
    {
      kill (*pid, SIGKILL);
      waitpid (*pid, NULL, 0);
    }
  *pid = -1;
}

int
container_create (struct global_opts *g, const struct create_opts *o, pid_t *pid_out, err_t *err)
{
  cleanup_free char *bundle = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *fifo = NULL;
  cleanup_free char *config_path = NULL;
  cleanup_free char *rootfs = NULL;
  cleanup_free char *created = NULL;
  cleanup_free char *cgpath = NULL;
  const struct cgroup_ops *cg = cgroup_host_ops ();
  bool made_cgroup = false;
  cleanup_close int console = -1;
  cleanup_close int fifo_fd = -1;
  __attribute__ ((cleanup (cleanup_child))) pid_t child = -1;
  json_t *spec = NULL;
  json_t *state = NULL;
  struct ns_plan plan = { .pid_join_fd = -1 };
  int sv[2] = { -1, -1 };
  bool made_dir = false;
  int ret, msg;

  bundle = realpath (o->bundle ? o->bundle : ".", NULL);
  if (bundle == NULL)
    return make_error (err, errno, "bundle `%s`", o->bundle ? o->bundle : ".");
  ret = validate_id (o->id, err);
  if (ret < 0)
    return ret;
  spec = spec_load (bundle, err);
  if (spec == NULL)
    return -1;
  ret = spec_validate (spec, err);
  if (ret < 0)
    goto out;
  ret = check_hooks (spec, err);
  if (ret < 0)
    goto out;
  ret = ns_plan_build (spec, &plan, err);
  if (ret < 0)
    goto out;

  ret = state_root (g, err);
  if (ret < 0)
    goto out;
  dir = state_dir (g, o->id);
  if (dir == NULL || asprintf (&fifo, "%s/exec.fifo", dir) < 0 || asprintf (&config_path, "%s/config.json", dir) < 0)
    {
      ret = make_error (err, ENOMEM, "create");
      goto out;
    }
  if (mkdir (dir, 0700) < 0)
    {
      ret = errno == EEXIST ? make_error (err, EEXIST, "container `%s` already exists", o->id)
                            : make_error (err, errno, "mkdir `%s`", dir);
      goto out;
    }
  made_dir = true;
  if (mkfifo (fifo, 0622) < 0 || chmod (fifo, 0622) < 0)
    {
      ret = make_error (err, errno, "mkfifo `%s`", fifo);
      goto out;
    }
  fifo_fd = open (fifo, O_PATH | O_CLOEXEC);
  if (fifo_fd < 0)
    {
      ret = make_error (err, errno, "open `%s`", fifo);
      goto out;
    }
  if (json_dump_file (spec, config_path, JSON_COMPACT) < 0)
    {
      ret = make_error (err, errno, "write `%s`", config_path);
      goto out;
    }
  if (o->console_socket)
    {
      console = console_socket_connect (o->console_socket, err);
      if (console < 0)
        {
          ret = console;
          goto out;
        }
    }
  else if (json_is_true (spec_get (spec, "process.terminal")))
    {
      ret = make_error (err, 0, "process.terminal is set: --console-socket is required");
      goto out;
    }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    {
      ret = make_error (err, errno, "socketpair");
      goto out;
    }
  /* Joining a pid namespace only affects children: do it here so the init is born inside. */
  if (plan.pid_join_fd >= 0 && setns (plan.pid_join_fd, CLONE_NEWPID) < 0)
    {
      ret = make_error (err, errno, "join the pid namespace");
      goto out;
    }

  child = (pid_t) syscall (SYS_clone, (unsigned long) plan.clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (child < 0)
    {
      ret = make_error (err, errno, "clone");
      goto out;
    }
  if (child == 0)
    {
      cleanup_err err_t cerr = NULL;
      struct init_ctx ctx = { .spec = spec,
                              .bundle = bundle,
                              .fifo_fd = fifo_fd,
                              .sync_fd = sv[1],
                              .console_fd = console,
                              .no_pivot = o->no_pivot,
                              .ns = &plan };
      close (sv[0]);
      container_init (&ctx, &cerr);
      /* Only reached on failure: tell the parent why. */
      msg = SYNC_ERROR;
      if (ctx.sync_fd >= 0)
        {
          if (write_all_fd (ctx.sync_fd, &msg, sizeof (msg)) == 0)
            err_write_fd (ctx.sync_fd, &cerr);
        }
      else
        {
          /* After READY nobody listens any more: stderr is all that is left. */
          err_print (&cerr, "berth-runtime: container init");
        }
      _exit (127);
    }
  close (sv[1]);
  sv[1] = -1;

  if (plan.new_user)
    {
      ret = write_id_map (child, "uid_map", spec_get (spec, "linux.uidMappings"), err);
      if (ret >= 0)
        ret = write_id_map (child, "gid_map", spec_get (spec, "linux.gidMappings"), err);
      if (ret < 0)
        goto out;
    }

  /* The init joins its cgroup before it runs anything of the container. */
  cgpath = cgroup_path_for (spec, o->id);
  if (cgpath == NULL)
    {
      ret = make_error (err, ENOMEM, "cgroup path");
      goto out;
    }
  made_cgroup = true;
  ret = cg->enter (cgpath, child, err);
  if (ret >= 0)
    ret = cg->apply (cgpath, spec_get (spec, "linux.resources"), spec_get (spec, "linux.devices"), err);
  if (ret < 0)
    {
      err_prefix (err, "cgroup `%s`", cgpath);
      goto out;
    }

  msg = SYNC_GO;
  if (write_all_fd (sv[0], &msg, sizeof (msg)) < 0)
    {
      ret = make_error (err, errno, "write to the sync socket");
      goto out;
    }
  for (;;)
    {
      if (read_all_fd (sv[0], &msg, sizeof (msg)) < 0)
        {
          ret = make_error (err, 0, "the container init exited before it was ready");
          goto out;
        }
      if (msg != SYNC_HOOKS)
        break;
      ret = run_create_hooks (sv[0], spec, o->id, child, bundle, err);
      if (ret < 0)
        goto out;
    }
  if (msg == SYNC_ERROR)
    {
      ret = err_read_fd (sv[0], err);
      goto out;
    }
  if (msg != SYNC_READY)
    {
      ret = make_error (err, 0, "unexpected message %#x from the container init", msg);
      goto out;
    }

  {
    const char *root_path = spec_string (json_object_get (spec, "root"), "path");
    if (root_path[0] == '/')
      rootfs = strdup (root_path);
    else if (asprintf (&rootfs, "%s/%s", bundle, root_path) < 0)
      rootfs = NULL;
  }
  created = now_rfc3339 ();
  state = json_object ();
  json_object_set_new (state, "ociVersion", json_string (OCI_VERSION));
  json_object_set_new (state, "id", json_string (o->id));
  json_object_set_new (state, "pid", json_integer (child));
  json_object_set_new (state, "initStartTime", json_integer ((json_int_t) process_start_time (child)));
  json_object_set_new (state, "bundle", json_string (bundle));
  json_object_set_new (state, "rootfs", json_string (rootfs ? rootfs : ""));
  json_object_set_new (state, "created", json_string (created ? created : ""));
  json_object_set_new (state, "cgroupPath", json_string (cgpath));
  json_object_set_new (state, "cgroupDriver", json_string (cg->name));
  if (json_object_get (spec, "annotations"))
    json_object_set (state, "annotations", json_object_get (spec, "annotations"));
  ret = state_write (dir, state, err);
  if (ret < 0)
    goto out;
  if (o->pid_file)
    {
      char buf[32];
      int n = snprintf (buf, sizeof (buf), "%d", (int) child);
      ret = write_file_atomic (o->pid_file, buf, (size_t) n, 0644, false, err);
      if (ret < 0)
        goto out;
    }
  *pid_out = child;
  child = -1; /* handed over: the container lives on */
  ret = 0;

out:
  if (sv[0] >= 0)
    close (sv[0]);
  if (sv[1] >= 0)
    close (sv[1]);
  ns_plan_close (&plan);
  json_decref (state);
  json_decref (spec);
  if (ret < 0 && made_dir)
    {
      cleanup_child (&child);
      if (made_cgroup)
        {
          cgroup_signal_all (cg, cgpath, SIGKILL, NULL);
          cg->destroy (cgpath, NULL);
        }
      remove_tree (dir, NULL);
    }
  return ret;
}

/* The init wrote "E" and why its startContainer hooks failed; it exits after. */
static int
read_start_error (int fd, err_t *err)
{
  char msg[4096];
  size_t used = 0;

  while (used < sizeof (msg) - 1)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t n;

      if (poll (&p, 1, 1000) <= 0)
        break;
      n = read (fd, msg + used, sizeof (msg) - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += (size_t) n;
    }
  msg[used] = '\0';
  return make_error (err, 0, "start: %s", used ? msg : "a startContainer hook failed");
}

int
container_start (struct global_opts *g, const char *id, err_t *err)
{
  cleanup_container struct container c = { 0 };
  cleanup_free char *fifo = NULL;
  cleanup_close int fd = -1;
  const char *status;
  int ret;
  char byte;

  ret = container_load (g, id, &c, err);
  if (ret < 0)
    return ret;
  status = container_status (&c);
  if (strcmp (status, "created") != 0)
    return make_error (err, 0, "cannot start a container that is %s", status);
  if (asprintf (&fifo, "%s/exec.fifo", c.dir) < 0)
    return make_error (err, ENOMEM, "start");
  /* Non-blocking: if the init died we must not wait forever for a writer. */
  fd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return make_error (err, errno, "open `%s`", fifo);
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t n;

      ret = poll (&p, 1, 100);
      if (ret < 0 && errno != EINTR)
        return make_error (err, errno, "poll exec.fifo");
      n = read (fd, &byte, 1);
      if (n == 1 && byte == 'E')
        return read_start_error (fd, err);
      if (n == 1)
        break;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return make_error (err, errno, "read exec.fifo");
      if (strcmp (container_status (&c), "stopped") == 0)
        return make_error (err, 0, "the container init exited before start");
    }
  /* The fifo's absence is what makes the status "running". */
  if (unlink (fifo) < 0)
    return make_error (err, errno, "remove `%s`", fifo);
  {
    __attribute__ ((cleanup (json_decrefp))) json_t *state
        = hook_state (c.id, "running", container_pid (&c), json_string_value (json_object_get (c.state, "bundle")),
                      json_object_get (c.spec, "annotations"));
    hooks_run_warn (c.spec, "poststart", state);
  }
  return 0;
}

/* Waits until the process (pid, start) has exited: a pidfd turns readable at its exit, so delete
 * returns as soon as the kernel is done with it rather than on the next tick of a poll. */
static int
wait_gone (pid_t pid, unsigned long long start, int timeout_ms)
{
  int waited = 0, fd, ret;

  if (start == 0)
    return 0;
  fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd >= 0)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      /* Checked after the open: if the pid was reused before it, the pidfd is not our process. */
      if (process_start_time (pid) != start)
        {
          close (fd);
          return 0;
        }
      while ((ret = poll (&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
      close (fd);
      return ret > 0 ? 0 : -1;
    }
  if (errno == ESRCH)
    return 0;
  /* No pidfd (kernels before 5.3): watch /proc. */
  while (process_start_time (pid) == start)
    {
      if (waited >= timeout_ms)
        return -1;
      usleep (1000);
      waited += 1;
    }
  return 0;
}

int
container_delete (struct global_opts *g, const char *id, bool force, err_t *err)
{
  cleanup_container struct container c = { 0 };
  const char *status;
  int ret;

  ret = container_load (g, id, &c, err);
  if (ret < 0)
    {
      /* A directory without a record is a create that died half-way: remove it. */
      if (force && *err && (*err)->status == ENOENT)
        {
          cleanup_free char *dir = state_dir (g, id);
          if (validate_id (id, NULL) == 0 && dir && access (dir, F_OK) == 0)
            {
              err_release (err);
              return remove_tree (dir, err);
            }
        }
      return ret;
    }
  status = container_status (&c);
  if (strcmp (status, "stopped") != 0)
    {
      pid_t pid = container_pid (&c);
      unsigned long long start = (unsigned long long) json_integer_value (json_object_get (c.state, "initStartTime"));

      /* A created container has run nothing of the user's yet: runc and crun delete it
       * without --force, and so do we. A running one needs --force. */
      if (!force && strcmp (status, "created") != 0)
        return make_error (err, 0, "cannot delete container `%s` that is not stopped: %s", id, status);
      if (kill (pid, SIGKILL) < 0 && errno != ESRCH)
        return make_error (err, errno, "kill the init %d", (int) pid);
      if (wait_gone (pid, start, 10000) < 0)
        return make_error (err, ETIMEDOUT, "the init %d did not exit after SIGKILL", (int) pid);
    }
  /* Processes left in the cgroup (the init's pid namespace was shared) die with it. */
  {
    const char *cgpath = json_string_value (json_object_get (c.state, "cgroupPath"));
    const struct cgroup_ops *cg = cgroup_ops_by_name (json_string_value (json_object_get (c.state, "cgroupDriver")));
    if (cgpath != NULL)
      {
        ret = cgroup_signal_all (cg, cgpath, SIGKILL, NULL);
        ret = cg->destroy (cgpath, err);
        if (ret < 0)
          return ret;
      }
  }
  /* runtime-spec runtime.md "Lifecycle" step 13: after the container is deleted, before delete
   * returns. */
  {
    __attribute__ ((cleanup (json_decrefp))) json_t *state
        = hook_state (c.id, "stopped", 0, json_string_value (json_object_get (c.state, "bundle")),
                      json_object_get (c.spec, "annotations"));
    hooks_run_warn (c.spec, "poststop", state);
  }
  return remove_tree (c.dir, err);
}
