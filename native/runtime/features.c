#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "cmd-common.h"
#include "mounts.h"
#include "namespaces.h"
#include "process.h"

/* The runtime-spec "features" document (features.md): only what is implemented. */
int
cmd_features (struct global_opts *g, int argc, char **argv, err_t *err)
{
  json_t *out = json_object ();
  json_t *linux_ = json_object ();
  json_t *namespaces = json_array ();
  json_t *caps = json_array ();
  json_t *mount_opts = json_array ();
  const struct ns_type *t;
  const struct mount_option *m;
  const struct recursive_option *r;
  int c;

  (void) g;
  while (getopt (argc, argv, "") != -1)
    return make_error (err, 0, "features: invalid option");
  for (t = ns_types; t->name; t++)
    json_array_append_new (namespaces, json_string (t->name));
  for (c = 0; cap_names[c]; c++)
    json_array_append_new (caps, json_string (cap_names[c]));
  for (m = mount_options; m->name; m++)
    json_array_append_new (mount_opts, json_string (m->name));
  for (r = recursive_options; r->name; r++)
    json_array_append_new (mount_opts, json_string (r->name));

  json_object_set_new (out, "ociVersionMin", json_string ("1.0.0"));
  json_object_set_new (out, "ociVersionMax", json_string (OCI_VERSION));
  json_object_set_new (out, "hooks", json_pack ("[s,s,s,s,s,s]", "prestart", "createRuntime", "createContainer",
                                                "startContainer", "poststart", "poststop"));
  json_object_set_new (out, "mountOptions", mount_opts);
  json_object_set_new (linux_, "namespaces", namespaces);
  json_object_set_new (linux_, "capabilities", caps);
  json_object_set_new (linux_, "cgroup", json_pack ("{s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0));
  json_object_set_new (linux_, "seccomp",
                       json_pack ("{s:b, s:[s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s], s:[s,s,s], s:[s,s,s]}", "enabled", 1,
                                  "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                  "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
                                  "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                  "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "knownFlags",
                                  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                  "supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
  json_object_set_new (linux_, "apparmor", json_pack ("{s:b}", "enabled", 1));
  json_object_set_new (linux_, "selinux", json_pack ("{s:b}", "enabled", 1));
  json_object_set_new (out, "linux", linux_);
  json_dumpf (out, stdout, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
  fputc ('\n', stdout);
  json_decref (out);
  return 0;
}
