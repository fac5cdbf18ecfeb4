#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "notify.h"

#include "fork.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct acs_notify {
    atomic_int refs;
    pthread_mutex_t lock;
    acs_task *head, *tail;  /* linked through task->next */
    int fds[2];             /* [0] read, [1] write; both non-blocking, close-on-exec */
    int signalled;          /* a wake-up byte may be in the pipe (guarded by lock) */
    int generation;         /* fork generation at creation: a forked child leaves it alone */
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
    pthread_mutex_init(&n->lock, NULL);
    n->generation = acs_fork_generation();
    return n;
}

void acs_notify_retain(acs_notify *n)
{
    atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

void acs_notify_release(acs_notify *n)
{
    if (!n || atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (acs_notify_forked(n))
        return; /* a forked child's copy: its lock may be held forever */
    for (acs_task *t = n->head, *next; t; t = next) {
        next = t->next;
        acs_task_release(t);
    }
    close(n->fds[0]);
    close(n->fds[1]);
    pthread_mutex_destroy(&n->lock);
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

static void signal_pipe(acs_notify *n)
{
    const char byte = 1;
    ssize_t w;
    do
        w = write(n->fds[1], &byte, 1);
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, so a wake-up is already pending. */
    n->signalled = 1;
}

/* Reads only when a byte was written since the last drain, and stops at a short read (the
 * pipe had no more): a delivery costs one read, not two. */
static void drain_pipe(acs_notify *n)
{
    if (!n->signalled)
        return;
    char sink[256];
    ssize_t r;
    do
        r = read(n->fds[0], sink, sizeof sink);
    while (r == (ssize_t)sizeof sink || (r < 0 && errno == EINTR));
    n->signalled = 0;
}

void acs_notify_push(acs_notify *n, acs_task *t)
{
    t->next = t->prev = NULL;
    pthread_mutex_lock(&n->lock);
    int was_empty = n->head == NULL;
    if (n->tail)
        n->tail->next = t;
    else
        n->head = t;
    n->tail = t;
    if (was_empty)
        signal_pipe(n);
    pthread_mutex_unlock(&n->lock);
}

size_t acs_notify_pop(acs_notify *n, acs_task **out, size_t max)
{
    size_t k = 0;
    pthread_mutex_lock(&n->lock);
    while (k < max && n->head) {
        acs_task *t = n->head;
        n->head = t->next;
        t->next = NULL;
        if (t->undelivered)
            atomic_fetch_sub(&t->undelivered->value, 1);
        out[k++] = t;
    }
    if (!n->head) {
        n->tail = NULL;
        /* Under the lock, so a push cannot slip between the check and the drain. */
        drain_pipe(n);
    }
    pthread_mutex_unlock(&n->lock);
    return k;
}

void acs_notify_wake(acs_notify *n)
{
    pthread_mutex_lock(&n->lock);
    signal_pipe(n);
    pthread_mutex_unlock(&n->lock);
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
