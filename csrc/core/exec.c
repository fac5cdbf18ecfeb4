#include "exec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ratelimit.h"
#include "retry.h"
#include "trace.h"

static double unit_random(void)
{
    uint64_t x = 0;
    if (RAND_bytes((unsigned char *)&x, sizeof x) != 1)
        return 0.5;
    return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */
}

static double deadline_of(const acs_task *t)
{
    long ms = t->req.timeout_ms;
    return ms > 0 ? t->submitted_at + (double)ms / 1000.0 : 0;
}

/* The call is over: a 2xx JSON body is parsed here, off the Lua thread. */
static int finish(acs_http *h, acs_task *t)
{
    acs_result *res = &t->res;
    int ok = res->error == ACS_OK && res->http_status >= 200 && res->http_status < 300;
    if (ok && !t->req.raw && !res->doc) {
        /* parse in place when there is room; the parser reads the padding, so it is zeroed */
        if (acs_buf_reserve(&res->body, ACS_JSON_PADDING) == 0)
            memset(res->body.data + res->body.len, 0, ACS_JSON_PADDING);
        res->doc = acs_json_parse(res->body.data, res->body.len, res->body.cap);
        /* the tape replaces the body: finished calls waiting for delivery hold half the
         * memory, and the buffer goes back to h for the next body */
        if (res->doc)
            acs_http_keep_body(h, &res->body);
    }
    if (ok) {
        free(res->string_to_sign); /* only a failed call's error shows it: free it here, on */
        res->string_to_sign = NULL; /* the thread (and malloc arena) that made it */
    }
    res->total_s = acs_now() - t->submitted_at;
    acs_ratelimit_forgo(t); /* set only when it ended waiting for a token */
    res->retryable = acs_retry_decide(&t->req, res) != ACS_RETRY_NO;
    /* Nothing reads the request any more: its memory goes now rather than at delivery, which
     * may be a queue's length away (docs/PERFORMANCE.md, "Memory"). */
    acs_request_free(&t->req);
    acs_request_init(&t->req);
    return 1;
}

double acs_exec_deadline(const acs_task *t)
{
    return deadline_of(t);
}

acs_attempt_step acs_attempt_begin(acs_http *h, acs_task *t, acs_wire *w, double *wait)
{
    const acs_request *r = &t->req;
    acs_result *res = &t->res;
    double deadline = deadline_of(t);
    if (res->attempts == 0)
        res->queued_s = acs_now() - t->submitted_at;
    if (atomic_load(&t->cancelled)) {
        acs_result_fail(res, ACS_E_CANCELLED, "the call was cancelled");
        finish(h, t);
        return ACS_ATTEMPT_OVER;
    }
    if (deadline > 0 && acs_now() >= deadline) {
        res->timeout_kind = ACS_TIMEOUT_TOTAL;
        acs_result_fail(res, ACS_E_TIMEOUT, "the call's deadline (%.3f s) passed %s",
                        (double)r->timeout_ms / 1000.0,
                        t->rate_ticket  ? "while it waited for its rate limit's token"
                        : res->attempts ? "while retrying"
                                        : "before it could start");
        finish(h, t);
        return ACS_ATTEMPT_OVER;
    }
    if (acs_ratelimit_admit(t, wait)) {
        /* parked (or asleep) until its token is due, like a retry; but no later than its
         * deadline, which then fails it above, so it is never sent late */
        double now = acs_now();
        if (deadline > 0 && now + *wait > deadline)
            *wait = deadline - now;
        return ACS_ATTEMPT_WAIT;
    }
    char err[256];
    res->attempts++;
    if (acs_wire_build(r, acs_wallclock(), w, err, sizeof err) != 0) {
        acs_result_fail(res, ACS_E_INTERNAL, "cannot build the request: %s", err);
        finish(h, t);
        return ACS_ATTEMPT_OVER;
    }
    free(res->string_to_sign);
    res->string_to_sign = w->string_to_sign;
    w->string_to_sign = NULL;
    acs_trace_begin(t->trace, r);
    return ACS_ATTEMPT_SEND;
}

int acs_attempt_end(acs_http *h, acs_task *t, acs_wire *w, double *retry_in)
{
    const acs_request *r = &t->req;
    acs_result *res = &t->res;
    double deadline = deadline_of(t);
    acs_trace_end(t->trace, w, res);
    acs_wire_free(w);

    /* Junk a reused connection carried over from an earlier reply is ours to clean up, not
     * a failure of this call: try once more on a fresh connection, whatever the policy.
     * (Only read-only calls reuse connections, so this never sends a create call twice.) */
    if (res->stale && !t->stale_retried) {
        t->stale_retried = 1;
        *retry_in = 0;
        return 0;
    }
    int max_attempts = r->retry.max_attempts > 0 ? r->retry.max_attempts : 1;
    acs_retry_verdict v = acs_retry_decide(r, res);
    if (v == ACS_RETRY_NO || res->attempts >= max_attempts)
        return finish(h, t);
    double hint = acs_retry_hint(&res->headers);
    double cap = r->retry.backoff_cap > 0 ? r->retry.backoff_cap : ACS_RETRY_BACKOFF_CAP;
    if (hint > 2 * cap)
        return finish(h, t); /* the server asks for far longer than the policy waits: report it */
    double wait = acs_retry_backoff(&r->retry, v, res->attempts + 1, hint, unit_random());
    if (deadline > 0 && acs_now() + wait >= deadline)
        return finish(h, t); /* no time left for another attempt: report this one */
    *retry_in = wait;
    return 0;
}

int acs_exec_attempt(acs_http *h, acs_task *t, double *retry_in)
{
    acs_wire w;
    acs_attempt_step step = acs_attempt_begin(h, t, &w, retry_in);
    if (step == ACS_ATTEMPT_WAIT)
        return 0;
    if (step == ACS_ATTEMPT_OVER)
        return 1;
    acs_http_perform(h, &t->req, &w, deadline_of(t), &t->cancelled, &t->res);
    return acs_attempt_end(h, t, &w, retry_in);
}

void acs_exec(acs_http *h, acs_task *t)
{
    double wait = 0;
    while (!acs_exec_attempt(h, t, &wait))
        acs_http_sleep(h, wait, &t->cancelled);
}
