#ifndef BERTH_SIGNALS_H
#define BERTH_SIGNALS_H

#include "error.h"

/* "KILL", "SIGKILL", "kill", "9" -> 9 (runc accepts all of these forms). */
int parse_signal (const char *s, err_t *err);

#endif
