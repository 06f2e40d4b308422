/* exec: runc's command line. The process comes from --process (a runtime-spec "process"
 * object) or from the container's config.json process with the arguments and flags of the
 * command line applied over it, as runc's exec.go does. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd-common.h"
#include "container.h"
#include "spec.h"
#include "state.h"

enum
{
  OPT_PROCESS = 'p',
  OPT_TTY = 't',
  OPT_DETACH = 'd',
  OPT_ENV = 'e',
  OPT_USER = 'u',
  OPT_CAP = 'c',
  OPT_ADDITIONAL_GID = 'g',
  OPT_PID_FILE = 256,
  OPT_CONSOLE_SOCKET,
  OPT_CWD,
  OPT_NO_NEW_PRIVS,
  OPT_APPARMOR,
  OPT_PROCESS_LABEL,
  OPT_PRESERVE_FDS,
  OPT_NO_SUBREAPER,
  OPT_IGNORE_PAUSED,
};

static const struct option exec_options[] = {
  { "process", required_argument, NULL, OPT_PROCESS },
  { "tty", no_argument, NULL, OPT_TTY },
  { "detach", no_argument, NULL, OPT_DETACH },
  { "env", required_argument, NULL, OPT_ENV },
  { "user", required_argument, NULL, OPT_USER },
  { "cap", required_argument, NULL, OPT_CAP },
  { "additional-gids", required_argument, NULL, OPT_ADDITIONAL_GID },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
  { "apparmor", required_argument, NULL, OPT_APPARMOR },
  { "process-label", required_argument, NULL, OPT_PROCESS_LABEL },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
  { "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
  { NULL, 0, NULL, 0 },
};

/* What the command line says about the process, applied over config.json's. */
struct exec_flags
{
  const char *process_file;
  const char *cwd;
  const char *user;
  const char *apparmor;
  const char *process_label;
  bool tty;
  bool no_new_privs;
  json_t *env;   /* strings appended to process.env */
  json_t *caps;  /* names added to the capability sets */
  json_t *gids;  /* process.user.additionalGids */
};

static int
parse_id (const char *s, const char *what, json_int_t *out, err_t *err)
{
  char *end = NULL;
  long long v;

  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 0xFFFFFFFFLL)
    return make_error (err, 0, "parsing `%s` as int for %s failed", s, what);
  *out = (json_int_t) v;
  return 0;
}

static int
apply_user (json_t *process, const char *spec, err_t *err)
{
  cleanup_free char *copy = strdup (spec);
  json_t *user = json_object_get (process, "user");
  char *colon;
  json_int_t id;

  if (copy == NULL)
    return make_error (err, ENOMEM, "--user");
  if (!json_is_object (user))
    {
      user = json_object ();
      json_object_set_new (process, "user", user);
    }
  colon = strchr (copy, ':');
  if (colon != NULL)
    {
      *colon = '\0';
      if (parse_id (colon + 1, "gid", &id, err) < 0)
        return -1;
      json_object_set_new (user, "gid", json_integer (id));
    }
  if (parse_id (copy, "uid", &id, err) < 0)
    return -1;
  json_object_set_new (user, "uid", json_integer (id));
  return 0;
}

/* runc 1.1 adds --cap to the bounding, effective, permitted and ambient sets (not to the
 * inheritable set: CVE-2022-29162). */
static void
add_caps (json_t *process, json_t *names)
{
  static const char *const sets[] = { "bounding", "effective", "permitted", "ambient" };
  json_t *caps = json_object_get (process, "capabilities");
  size_t i;

  if (json_array_size (names) == 0)
    return;
  if (!json_is_object (caps))
    {
      caps = json_object ();
      json_object_set_new (process, "capabilities", caps);
    }
  for (i = 0; i < sizeof (sets) / sizeof (sets[0]); i++)
    {
      json_t *set = json_object_get (caps, sets[i]);
      if (!json_is_array (set))
        {
          set = json_array ();
          json_object_set_new (caps, sets[i], set);
        }
      json_array_extend (set, names);
    }
}

static json_t *
process_from_flags (const struct container *c, const struct exec_flags *f, int argc, char **argv, err_t *err)
{
  json_t *process = json_deep_copy (json_object_get (c->spec, "process"));
  json_t *args = json_array ();
  json_t *env;
  int i;

  if (process == NULL || args == NULL)
    {
      json_decref (process);
      json_decref (args);
      make_error (err, ENOMEM, "exec: process");
      return NULL;
    }
  for (i = 0; i < argc; i++)
    json_array_append_new (args, json_string (argv[i]));
  json_object_set_new (process, "args", args);
  if (f->cwd)
    json_object_set_new (process, "cwd", json_string (f->cwd));
  if (f->apparmor)
    json_object_set_new (process, "apparmorProfile", json_string (f->apparmor));
  if (f->process_label)
    json_object_set_new (process, "selinuxLabel", json_string (f->process_label));
  env = json_object_get (process, "env");
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (process, "env", env);
    }
  json_array_extend (env, f->env);
  /* The init's terminal is the init's: an exec gets one only when it asks. */
  json_object_set_new (process, "terminal", json_boolean (f->tty));
  if (f->no_new_privs)
    json_object_set_new (process, "noNewPrivileges", json_true ());
  if (f->user && apply_user (process, f->user, err) < 0)
    {
      json_decref (process);
      return NULL;
    }
  if (json_array_size (f->gids) > 0)
    {
      json_t *user = json_object_get (process, "user");
      if (!json_is_object (user))
        {
          user = json_object ();
          json_object_set_new (process, "user", user);
        }
      json_object_set (user, "additionalGids", f->gids);
    }
  add_caps (process, f->caps);
  return process;
}

static json_t *
process_from_file (const char *path, err_t *err)
{
  json_error_t jerr;
  json_t *process = json_load_file (path, 0, &jerr);

  if (process == NULL)
    {
      make_error (err, 0, "--process `%s`: %s", path, jerr.text);
      return NULL;
    }
  if (!json_is_object (process))
    {
      json_decref (process);
      make_error (err, 0, "--process `%s`: not a JSON object", path);
      return NULL;
    }
  return process;
}

static int
validate_process (json_t *process, err_t *err)
{
  json_t *args = json_object_get (process, "args");
  const char *cwd = spec_string (process, "cwd");

  if (!json_is_array (args) || json_array_size (args) == 0)
    return make_error (err, 0, "exec: args must not be empty");
  if (cwd == NULL || cwd[0] != '/')
    return make_error (err, 0, "exec: cwd must be an absolute path");
  return 0;
}

static void
exec_flags_release (struct exec_flags *f)
{
  json_decref (f->env);
  json_decref (f->caps);
  json_decref (f->gids);
}

int
cmd_exec (struct global_opts *g, int argc, char **argv, err_t *err)
{
  __attribute__ ((cleanup (exec_flags_release))) struct exec_flags f
      = { .env = json_array (), .caps = json_array (), .gids = json_array () };
  cleanup_container struct container c = { 0 };
  struct exec_opts o = { 0 };
  json_t *process = NULL;
  json_int_t gid;
  int opt, ret, status = 0;

  /* "+": options end at the container id; what follows is the command and its own options. */
  while ((opt = getopt_long (argc, argv, "+p:tde:u:c:g:", exec_options, NULL)) != -1)
    switch (opt)
      {
      case OPT_PROCESS:
        f.process_file = optarg;
        break;
      case OPT_TTY:
        f.tty = true;
        break;
      case OPT_DETACH:
        o.detach = true;
        break;
      case OPT_ENV:
        json_array_append_new (f.env, json_string (optarg));
        break;
      case OPT_USER:
        f.user = optarg;
        break;
      case OPT_CAP:
        json_array_append_new (f.caps, json_string (optarg));
        break;
      case OPT_ADDITIONAL_GID:
        if (parse_id (optarg, "additional gid", &gid, err) < 0)
          return -1;
        json_array_append_new (f.gids, json_integer (gid));
        break;
      case OPT_PID_FILE:
        o.pid_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        o.console_socket = optarg;
        break;
      case OPT_CWD:
        f.cwd = optarg;
        break;
      case OPT_NO_NEW_PRIVS:
        f.no_new_privs = true;
        break;
      case OPT_APPARMOR:
        f.apparmor = optarg;
        break;
      case OPT_PROCESS_LABEL:
        f.process_label = optarg;
        break;
      case OPT_PRESERVE_FDS:
        if (strcmp (optarg, "0") != 0)
          return make_error (err, ENOTSUP, "--preserve-fds is not supported");
        break;
      case OPT_NO_SUBREAPER:
      case OPT_IGNORE_PAUSED:
        /* No subreaper is used, and containers are never paused. */
        break;
      default:
        return make_error (err, 0, "exec: invalid option");
      }
  if (optind >= argc)
    return make_error (err, 0, "usage: berth-runtime exec [options] ID [COMMAND [ARGS...]]");
  if (f.process_file == NULL && optind + 1 >= argc)
    return make_error (err, 0, "exec: a command or --process is required");

  ret = container_load (g, argv[optind], &c, err);
  if (ret < 0)
    return ret;
  process = f.process_file ? process_from_file (f.process_file, err)
                           : process_from_flags (&c, &f, argc - optind - 1, argv + optind + 1, err);
  if (process == NULL)
    return -1;
  ret = validate_process (process, err);
  if (ret >= 0)
    ret = container_exec (&c, process, &o, &status, err);
  json_decref (process);
  if (ret < 0)
    return ret;
  if (!o.detach)
    exit (status);
  return 0;
}
