/* notify: systemd's readiness protocol (sd_notify) without libsystemd: one
 * datagram to the unix socket $NOTIFY_SOCKET names ("READY=1",
 * "STOPPING=1"). Nothing happens when the variable is unset. */
#ifndef MEMG_NOTIFY_H
#define MEMG_NOTIFY_H

#include <stdbool.h>

/* Send state (e.g. "READY=1"); false when it could not be delivered. */
bool notify_systemd(const char *state);

#endif
