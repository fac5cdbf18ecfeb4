/* What each attempt of a call did, recorded in C by the thread that ran it (a worker never
 * touches Lua) and read on the Lua thread once the call is delivered: the debug log's lines
 * and the facts call hooks see. Fixed-size records; only level 2 allocates (the query and
 * headers, with signatures and tokens masked). */
#ifndef ACS_TRACE_H
#define ACS_TRACE_H

#include "request.h"
#include "task.h"

#define ACS_TRACE_MAX 16 /* attempts recorded per call; later ones are only counted */

typedef struct {
    double wall;          /* when it started: seconds since the epoch */
    double ms;            /* how long it took */
    long http_status;     /* 0: no HTTP answer */
    char code[64];        /* the error code of an error answer or a transport failure; "" if none */
    char request_id[64];  /* x-acs-request-id of the answer; "" if none */
    char *detail;         /* level 2: "query\nheaders", masked; NULL otherwise */
} acs_trace_attempt;

typedef struct acs_trace {
    int level;            /* 1: the facts; 2: the query and headers too */
    int n;                /* attempts recorded */
    int dropped;          /* attempts after the first ACS_TRACE_MAX */
    char method[16];
    char host[256];
    double started;       /* monotonic start of the attempt in progress */
    double wall;          /* and its wall-clock start */
    acs_trace_attempt a[ACS_TRACE_MAX];
} acs_trace;

acs_trace *acs_trace_new(int level); /* NULL on out of memory */
void acs_trace_free(acs_trace *t);

/* Around one attempt (both do nothing for NULL). */
void acs_trace_begin(acs_trace *t, const acs_request *r);
void acs_trace_end(acs_trace *t, const acs_wire *w, const acs_result *res);

/* Whether a query parameter or header (any case) carries a credential or a signature. */
int acs_trace_is_secret(const char *name);

#endif
