/* linux.seccomp (runtime-spec config-linux.md "Seccomp") compiled with libseccomp. The filter
 * is built early, so that a bad profile fails create, and loaded as late as possible: right
 * before execve when noNewPrivileges is set, else before the capabilities are dropped (loading
 * without no_new_privs needs CAP_SYS_ADMIN). runc orders it the same way. */
#ifndef BERTH_SECCOMP_H
#define BERTH_SECCOMP_H

#include <jansson.h>
#include <seccomp.h>

#include "error.h"

/* *out is NULL when the spec has no linux.seccomp. Unknown syscall names are skipped (a newer
 * profile on an older kernel), as runc does; anything else the profile gets wrong is an error. */
int seccomp_profile_build (json_t *seccomp, scmp_filter_ctx *out, err_t *err);
int seccomp_profile_load (scmp_filter_ctx ctx, err_t *err);
void seccomp_profile_free (scmp_filter_ctx *ctx);
#define cleanup_seccomp __attribute__ ((cleanup (seccomp_profile_free)))

#endif
