/* The raw-libcurl baseline for `make bench`: the ceiling for alicloud's design, with no Lua, no
 * signing and no JSON. N requests over `concurrency` pthreads, each with its own reused easy
 * handle (keep-alive), taking request numbers from a shared counter so that exactly N go out
 * with `concurrency` in flight. With concurrency 1 and "loop" it runs in the main thread: the
 * single-threaded loop that sync calls are compared with. With "multi" one thread drives
 * `concurrency` easy handles on one libcurl multi handle (curl_multi_socket_action over
 * epoll, a new transfer started as each one ends): the peer of many calls in flight.
 *
 * The request is what alicloud puts on the wire for DescribeRegions (POST, a query string of
 * the same length as a signed RPC one, the same headers, an empty body), so the bytes match and
 * the difference is the client's own work.
 *
 *   baseline BASE_URL N CONCURRENCY [loop | multi]
 *
 * Prints one line: RESULT calls=.. ok=.. err=.. wall=.. cpu=.. hwm_kb=.. conns=.. threads=..
 * Bounded: stops at N requests or after BENCH_MAX_SECONDS (default 120), whichever is first. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>

#include <curl/curl.h>

/* the same length as alicloud's signed query for DescribeRegions in cn-hangzhou */
static const char QUERY[] =
    "/?RegionId=cn-hangzhou&Action=DescribeRegions&Version=2014-05-26&Format=JSON"
    "&Timestamp=2026-01-01T00%3A00%3A00Z&SignatureNonce=0123456789abcdef0123456789abcdef"
    "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=ak"
    "&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";

static const char *HEADERS[] = {
    "Expect:",
    "Accept-Encoding: identity",
    "User-Agent: AlibabaCloud (Linux; x86_64) Lua/5.4 alicloud/0.1.0",
    "Accept: application/json",
    "x-acs-action: DescribeRegions",
    "x-acs-version: 2014-05-26",
    "Content-Type: application/x-www-form-urlencoded",
};

static char url[1024];
static long total;
static atomic_long next_index, ok_count, err_count, conn_count;
static double deadline;
static struct curl_slist *headers;

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + system time of every thread of the process */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* keeps the body, as a client must before it can parse it */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    size_t len = size * n;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static void *worker(void *arg)
{
    (void)arg;
    CURL *e = curl_easy_init();
    buf body = {0};
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    while (atomic_fetch_add(&next_index, 1) < total && now_mono() < deadline) {
        body.len = 0;
        CURLcode rc = curl_easy_perform(e);
        long status = 0, conns = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
        atomic_fetch_add(&conn_count, conns);
        if (rc == CURLE_OK && status == 200 && body.len > 0 && body.data[0] == '{' &&
            strstr(body.data, "\"RequestId\""))
            atomic_fetch_add(&ok_count, 1);
        else
            atomic_fetch_add(&err_count, 1);
    }
    free(body.data);
    curl_easy_cleanup(e);
    return NULL;
}

/* ---- one thread, one multi handle ---- */

typedef struct {
    CURLM *multi;
    int epfd;
    long timeout_ms; /* libcurl's timer; -1: none */
} driver;

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    driver *d = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(d->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 &&
        epoll_ctl(d->epfd, socketp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0)
        return -1;
    curl_multi_assign(d->multi, fd, d);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    ((driver *)userp)->timeout_ms = timeout_ms;
    return 0;
}

static CURL *new_handle(buf *body)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_PRIVATE, body);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* alicloud's defaults: connect 5 s, and no total limit (its read timeout is a silence,
     * which thousands of transfers waiting their turn on one thread are not) */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    return e;
}

static void run_multi(int conc)
{
    driver d = {curl_multi_init(), epoll_create1(EPOLL_CLOEXEC), -1};
    curl_multi_setopt(d.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(d.multi, CURLMOPT_SOCKETDATA, &d);
    curl_multi_setopt(d.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(d.multi, CURLMOPT_TIMERDATA, &d);
    curl_multi_setopt(d.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    buf *bodies = calloc((size_t)conc, sizeof *bodies);
    CURL **handles = calloc((size_t)conc, sizeof *handles);
    long started = 0, finished = 0;
    for (int i = 0; i < conc && started < total; i++) {
        if (!(handles[i] = new_handle(&bodies[i])))
            break;
        curl_multi_add_handle(d.multi, handles[i]);
        started++;
    }
    int running = 0;
    while (finished < started && now_mono() < deadline) {
        struct epoll_event evs[64];
        int n = epoll_wait(d.epfd, evs, 64, d.timeout_ms < 0 ? 1000 : (int)d.timeout_ms);
        for (int i = 0; i < n; i++) {
            int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                       ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                       ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(d.multi, evs[i].data.fd, mask, &running);
        }
        if (n == 0)
            curl_multi_socket_action(d.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(d.multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            CURLcode rc = m->data.result;
            buf *body = NULL;
            long status = 0, conns = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&body);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
            atomic_fetch_add(&conn_count, conns);
            if (rc == CURLE_OK && status == 200 && body->len > 0 && body->data[0] == '{' &&
                strstr(body->data, "\"RequestId\""))
                atomic_fetch_add(&ok_count, 1);
            else if (atomic_fetch_add(&err_count, 1) == 0)
                fprintf(stderr, "baseline: first failure: %s (HTTP %ld)\n", curl_easy_strerror(rc),
                        status);
            finished++;
            curl_multi_remove_handle(d.multi, e);
            if (started < total) { /* the next request on the same handle */
                body->len = 0;
                curl_multi_add_handle(d.multi, e);
                started++;
            }
        }
    }
    for (int i = 0; i < conc; i++) {
        if (handles[i]) {
            curl_multi_remove_handle(d.multi, handles[i]);
            curl_easy_cleanup(handles[i]);
        }
        free(bodies[i].data);
    }
    free(bodies);
    free(handles);
    curl_multi_cleanup(d.multi);
    close(d.epfd);
}

/* threads of this process, from /proc/self/status */
static long thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s BASE_URL N CONCURRENCY [loop | multi]\n", argv[0]);
        return 2;
    }
    snprintf(url, sizeof url, "%s%s", argv[1], QUERY);
    total = atol(argv[2]);
    int conc = atoi(argv[3]);
    int loop = argc > 4 && strcmp(argv[4], "loop") == 0;
    int multi = argc > 4 && strcmp(argv[4], "multi") == 0;
    const char *max = getenv("BENCH_MAX_SECONDS");
    if (total < 1 || conc < 1 || (loop && conc != 1)) {
        fprintf(stderr, "baseline: bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < sizeof HEADERS / sizeof *HEADERS; i++)
        headers = curl_slist_append(headers, HEADERS[i]);

    pthread_t *threads = calloc((size_t)conc, sizeof *threads);
    double t0 = now_mono(), c0 = cpu_seconds();
    deadline = t0 + (max ? atof(max) : 120.0);
    long nthreads = 1; /* the most at once */
    if (loop) {
        worker(NULL);
    } else if (multi) {
        run_multi(conc);
    } else {
        nthreads = conc + 1;
        for (int i = 0; i < conc; i++)
            if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
                fprintf(stderr, "baseline: pthread_create failed\n");
                return 1;
            }
        for (int i = 0; i < conc; i++)
            pthread_join(threads[i], NULL);
    }
    double wall = now_mono() - t0, cpu = cpu_seconds() - c0;
    long ok = atomic_load(&ok_count), err = atomic_load(&err_count);
    if (multi)
        nthreads = thread_count();
    printf("RESULT calls=%ld ok=%ld err=%ld wall=%.6f cpu=%.6f hwm_kb=%ld conns=%ld threads=%ld\n",
           total, ok, err, wall, cpu, vm_hwm_kb(), atomic_load(&conn_count), nthreads);
    free(threads);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return ok == total ? 0 : 1;
}
