#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "headers.h"
#include "retry.h"

acs_trace *acs_trace_new(int level)
{
    acs_trace *t = calloc(1, sizeof *t);
    if (t)
        t->level = level;
    return t;
}

void acs_trace_free(acs_trace *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->a[i].detail);
    free(t);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void acs_trace_begin(acs_trace *t, const acs_request *r)
{
    if (!t)
        return;
    if (!t->method[0]) {
        copy_str(t->method, sizeof t->method, r->method);
        copy_str(t->host, sizeof t->host, r->host);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    t->started = acs_now();
}

int acs_trace_is_secret(const char *name)
{
    /* a case-insensitive substring search, for header and parameter names alike */
    static const char *const marks[] = {"signature", "token", "authorization", "secret", NULL};
    for (int i = 0; marks[i]; i++) {
        size_t m = strlen(marks[i]);
        for (const char *p = name; *p; p++)
            if (strncasecmp(p, marks[i], m) == 0) {
                /* the signature's method, version and nonce say nothing secret */
                if (i == 0 && (strcasecmp(p + m, "Method") == 0 || strcasecmp(p + m, "Version") == 0 ||
                               strcasecmp(p + m, "Nonce") == 0 || strcasecmp(p + m, "-method") == 0 ||
                               strcasecmp(p + m, "-version") == 0 || strcasecmp(p + m, "-nonce") == 0))
                    break;
                return 1;
            }
    }
    return 0;
}

/* The query of the URL and the headers sent, one line each, secret values masked. */
static char *detail_of(const acs_wire *w)
{
    acs_buf b = ACS_BUF_INIT;
    const char *url = acs_buf_cstr(&w->url);
    const char *q = strchr(url, '?');
    q = q ? q + 1 : "";
    while (*q) {
        size_t len = strcspn(q, "&");
        size_t nlen = strcspn(q, "=&");
        char name[128];
        copy_str(name, nlen < sizeof name ? nlen + 1 : sizeof name, q);
        if (b.len)
            acs_buf_putc(&b, '&');
        if (nlen < len && acs_trace_is_secret(name)) {
            acs_buf_append(&b, q, nlen);
            acs_buf_puts(&b, "=***");
        } else {
            acs_buf_append(&b, q, len);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    acs_buf_putc(&b, '\n');
    for (size_t i = 0; i < w->headers.n; i++) {
        const acs_kv *h = &w->headers.items[i];
        acs_buf_printf(&b, "%s%s: %s", i ? "; " : "", h->name,
                       acs_trace_is_secret(h->name) ? "***" : h->value);
    }
    if (b.oom) {
        acs_buf_free(&b);
        return NULL;
    }
    return acs_buf_steal(&b);
}

void acs_trace_end(acs_trace *t, const acs_wire *w, const acs_result *res)
{
    if (!t)
        return;
    if (t->n >= ACS_TRACE_MAX) {
        t->dropped++;
        return;
    }
    acs_trace_attempt *a = &t->a[t->n++];
    a->wall = t->wall;
    a->ms = (acs_now() - t->started) * 1000.0;
    a->http_status = res->http_status;
    a->code[0] = a->request_id[0] = '\0';
    if (res->error != ACS_OK)
        copy_str(a->code, sizeof a->code, acs_error_code(res->error));
    else if (res->http_status >= 400)
        acs_error_code_of(&res->body, a->code, sizeof a->code);
    if (res->http_status)
        copy_str(a->request_id, sizeof a->request_id,
                 acs_headers_get(&res->headers, "x-acs-request-id"));
    a->detail = t->level >= 2 ? detail_of(w) : NULL;
}
