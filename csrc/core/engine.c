#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "exec.h"

typedef struct {
    acs_http *h;
    acs_task *task;  /* the call whose attempt runs here; NULL while free */
    acs_wire wire;   /* the attempt's bytes: libcurl reads the body from here */
    int active;      /* in the multi handle */
} slot;

struct acs_engine {
    CURLM *multi;
    int epfd, evfd;
    atomic_int attention;   /* a context was woken: look at cancellations */
    double timer_at;        /* libcurl's timer, monotonic; < 0: none */
    double next_check;      /* when acs_http_check is due for some transfer; 0: none */
    int capacity, made;     /* slots allowed, slots made so far (contexts are made lazily) */
    slot *slots;
    int *free_slots, nfree;
    CURL **fd_owner;        /* socket -> the transfer libcurl last watched it for */
    size_t fd_cap;
    acs_engine_out *out;    /* capacity entries: a reserved slot ends at most once per run */
    size_t nout;
    int handed;             /* out was returned: clear it before the next batch */
};

/* libcurl tells which sockets to watch for what; epoll keeps the set. */
static void set_owner(acs_engine *e, curl_socket_t fd, CURL *easy)
{
    if (fd < 0)
        return;
    if ((size_t)fd >= e->fd_cap) {
        if (!easy)
            return;
        size_t cap = e->fd_cap ? e->fd_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        CURL **owners = realloc(e->fd_owner, cap * sizeof *owners);
        if (!owners)
            return; /* untracked: its connection is then never junk-checked by a neighbour */
        memset(owners + e->fd_cap, 0, (cap - e->fd_cap) * sizeof *owners);
        e->fd_owner = owners;
        e->fd_cap = cap;
    }
    e->fd_owner[fd] = easy;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    acs_engine *e = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(e->multi, fd, NULL);
        set_owner(e, fd, NULL);
        return 0;
    }
    set_owner(e, fd, easy);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(e->epfd, op, fd, &ev) != 0) {
        /* a descriptor number reused behind libcurl's back: take whichever op applies */
        op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(e->epfd, op, fd, &ev) != 0)
            return -1;
    }
    if (!socketp)
        curl_multi_assign(e->multi, fd, e); /* any non-NULL: "registered" */
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    acs_engine *e = userp;
    e->timer_at = timeout_ms < 0 ? -1 : acs_now() + (double)timeout_ms / 1000.0;
    return 0;
}

acs_engine *acs_engine_new(int capacity, char *err, size_t errlen)
{
    if (acs_http_global_init(err, errlen) != 0)
        return NULL;
    acs_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->epfd = e->evfd = -1;
    e->capacity = capacity;
    e->timer_at = -1;
    atomic_init(&e->attention, 0);
    e->slots = calloc((size_t)capacity, sizeof *e->slots);
    e->free_slots = calloc((size_t)capacity, sizeof *e->free_slots);
    e->out = calloc((size_t)capacity, sizeof *e->out);
    if (!e->slots || !e->free_slots || !e->out || !(e->multi = curl_multi_init())) {
        snprintf(err, errlen, "out of memory");
        acs_engine_free(e);
        return NULL;
    }
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = e->evfd;
    if (e->epfd < 0 || e->evfd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) != 0) {
        snprintf(err, errlen, "cannot create the engine's wake-up: %s", strerror(errno));
        acs_engine_free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    /* one request per connection at a time: a call's reply never waits behind another's */
    curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    /* Idle connections kept: by default 4 per transfer in the multi handle at that moment,
     * so a moment with few in flight closed connections the next burst opened again (pool
     * 32, fast endpoint: 2,500 connections for 20,000 calls). Room for every transfer this
     * engine may carry, twice (a second host, a proxy), however many are in flight now. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)(capacity < 4 ? 8 : 2 * capacity));
    return e;
}

void acs_engine_free(acs_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->made; i++) /* every transfer ended: the pool joined its thread */
        acs_http_free(e->slots[i].h);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    if (e->epfd >= 0)
        close(e->epfd);
    if (e->evfd >= 0)
        close(e->evfd);
    free(e->slots);
    free(e->free_slots);
    free(e->out);
    free(e->fd_owner);
    free(e);
}

static void clear_handed(acs_engine *e)
{
    if (e->handed) {
        e->nout = 0;
        e->handed = 0;
    }
}

acs_http *acs_engine_reserve(acs_engine *e, char *err, size_t errlen)
{
    clear_handed(e);
    if (e->nfree > 0)
        return e->slots[e->free_slots[--e->nfree]].h;
    if (e->made >= e->capacity) {
        snprintf(err, errlen, "no transfer slot free");
        return NULL;
    }
    acs_http *h = acs_http_new_attached(e->multi, e->evfd, &e->attention, e->made, err, errlen);
    if (!h)
        return NULL;
    e->slots[e->made++].h = h;
    return h;
}

/* The attempt on s is over (`started`: it was added to the multi handle; `finished`: libcurl
 * reported it with `code`, else it was stopped): the call's verdict goes out, s is free. */
static void end_attempt(acs_engine *e, slot *s, int started, int finished, int code,
                        int conn_taken)
{
    if (started)
        acs_http_end(s->h, finished, code, conn_taken);
    acs_engine_out *o = &e->out[e->nout++];
    o->task = s->task;
    o->retry_in = 0;
    o->done = acs_attempt_end(s->h, s->task, &s->wire, &o->retry_in);
    s->task = NULL;
    s->active = 0;
    e->free_slots[e->nfree++] = (int)(s - e->slots);
}

void acs_engine_start(acs_engine *e, acs_http *h, acs_task *t)
{
    clear_handed(e);
    slot *s = &e->slots[acs_http_tag(h)];
    s->task = t;
    double wait = 0;
    acs_attempt_step step = acs_attempt_begin(h, t, &s->wire, &wait);
    if (step != ACS_ATTEMPT_SEND) { /* over, or parked until its rate limit's token */
        acs_engine_out *o = &e->out[e->nout++];
        o->task = t;
        o->done = step == ACS_ATTEMPT_OVER;
        o->retry_in = wait;
        s->task = NULL;
        e->free_slots[e->nfree++] = (int)(s - e->slots);
        return;
    }
    if (acs_http_start(h, &t->req, &s->wire, acs_exec_deadline(t), &t->cancelled, &t->res) != 0) {
        end_attempt(e, s, 0, 0, 0, 0);
        return;
    }
    s->active = 1;
    if (t->req.read_timeout_ms > 0) { /* the read timeout runs once the request is out */
        double soon = acs_now() + 0.05;
        if (e->next_check <= 0 || soon < e->next_check)
            e->next_check = soon;
    }
}

/* Cancellations and read timeouts, which libcurl does not watch: every transfer is looked at
 * when a context was woken or the earliest time one needs it has come. */
static void check_transfers(acs_engine *e, double now)
{
    e->next_check = 0;
    for (int i = 0; i < e->made; i++) {
        slot *s = &e->slots[i];
        if (!s->active)
            continue;
        double next;
        if (acs_http_check(s->h, now, &next))
            end_attempt(e, s, 1, 0, 0, 0);
        else if (next > 0 && (e->next_check <= 0 || next < e->next_check))
            e->next_check = next;
    }
}

/* Ends the transfers libcurl reports done; called after every curl_multi_socket_action. A
 * finished transfer's connection goes back to the cache at once, and the same call may hand
 * it to a transfer that was due to start (libcurl runs due timers in every call): then its
 * socket is watched for that one, and it being readable is that one's reply, not junk. */
static void take_done(acs_engine *e)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        acs_http *h = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
        if (!h)
            continue;
        curl_socket_t fd = CURL_SOCKET_BAD;
        curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd);
        int taken = fd != CURL_SOCKET_BAD && (fd < 0 || (size_t)fd >= e->fd_cap ||
                                               (e->fd_owner[fd] && e->fd_owner[fd] != easy));
        end_attempt(e, &e->slots[acs_http_tag(h)], 1, 1, (int)rc, taken);
    }
}

size_t acs_engine_run(acs_engine *e, double timeout, acs_engine_out **out)
{
    clear_handed(e);
    double now = acs_now();
    int wait_ms = 0;
    if (e->nout == 0 && timeout != 0) {
        double until = timeout < 0 ? -1 : now + timeout;
        if (e->timer_at >= 0 && (until < 0 || e->timer_at < until))
            until = e->timer_at;
        if (e->next_check > 0 && (until < 0 || e->next_check < until))
            until = e->next_check;
        if (until < 0)
            wait_ms = -1;
        else if (until > now)
            wait_ms = (int)ceil((until - now) * 1000.0);
    }
    struct epoll_event evs[64];
    int n = epoll_wait(e->epfd, evs, 64, wait_ms);
    int running = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == e->evfd) {
            uint64_t v;
            ssize_t r = read(e->evfd, &v, sizeof v); /* EAGAIN: drained already */
            (void)r;
            continue;
        }
        int mask = 0;
        if (evs[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(e->multi, fd, mask, &running);
        take_done(e);
    }
    now = acs_now();
    if (e->timer_at >= 0 && e->timer_at <= now) {
        e->timer_at = -1; /* libcurl sets the next one from inside the call */
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        take_done(e);
    }
    if (atomic_exchange(&e->attention, 0) || (e->next_check > 0 && e->next_check <= now))
        check_transfers(e, now);
    e->handed = 1;
    *out = e->out;
    return e->nout;
}

void acs_engine_wakeup(acs_engine *e)
{
    uint64_t one = 1;
    ssize_t n = write(e->evfd, &one, sizeof one); /* EAGAIN: a wake-up is pending anyway */
    (void)n;
}
