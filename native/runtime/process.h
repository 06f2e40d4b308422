/* config.json "process": the credentials, limits and environment the init applies to itself
 * before it becomes the container's process. */
#ifndef BERTH_PROCESS_H
#define BERTH_PROCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "seccomp.h"

extern const char *const cap_names[];
int cap_last (void);

/* Parses the five capability sets; unknown names are an error, capabilities this kernel does
 * not have are dropped with a warning (as runc does). */
struct cap_sets
{
  uint64_t bounding, effective, permitted, inheritable, ambient;
};
int parse_capabilities (json_t *caps, struct cap_sets *out, err_t *err);

int apply_rlimits (json_t *process, err_t *err);
int apply_oom_score_adj (json_t *process, err_t *err);
int check_lsm (json_t *process, err_t *err);
/* Drops the bounding set, switches to the user and group (keeping capabilities across the
 * switch), then sets the effective, permitted, inheritable and ambient sets. */
int apply_user_and_capabilities (json_t *process, err_t *err);
int apply_no_new_privileges (json_t *process, err_t *err);

/* The last steps before execve (runtime-spec config.md "process"): noNewPrivileges, the
 * seccomp filter when noNewPrivileges is off (it needs CAP_SYS_ADMIN then), the user and
 * capabilities, cwd (entered as the user) and umask (default 0022). */
int process_finalize (json_t *process, scmp_filter_ctx seccomp, err_t *err);
/* Immediately before execve: the seccomp filter when noNewPrivileges is on. */
int process_seccomp_last (json_t *process, scmp_filter_ctx seccomp, err_t *err);

/* Marks every descriptor above stdio close-on-exec. */
int close_fds_on_exec (err_t *err);

/* The environment as a NULL-terminated vector; adds HOME from the container's /etc/passwd
 * when it is not set (runc does, so do many images' expectations). */
int build_env (json_t *process, char ***env, err_t *err);
void free_env (char **env);
/* Finds args[0] the way execvp would, with the PATH of the container's environment. */
int find_executable (const char *name, char **env, char **out, err_t *err);

/* What execve needs, gathered by process_prepare, so that the container's init and an exec'd
 * process become their process the same way. */
struct exec_prep
{
  char *exe;
  const char **args;
  char **env;
  scmp_filter_ctx seccomp;
};
void exec_prep_release (struct exec_prep *p);
#define cleanup_exec_prep __attribute__ ((cleanup (exec_prep_release)))

/* Everything before the last step: the terminal on console_fd (closed after), rlimits,
 * oomScoreAdj when `oom_score` (the init's; an exec'd process inherits it), the LSM check, the
 * environment, args and the executable in the container's PATH, the container's seccomp filter
 * (it applies to every process in the container, as with runc), descriptors close-on-exec, then
 * process_finalize. */
int process_prepare (json_t *process, json_t *spec, int console_fd, bool oom_score, struct exec_prep *p,
                     err_t *err);
/* The seccomp filter when it comes last, then execve: returns only on failure. */
int process_exec (json_t *process, struct exec_prep *p, err_t *err);

#endif
