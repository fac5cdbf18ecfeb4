#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, struct ucred */
#endif
#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct acs_wake_listener {
    int fd;
    char dir[80];
    char path[96]; /* dir + "/wake": within sun_path's 108 */
};

static void unlink_paths(acs_wake_listener *w)
{
    if (w->path[0]) {
        unlink(w->path);
        w->path[0] = '\0';
    }
    if (w->dir[0]) {
        rmdir(w->dir);
        w->dir[0] = '\0';
    }
}

void acs_wake_close(acs_wake_listener *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink_paths(w);
    free(w);
}

acs_wake_listener *acs_wake_listen(char *err, size_t errlen)
{
    acs_wake_listener *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->fd = -1;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 60)
        tmp = "/tmp";
    snprintf(w->dir, sizeof w->dir, "%s/alicloud-wake-XXXXXX", tmp);
    if (!mkdtemp(w->dir)) {
        snprintf(err, errlen, "cannot create a directory in %s: %s", tmp, strerror(errno));
        w->dir[0] = '\0';
        acs_wake_close(w);
        return NULL;
    }
    snprintf(w->path, sizeof w->path, "%s/wake", w->dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, w->path, strlen(w->path) + 1);
    w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(w->fd, 4) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", w->path, strerror(errno));
        acs_wake_close(w); /* removes the path if bound, and the directory */
        return NULL;
    }
    return w;
}

const char *acs_wake_path(const acs_wake_listener *w)
{
    return w->path;
}

int acs_wake_accept(acs_wake_listener *w, acs_notify *n, char *err, size_t errlen)
{
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "no connection to accept on %s: %s", w->path, strerror(errno));
            return -1;
        }
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid != getpid()) {
            close(fd); /* another process (same user: the directory is 0700) */
            continue;
        }
        unlink_paths(w);
        int cur = acs_notify_signal_fd(n);
        if (cur < 0) {
            acs_notify_set_signal_fd(n, fd);
            return 0;
        }
        /* in place: a worker may be sending to `cur` right now, so it must stay a socket */
        int rc = dup3(fd, cur, O_CLOEXEC);
        int e = errno;
        close(fd);
        if (rc < 0) {
            snprintf(err, errlen, "cannot replace the wake-up socket: %s", strerror(e));
            return -1;
        }
        return 0;
    }
}

void acs_wake_shutdown(acs_notify *n)
{
    int fd = acs_notify_signal_fd(n);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}
