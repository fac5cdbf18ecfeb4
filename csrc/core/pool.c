#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "json.h"
#include "fork.h"
#include "http.h"

typedef struct {
    acs_pool *pool;
    acs_http *http;
    acs_json_parser *json;      /* this worker's, kept across its calls */
    pthread_t thread;
    int started;
} acs_worker;

struct acs_pool {
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t work;      /* a task was queued, or shutdown */
    pthread_cond_t room;      /* a task left the queue */
    acs_task *head, *tail;    /* the bounded queue; linked through prev/next */
    size_t queued, max_queue;
    acs_task *delayed;        /* waiting to retry, sorted by retry_at; linked through prev/next */
    int closed, joined;
    int exiting;              /* set by join: workers leave once nothing is left */
    acs_counter *undelivered; /* submitted and not yet delivered to Lua */
    acs_task **running;       /* per worker: the task it runs, or NULL */
    acs_worker *workers;
    int nworkers;
    int generation;           /* fork generation that started the workers */
    acs_notify *done;
};

static void unlink_task(acs_pool *p, acs_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        p->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        p->tail = t->prev;
    t->prev = t->next = NULL;
    p->queued--;
}

static void unlink_delayed(acs_pool *p, acs_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        p->delayed = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void insert_delayed(acs_pool *p, acs_task *t)
{
    acs_task **at = &p->delayed, *prev = NULL;
    while (*at && (*at)->retry_at <= t->retry_at) {
        prev = *at;
        at = &(*at)->next;
    }
    t->prev = prev;
    t->next = *at;
    if (*at)
        (*at)->prev = t;
    *at = t;
    t->state = ACS_TASK_DELAYED;
}

static struct timespec monotonic_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double abs = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (seconds > 0 ? seconds : 0);
    ts.tv_sec = (time_t)abs;
    ts.tv_nsec = (long)((abs - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    return ts;
}

/* The next task for a worker, waiting as needed; NULL once closed with nothing left. Due
 * retries go first; a worker with nothing due sleeps until the earliest one. */
static acs_task *next_task(acs_pool *p)
{
    for (;;) {
        if (p->delayed && p->delayed->retry_at <= acs_now()) {
            acs_task *t = p->delayed;
            unlink_delayed(p, t);
            return t;
        }
        if (p->head) {
            acs_task *t = p->head;
            unlink_task(p, t);
            pthread_cond_signal(&p->room);
            return t;
        }
        /* A shut-down pool's idle workers stay parked until join: threads that exit on their
         * own could race the process's exit() in OpenSSL's clean-up. */
        if (p->exiting && !p->delayed)
            return NULL;
        if (p->delayed) {
            struct timespec ts = monotonic_after(p->delayed->retry_at - acs_now());
            pthread_cond_timedwait(&p->work, &p->lock, &ts);
        } else {
            pthread_cond_wait(&p->work, &p->lock);
        }
    }
}

/* Finishes a task that never ran; called with the lock held. Drops the queue's reference
 * by handing it to the completion queue. */
static void complete_unrun(acs_pool *p, acs_task *t, acs_error e, const char *msg)
{
    acs_result_fail(&t->res, e, "%s", msg);
    t->res.total_s = acs_now() - t->submitted_at;
    t->state = ACS_TASK_DONE;
    acs_notify_push(p->done, t);
}

static void *worker_main(void *arg)
{
    acs_worker *w = arg;
    acs_pool *p = w->pool;
    int index = (int)(w - p->workers);
    acs_json_use_parser(w->json);
    pthread_mutex_lock(&p->lock);
    acs_task *t;
    while ((t = next_task(p)) != NULL) {
        t->state = ACS_TASK_RUNNING;
        t->http = w->http;
        p->running[index] = t;
        pthread_mutex_unlock(&p->lock);

        double retry_in = 0;
        int done = acs_exec_attempt(w->http, t, &retry_in);

        pthread_mutex_lock(&p->lock);
        p->running[index] = NULL;
        t->http = NULL;
        if (!done && atomic_load(&t->cancelled)) {
            acs_result_fail(&t->res, ACS_E_CANCELLED, "the call was cancelled");
            t->res.total_s = acs_now() - t->submitted_at;
            done = 1;
        }
        if (done) {
            t->state = ACS_TASK_DONE;
            /* Linked under the pool's lock, which this worker keeps to take its next task
             * (one lock per call: with 32 workers a second one was contended); the pipe's
             * byte, when one is due, is written outside it, a system call the submitting
             * thread and the other workers should not wait for. */
            if (acs_notify_link(p->done, t)) { /* hands over the queue's reference */
                pthread_mutex_unlock(&p->lock);
                acs_notify_signal(p->done);
                pthread_mutex_lock(&p->lock);
            }
        } else {
            t->retry_at = acs_now() + retry_in;
            insert_delayed(p, t);
            pthread_cond_broadcast(&p->work); /* sleepers recompute their wake-up time */
        }
    }
    pthread_mutex_unlock(&p->lock);
    acs_json_use_parser(NULL);
    return NULL;
}

static void free_pool(acs_pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        acs_http_free(p->workers[i].http);
        acs_json_parser_free(p->workers[i].json);
    }
    free(p->workers);
    free(p->running);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->room);
    pthread_mutex_destroy(&p->lock);
    acs_notify_release(p->done);
    acs_counter_release(p->undelivered);
    free(p);
}

acs_pool *acs_pool_new(acs_notify *done, int workers, size_t max_queue, char *err, size_t errlen)
{
    if (workers < 1 || max_queue < 1) {
        snprintf(err, errlen, "pool_size and max_task_queue_size must be at least 1");
        return NULL;
    }
    acs_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work, &attr);
    pthread_cond_init(&p->room, &attr);
    pthread_condattr_destroy(&attr);
    p->max_queue = max_queue;
    p->generation = acs_fork_generation();
    p->undelivered = calloc(1, sizeof *p->undelivered);
    p->done = done;
    acs_notify_retain(done);
    if (p->undelivered)
        atomic_init(&p->undelivered->refs, 1);
    p->workers = calloc((size_t)workers, sizeof *p->workers);
    p->running = calloc((size_t)workers, sizeof *p->running);
    if (!p->workers || !p->running || !p->undelivered) {
        snprintf(err, errlen, "out of memory");
        free_pool(p);
        return NULL;
    }
    p->nworkers = workers;
    for (int i = 0; i < workers; i++) {
        p->workers[i].pool = p;
        if (!(p->workers[i].http = acs_http_new(err, errlen)))
            goto fail;
        p->workers[i].json = acs_json_parser_new(); /* NULL: a parser per call instead */
    }
    for (int i = 0; i < workers; i++) {
        int rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            goto fail;
        }
        p->workers[i].started = 1;
    }
    return p;
fail:
    acs_pool_shutdown(p, ACS_SHUTDOWN_CANCEL);
    free_pool(p);
    return NULL;
}

void acs_pool_retain(acs_pool *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void acs_pool_release(acs_pool *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* A forked child holds a copy of its parent's pool: no threads, and locks that may have
     * been held at fork time. It is left alone (the child gets a fresh pool). */
    if (acs_pool_forked(p))
        return;
    /* The last reference: nobody can observe the work any more. */
    acs_pool_shutdown(p, ACS_SHUTDOWN_CANCEL);
    free_pool(p);
}

acs_submit_status acs_pool_submit(acs_pool *p, acs_task *t, double wait)
{
    pthread_mutex_lock(&p->lock);
    if (!p->closed && p->queued >= p->max_queue && wait > 0) {
        struct timespec ts = monotonic_after(wait);
        while (!p->closed && p->queued >= p->max_queue)
            if (pthread_cond_timedwait(&p->room, &p->lock, &ts) == ETIMEDOUT)
                break;
    }
    acs_submit_status st = ACS_SUBMIT_OK;
    if (p->closed)
        st = ACS_SUBMIT_CLOSED;
    else if (p->queued >= p->max_queue)
        st = ACS_SUBMIT_FULL;
    if (st == ACS_SUBMIT_OK) {
        acs_task_retain(t);
        atomic_fetch_add(&p->undelivered->refs, 1);
        atomic_fetch_add(&p->undelivered->value, 1);
        t->undelivered = p->undelivered;
        t->state = ACS_TASK_QUEUED;
        t->prev = p->tail;
        t->next = NULL;
        if (p->tail)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        p->queued++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

int acs_pool_cancel(acs_pool *p, acs_task *t)
{
    pthread_mutex_lock(&p->lock);
    int pending = t->state == ACS_TASK_QUEUED || t->state == ACS_TASK_RUNNING ||
                  t->state == ACS_TASK_DELAYED;
    atomic_store(&t->cancelled, 1);
    if (t->state == ACS_TASK_QUEUED) {
        unlink_task(p, t);
        pthread_cond_signal(&p->room);
        complete_unrun(p, t, ACS_E_CANCELLED, "the call was cancelled before it started");
    } else if (t->state == ACS_TASK_DELAYED) {
        unlink_delayed(p, t);
        complete_unrun(p, t, ACS_E_CANCELLED, "the call was cancelled while waiting to retry");
    } else if (t->state == ACS_TASK_RUNNING && t->http) {
        acs_http_wakeup(t->http);
    }
    pthread_mutex_unlock(&p->lock);
    return pending;
}

void acs_pool_shutdown(acs_pool *p, acs_shutdown_mode mode)
{
    pthread_mutex_lock(&p->lock);
    p->closed = 1;
    if (mode == ACS_SHUTDOWN_CANCEL) {
        while (p->head) {
            acs_task *t = p->head;
            atomic_store(&t->cancelled, 1);
            unlink_task(p, t);
            complete_unrun(p, t, ACS_E_CANCELLED, "the client was shut down before the call ran");
        }
        while (p->delayed) {
            acs_task *t = p->delayed;
            atomic_store(&t->cancelled, 1);
            unlink_delayed(p, t);
            complete_unrun(p, t, ACS_E_CANCELLED, "the client was shut down while the call "
                                                  "waited to retry");
        }
        for (int i = 0; i < p->nworkers; i++) {
            if (p->running[i]) {
                atomic_store(&p->running[i]->cancelled, 1);
                acs_http_wakeup(p->workers[i].http);
            }
        }
    }
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->room);
    pthread_mutex_unlock(&p->lock);
    if (mode == ACS_SHUTDOWN_CANCEL)
        acs_pool_join(p);
}

void acs_pool_join(acs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int already = p->joined;
    p->joined = 1;
    p->closed = 1;
    p->exiting = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    if (already || acs_pool_forked(p))
        return; /* threads do not survive fork(): the child has none to join */
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
}

int acs_pool_is_closed(acs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int c = p->closed;
    pthread_mutex_unlock(&p->lock);
    return c;
}

size_t acs_pool_queued(acs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->queued;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int acs_pool_forked(const acs_pool *p)
{
    return p->generation != acs_fork_generation();
}

size_t acs_pool_undelivered(const acs_pool *p)
{
    int v = atomic_load_explicit(&p->undelivered->value, memory_order_relaxed);
    return v > 0 ? (size_t)v : 0;
}
