#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "notify.h"

#include "fork.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Workers push without a lock: a finished task goes onto `incoming`, a stack the Lua thread
 * takes whole with one exchange and turns into the FIFO `ready`. (A lock here was held across
 * the pipe's write and read, and workers and the Lua thread waited for each other on it.)
 *
 * The pipe's bytes are counted so that the read end is readable while something waits, and
 * not once a delivery has taken everything: the push that finds `incoming` empty writes one byte,
 * and so does a wake-up; the Lua thread owes one byte for every batch it takes and every
 * wake-up, and reads what it owes once it has delivered them. */
struct acs_notify {
    atomic_int refs;
    _Atomic(acs_task *) incoming; /* newest first, linked through task->next */
    acs_task *ready, *ready_tail; /* the Lua thread's, oldest first */
    int owed;                     /* the Lua thread's: bytes it must still read */
    int woken;                    /* the Lua thread's: a wake-up byte is counted in owed */
    int fds[2];                   /* [0] read, [1] write; both non-blocking, close-on-exec */
    int generation;               /* fork generation at creation: a forked child leaves it alone */
    _Atomic int signal_fd;        /* -1, or a socket that gets every byte too (wake.h) */
};

acs_notify *acs_notify_new(char *err, size_t errlen)
{
    acs_notify *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pipe2(n->fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create the completion pipe: %s", strerror(errno));
        free(n);
        return NULL;
    }
    atomic_init(&n->refs, 1);
    atomic_init(&n->incoming, NULL);
    atomic_init(&n->signal_fd, -1);
    n->generation = acs_fork_generation();
    return n;
}

void acs_notify_retain(acs_notify *n)
{
    atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

static void release_list(acs_task *t)
{
    for (acs_task *next; t; t = next) {
        next = t->next;
        acs_task_release(t);
    }
}

void acs_notify_release(acs_notify *n)
{
    if (!n || atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (acs_notify_forked(n))
        return; /* a forked child's copy: its parent's threads may be mid-push */
    release_list(atomic_load_explicit(&n->incoming, memory_order_acquire));
    release_list(n->ready);
    close(n->fds[0]);
    close(n->fds[1]);
    if (atomic_load(&n->signal_fd) >= 0)
        close(atomic_load(&n->signal_fd));
    free(n);
}

int acs_notify_forked(const acs_notify *n)
{
    return n->generation != acs_fork_generation();
}

int acs_notify_fd(const acs_notify *n)
{
    return n->fds[0];
}

/* 1 when the `count` bytes are in the pipe. It cannot be full: it holds a byte for each batch
 * not yet taken (one, or a few from one hand-back), and the bytes the Lua thread owes, which
 * it reads before they reach 64. The signal socket is a nudge: one byte wakes its reader. */
static int write_bytes(acs_notify *n, int count)
{
    static const char bytes[64] = {1};
    int left = count;
    while (left > 0) {
        size_t len = left < (int)sizeof bytes ? (size_t)left : sizeof bytes;
        ssize_t w = write(n->fds[1], bytes, len);
        if (w > 0)
            left -= (int)w;
        else if (!(w < 0 && errno == EINTR))
            break;
    }
    int s = atomic_load_explicit(&n->signal_fd, memory_order_acquire);
    if (s >= 0) /* full: the peer has bytes to read already; closed: nobody listens */
        (void)!send(s, bytes, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    return left == 0;
}

int acs_notify_signal_fd(const acs_notify *n)
{
    return atomic_load_explicit(&n->signal_fd, memory_order_acquire);
}

void acs_notify_set_signal_fd(acs_notify *n, int fd)
{
    atomic_store_explicit(&n->signal_fd, fd, memory_order_release);
}

/* Reads the bytes the Lua thread owes that are there. One still being written (by a worker
 * between its push and its write) stays owed: when it lands, the fd is readable with nothing
 * to deliver, a spurious wake-up, and the next pop that finds nothing reads it. Never waits. */
static void read_owed(acs_notify *n)
{
    char sink[64];
    while (n->owed > 0) {
        size_t want = n->owed < (int)sizeof sink ? (size_t)n->owed : sizeof sink;
        ssize_t r = read(n->fds[0], sink, want);
        if (r > 0)
            n->owed -= (int)r;
        else if (!(r < 0 && errno == EINTR))
            break; /* EAGAIN: the rest is on its way */
    }
    n->woken = 0;
}

int acs_notify_link(acs_notify *n, acs_task *t)
{
    t->prev = NULL;
    acs_task *old = atomic_load_explicit(&n->incoming, memory_order_relaxed);
    do
        t->next = old;
    while (!atomic_compare_exchange_weak_explicit(&n->incoming, &old, t, memory_order_release,
                                                  memory_order_relaxed));
    return old == NULL;
}

void acs_notify_signal(acs_notify *n, int count)
{
    if (count > 0)
        write_bytes(n, count);
}

void acs_notify_push(acs_notify *n, acs_task *t)
{
    acs_notify_signal(n, acs_notify_link(n, t));
}

/* Takes everything pushed so far and appends it, oldest first, to ready. */
static void take_incoming(acs_notify *n)
{
    acs_task *t = atomic_exchange_explicit(&n->incoming, NULL, memory_order_acquire);
    if (!t)
        return;
    n->owed++;
    acs_task *first = NULL, *last = t;
    while (t) { /* reverse: the stack is newest first */
        acs_task *next = t->next;
        t->next = first;
        first = t;
        t = next;
    }
    if (n->ready_tail)
        n->ready_tail->next = first;
    else
        n->ready = first;
    n->ready_tail = last;
}

size_t acs_notify_pop(acs_notify *n, acs_task **out, size_t max)
{
    if (!n->ready)
        take_incoming(n);
    size_t k = 0;
    while (k < max && n->ready) {
        acs_task *t = n->ready;
        n->ready = t->next;
        t->next = NULL;
        if (t->undelivered)
            atomic_fetch_sub(&t->undelivered->value, 1);
        out[k++] = t;
    }
    if (!n->ready)
        n->ready_tail = NULL;
    /* Nothing taken is left: read the bytes owed (what is still in `incoming` has a byte of
     * its own). A pop that returns fewer than max is followed by another, which reads them,
     * so a delivery of several batches reads the pipe once; 64 bound what waits there. */
    if (!n->ready && (k == 0 || k == max || n->owed >= 64))
        read_owed(n);
    return k;
}

void acs_notify_wake(acs_notify *n)
{
    if (!n->woken && write_bytes(n, 1)) {
        n->woken = 1;
        n->owed++;
    }
}

int acs_notify_wait(acs_notify *n, double timeout)
{
    struct pollfd p = {.fd = n->fds[0], .events = POLLIN};
    int ms = timeout < 0 ? -1 : (int)(timeout * 1000.0 + 0.999);
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}
