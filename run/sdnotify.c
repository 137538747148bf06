/*
 * sdnotify.c -- the service manager's readiness protocol (sd_notify(3)): a datagram to the
 * AF_UNIX socket in $NOTIFY_SOCKET.  Written here rather than linked from libsystemd so the
 * command has no dependency a plain install without systemd would not need.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "provost/sdnotify.h"

/* What $NOTIFY_SOCKET said, read once: the address is kept so that a signal handler can
 * send without calling getenv, which is not async-signal-safe. */
static int sdn_state = -2; /* -2 not read yet, -1 unusable, 0 none, 1 an address */
static int sdn_errno;
static struct sockaddr_un sdn_addr;
static socklen_t sdn_len;

int provost_notify_init(void)
{
    if (sdn_state != -2)
        goto out;
    const char *e = getenv("NOTIFY_SOCKET");
    size_t n = e ? strlen(e) : 0;
    sdn_state = 0;
    if (n == 0)
        goto out;
    /* a path, or an abstract name written with a leading '@' for the leading NUL; no other
       form (vsock) is spoken here */
    if ((e[0] != '/' && e[0] != '@') || n >= sizeof sdn_addr.sun_path) {
        sdn_state = -1;
        sdn_errno = e[0] != '/' && e[0] != '@' ? EAFNOSUPPORT : ENAMETOOLONG;
        goto out;
    }
    memset(&sdn_addr, 0, sizeof sdn_addr);
    sdn_addr.sun_family = AF_UNIX;
    memcpy(sdn_addr.sun_path, e, n);
    if (e[0] == '@')
        sdn_addr.sun_path[0] = '\0';
    /* an abstract name is exactly its bytes long: no terminating NUL belongs to it */
    sdn_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
    sdn_state = 1;
out:
    if (sdn_state < 0)
        errno = sdn_errno;
    return sdn_state;
}

int provost_notify(const char *state)
{
    int r = provost_notify_init();
    if (r <= 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sdn_addr, sdn_len);
    int saved = errno;
    close(fd);
    if (sent < 0) {
        errno = saved;
        return -1;
    }
    return 1;
}
