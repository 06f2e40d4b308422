#include "process.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "spec.h"
#include "terminal.h"
#include "utils.h"

const char *const cap_names[] = {
  "CAP_CHOWN",          "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID",         "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
  "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",      "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
  "CAP_LEASE",          "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE", NULL,
};

int
cap_last (void)
{
  static int last = -1;
  cleanup_free char *text = NULL;

  if (last >= 0)
    return last;
  if (read_file ("/proc/sys/kernel/cap_last_cap", &text, NULL, NULL) < 0)
    last = CAP_LAST_CAP;
  else
    last = atoi (text);
  return last;
}

static int
parse_cap_set (json_t *caps, const char *set, uint64_t *out, err_t *err)
{
  json_t *list = json_object_get (caps, set);
  size_t i;

  *out = 0;
  if (list != NULL && !json_is_array (list))
    return make_error (err, 0, "process.capabilities.%s must be an array", set);
  for (i = 0; list && i < json_array_size (list); i++)
    {
      const char *name = json_string_value (json_array_get (list, i));
      int c;

      if (name == NULL)
        return make_error (err, 0, "process.capabilities.%s[%zu] must be a string", set, i);
      for (c = 0; cap_names[c]; c++)
        if (strcasecmp (cap_names[c], name) == 0)
          break;
      if (cap_names[c] == NULL)
        return make_error (err, 0, "process.capabilities.%s: unknown capability `%s`", set, name);
      if (c > cap_last ())
        {
          log_warning ("capability `%s` is not supported by this kernel: ignored", name);
          continue;
        }
      *out |= 1ULL << c;
    }
  return 0;
}

int
parse_capabilities (json_t *caps, struct cap_sets *out, err_t *err)
{
  int ret;

  memset (out, 0, sizeof (*out));
  if (caps == NULL)
    return 0;
  if ((ret = parse_cap_set (caps, "bounding", &out->bounding, err)) < 0
      || (ret = parse_cap_set (caps, "effective", &out->effective, err)) < 0
      || (ret = parse_cap_set (caps, "permitted", &out->permitted, err)) < 0
      || (ret = parse_cap_set (caps, "inheritable", &out->inheritable, err)) < 0
      || (ret = parse_cap_set (caps, "ambient", &out->ambient, err)) < 0)
    return ret;
  return 0;
}

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

int
apply_rlimits (json_t *process, err_t *err)
{
  json_t *list = json_object_get (process, "rlimits");
  size_t i, k;

  for (i = 0; list && i < json_array_size (list); i++)
    {
      json_t *r = json_array_get (list, i);
      const char *type = spec_string (r, "type");
      struct rlimit lim;

      for (k = 0; type && k < sizeof (rlimit_names) / sizeof (rlimit_names[0]); k++)
        if (strcmp (rlimit_names[k].name, type) == 0)
          break;
      if (type == NULL || k == sizeof (rlimit_names) / sizeof (rlimit_names[0]))
        return make_error (err, 0, "process.rlimits[%zu]: unknown type `%s`", i, type ? type : "");
      /* JSON numbers above INT64_MAX (RLIM_INFINITY written as 18446744073709551615) reach
       * jansson as reals. */
      lim.rlim_cur = json_is_real (json_object_get (r, "soft"))
                         ? RLIM_INFINITY
                         : (rlim_t) json_integer_value (json_object_get (r, "soft"));
      lim.rlim_max = json_is_real (json_object_get (r, "hard"))
                         ? RLIM_INFINITY
                         : (rlim_t) json_integer_value (json_object_get (r, "hard"));
      if (setrlimit (rlimit_names[k].resource, &lim) < 0)
        return make_error (err, errno, "setrlimit %s (soft %llu, hard %llu)", type, (unsigned long long) lim.rlim_cur,
                           (unsigned long long) lim.rlim_max);
    }
  return 0;
}

int
apply_oom_score_adj (json_t *process, err_t *err)
{
  json_t *v = json_object_get (process, "oomScoreAdj");
  char buf[32];
  int ret;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < -1000 || json_integer_value (v) > 1000)
    return make_error (err, 0, "process.oomScoreAdj must be an integer in [-1000, 1000]");
  snprintf (buf, sizeof (buf), "%lld", (long long) json_integer_value (v));
  ret = write_file ("/proc/self/oom_score_adj", buf, NULL);
  if (ret < 0 && (errno == EACCES || errno == EPERM) && json_integer_value (v) < 0)
    {
      /* Lowering the score below what this process has needs CAP_SYS_RESOURCE; without it
       * the container keeps the runtime's score, the lowest it can have, and says so. */
      log_warning ("cannot lower oom_score_adj to %s without CAP_SYS_RESOURCE: keeping the current value", buf);
      return 0;
    }
  if (ret < 0)
    return make_error (err, errno, "write oom_score_adj %s", buf);
  return 0;
}

static int
lsm_enabled (const char *path)
{
  cleanup_free char *text = NULL;

  if (read_file (path, &text, NULL, NULL) < 0)
    return 0;
  return text[0] == 'Y' || text[0] == '1';
}

int
check_lsm (json_t *process, err_t *err)
{
  const char *apparmor = spec_string (process, "apparmorProfile");
  const char *selinux = spec_string (process, "selinuxLabel");

  if (apparmor && *apparmor)
    {
      if (!lsm_enabled ("/sys/module/apparmor/parameters/enabled"))
        return make_error (err, 0, "process.apparmorProfile `%s`: AppArmor is not enabled on this host", apparmor);
      /* Takes effect at execve (the "exec" form of the attribute). */
      if (write_file ("/proc/self/attr/apparmor/exec", apparmor, NULL) < 0)
        {
          cleanup_free char *cmd = NULL;
          if (asprintf (&cmd, "exec %s", apparmor) < 0 || write_file ("/proc/self/attr/exec", cmd, err) < 0)
            return make_error (err, errno, "set AppArmor profile `%s`", apparmor);
        }
    }
  if (selinux && *selinux)
    {
      if (access ("/sys/fs/selinux/enforce", F_OK) < 0)
        return make_error (err, 0, "process.selinuxLabel `%s`: SELinux is not enabled on this host", selinux);
      if (write_file ("/proc/self/attr/exec", selinux, err) < 0)
        return err_prefix (err, "set SELinux label");
    }
  return 0;
}

static int
capset_all (const struct cap_sets *c, err_t *err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  int i;

  for (i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (c->effective >> (32 * i));
      data[i].permitted = (uint32_t) (c->permitted >> (32 * i));
      data[i].inheritable = (uint32_t) (c->inheritable >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return make_error (err, errno, "capset");
  return 0;
}

int
apply_user_and_capabilities (json_t *process, err_t *err)
{
  json_t *user = json_object_get (process, "user");
  json_t *extra = json_object_get (user, "additionalGids");
  uid_t uid = (uid_t) json_integer_value (json_object_get (user, "uid"));
  gid_t gid = (gid_t) json_integer_value (json_object_get (user, "gid"));
  cleanup_free gid_t *groups = NULL;
  size_t ngroups = extra && json_is_array (extra) ? json_array_size (extra) : 0, i;
  struct cap_sets caps;
  int c, ret;

  ret = parse_capabilities (json_object_get (process, "capabilities"), &caps, err);
  if (ret < 0)
    return ret;

  /* Bounding first: dropping needs CAP_SETPCAP, which the switch below may take away. */
  if (json_object_get (process, "capabilities") != NULL)
    for (c = 0; c <= cap_last (); c++)
      if (!(caps.bounding & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return make_error (err, errno, "drop %s from the bounding set", cap_names[c]);

  groups = calloc (ngroups + 1, sizeof (gid_t));
  if (groups == NULL)
    return make_error (err, ENOMEM, "groups");
  for (i = 0; i < ngroups; i++)
    groups[i] = (gid_t) json_integer_value (json_array_get (extra, i));

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return make_error (err, errno, "prctl PR_SET_KEEPCAPS");
  /* setgroups is refused in a user namespace whose setgroups file says deny; that is only a
   * failure when groups were asked for. */
  if (setgroups (ngroups, groups) < 0 && !(errno == EPERM && ngroups == 0))
    return make_error (err, errno, "setgroups");
  if (setresgid (gid, gid, gid) < 0)
    return make_error (err, errno, "setgid %u", gid);
  if (setresuid (uid, uid, uid) < 0)
    return make_error (err, errno, "setuid %u", uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return make_error (err, errno, "prctl PR_SET_KEEPCAPS");

  if (json_object_get (process, "capabilities") == NULL)
    {
      /* No capabilities object: a non-root user ends with none, root keeps what it has. */
      return 0;
    }
  ret = capset_all (&caps, err);
  if (ret < 0)
    return ret;
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return make_error (err, errno, "clear the ambient set");
  for (c = 0; c <= cap_last (); c++)
    if ((caps.ambient & (1ULL << c)) && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      {
        /* Ambient needs the capability in permitted and inheritable; runc warns and goes on. */
        log_warning ("cannot raise ambient capability %s: %s", cap_names[c], strerror (errno));
      }
  return 0;
}

int
apply_no_new_privileges (json_t *process, err_t *err)
{
  if (json_is_true (json_object_get (process, "noNewPrivileges")) && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return make_error (err, errno, "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}

static char *
home_of (uid_t uid)
{
  cleanup_file FILE *f = fopen ("/etc/passwd", "re");
  char line[1024];

  while (f && fgets (line, sizeof (line), f))
    {
      /* name:password:uid:gid:gecos:home:shell */
      char *fields[7];
      char *save = NULL, *p = line;
      int n = 0;

      for (n = 0; n < 7; n++)
        {
          fields[n] = p;
          p = strchr (p, ':');
          if (p == NULL)
            break;
          *p++ = '\0';
        }
      (void) save;
      if (n >= 5 && (uid_t) strtoul (fields[2], NULL, 10) == uid && *fields[5])
        return strdup (fields[5]);
    }
  return strdup ("/");
}

/* The index of the entry of v[0..n) that sets the same variable as s, or n. */
static size_t
env_find (char **v, size_t n, const char *s)
{
  size_t key = strcspn (s, "="), i;

  for (i = 0; i < n; i++)
    if (strncmp (v[i], s, key) == 0 && v[i][key] == '=')
      return i;
  return n;
}

int
build_env (json_t *process, char ***out, err_t *err)
{
  json_t *env = json_object_get (process, "env");
  size_t n = env && json_is_array (env) ? json_array_size (env) : 0, i, used = 0;
  char **v = calloc (n + 2, sizeof (char *));

  if (v == NULL)
    return make_error (err, ENOMEM, "env");
  for (i = 0; i < n; i++)
    {
      const char *s = json_string_value (json_array_get (env, i));
      size_t at;

      if (s == NULL || strchr (s, '=') == NULL)
        {
          free_env (v);
          return make_error (err, 0, "process.env[%zu] must be a string KEY=VALUE", i);
        }
      /* A variable set twice keeps its first position and its last value, as runc's init
       * does (it applies the list with setenv). */
      at = env_find (v, used, s);
      if (at < used)
        free (v[at]);
      v[at] = strdup (s);
      if (v[at] == NULL)
        {
          free_env (v);
          return make_error (err, ENOMEM, "env");
        }
      if (at == used)
        used++;
    }
  if (env_find (v, used, "HOME=") == used)
    {
      cleanup_free char *home = home_of ((uid_t) json_integer_value (spec_get (process, "user.uid")));
      if (asprintf (&v[used], "HOME=%s", home ? home : "/") < 0)
        v[used] = NULL;
    }
  *out = v;
  return 0;
}

void
free_env (char **env)
{
  size_t i;

  for (i = 0; env && env[i]; i++)
    free (env[i]);
  free (env);
}

int
find_executable (const char *name, char **env, char **out, err_t *err)
{
  const char *path = NULL;
  cleanup_free char *copy = NULL;
  char *dir, *save = NULL;
  size_t i;

  if (strchr (name, '/'))
    {
      if (access (name, X_OK) < 0)
        return make_error (err, errno, "exec `%s`", name);
      *out = strdup (name);
      return 0;
    }
  for (i = 0; env[i]; i++)
    if (strncmp (env[i], "PATH=", 5) == 0)
      path = env[i] + 5;
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  copy = strdup (path);
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *candidate = NULL;
      struct stat st;
      if (asprintf (&candidate, "%s/%s", *dir ? dir : ".", name) < 0)
        return make_error (err, ENOMEM, "exec");
      if (stat (candidate, &st) == 0 && S_ISREG (st.st_mode) && access (candidate, X_OK) == 0)
        {
          *out = candidate;
          return 0;
        }
      free (candidate);
    }
  return make_error (err, ENOENT, "exec: `%s`: executable file not found in $PATH", name);
}

/* execve keeps ignored signals ignored and the blocked mask blocked: whatever the runtime's
 * caller had (a shell's trap "" TERM, a supervisor's blocked SIGCHLD) would reach the
 * container's process. It starts with every signal at its default and none blocked. */
static int
reset_signals (err_t *err)
{
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigset_t none;
  int sig;

  sigemptyset (&dfl.sa_mask);
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL); /* EINVAL for the signals glibc reserves: nothing to do */
  sigemptyset (&none);
  if (sigprocmask (SIG_SETMASK, &none, NULL) < 0)
    return make_error (err, errno, "sigprocmask");
  return 0;
}

int
process_finalize (json_t *process, scmp_filter_ctx seccomp, err_t *err)
{
  json_t *umask_v = spec_get (process, "user.umask");
  const char *cwd = spec_string (process, "cwd");
  int ret;

  ret = reset_signals (err);
  if (ret < 0)
    return ret;

  ret = apply_no_new_privileges (process, err);
  if (ret < 0)
    return ret;
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the drop. */
  if (!json_is_true (json_object_get (process, "noNewPrivileges")))
    {
      ret = seccomp_profile_load (seccomp, err);
      if (ret < 0)
        return ret;
    }
  ret = apply_user_and_capabilities (process, err);
  if (ret < 0)
    return ret;
  /* After the switch of user, so that a cwd the user cannot enter fails here. */
  if (cwd == NULL || chdir (cwd) < 0)
    return make_error (err, errno, "chdir to process.cwd `%s`", cwd ? cwd : "");
  umask (umask_v ? (mode_t) json_integer_value (umask_v) : 0022);
  return 0;
}

int
close_fds_on_exec (err_t *err)
{
  /* Descriptors the runtime's caller leaked to us must not reach the container (runc closes
   * all but stdio and --preserve-fds). Ours are needed until execve, so mark, don't close. */
  if (syscall (SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return make_error (err, errno, "close_range");
  return 0;
}

int
process_seccomp_last (json_t *process, scmp_filter_ctx seccomp, err_t *err)
{
  /* With no_new_privs the filter waits until now, so that it constrains the container's
   * program and as little of the runtime as possible. */
  if (json_is_true (json_object_get (process, "noNewPrivileges")))
    return seccomp_profile_load (seccomp, err);
  return 0;
}

void
exec_prep_release (struct exec_prep *p)
{
  free (p->exe);
  free (p->args);
  free_env (p->env);
  seccomp_profile_free (&p->seccomp);
  p->exe = NULL;
  p->args = NULL;
  p->env = NULL;
}

int
process_prepare (json_t *process, json_t *spec, int console_fd, bool oom_score, struct exec_prep *p, err_t *err)
{
  int ret;

  if (json_is_true (json_object_get (process, "terminal")))
    {
      ret = terminal_setup (process, console_fd, err);
      if (ret < 0)
        return ret;
    }
  if (console_fd >= 0)
    close (console_fd);
  ret = apply_rlimits (process, err);
  if (ret < 0)
    return ret;
  if (oom_score)
    {
      ret = apply_oom_score_adj (process, err);
      if (ret < 0)
        return ret;
    }
  ret = check_lsm (process, err);
  if (ret < 0)
    return ret;
  ret = build_env (process, &p->env, err);
  if (ret < 0)
    return ret;
  ret = spec_string_array (json_object_get (process, "args"), "process.args", &p->args, NULL, err);
  if (ret < 0)
    return ret;
  ret = find_executable (p->args[0], p->env, &p->exe, err);
  if (ret < 0)
    return ret;
  ret = seccomp_profile_build (spec_get (spec, "linux.seccomp"), &p->seccomp, err);
  if (ret < 0)
    return ret;
  ret = close_fds_on_exec (err);
  if (ret < 0)
    return ret;
  return process_finalize (process, p->seccomp, err);
}

int
process_exec (json_t *process, struct exec_prep *p, err_t *err)
{
  int ret = process_seccomp_last (process, p->seccomp, err);

  if (ret < 0)
    return ret;
  execve (p->exe, (char *const *) p->args, p->env);
  return make_error (err, errno, "exec `%s`", p->exe);
}
