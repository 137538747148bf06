/*
 * sdnotify.h -- telling the service manager that started a long-running command (systemd,
 * Type=notify) when it is ready and when it begins to stop, so that `systemctl start`
 * returns once the service serves and a stop is seen as one (docs/deploy.md).
 *
 * The protocol is sd_notify(3)'s: one datagram of "KEY=VALUE" lines sent to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).  Without
 * that variable nothing is sent and nothing fails: the same command runs by hand.
 */
#ifndef PROVOST_SDNOTIFY_H
#define PROVOST_SDNOTIFY_H

#ifdef __cplusplus
extern "C" {
#endif

/* Reads $NOTIFY_SOCKET once.  Call it from the main thread before any provost_notify from
 * a signal handler or another thread.  0 when no manager listens, 1 when one does, -1 when
 * the variable names no usable socket (errno says why). */
int provost_notify_init(void);

/* Sends STATE, e.g. "READY=1", "STOPPING=1" or "STATUS=recovering".  1 when sent, 0 when
 * no manager listens, -1 on failure (errno set).  After provost_notify_init it uses only
 * socket, sendto and close: safe from a signal handler and from any thread. */
int provost_notify(const char *state);

#ifdef __cplusplus
}
#endif
#endif
