#include "pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fork.h"
#include "http.h"
#include "json.h"
#include "ratelimit.h"

/* A pool thread: an engine carrying up to `capacity` of the pool's calls at once. */
typedef struct {
    acs_pool *pool;
    acs_engine *engine;
    acs_json_parser *json;      /* this thread's, kept across its calls */
    acs_task **taken;           /* capacity entries: the calls taken in one round */
    pthread_t thread;
    int started;
    int capacity;
    /* guarded by the pool's lock */
    int busy;                   /* calls taken and not yet handed back */
    int sleeping;               /* waiting in its engine with no call to start */
} acs_worker;

struct acs_pool {
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t room;      /* a task left the queue */
    acs_task *head, *tail;    /* the bounded queue; linked through prev/next */
    size_t queued, max_queue;
    acs_task *delayed;        /* waiting to retry, sorted by retry_at; linked through prev/next */
    acs_task *running;        /* attempts in flight on the engines; linked through prev/next */
    int closed, joined;
    int exiting;              /* set by join: threads leave once nothing is left */
    acs_counter *undelivered; /* submitted and not yet delivered to Lua */
    acs_worker *workers;
    int nworkers;
    int generation;           /* fork generation that started the threads */
    acs_notify *done;
    acs_pool *live_prev, *live_next; /* the process's live pools (see stop_all_at_exit) */
    int listed, stopped_at_exit;     /* guarded by live_lock */
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

static void link_running(acs_pool *p, acs_task *t)
{
    t->prev = NULL;
    t->next = p->running;
    if (p->running)
        p->running->prev = t;
    p->running = t;
}

static void unlink_running(acs_pool *p, acs_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        p->running = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

/* Wakes one thread that waits with room for a call: work was queued or came due. Called
 * with the lock held; a thread already awake looks at the queue before it waits again. */
static void wake_one(acs_pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        acs_worker *w = &p->workers[i];
        if (w->sleeping && w->busy < w->capacity) {
            w->sleeping = 0;
            acs_engine_wakeup(w->engine);
            return;
        }
    }
}

static void wake_all(acs_pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        if (p->workers[i].engine) {
            p->workers[i].sleeping = 0;
            acs_engine_wakeup(p->workers[i].engine);
        }
    }
}

/* The next call to start, or NULL: a due retry first, then the queue's head. */
static acs_task *next_task(acs_pool *p, double now)
{
    if (p->delayed && p->delayed->retry_at <= now) {
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
    return NULL;
}

/* Finishes a task that never ran; called with the lock held. Drops the queue's reference
 * by handing it to the completion queue. */
static void complete_unrun(acs_pool *p, acs_task *t, acs_error e, const char *msg)
{
    acs_result_fail(&t->res, e, "%s", msg);
    t->res.total_s = acs_now() - t->submitted_at;
    acs_ratelimit_forgo(t); /* a call cancelled while it waited for a token */
    t->state = ACS_TASK_DONE;
    acs_notify_push(p->done, t);
}

/* Takes what this thread has room for; called with the lock held. Returns how many. */
static int take_calls(acs_pool *p, acs_worker *w)
{
    int n = 0;
    double now = acs_now();
    char err[256];
    while (w->busy < w->capacity) {
        acs_task *t = next_task(p, now);
        if (!t)
            break;
        acs_http *h = acs_engine_reserve(w->engine, err, sizeof err);
        if (!h) { /* out of memory for a transfer context: this call fails, others may not */
            complete_unrun(p, t, ACS_E_INTERNAL, err);
            continue;
        }
        t->state = ACS_TASK_RUNNING;
        t->http = h; /* acs_pool_cancel wakes the engine through it */
        link_running(p, t);
        w->busy++;
        w->taken[n++] = t;
    }
    return n;
}

/* Hands back the attempts that ended; called with the lock held. Returns how many completion
 * pipe bytes are due (written once the lock is released; acs_notify_link says why several). */
static int hand_back(acs_pool *p, acs_worker *w, acs_engine_out *out, size_t n)
{
    int signal = 0, retries = 0;
    for (size_t i = 0; i < n; i++) {
        acs_task *t = out[i].task;
        int done = out[i].done;
        unlink_running(p, t);
        t->http = NULL;
        w->busy--;
        if (!done && atomic_load(&t->cancelled)) {
            acs_result_fail(&t->res, ACS_E_CANCELLED, "the call was cancelled");
            t->res.total_s = acs_now() - t->submitted_at;
            acs_ratelimit_forgo(t);
            done = 1;
        }
        if (done) {
            t->state = ACS_TASK_DONE;
            /* linked under the lock this thread holds anyway (one lock per batch); the
             * pipe's byte, a system call, is written after it is released */
            signal += acs_notify_link(p->done, t); /* hands over the queue's reference */
        } else {
            t->retry_at = acs_now() + out[i].retry_in;
            insert_delayed(p, t);
            retries = 1;
        }
    }
    if (retries)
        wake_one(p); /* a thread with room that sleeps without a deadline must see them */
    return signal;
}

static void *worker_main(void *arg)
{
    acs_worker *w = arg;
    acs_pool *p = w->pool;
    acs_json_use_parser(w->json);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        int n = take_calls(p, w);
        /* A shut-down pool's idle threads stay until join: threads that exit on their own
         * could race the process's exit() in OpenSSL's clean-up. */
        if (n == 0 && w->busy == 0 && p->exiting && !p->head && !p->delayed)
            break;
        double wait = -1; /* until an attempt ends or a wake-up */
        if (n > 0)
            wait = 0;
        else if (w->busy < w->capacity && p->delayed)
            wait = fmax(0, p->delayed->retry_at - acs_now());
        w->sleeping = wait != 0;
        pthread_mutex_unlock(&p->lock);

        for (int i = 0; i < n; i++)
            acs_engine_start(w->engine, w->taken[i]->http, w->taken[i]);
        acs_engine_out *out;
        size_t ended = acs_engine_run(w->engine, wait, &out);

        pthread_mutex_lock(&p->lock);
        w->sleeping = 0;
        int due = ended ? hand_back(p, w, out, ended) : 0;
        if (due) {
            pthread_mutex_unlock(&p->lock);
            acs_notify_signal(p->done, due);
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    acs_json_use_parser(NULL);
    return NULL;
}

/* ---- the process's live pools ----
 * A script that ends with os.exit() without closing its Lua state leaves the pools' threads
 * running while exit() runs OpenSSL's atexit clean-up and libcurl's (our destructor): the
 * threads then crash in freed TLS state. An exit handler, registered after OpenSSL's so it
 * runs first, cancels and joins every pool this process started, then releases libcurl. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static acs_pool *live_head;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;

/* A reference unless the pool is already being freed. */
static int try_retain(acs_pool *p)
{
    int refs = atomic_load(&p->refs);
    while (refs > 0)
        if (atomic_compare_exchange_weak(&p->refs, &refs, refs + 1))
            return 1;
    return 0;
}

static void stop_all_at_exit(void)
{
    for (;;) {
        pthread_mutex_lock(&live_lock);
        acs_pool *p = live_head;
        while (p && (p->stopped_at_exit || acs_pool_forked(p) || !try_retain(p)))
            p = p->live_next;
        if (p)
            p->stopped_at_exit = 1;
        pthread_mutex_unlock(&live_lock);
        if (!p)
            break;
        acs_pool_shutdown(p, ACS_SHUTDOWN_CANCEL); /* joins its threads */
        acs_pool_release(p);
    }
    /* The module stays loaded (live_init), so its destructor would run only after OpenSSL's
     * clean-up, and libcurl's shared TLS sessions must go before that. */
    acs_http_global_cleanup();
}

/* A forked child has none of its parent's threads; a lock another one held stays held. */
static void live_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    live_lock = fresh;
}

/* The exit handler must outlive lua_close's dlclose of this module: some runtimes (TSan's)
 * keep an unloaded library's atexit handler and call it at exit. So the module stays
 * mapped (RTLD_NODELETE) once a pool has started. */
static void live_init(void)
{
    Dl_info self;
    if (dladdr(&live_head, &self) && self.dli_fname) /* any object of this module */
        (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    atexit(stop_all_at_exit);
    pthread_atfork(NULL, NULL, live_after_fork);
}

static void live_add(acs_pool *p)
{
    pthread_once(&live_once, live_init);
    pthread_mutex_lock(&live_lock);
    p->live_next = live_head;
    if (live_head)
        live_head->live_prev = p;
    live_head = p;
    p->listed = 1;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(acs_pool *p)
{
    pthread_mutex_lock(&live_lock);
    if (p->listed) {
        if (p->live_prev)
            p->live_prev->live_next = p->live_next;
        else
            live_head = p->live_next;
        if (p->live_next)
            p->live_next->live_prev = p->live_prev;
        p->listed = 0;
    }
    pthread_mutex_unlock(&live_lock);
}

static void free_pool(acs_pool *p)
{
    live_remove(p);
    for (int i = 0; i < p->nworkers; i++) {
        acs_engine_free(p->workers[i].engine);
        acs_json_parser_free(p->workers[i].json);
        free(p->workers[i].taken);
    }
    free(p->workers);
    pthread_cond_destroy(&p->room);
    pthread_mutex_destroy(&p->lock);
    acs_notify_release(p->done);
    acs_counter_release(p->undelivered);
    free(p);
}

/* How many threads carry a pool's calls: one per core, never more than the calls. */
static int thread_count(int max_in_flight)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    return max_in_flight < cores ? max_in_flight : (int)cores;
}

acs_pool *acs_pool_new(acs_notify *done, int max_in_flight, size_t max_queue, char *err,
                       size_t errlen)
{
    if (max_in_flight < 1 || max_queue < 1) {
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
    pthread_cond_init(&p->room, &attr);
    pthread_condattr_destroy(&attr);
    p->max_queue = max_queue;
    p->generation = acs_fork_generation();
    p->undelivered = calloc(1, sizeof *p->undelivered);
    p->done = done;
    acs_notify_retain(done);
    if (p->undelivered)
        atomic_init(&p->undelivered->refs, 1);
    int threads = thread_count(max_in_flight);
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers || !p->undelivered) {
        snprintf(err, errlen, "out of memory");
        free_pool(p);
        return NULL;
    }
    p->nworkers = threads;
    for (int i = 0; i < threads; i++) {
        acs_worker *w = &p->workers[i];
        w->pool = p;
        /* the calls split evenly: together exactly max_in_flight */
        w->capacity = max_in_flight / threads + (i < max_in_flight % threads ? 1 : 0);
        if (!(w->taken = calloc((size_t)w->capacity, sizeof *w->taken))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (!(w->engine = acs_engine_new(w->capacity, err, errlen)))
            goto fail;
        w->json = acs_json_parser_new(); /* NULL: a parser per call instead */
    }
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            goto fail;
        }
        p->workers[i].started = 1;
    }
    live_add(p);
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
        wake_one(p);
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
        acs_http_wakeup(t->http); /* its engine stops the transfer */
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
        for (acs_task *t = p->running; t; t = t->next) {
            atomic_store(&t->cancelled, 1);
            if (t->http)
                acs_http_wakeup(t->http);
        }
    }
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
    wake_all(p);
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
