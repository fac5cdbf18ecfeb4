#include "exec.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "retry.h"

static double unit_random(void)
{
    uint64_t x = 0;
    if (RAND_bytes((unsigned char *)&x, sizeof x) != 1)
        return 0.5;
    return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */
}

void acs_exec(acs_http *h, acs_task *t)
{
    const acs_request *r = &t->req;
    acs_result *res = &t->res;
    double start = acs_now();
    double deadline = r->timeout_ms > 0 ? t->submitted_at + (double)r->timeout_ms / 1000.0 : 0;
    int max_attempts = r->retry.max_attempts > 0 ? r->retry.max_attempts : 1;
    res->queued_s = start - t->submitted_at;

    for (int attempt = 1;; attempt++) {
        if (atomic_load(&t->cancelled)) {
            acs_result_fail(res, ACS_E_CANCELLED, "the call was cancelled");
            break;
        }
        if (deadline > 0 && acs_now() >= deadline) {
            res->timeout_kind = 't';
            acs_result_fail(res, ACS_E_TIMEOUT, "the call's deadline (%.3f s) passed%s",
                            (double)r->timeout_ms / 1000.0,
                            attempt > 1 ? " while retrying" : " before it could start");
            break;
        }
        acs_wire w;
        char err[256];
        res->attempts = attempt;
        if (acs_wire_build(r, acs_wallclock(), &w, err, sizeof err) != 0) {
            acs_result_fail(res, ACS_E_INTERNAL, "cannot build the request: %s", err);
            break;
        }
        free(res->string_to_sign);
        res->string_to_sign = w.string_to_sign;
        w.string_to_sign = NULL;
        acs_http_perform(h, r, &w, deadline, &t->cancelled, res);
        acs_wire_free(&w);

        acs_retry_verdict v = acs_retry_decide(r, res);
        if (v == ACS_RETRY_NO || attempt >= max_attempts)
            break;
        double wait = acs_retry_backoff(&r->retry, v, attempt + 1, acs_retry_hint(&res->headers),
                                        unit_random());
        if (deadline > 0 && acs_now() + wait >= deadline)
            break; /* no time left for another attempt: report this one */
        acs_http_sleep(h, wait, &t->cancelled);
    }
    res->total_s = acs_now() - t->submitted_at;
}
