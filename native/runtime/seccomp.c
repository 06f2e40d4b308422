#include "seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "spec.h"
#include "utils.h"

#define SYSCALL_MAX_ARGS 6

/* An action name and its errnoRet (or defaultErrnoRet) as a libseccomp action. */
static int
parse_action (const char *name, json_t *errno_ret, const char *where, uint32_t *out, err_t *err)
{
  /* runtime-spec: errnoRet defaults to EPERM, and an action that carries no errno with an
   * errnoRet is an error. */
  uint32_t ret = errno_ret ? (uint32_t) json_integer_value (errno_ret) : EPERM;
  bool takes_errno = false;

  if (name == NULL)
    return make_error (err, 0, "%s: an action is required", where);
  if (errno_ret != NULL && (!json_is_integer (errno_ret) || json_integer_value (errno_ret) < 0
                            || json_integer_value (errno_ret) > 0xffff))
    return make_error (err, 0, "%s: errnoRet must be an integer in [0, 65535]", where);
  if (strcmp (name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (name, "SCMP_ACT_ERRNO") == 0)
    {
      *out = SCMP_ACT_ERRNO (ret);
      takes_errno = true;
    }
  else if (strcmp (name, "SCMP_ACT_TRACE") == 0)
    {
      *out = SCMP_ACT_TRACE (ret);
      takes_errno = true;
    }
  else if (strcmp (name, "SCMP_ACT_KILL") == 0 || strcmp (name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (name, "SCMP_ACT_NOTIFY") == 0)
    return make_error (err, ENOTSUP, "%s: SCMP_ACT_NOTIFY (a seccomp agent on listenerPath) is not supported", where);
  else
    return make_error (err, 0, "%s: unknown action `%s`", where, name);
  if (errno_ret != NULL && !takes_errno)
    return make_error (err, 0, "%s: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE", where);
  return 0;
}

static int
parse_op (const char *name, enum scmp_compare *out)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  size_t i;

  for (i = 0; name && i < sizeof (ops) / sizeof (ops[0]); i++)
    if (strcmp (ops[i].name, name) == 0)
      {
        *out = ops[i].op;
        return 0;
      }
  return -1;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64". */
static int
add_architecture (scmp_filter_ctx ctx, const char *name, err_t *err)
{
  char lower[64];
  uint32_t arch;
  size_t i;
  int ret;

  if (name == NULL || strncmp (name, "SCMP_ARCH_", 10) != 0 || strlen (name + 10) >= sizeof (lower))
    return make_error (err, 0, "linux.seccomp.architectures: unknown architecture `%s`", name ? name : "");
  for (i = 0; name[10 + i]; i++)
    lower[i] = (char) tolower ((unsigned char) name[10 + i]);
  lower[i] = '\0';
  arch = seccomp_arch_resolve_name (lower);
  if (arch == 0)
    return make_error (err, 0, "linux.seccomp.architectures: unknown architecture `%s`", name);
  ret = seccomp_arch_add (ctx, arch);
  if (ret < 0 && ret != -EEXIST)
    return make_error (err, -ret, "linux.seccomp.architectures: add `%s`", name);
  return 0;
}

static int
set_flag (scmp_filter_ctx ctx, const char *flag, err_t *err)
{
  int ret;

  if (flag == NULL)
    return make_error (err, 0, "linux.seccomp.flags must be strings");
  /* The filter is loaded by a single-threaded process right before execve: nothing to sync. */
  if (strcmp (flag, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
    return 0;
  if (strcmp (flag, "SECCOMP_FILTER_FLAG_LOG") == 0)
    ret = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_LOG, 1);
  else if (strcmp (flag, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
    ret = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_SSB, 1);
  else
    return make_error (err, ENOTSUP, "linux.seccomp.flags: unknown flag `%s`", flag);
  if (ret < 0)
    return make_error (err, -ret, "linux.seccomp.flags: set `%s`", flag);
  return 0;
}

static int
parse_args (json_t *args, const char *where, struct scmp_arg_cmp *cmp, size_t *n, bool *shared_index, err_t *err)
{
  int per_index[SYSCALL_MAX_ARGS] = { 0 };
  size_t i;

  *n = 0;
  *shared_index = false;
  if (args != NULL && !json_is_array (args))
    return make_error (err, 0, "%s.args must be an array", where);
  if (json_array_size (args) > SYSCALL_MAX_ARGS)
    return make_error (err, 0, "%s.args: at most %d conditions", where, SYSCALL_MAX_ARGS);
  for (i = 0; i < json_array_size (args); i++)
    {
      json_t *a = json_array_get (args, i);
      json_t *index = json_object_get (a, "index");
      enum scmp_compare op;

      if (!json_is_integer (index) || json_integer_value (index) < 0 || json_integer_value (index) >= SYSCALL_MAX_ARGS)
        return make_error (err, 0, "%s.args[%zu].index must be in [0, %d)", where, i, SYSCALL_MAX_ARGS);
      if (parse_op (spec_string (a, "op"), &op) < 0)
        return make_error (err, 0, "%s.args[%zu]: unknown op `%s`", where, i, spec_string (a, "op") ? spec_string (a, "op") : "");
      cmp[i] = (struct scmp_arg_cmp){ .arg = (unsigned int) json_integer_value (index),
                                      .op = op,
                                      .datum_a = (scmp_datum_t) json_integer_value (json_object_get (a, "value")),
                                      .datum_b = (scmp_datum_t) json_integer_value (json_object_get (a, "valueTwo")) };
      if (++per_index[cmp[i].arg] > 1)
        *shared_index = true;
    }
  *n = json_array_size (args);
  return 0;
}

static int
add_rule (scmp_filter_ctx ctx, json_t *rule, size_t k, uint32_t default_action, err_t *err)
{
  char where[64];
  json_t *names = json_object_get (rule, "names");
  struct scmp_arg_cmp cmp[SYSCALL_MAX_ARGS];
  bool shared_index;
  uint32_t action;
  size_t i, j, n;
  int ret;

  snprintf (where, sizeof (where), "linux.seccomp.syscalls[%zu]", k);
  ret = parse_action (spec_string (rule, "action"), json_object_get (rule, "errnoRet"), where, &action, err);
  if (ret < 0)
    return ret;
  ret = parse_args (json_object_get (rule, "args"), where, cmp, &n, &shared_index, err);
  if (ret < 0)
    return ret;
  if (!json_is_array (names) || json_array_size (names) == 0)
    return make_error (err, 0, "%s.names must be a non-empty array", where);
  /* The same action as the default: redundant, and libseccomp refuses it. */
  if (action == default_action)
    return 0;
  for (i = 0; i < json_array_size (names); i++)
    {
      const char *name = json_string_value (json_array_get (names, i));
      int nr;

      if (name == NULL || *name == '\0')
        return make_error (err, 0, "%s.names[%zu] must be a syscall name", where, i);
      nr = seccomp_syscall_resolve_name (name);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not a syscall of this kernel's architecture: skipped, as runc does */
      if (!shared_index)
        ret = seccomp_rule_add_array (ctx, action, nr, (unsigned int) n, cmp);
      else
        /* Conditions on the same argument cannot be ANDed by libseccomp: like runc, each one
         * becomes a rule of its own. */
        for (j = 0, ret = 0; j < n && ret >= 0; j++)
          ret = seccomp_rule_add_array (ctx, action, nr, 1, &cmp[j]);
      if (ret < 0)
        return make_error (err, -ret, "%s: add the rule for `%s`", where, name);
    }
  return 0;
}

int
seccomp_profile_build (json_t *seccomp, scmp_filter_ctx *out, err_t *err)
{
  cleanup_seccomp scmp_filter_ctx ctx = NULL;
  json_t *list;
  uint32_t default_action;
  size_t i;
  int ret;

  *out = NULL;
  if (seccomp == NULL || json_is_null (seccomp))
    return 0;
  if (!json_is_object (seccomp))
    return make_error (err, 0, "linux.seccomp must be an object");
  ret = parse_action (spec_string (seccomp, "defaultAction"), json_object_get (seccomp, "defaultErrnoRet"),
                      "linux.seccomp.defaultAction", &default_action, err);
  if (ret < 0)
    return ret;
  ctx = seccomp_init (default_action);
  if (ctx == NULL)
    return make_error (err, EINVAL, "seccomp_init");
  /* no_new_privs is process.noNewPrivileges' business, not the filter's. */
  ret = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (ret < 0)
    return make_error (err, -ret, "seccomp: clear the no_new_privs attribute");

  list = json_object_get (seccomp, "architectures");
  for (i = 0; i < json_array_size (list); i++)
    if (add_architecture (ctx, json_string_value (json_array_get (list, i)), err) < 0)
      return -1;
  list = json_object_get (seccomp, "flags");
  for (i = 0; i < json_array_size (list); i++)
    if (set_flag (ctx, json_string_value (json_array_get (list, i)), err) < 0)
      return -1;
  list = json_object_get (seccomp, "syscalls");
  if (list != NULL && !json_is_array (list))
    return make_error (err, 0, "linux.seccomp.syscalls must be an array");
  for (i = 0; i < json_array_size (list); i++)
    if (add_rule (ctx, json_array_get (list, i), i, default_action, err) < 0)
      return -1;
  *out = steal_pointer (&ctx);
  return 0;
}

int
seccomp_profile_load (scmp_filter_ctx ctx, err_t *err)
{
  int ret;

  if (ctx == NULL)
    return 0;
  ret = seccomp_load (ctx);
  if (ret < 0)
    return make_error (err, -ret, "load the seccomp filter");
  return 0;
}

void
seccomp_profile_free (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
  *ctx = NULL;
}
