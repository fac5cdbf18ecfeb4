/* A task: one async or sync call. The request is copied in at submit; the worker fills the
 * result; the Lua side reads it after delivery. Reference-counted between the Lua handle, the
 * queues and the worker, so whichever side lets go last frees it. */
#ifndef ACS_TASK_H
#define ACS_TASK_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "request.h"

/* Why a call ended without an HTTP response (or with one we refuse). */
typedef enum {
    ACS_OK = 0,
    ACS_E_CANCELLED,        /* p:cancel(), shutdown("cancel"), client collected */
    ACS_E_CLOSED,           /* pool shut down before the task could run */
    ACS_E_TIMEOUT,          /* connect, read or total deadline: see errmsg */
    ACS_E_UNREACHABLE,      /* refused, reset, DNS failure */
    ACS_E_TLS,              /* certificate or handshake problem */
    ACS_E_TOO_LARGE,        /* body over max_response_bytes */
    ACS_E_INVALID_RESPONSE, /* truncated or malformed HTTP */
    ACS_E_INTERNAL,         /* out of memory, bad input */
} acs_error;
#define ACS_E_COUNT (ACS_E_INTERNAL + 1)

/* The SDK.* code of an error ("SDK.TimeoutError", ...; NULL for ACS_OK) and its name for Lua
 * ("TIMEOUT": errors.CODES.TIMEOUT, through core.error_codes). task.c holds the one table. */
const char *acs_error_code(acs_error e);
const char *acs_error_name(acs_error e);

/* Which deadline ended a call with ACS_E_TIMEOUT. */
typedef enum {
    ACS_TIMEOUT_NONE = 0,
    ACS_TIMEOUT_CONNECT, /* no connection within connect_timeout */
    ACS_TIMEOUT_READ,    /* no data for read_timeout once the request was sent */
    ACS_TIMEOUT_TOTAL    /* the whole call's deadline (timeout) */
} acs_timeout_kind;

typedef struct {
    acs_error error;
    char *message;           /* why, when error is set (allocated then: most calls need none;
                              * NULL if even that failed) */
    acs_timeout_kind timeout_kind;
    int retryable;           /* the policy would retry this outcome (acs_retry_decide): set
                              * when the call finishes, for the error's `retryable` */
    int sent;                /* the request reached the server (bytes written) */
    int stale;               /* a reused connection carried junk (left over by the last reply) */
    long http_status;
    acs_buf headers;         /* "name\0value\0" pairs of the last response */
    acs_buf body;
    acs_json *doc;           /* the body parsed on the worker: 2xx JSON, unless raw */
    int attempts;
    char *string_to_sign;    /* of the last attempt */
    double queued_s;         /* time spent waiting for a worker */
    double total_s;          /* submit (or start, for sync calls) to completion */
} acs_result;

/* DELAYED: parked between attempts until retry_at, holding no worker. */
typedef enum {
    ACS_TASK_NEW,
    ACS_TASK_QUEUED,
    ACS_TASK_RUNNING,
    ACS_TASK_DELAYED,
    ACS_TASK_DONE
} acs_task_state;

struct acs_pool;
struct acs_http;

/* How many of a pool's calls are submitted but not yet delivered to Lua. Shared by the pool
 * and its tasks (a task may outlive its pool), freed with the last of them. */
typedef struct {
    atomic_int refs;
    atomic_int value;
} acs_counter;

void acs_counter_release(acs_counter *c);

typedef struct acs_task {
    atomic_int refs;
    atomic_int cancelled;
    long tag;                 /* the binding's own number for the call; the core never reads it */
    acs_request req;
    acs_result res;
    double submitted_at;      /* monotonic seconds */
    /* guarded by the owning pool's lock */
    acs_task_state state;
    struct acs_http *http;    /* the worker's transfer context while RUNNING */
    double retry_at;          /* monotonic time of the next attempt while DELAYED */
    acs_counter *undelivered; /* its pool's count, while it counts there */
    int stale_retried;        /* the one extra attempt after a dirty reused connection */
    struct acs_trace *trace;  /* trace.h: each attempt's facts, when the Lua side asked */
    struct acs_ratelimit *ratelimit; /* ratelimit.h: the client's rate limit, if any */
    int rate_ticket;          /* its next attempt has its place in the rate limit's line */
    struct acs_task *prev, *next;
} acs_task;

acs_task *acs_task_new(void);          /* refs = 1; NULL on out of memory */
void acs_task_retain(acs_task *t);
void acs_task_release(acs_task *t);    /* frees at zero */
/* Its result was handed to Lua: frees the request and the response now, not when the garbage
 * collector gets to the task's box (Lua does not see that memory, so it would be in no hurry).
 * `keep_headers`: the response headers stay, for a result's metadata read from the task. */
void acs_task_delivered(acs_task *t, int keep_headers);

void acs_result_fail(acs_result *r, acs_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

double acs_now(void);                  /* monotonic seconds */
long long acs_wallclock(void);         /* seconds since the epoch */

#endif
