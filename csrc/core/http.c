#include "http.h"

#include "headers.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

/* ---- process-wide state: global init and a share for DNS cache and TLS sessions ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static CURLSH *global_share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
    (void)h, (void)access, (void)u;
    pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h, (void)u;
    pthread_mutex_unlock(&share_locks[data]);
}

/* fork() while a worker holds a share lock would leave the child's copy locked forever:
 * take every lock around fork, release them on both sides. */
static void fork_prepare(void)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_lock(&share_locks[i]);
}

static void fork_release(void)
{
    for (int i = CURL_LOCK_DATA_LAST - 1; i >= 0; i--)
        pthread_mutex_unlock(&share_locks[i]);
}

static void global_init_once(void)
{
    /* libcurl counts init calls, so a host that already initialised it is unaffected. */
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (global_rc != CURLE_OK)
        return;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    pthread_atfork(fork_prepare, fork_release, fork_release);
    global_share = curl_share_init();
    if (global_share) {
        curl_share_setopt(global_share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(global_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
}

/* Balances our curl_global_init. The destructor runs when the module is unloaded (dlclose at
 * lua_close of the last state using it): by then every pool was joined. */
__attribute__((destructor)) static void global_cleanup(void)
{
    acs_http_global_cleanup();
}

void acs_http_global_cleanup(void)
{
    if (global_rc != CURLE_OK)
        return;
    if (global_share)
        curl_share_cleanup(global_share);
    global_share = NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&share_locks[i]);
    curl_global_cleanup();
    global_rc = CURLE_FAILED_INIT;
}

int acs_http_global_init(char *err, size_t errlen)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed: %s", curl_easy_strerror(global_rc));
        return -1;
    }
    return 0;
}

/* ---- one transfer context ---- */

/* libcurl's receive buffer, one per transfer context kept for each call in flight: 16 KB by
 * default, 16 MiB at 1,024 in flight. An OpenAPI reply and its headers are a few KB; a large
 * one is read in more pieces (no extra copy: the body buffer grows as before). */
#define ACS_RECEIVE_BUFFER 8192L

struct acs_http {
    CURLM *multi;            /* its own (sync calls), or the engine's it is attached to */
    int own_multi;
    int wake_fd;             /* attached: the engine's wake-up fd; -1 for an own multi */
    atomic_int *attention;   /* attached: raised with a wake-up that concerns a transfer */
    int tag;                 /* the engine's number for this context */
    CURL *easy;
    /* state of the attempt in progress */
    acs_result *res;
    const acs_request *req;
    atomic_int *cancelled;
    double start;
    long timeout_ms;
    size_t max_body;
    int too_large;
    int fresh_next;          /* the last connection looked unsafe to reuse: open a new one */
    double last_activity;
    acs_buf origin;          /* "scheme://host/" of the attempt, when the target goes apart */
    /* What the handle's options were last set up for: a call of the same template (and the
     * same proxy decision) sets only its own options, without a reset. 0: set up afresh. */
    unsigned long long setup_serial;
    int setup_direct;
    acs_buf header_text;     /* the attempt's header lines, NUL-terminated one after another */
    acs_buf body;            /* the attempt's body is read here, then handed to its result; a
                              * parsed one comes back (acs_http_keep_body), so the 2 KB buffer
                              * of a typical answer is not a new large allocation per call, on
                              * which glibc consolidates its fast bins every time. Empty
                              * between attempts: both hand-overs leave it reset. */
    struct curl_slist *header_nodes; /* the list libcurl reads, pointing into header_text */
    size_t header_cap;
    char errbuf[CURL_ERROR_SIZE];
};

static acs_http *new_context(CURLM *multi, int wake_fd, atomic_int *attention, char *err,
                             size_t errlen)
{
    if (acs_http_global_init(err, errlen) != 0)
        return NULL;
    acs_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory creating a transfer context");
        return NULL;
    }
    h->wake_fd = wake_fd;
    h->attention = attention;
    h->own_multi = multi == NULL;
    h->multi = multi ? multi : curl_multi_init();
    if (!h->multi || !(h->easy = curl_easy_init())) {
        snprintf(err, errlen, "out of memory creating a transfer context");
        acs_http_free(h);
        return NULL;
    }
    return h;
}

acs_http *acs_http_new(char *err, size_t errlen)
{
    return new_context(NULL, -1, NULL, err, errlen);
}

acs_http *acs_http_new_attached(void *multi, int wake_fd, atomic_int *attention, int tag,
                                char *err, size_t errlen)
{
    acs_http *h = new_context(multi, wake_fd, attention, err, errlen);
    if (h)
        h->tag = tag;
    return h;
}

int acs_http_tag(const acs_http *h)
{
    return h->tag;
}

void acs_http_free(acs_http *h)
{
    if (!h)
        return;
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi && h->own_multi)
        curl_multi_cleanup(h->multi);
    acs_buf_free(&h->origin);
    acs_buf_free(&h->header_text);
    acs_buf_free(&h->body);
    free(h->header_nodes);
    free(h);
}

void acs_http_wakeup(acs_http *h)
{
    if (h->wake_fd < 0) {
        curl_multi_wakeup(h->multi);
        return;
    }
    atomic_store(h->attention, 1);
    uint64_t one = 1;
    ssize_t n = write(h->wake_fd, &one, sizeof one); /* EAGAIN: a wake-up is pending anyway */
    (void)n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    acs_http *h = ud;
    size_t len = size * n;
    h->last_activity = acs_now();
    if (h->max_body && h->body.len + len > h->max_body) {
        h->too_large = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return acs_buf_append(&h->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    acs_http *h = ud;
    size_t len = size * n;
    h->last_activity = acs_now();
    return acs_headers_add_line(&h->res->headers, p, len) == 0 ? len : 0;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    acs_http *h = ud;
    return atomic_load(h->cancelled) ? 1 : 0; /* non-zero aborts the transfer */
}

/* The request's header lines as a curl_slist in this context's own memory, reused from call
 * to call: one buffer of NUL-terminated lines and an array of list nodes (libcurl only reads
 * the list), instead of two allocations per line. NULL on out of memory. */
static struct curl_slist *header_list(acs_http *h, const acs_kvlist *l)
{
    /* "Content-Type:" keeps libcurl from adding one of its own to a body-less POST: only
     * what the request carries (and V3 signs) goes out. */
    static const char *const fixed[] = {"Expect:", "Accept-Encoding: identity", "Content-Type:"};
    enum { NFIXED = 3 };
    size_t n = NFIXED + l->n;
    acs_buf *text = &h->header_text;
    acs_buf_reset(text);
    for (size_t i = 0; i < n; i++) {
        if (i < NFIXED) {
            acs_buf_puts(text, fixed[i]);
        } else {
            const acs_kv *kv = &l->items[i - NFIXED];
            acs_buf_puts(text, kv->name);
            if (kv->value[0]) {
                acs_buf_append(text, ": ", 2);
                acs_buf_puts(text, kv->value);
            } else {
                acs_buf_putc(text, ';'); /* curl's syntax for an empty value */
            }
        }
        acs_buf_putc(text, '\0');
    }
    if (text->oom)
        return NULL;
    if (n > h->header_cap) {
        struct curl_slist *nodes = realloc(h->header_nodes, n * sizeof *nodes);
        if (!nodes)
            return NULL;
        h->header_nodes = nodes;
        h->header_cap = n;
    }
    char *line = text->data; /* the buffer is final now: point into it */
    for (size_t i = 0; i < n; i++) {
        h->header_nodes[i].data = line;
        h->header_nodes[i].next = i + 1 < n ? &h->header_nodes[i + 1] : NULL;
        line += strlen(line) + 1;
    }
    return h->header_nodes;
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* Whether libcurl would take a proxy for this scheme from the environment (its names:
 * http_proxy only in lower case, https_proxy in either, all_proxy in either). */
static int env_proxy(const char *scheme)
{
    if (strcmp(scheme, "http") == 0) {
        if (env_set("http_proxy"))
            return 1;
    } else if (env_set("https_proxy") || env_set("HTTPS_PROXY")) {
        return 1;
    }
    return env_set("all_proxy") || env_set("ALL_PROXY");
}

/* Sets the URL. libcurl (7.88) re-reads a URL it is given and writes the request line with its
 * own printf, one character at a time: for a signed RPC call's long query that was a third of
 * its work per call. So it gets the short "scheme://host/" and the path and query as the
 * request target, verbatim (the same bytes on the wire) - except through a plain-HTTP proxy,
 * which needs the whole URL in the request line. `direct`: no proxy configured or in the
 * environment (set_common_options then says "no proxy" explicitly, which also spares libcurl
 * its own look-up). */
static void set_url(acs_http *h, const acs_request *r, const acs_wire *w, int direct)
{
    CURL *e = h->easy;
    const char *url = acs_buf_cstr(&w->url);
    size_t origin_len = strlen(r->scheme) + 3 + strlen(r->host);
    int tunnelled = strcmp(r->scheme, "https") == 0; /* through any proxy: CONNECT */
    if ((direct || tunnelled) && w->url.len > origin_len && url[origin_len] == '/') {
        acs_buf_reset(&h->origin);
        acs_buf_append(&h->origin, url, origin_len + 1);
        if (!h->origin.oom) {
            curl_easy_setopt(e, CURLOPT_URL, acs_buf_cstr(&h->origin));
            curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, url + origin_len);
            return;
        }
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, NULL);
}

/* The options every call of one template shares, after a reset (nothing set for another
 * template's call leaks into this one; connections stay). */
static void set_common_options(acs_http *h, const acs_request *r, int direct)
{
    CURL *e = h->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, ACS_RECEIVE_BUFFER);
    if (direct) { /* no proxy, said outright: libcurl then reads no proxy variables either */
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, ""); /* or it reads no_proxy, NO_PROXY per call */
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, global_share);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, h); /* an engine finds the context of a finished handle */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (r->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    if (r->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (r->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, r->ca_file);
    if (r->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, r->proxy);
    if (r->no_proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, r->no_proxy);
}

/* Sets up the handle for one attempt. A reset and the template's options only when the last
 * call on this handle came from another template (a reset and its dozen options were ~5k
 * instructions a call); then every option a call sets is set, or unset, every time. */
static void set_options(acs_http *h, const acs_request *r, const acs_wire *w,
                        struct curl_slist *headers, long timeout_ms)
{
    CURL *e = h->easy;
    int direct = !r->proxy && !env_proxy(r->scheme);
    unsigned long long serial = r->shared ? r->shared->serial : 0;
    if (!serial || serial != h->setup_serial || direct != h->setup_direct) {
        set_common_options(h, r, direct);
        h->setup_serial = serial;
        h->setup_direct = direct;
    }
    set_url(h, r, w, direct);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    /* libcurl silently resends a request whose reused connection died before any reply;
     * a call that changes state must never go out twice on its own, so it gets a fresh one. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT,
                     (!r->read_only && !r->retry.unsafe) || h->fresh_next ? 1L : 0L);
    h->fresh_next = 0;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    if (strcmp(r->method, "GET") == 0 && w->body.len == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL); /* no body of an earlier call's */
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body.len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, acs_buf_cstr(&w->body));
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                         strcmp(r->method, "POST") != 0 ? r->method : NULL);
    }
}

/* After a complete reply the connection must be silent: readable now means the server sent
 * more than it announced, or closed; libcurl would keep it and the next call would read the
 * junk as its own reply. */
static int connection_clean(CURL *e)
{
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
        return 1; /* already closed by libcurl */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

static int request_started(CURL *e)
{
    curl_off_t pre = 0;
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
    return pre > 0;
}

static void map_curl_error(acs_http *h, CURLcode rc, long timeout_ms, double elapsed,
                           const acs_request *r, acs_result *res)
{
    const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        if (!res->sent && r->connect_timeout_ms > 0 &&
            (timeout_ms <= 0 || elapsed * 1000.0 < (double)timeout_ms - 5.0)) {
            res->timeout_kind = ACS_TIMEOUT_CONNECT;
            acs_result_fail(res, ACS_E_TIMEOUT, "connect timeout after %.3f s (%s)", elapsed, why);
        } else {
            res->timeout_kind = ACS_TIMEOUT_TOTAL;
            acs_result_fail(res, ACS_E_TIMEOUT, "the call's deadline passed after %.3f s", elapsed);
        }
        break;
    case CURLE_WRITE_ERROR:
        if (h->too_large)
            acs_result_fail(res, ACS_E_TOO_LARGE, "response body over max_response_bytes (%zu)",
                            h->max_body);
        else
            acs_result_fail(res, ACS_E_INTERNAL, "out of memory reading the response");
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        acs_result_fail(res, ACS_E_CANCELLED, "the call was cancelled");
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        acs_result_fail(res, ACS_E_TLS, "TLS failure: %s", why);
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
        acs_result_fail(res, ACS_E_INVALID_RESPONSE, "invalid HTTP response: %s", why);
        break;
    case CURLE_OUT_OF_MEMORY:
        acs_result_fail(res, ACS_E_INTERNAL, "out of memory in libcurl");
        break;
    default:
        acs_result_fail(res, ACS_E_UNREACHABLE, "%s", why);
        break;
    }
}

int acs_http_start(acs_http *h, const acs_request *r, const acs_wire *w, double deadline,
                   atomic_int *cancelled, acs_result *res)
{
    double start = acs_now();
    long timeout_ms = 0;
    if (deadline > 0) {
        timeout_ms = (long)((deadline - start) * 1000.0);
        if (timeout_ms < 1)
            timeout_ms = 1;
    }
    struct curl_slist *headers = header_list(h, &w->headers);
    acs_buf_reset(&res->headers);
    res->http_status = 0;
    res->error = ACS_OK;
    res->timeout_kind = ACS_TIMEOUT_NONE;
    res->sent = 0;
    /* the last attempt met junk on a reused connection (of whichever worker ran it): this
     * one must not reuse a connection that may carry the same */
    if (res->stale)
        h->fresh_next = 1;
    res->stale = 0;
    if (!headers) {
        acs_result_fail(res, ACS_E_INTERNAL, "out of memory building headers");
        return -1;
    }
    h->res = res;
    h->req = r;
    h->cancelled = cancelled;
    h->start = start;
    h->timeout_ms = timeout_ms;
    h->max_body = r->max_response_bytes;
    h->too_large = 0;
    h->errbuf[0] = '\0';
    h->last_activity = start;
    set_options(h, r, w, headers, timeout_ms);
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK) {
        acs_result_fail(res, ACS_E_INTERNAL, "cannot start the transfer");
        h->res = NULL;
        return -1;
    }
    return 0;
}

int acs_http_check(acs_http *h, double now, double *next)
{
    acs_result *res = h->res;
    const acs_request *r = h->req;
    *next = 0;
    if (atomic_load(h->cancelled)) {
        acs_result_fail(res, ACS_E_CANCELLED, "the call was cancelled");
        return 1;
    }
    if (!res->sent && request_started(h->easy)) {
        res->sent = 1;
        h->last_activity = now;
    }
    if (res->sent && r->read_timeout_ms > 0) {
        double until = h->last_activity + (double)r->read_timeout_ms / 1000.0;
        if (until <= now) {
            res->timeout_kind = ACS_TIMEOUT_READ;
            acs_result_fail(res, ACS_E_TIMEOUT, "read timeout: no data for %.3f s",
                            (double)r->read_timeout_ms / 1000.0);
            return 1;
        }
        *next = until;
    } else if (r->read_timeout_ms > 0) {
        *next = now + 0.05; /* look again soon to notice when the request starts */
    }
    return 0;
}

void acs_http_end(acs_http *h, int finished, int code, int conn_taken)
{
    acs_result *res = h->res;
    CURLcode rc = (CURLcode)code;
    if (finished && !res->sent)
        res->sent = request_started(h->easy);
    if (finished && rc == CURLE_OK) {
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &res->http_status);
        if (!conn_taken && !connection_clean(h->easy))
            h->fresh_next = 1;
    } else if (finished) {
        long connects = 1;
        curl_easy_getinfo(h->easy, CURLINFO_NUM_CONNECTS, &connects);
        /* Junk on a reused connection (bytes past the last reply's Content-Length) reads as
         * a broken reply: the connection is to blame, not the server's answer to this call. */
        if ((rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_UNSUPPORTED_PROTOCOL) && connects == 0) {
            res->stale = 1;
            h->fresh_next = 1;
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK && !atomic_load(h->cancelled))
            rc = CURLE_GOT_NOTHING;
        map_curl_error(h, rc, h->timeout_ms, acs_now() - h->start, h->req, res);
    }
    curl_multi_remove_handle(h->multi, h->easy);
    /* the result takes the body; an earlier attempt's buffer becomes the next one's */
    acs_buf earlier = res->body;
    res->body = h->body;
    h->body = earlier;
    acs_buf_reset(&h->body);
    h->res = NULL;
    h->req = NULL;
}

void acs_http_perform(acs_http *h, const acs_request *r, const acs_wire *w, double deadline,
                      atomic_int *cancelled, acs_result *res)
{
    if (acs_http_start(h, r, w, deadline, cancelled, res) != 0)
        return;
    CURLcode rc = CURLE_OK;
    int finished = 0;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
            acs_result_fail(res, ACS_E_INTERNAL, "curl_multi_perform failed");
            break;
        }
        if (!running) {
            int left;
            CURLMsg *m = curl_multi_info_read(h->multi, &left);
            rc = m && m->msg == CURLMSG_DONE ? m->data.result : CURLE_GOT_NOTHING;
            finished = 1;
            break;
        }
        double now = acs_now(), next;
        if (acs_http_check(h, now, &next))
            break;
        int wait_ms = 1000;
        if (next > 0 && (next - now) * 1000.0 + 1 < wait_ms)
            wait_ms = (int)((next - now) * 1000.0) + 1;
        curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL);
    }
    acs_http_end(h, finished, (int)rc, 0);
}

void acs_http_keep_body(acs_http *h, acs_buf *body)
{
    if (body->cap > h->body.cap) {
        acs_buf smaller = h->body;
        h->body = *body;
        *body = smaller;
    }
    acs_buf_free(body);
    acs_buf_reset(&h->body);
}

void acs_http_sleep(acs_http *h, double seconds, atomic_int *cancelled)
{
    double until = acs_now() + seconds;
    for (;;) {
        double left = until - acs_now();
        if (left <= 0 || atomic_load(cancelled))
            return;
        curl_multi_poll(h->multi, NULL, 0, (int)(left * 1000.0) + 1, NULL);
    }
}
