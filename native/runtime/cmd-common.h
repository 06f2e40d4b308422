/* Helpers shared by the command files. */
#ifndef BERTH_CMD_COMMON_H
#define BERTH_CMD_COMMON_H

#include "runtime.h"

/* After getopt: exactly `want` positional arguments, or an error naming the command. */
int expect_args (int argc, char **argv, int want, const char *usage, err_t *err);

#endif
