/* http.c - the server: libmicrohttpd daemon, the request life, shutdown.
 * See http.h for the contract and http_internal.h for the request life.
 */
#include "http/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* After a body went over its bound we read and drop at most this much more
 * (to be able to answer 413) before closing the connection instead. */
#define DISCARD_MAX (1024u * 1024u)
/* How long shutdown waits for answers already given to reach their clients. */
#define FLUSH_WAIT_MS 2000
#define CONNECTION_TIMEOUT_S 30u

/* Waits until no handled request is unfinished, at most ms. Shutdown only:
 * polling keeps the per-request path free of wakeups. */
static void wait_idle(ic_http *h, int ms)
{
    int64_t end = ic_mono_us() + (int64_t)(ms > 0 ? ms : 0) * 1000;
    while (atomic_load(&h->unfinished) > 0 && ic_mono_us() < end)
        ic_sleep_us(1000);
}

/* Creates a server; see http.h. Not started: add routes, then start. */
ic_err ic_http_new(const ic_http_config *cfg, ic_http **out, ic_errmsg *em)
{
    *out = NULL;
    if (!cfg || cfg->port < 0 || cfg->port > 65535)
        return ic_errf(em, IC_ERR_INVALID, "the HTTP port must be between 0 and 65535");
    ic_http *h = ic_calloc(1, sizeof *h);
    h->cfg = *cfg;
    h->listen_addr = ic_strdup(cfg->listen_addr ? cfg->listen_addr : "127.0.0.1");
    h->cfg.listen_addr = h->listen_addr;
    if (h->cfg.threads <= 0)
        h->cfg.threads = 2;
    if (h->cfg.threads > 64)
        h->cfg.threads = 64;
    if (h->cfg.default_max_body == 0)
        h->cfg.default_max_body = 1024 * 1024;
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->unfinished, 0);
    atomic_init(&h->resuming_now, 0);
    atomic_init(&h->connections, 0);
    *out = h;
    return IC_OK;
}

/* ---- the request life ---------------------------------------------------- */

/* Queues resp (stolen) on r's connection and writes the access log line. */
static enum MHD_Result queue(ic_req *r, int status, struct MHD_Response *resp)
{
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    ic_log(status >= 500 ? IC_LOG_WARN : IC_LOG_INFO, "http_request",
           "rid=%s method=%s route=%s status=%d duration_us=%lld", r->rid, r->method,
           r->route ? r->route->pattern : "-", status, (long long)(ic_mono_us() - r->start_us));
    return ret;
}

/* Answers r on behalf of the server (not its handler), now. */
static enum MHD_Result answer_now(ic_req *r, int status, const char *code, const char *msg,
                                  const char *allow)
{
    struct MHD_Response *resp = ic_req_error_response(r, code, msg);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    pthread_mutex_lock(&r->mu);
    r->answered = true;
    r->returned = true;
    pthread_mutex_unlock(&r->mu);
    return queue(r, status, resp);
}

static enum MHD_Result answer_too_big(ic_req *r)
{
    char msg[96];
    snprintf(msg, sizeof msg, "the body is over this endpoint's limit of %zu bytes", r->max_body);
    return answer_now(r, 413, "too_large", msg, NULL);
}

/* The first callback: create the request, route it, check Content-Length. */
static enum MHD_Result begin(ic_http *h, struct MHD_Connection *conn, const char *url,
                             const char *method, void **con_cls)
{
    ic_req *r = ic_req_new(h, conn, method, url);
    *con_cls = r;
    ic_http_route_match(h, r);
    r->max_body = r->route ? r->route->max_body : h->cfg.default_max_body;
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n = 0;
    if (cl && ic_parse_i64(cl, &n) == IC_OK && n >= 0) {
        if ((uint64_t)n > r->max_body) {
            /* Answering before the body is read closes the connection after
             * the answer, which is what we want for an oversized upload. */
            r->too_big = true;
            r->dispatched = true;
            return answer_too_big(r);
        }
        if (n > 0)
            ic_buf_reserve(&r->body, (size_t)n);
    }
    return MHD_YES;
}

/* A body chunk: keep it, or drop it once the body is over the bound. */
static enum MHD_Result body_chunk(ic_req *r, const char *data, size_t n)
{
    if (!r->too_big && n <= r->max_body - r->body.len) {
        ic_buf_append(&r->body, data, n);
        return MHD_YES;
    }
    if (!r->too_big) {
        r->too_big = true;
        ic_buf_free(&r->body);
    }
    r->discarded += n;
    if (r->discarded > DISCARD_MAX) {
        IC_WARN("http_body_abandoned", "rid=%s route=%s limit=%zu", r->rid,
                r->route ? r->route->pattern : "-", r->max_body);
        return MHD_NO; /* close the connection */
    }
    return MHD_YES;
}

/* The final callback, first time: run the handler. */
static enum MHD_Result dispatch(ic_http *h, ic_req *r)
{
    r->dispatched = true;
    if (r->too_big)
        return answer_too_big(r);
    if (r->early_status == 404)
        return answer_now(r, 404, "not_found", "there is nothing at this path", NULL);
    if (r->early_status == 405)
        return answer_now(r, 405, "method_not_allowed", "this path does not take that method",
                          r->allow);

    /* From here until completion the request counts for a graceful stop. */
    atomic_fetch_add(&h->unfinished, 1);
    r->counted = true;
    r->route->handler(r, r->route->arg);

    struct MHD_Response *resp = NULL;
    int status = 0;
    pthread_mutex_lock(&r->mu);
    r->returned = true;
    if (r->answered) {
        resp = r->resp;
        r->resp = NULL;
        status = r->status;
    } else if (r->deferred) {
        pthread_mutex_lock(&h->mu);
        if (!h->closing) {
            r->dprev = NULL;
            r->dnext = h->deferred_head;
            if (h->deferred_head)
                h->deferred_head->dprev = r;
            h->deferred_head = r;
            h->deferred_count++;
            pthread_mutex_unlock(&h->mu);
            r->listed = true;
            /* Under r->mu, so that no answer can resume it before this. */
            MHD_suspend_connection(r->conn);
            pthread_mutex_unlock(&r->mu);
            return MHD_YES;
        }
        pthread_mutex_unlock(&h->mu);
        /* Shutting down: answer now; the handler's late answer is dropped. */
        r->answered = true;
        status = 503;
        resp = ic_req_error_response(r, "shutting_down", "the server is shutting down");
    } else {
        IC_ERROR("http_handler_no_answer", "rid=%s route=%s", r->rid, r->route->pattern);
        r->answered = true;
        status = 500;
        resp = ic_req_error_response(r, "internal", "the request was not answered");
    }
    pthread_mutex_unlock(&r->mu);
    return queue(r, status, resp);
}

/* The final callback after a resume: queue the stored answer. */
static enum MHD_Result resumed(ic_req *r)
{
    pthread_mutex_lock(&r->mu);
    struct MHD_Response *resp = r->resp;
    int status = r->status;
    r->resp = NULL;
    pthread_mutex_unlock(&r->mu);
    if (!resp)
        return MHD_YES; /* already queued; nothing to do */
    return queue(r, status, resp);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    ic_http *h = cls;
    ic_req *r = *con_cls;
    if (!r)
        return begin(h, conn, url, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->dispatched)
            return MHD_YES;
        return body_chunk(r, upload_data, n);
    }
    if (!r->dispatched)
        return dispatch(h, r);
    return resumed(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    ic_http *h = cls;
    ic_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&r->mu);
    r->answered = true; /* a late answer from the handler is dropped */
    struct MHD_Response *resp = r->resp;
    r->resp = NULL;
    if (r->listed) {
        pthread_mutex_lock(&h->mu);
        ic_http_deferred_unlink(h, r);
        r->listed = false;
        pthread_mutex_unlock(&h->mu);
    }
    if (r->counted) {
        r->counted = false;
        atomic_fetch_sub(&h->unfinished, 1);
    }
    pthread_mutex_unlock(&r->mu);
    if (resp)
        MHD_destroy_response(resp);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        IC_DEBUG("http_request_ended", "rid=%s reason=%d", r->rid, (int)toe);
    ic_req_unref(r);
}

/* Counts open connections, for the waker (waker.c). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    ic_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&h->connections, 1);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&h->connections, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    IC_WARN("http_mhd", "msg=\"%s\"", msg);
}

/* ---- start, stop ----------------------------------------------------------- */

/* The connection limit: as many as the descriptor limit leaves room for. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    rlim_t n = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = rl.rlim_cur;
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        n = 65536;
    n = n > 256 ? n - 128 : 64;
    if (n > 16384)
        n = 16384;
    return (unsigned)n;
}

/* Starts listening; see http.h. */
ic_err ic_http_start(ic_http *h, ic_errmsg *em)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, h->listen_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)h->cfg.port);
    } else if (inet_pton(AF_INET6, h->listen_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)h->cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        return ic_errf(em, IC_ERR_INVALID, "the listen address \"%s\" is not an IP address",
                       h->listen_addr);
    }
    /* The logger must be the first option to catch every message. */
    h->d = MHD_start_daemon(
        flags, (uint16_t)h->cfg.port, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, h, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)h->cfg.threads, MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
        MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        h, MHD_OPTION_END);
    if (!h->d)
        return ic_errf(em, IC_ERR_IO, "cannot listen on %s port %d (in use, or not allowed)",
                       h->listen_addr, h->cfg.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? (int)info->port : h->cfg.port;
    h->waker = ic_http_waker_start(h->listen_addr, h->port, &h->connections);
    IC_INFO("http_listening", "addr=%s port=%d threads=%d", h->listen_addr, h->port,
            h->cfg.threads);
    return IC_OK;
}

/* The bound port; see http.h. Thread-safe after ic_http_start. */
int ic_http_port(const ic_http *h)
{
    return h ? h->port : 0;
}

/* Stops the server; see http.h. Call once, from one thread, after which no
 * thread may use h; handlers' late answers remain safe. */
void ic_http_stop(ic_http *h, int grace_ms)
{
    if (!h)
        return;
    if (h->d) {
        /* Before the listening socket goes: the waker connects to it. */
        ic_http_waker_stop(h->waker);
        h->waker = NULL;
        /* No new connections. The listening socket is closed only after
         * the daemon stops: each poll thread takes it out of its epoll set
         * on its next turn, and libmicrohttpd aborts the process when the
         * socket is already closed then ("Failed to remove listen FD from
         * epoll set"). */
        MHD_socket quiesced = MHD_quiesce_daemon(h->d);

        /* Requests being handled or waiting for their answer may finish. */
        wait_idle(h, grace_ms);
        pthread_mutex_lock(&h->mu);
        h->closing = true;
        size_t n = h->deferred_count;
        ic_req **left = n ? ic_calloc(n, sizeof *left) : NULL;
        size_t k = 0;
        for (ic_req *r = h->deferred_head; r && k < n; r = r->dnext) {
            atomic_fetch_add(&r->refs, 1);
            left[k++] = r;
        }
        pthread_mutex_unlock(&h->mu);

        if (k)
            IC_WARN("http_shutdown_unanswered", "requests=%zu", k);
        for (size_t i = 0; i < k; i++) {
            ic_req *r = left[i];
            ic_req_finish(r, 503,
                          ic_req_error_response(r, "shutting_down", "the server is shutting down"),
                          false);
            ic_req_unref(r);
        }
        ic_free(left);

        /* The answers just given, and any a handler gave meanwhile, reach
         * their clients; then nothing may be between unlisting and resuming
         * (libmicrohttpd must not stop with a suspended connection). */
        wait_idle(h, FLUSH_WAIT_MS);
        while (atomic_load(&h->resuming_now) > 0)
            ic_sleep_us(200);
        MHD_stop_daemon(h->d);
        h->d = NULL;
        if (quiesced != MHD_INVALID_SOCKET)
            close(quiesced);
        IC_INFO("http_stopped", "port=%d", h->port);
    }
    ic_http_routes_free(h);
    pthread_mutex_destroy(&h->mu);
    ic_free(h->listen_addr);
    ic_free(h);
}

void ic_http_deferred_unlink(ic_http *h, ic_req *r)
{
    if (r->dprev)
        r->dprev->dnext = r->dnext;
    else
        h->deferred_head = r->dnext;
    if (r->dnext)
        r->dnext->dprev = r->dprev;
    r->dprev = r->dnext = NULL;
    h->deferred_count--;
}

/* Maps an error to the API's HTTP status; see http.h. Pure. */
int ic_http_status_for(ic_err e)
{
    switch (e) {
    case IC_OK:
        return 200;
    case IC_ERR_INVALID:
    case IC_ERR_PARSE:
        return 400;
    case IC_ERR_AUTH:
        return 401;
    case IC_ERR_FORBIDDEN:
        return 403;
    case IC_ERR_NOT_FOUND:
        return 404;
    case IC_ERR_EXISTS:
        return 409;
    case IC_ERR_TOO_BIG:
        return 413;
    case IC_ERR_LIMIT:
    case IC_ERR_WINDOW_CLOSED:
        return 422;
    case IC_ERR_BUSY:
    case IC_ERR_DB:
        return 503;
    case IC_ERR_IO:
    case IC_ERR_INTERNAL:
        return 500;
    }
    return 500;
}
