/* process.terminal: a pty from the container's devpts whose master goes to the listener on
 * --console-socket (runc's docs/terminals.md protocol: one SCM_RIGHTS message) and whose slave
 * becomes the process's controlling terminal and stdio. Shared by create's init and exec. */
#ifndef BERTH_TERMINAL_H
#define BERTH_TERMINAL_H

#include <jansson.h>

#include "error.h"

/* Connects to the console socket; the descriptor is close-on-exec. */
int console_socket_connect (const char *path, err_t *err);

/* In the container (after its mount namespace is in place and after setsid): opens the pty,
 * applies process.consoleSize, sends the master over console_fd and makes the slave stdio. */
int terminal_setup (json_t *process, int console_fd, err_t *err);

#endif
