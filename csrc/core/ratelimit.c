#include "ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* GCRA form of the token bucket: one time per bucket (when the next token would be due with
 * a burst of one) instead of a token count that needs refilling. Two of them: reservations
 * spread the waiting calls' wake-ups (no herd of waiters racing for each token), and the one
 * taken at sending keeps the calls that actually leave at the rate, even when a stall (a
 * loaded machine, a busy pool) made several reserved calls late at once. */
struct acs_ratelimit {
    atomic_int refs;
    pthread_mutex_t lock;
    double interval;  /* seconds per token */
    double tolerance; /* (burst - 1) * interval: how far ahead of due a token may be used */
    double due;       /* reservations: when the next token is due at burst one */
    double sent_due;  /* the same for the attempts that left */
};

/* Grace for clock arithmetic: a call back at its reserved time is not sent to sleep again
 * for a rounding error. */
#define SLACK 1e-4

acs_ratelimit *acs_ratelimit_new(double rate, double burst)
{
    if (!(rate > 0))
        return NULL;
    acs_ratelimit *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    atomic_init(&l->refs, 1);
    pthread_mutex_init(&l->lock, NULL);
    l->interval = 1.0 / rate;
    l->tolerance = (burst > 1 ? burst - 1 : 0) * l->interval;
    return l;
}

void acs_ratelimit_retain(acs_ratelimit *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

void acs_ratelimit_release(acs_ratelimit *l)
{
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

double acs_ratelimit_reserve(acs_ratelimit *l)
{
    pthread_mutex_lock(&l->lock);
    double now = acs_now();
    double base = l->due > now ? l->due : now;
    double at = base - l->tolerance;
    if (at < now)
        at = now;
    l->due = base + l->interval;
    pthread_mutex_unlock(&l->lock);
    return at - now;
}

/* Takes a token now if one is there (0), else says how long until one is (nothing taken). */
static double take(acs_ratelimit *l)
{
    pthread_mutex_lock(&l->lock);
    double now = acs_now();
    double base = l->sent_due > now ? l->sent_due : now;
    double wait = base - l->tolerance - now;
    if (wait <= SLACK) {
        l->sent_due = base + l->interval;
        wait = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return wait;
}

int acs_ratelimit_admit(acs_task *t, double *wait)
{
    if (!t->ratelimit)
        return 0;
    if (!t->rate_ticket) { /* first its place in line */
        t->rate_ticket = 1;
        double w = acs_ratelimit_reserve(t->ratelimit);
        if (w > 0) {
            *wait = w;
            return 1;
        }
    }
    double w = take(t->ratelimit); /* then the token, when it leaves */
    if (w > 0) {
        *wait = w;
        return 1;
    }
    t->rate_ticket = 0;
    return 0;
}

void acs_ratelimit_forgo(acs_task *t)
{
    if (!t->ratelimit || !t->rate_ticket)
        return;
    t->rate_ticket = 0;
    acs_ratelimit *l = t->ratelimit;
    pthread_mutex_lock(&l->lock);
    l->due -= l->interval; /* a due in the past counts as now: no credit piles up */
    pthread_mutex_unlock(&l->lock);
}
