#include "task.h"

#include "ratelimit.h"
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The core's error codes: their one home in C. The Lua side adds the codes it makes itself
 * (lua/alicloud/errors.lua, errors.CODES). */
static const struct {
    const char *name, *code;
} ERROR_CODES[ACS_E_COUNT] = {
    [ACS_OK] = {NULL, NULL},
    [ACS_E_CANCELLED] = {"CANCELLED", "SDK.Cancelled"},
    [ACS_E_CLOSED] = {"CLIENT_CLOSED", "SDK.ClientClosed"},
    [ACS_E_TIMEOUT] = {"TIMEOUT", "SDK.TimeoutError"},
    [ACS_E_UNREACHABLE] = {"SERVER_UNREACHABLE", "SDK.ServerUnreachable"},
    [ACS_E_TLS] = {"TLS", "SDK.TLSError"},
    [ACS_E_TOO_LARGE] = {"RESPONSE_TOO_LARGE", "SDK.ResponseTooLarge"},
    [ACS_E_INVALID_RESPONSE] = {"INVALID_RESPONSE", "SDK.InvalidResponse"},
    [ACS_E_INTERNAL] = {"INTERNAL", "SDK.InternalError"},
};

const char *acs_error_code(acs_error e)
{
    if (e == ACS_OK)
        return NULL;
    return (unsigned)e < ACS_E_COUNT ? ERROR_CODES[e].code : ERROR_CODES[ACS_E_INTERNAL].code;
}

const char *acs_error_name(acs_error e)
{
    if (e == ACS_OK)
        return NULL;
    return (unsigned)e < ACS_E_COUNT ? ERROR_CODES[e].name : ERROR_CODES[ACS_E_INTERNAL].name;
}

acs_task *acs_task_new(void)
{
    acs_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->refs, 1);
    atomic_init(&t->cancelled, 0);
    acs_request_init(&t->req);
    return t;
}

void acs_task_retain(acs_task *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void acs_task_release(acs_task *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    acs_request_free(&t->req);
    acs_buf_free(&t->res.headers);
    acs_buf_free(&t->res.body);
    acs_json_free(t->res.doc);
    acs_counter_release(t->undelivered);
    free(t->res.string_to_sign);
    free(t->res.message);
    acs_trace_free(t->trace);
    acs_ratelimit_release(t->ratelimit);
    free(t);
}

void acs_task_delivered(acs_task *t, int keep_headers)
{
    acs_request_free(&t->req);
    acs_request_init(&t->req);
    if (!keep_headers)
        acs_buf_free(&t->res.headers);
    acs_buf_free(&t->res.body);
    acs_json_free(t->res.doc);
    t->res.doc = NULL;
    free(t->res.string_to_sign);
    t->res.string_to_sign = NULL;
}

void acs_counter_release(acs_counter *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

void acs_result_fail(acs_result *r, acs_error e, const char *fmt, ...)
{
    r->error = e;
    free(r->message);
    r->message = malloc(512);
    if (!r->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, 512, fmt, ap);
    va_end(ap);
}

double acs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long acs_wallclock(void)
{
    return (long long)time(NULL);
}
