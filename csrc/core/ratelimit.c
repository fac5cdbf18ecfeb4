#include "ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* GCRA form of the token bucket: one time per bucket (when the next token would be due with
 * a burst of one) instead of a token count that needs refilling. */
struct acs_ratelimit {
    atomic_int refs;
    pthread_mutex_t lock;
    double interval;  /* seconds per token */
    double tolerance; /* (burst - 1) * interval: how far ahead of due a token may be used */
    double due;       /* monotonic time the next token is due at burst one */
};

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

int acs_ratelimit_admit(acs_task *t, double *wait)
{
    if (!t->ratelimit)
        return 0;
    if (t->rate_ticket) { /* back at the time its token was reserved for */
        t->rate_ticket = 0;
        return 0;
    }
    double w = acs_ratelimit_reserve(t->ratelimit);
    if (w <= 0)
        return 0;
    t->rate_ticket = 1;
    *wait = w;
    return 1;
}
