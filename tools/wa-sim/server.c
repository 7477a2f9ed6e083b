/* server.c - wa-sim's HTTP server on libmicrohttpd: request bodies, routing,
 * answers, deferred and delayed answers (suspend/resume with a timer thread).
 */
#include "sim.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SIM_MAX_BODY (8u * 1024u * 1024u)
#define GRAPH_MAX_BODY (4u * 1024u * 1024u)

typedef ssize_t (*fill_fn)(void *arg, uint64_t pos, char *buf, size_t max);

struct ic_sim_req {
    ic_sim *sim;
    ic_sim_server *srv;
    struct MHD_Connection *conn;
    const char *method; /* libmicrohttpd's, valid for the request */
    char *path;         /* owned */
    ic_buf body;
    size_t max_body;
    bool too_big, dispatched, answered, drop, deferred;
    int delay_ms;
    int status;
    char *resp; /* owned */
    size_t resp_len;
    char ctype[96];
    fill_fn fill; /* streamed answer when non-NULL */
    void *fill_arg;
    uint64_t fill_size;
    int64_t due_us; /* timer queue */
};

struct ic_sim_server {
    ic_sim *sim;
    struct MHD_Daemon *d;
    int port;
    pthread_t timer;
    bool timer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    ic_sim_req **heap; /* delayed answers, earliest first */
    size_t n, cap;
};

/* ---- the timer queue for delayed answers ---------------------------------- */

static void heap_push(ic_sim_server *srv, ic_sim_req *r)
{
    if (srv->n == srv->cap) {
        srv->cap = srv->cap ? srv->cap * 2 : 64;
        srv->heap = ic_realloc(srv->heap, srv->cap * sizeof *srv->heap);
    }
    size_t i = srv->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (srv->heap[p]->due_us <= r->due_us)
            break;
        srv->heap[i] = srv->heap[p];
        i = p;
    }
    srv->heap[i] = r;
}

static ic_sim_req *heap_pop(ic_sim_server *srv)
{
    ic_sim_req *top = srv->heap[0];
    ic_sim_req *last = srv->heap[--srv->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= srv->n)
            break;
        if (c + 1 < srv->n && srv->heap[c + 1]->due_us < srv->heap[c]->due_us)
            c++;
        if (last->due_us <= srv->heap[c]->due_us)
            break;
        srv->heap[i] = srv->heap[c];
        i = c;
    }
    if (srv->n)
        srv->heap[i] = last;
    return top;
}

static void *timer_main(void *arg)
{
    ic_sim_server *srv = arg;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        int64_t now = ic_mono_us();
        while (srv->n && (srv->stopping || srv->heap[0]->due_us <= now)) {
            ic_sim_req *r = heap_pop(srv);
            MHD_resume_connection(r->conn);
        }
        if (srv->stopping)
            break;
        if (srv->n) {
            int64_t wait_us = srv->heap[0]->due_us - now;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (wait_us % 1000000) * 1000;
            ts.tv_sec += (time_t)(wait_us / 1000000 + ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&srv->cv, &srv->mu, &ts);
        } else {
            pthread_cond_wait(&srv->cv, &srv->mu);
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/* Suspends r until its delay is over; false when stopping (answer now). */
static bool timer_add(ic_sim_server *srv, ic_sim_req *r)
{
    bool ok = false;
    pthread_mutex_lock(&srv->mu);
    if (!srv->stopping) {
        r->due_us = ic_mono_us() + (int64_t)r->delay_ms * 1000;
        MHD_suspend_connection(r->conn);
        heap_push(srv, r);
        pthread_cond_signal(&srv->cv);
        ok = true;
    }
    pthread_mutex_unlock(&srv->mu);
    return ok;
}

/* ---- request accessors ---------------------------------------------------- */

const char *ic_sim_req_method(const ic_sim_req *r)
{
    return r->method;
}

const char *ic_sim_req_header(const ic_sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *ic_sim_req_query(const ic_sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *ic_sim_req_body(const ic_sim_req *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return ic_buf_cstr(&r->body);
}

ic_sim *ic_sim_req_sim(const ic_sim_req *r)
{
    return r->sim;
}

const char *ic_sim_req_bearer(const ic_sim_req *r)
{
    const char *h = ic_sim_req_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

json_t *ic_sim_req_json(ic_sim_req *r)
{
    json_error_t je;
    json_t *j =
        json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body must be a JSON object (%s)",
                 j ? "not an object" : je.text);
        json_decref(j);
        if (r->path && ic_str_starts(r->path, "/sim/"))
            ic_sim_reply_sim_error(r, 400, msg);
        else
            ic_sim_reply_meta(r, 400, 100, msg);
        return NULL;
    }
    return j;
}

/* ---- answers --------------------------------------------------------------- */

void ic_sim_reply_owned(ic_sim_req *r, int status, const char *ctype, char *body, size_t len)
{
    if (r->answered) {
        ic_free(body);
        return;
    }
    r->answered = true;
    r->status = status;
    r->resp = body;
    r->resp_len = len;
    ic_strlcpy(r->ctype, ctype ? ctype : "application/octet-stream", sizeof r->ctype);
}

void ic_sim_reply(ic_sim_req *r, int status, const char *ctype, const void *body, size_t len)
{
    char *copy = ic_malloc(len + 1);
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    ic_sim_reply_owned(r, status, ctype, copy, len);
}

void ic_sim_reply_json(ic_sim_req *r, int status, json_t *body)
{
    size_t len = 0;
    char *text = ic_sim_dumps(body, &len);
    json_decref(body);
    if (!text) {
        ic_sim_reply(r, 500, "application/json", "{\"error\":\"serialise\"}", 21);
        return;
    }
    ic_sim_reply_owned(r, status, "application/json", text, len);
}

void ic_sim_reply_stream(ic_sim_req *r, int status, const char *ctype, uint64_t size,
                         ssize_t (*fill)(void *arg, uint64_t pos, char *buf, size_t max), void *arg)
{
    if (r->answered) {
        ic_free(arg);
        return;
    }
    r->answered = true;
    r->status = status;
    r->fill = fill;
    r->fill_arg = arg;
    r->fill_size = size;
    ic_strlcpy(r->ctype, ctype ? ctype : "application/octet-stream", sizeof r->ctype);
}

void ic_sim_reply_meta(ic_sim_req *r, int http, int code, const char *details)
{
    char trace[24];
    char msg[160];
    trace[0] = 'A';
    ic_random_hex(trace + 1, 10);
    json_t *err;
    if (code == 190) {
        err = json_pack("{s:s, s:s, s:i, s:s}", "message", "Invalid OAuth access token.", "type",
                        "OAuthException", "code", code, "fbtrace_id", trace);
    } else {
        snprintf(msg, sizeof msg, "(#%d) %s", code, ic_sim_meta_title(code));
        err =
            json_pack("{s:s, s:s, s:i, s:{s:s, s:s}, s:s}", "message", msg, "type",
                      "OAuthException", "code", code, "error_data", "messaging_product", "whatsapp",
                      "details", details ? details : ic_sim_meta_title(code), "fbtrace_id", trace);
        if (code == 130429 && err)
            json_object_set_new(err, "error_subcode", json_integer(2494055));
    }
    ic_sim_reply_json(r, http, json_pack("{s:o}", "error", err));
}

void ic_sim_reply_sim_error(ic_sim_req *r, int http, const char *msg)
{
    ic_sim_reply_json(r, http, json_pack("{s:s}", "error", msg ? msg : "error"));
}

void ic_sim_req_drop(ic_sim_req *r)
{
    r->drop = true;
}

void ic_sim_req_delay(ic_sim_req *r, int ms)
{
    r->delay_ms = ms > 0 ? ms : 0;
}

void ic_sim_req_defer(ic_sim_req *r)
{
    r->deferred = true;
    MHD_suspend_connection(r->conn);
}

void ic_sim_req_resume(ic_sim_req *r)
{
    if (!r->answered)
        ic_sim_reply_sim_error(r, 503, "stopping");
    MHD_resume_connection(r->conn);
}

/* ---- routing --------------------------------------------------------------- */

static bool is_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
    }
    return false;
}

static bool is_method(const ic_sim_req *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

/* Routes /sim/people/{wa_id}/{send|inbox}. */
static void route_people(ic_sim_req *r, const char *rest)
{
    const char *slash = strchr(rest, '/');
    char wa_id[64];
    if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof wa_id) {
        ic_sim_reply_sim_error(r, 404, "use /sim/people/{wa_id}/send or /inbox");
        return;
    }
    memcpy(wa_id, rest, (size_t)(slash - rest));
    wa_id[slash - rest] = '\0';
    if (strcmp(slash, "/send") == 0 && is_method(r, "POST"))
        ic_sim_people_send(r, wa_id);
    else if (strcmp(slash, "/inbox") == 0 && is_method(r, "GET"))
        ic_sim_inbox_get(r, wa_id);
    else
        ic_sim_reply_sim_error(r, 404, "use POST /sim/people/{wa_id}/send or GET .../inbox");
}

static void route_sim(ic_sim_req *r, const char *p)
{
    bool get = is_method(r, "GET"), post = is_method(r, "POST");
    if (!is_loopback(r->conn)) {
        ic_sim_reply_sim_error(r, 403, "the /sim API answers loopback clients only");
    } else if (strcmp(p, "/sim/stats") == 0 && get) {
        ic_sim_stats_get(r);
    } else if (strcmp(p, "/sim/reset") == 0 && post) {
        ic_sim_reset_post(r);
    } else if (strcmp(p, "/sim/faults") == 0 && (get || post)) {
        if (get)
            ic_sim_faults_get(r);
        else
            ic_sim_faults_post(r);
    } else if (strcmp(p, "/sim/clock") == 0 && (get || post)) {
        if (get)
            ic_sim_clock_get(r);
        else
            ic_sim_clock_post(r);
    } else if (strcmp(p, "/sim/numbers") == 0 && (get || post)) {
        if (get)
            ic_sim_numbers_get(r);
        else
            ic_sim_numbers_post(r);
    } else if (strcmp(p, "/sim/raw-webhook") == 0 && post) {
        ic_sim_raw_webhook(r);
    } else if (strcmp(p, "/sim/health") == 0 && get) {
        ic_sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
    } else if (ic_str_starts(p, "/sim/people/")) {
        route_people(r, p + strlen("/sim/people/"));
    } else {
        ic_sim_reply_sim_error(r, 404, "no such /sim route (see docs/wa-sim.md)");
    }
}

/* Removes a "/vNN.N" prefix; returns the rest ("/..."). */
static const char *strip_version(const char *p)
{
    if (p[0] == '/' && p[1] == 'v' && p[2] >= '0' && p[2] <= '9') {
        const char *q = p + 2;
        while ((*q >= '0' && *q <= '9') || *q == '.')
            q++;
        if (*q == '/' || *q == '\0')
            return *q ? q : "/";
    }
    return p;
}

static void dispatch(ic_sim_req *r)
{
    const char *p = r->path;
    if (ic_str_starts(p, "/sim/"))
        route_sim(r, p);
    else if (ic_str_starts(p, "/whatsapp_business/attachments"))
        ic_sim_media_download(r);
    else
        ic_sim_graph_route(r, strip_version(p));
}

/* ---- libmicrohttpd callbacks ---------------------------------------------- */

static enum MHD_Result queue_answer(ic_sim_req *r)
{
    struct MHD_Response *resp;
    if (r->fill) {
        resp = MHD_create_response_from_callback(r->fill_size, 64 * 1024, r->fill, r->fill_arg,
                                                 ic_free);
        r->fill_arg = NULL;
    } else {
        if (!r->resp)
            r->resp = ic_calloc(1, 1);
        resp = MHD_create_response_from_buffer_with_free_callback(r->resp_len, r->resp, ic_free);
        r->resp = NULL;
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", r->ctype);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static size_t body_bound(ic_sim_server *srv, const char *method, const char *url)
{
    if (ic_str_starts(url, "/sim/"))
        return SIM_MAX_BODY;
    size_t n = strlen(url);
    if (strcmp(method, "POST") == 0 && n >= 6 && strcmp(url + n - 6, "/media") == 0)
        return srv->sim->cfg.max_upload;
    return GRAPH_MAX_BODY;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    ic_sim_server *srv = cls;
    ic_sim_req *r = *con_cls;
    (void)version;
    if (!r) {
        r = ic_calloc(1, sizeof *r);
        r->sim = srv->sim;
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->path = ic_strndup(url, strnlen(url, 4096));
        r->max_body = body_bound(srv, method, r->path);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big) {
            if (r->body.len + *upload_size > r->max_body) {
                r->too_big = true;
                ic_buf_free(&r->body);
            } else {
                ic_buf_append(&r->body, upload_data, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->dispatched) {
        r->dispatched = true;
        if (r->too_big) {
            char msg[96];
            snprintf(msg, sizeof msg, "the body is over %zu bytes", r->max_body);
            ic_sim_reply_sim_error(r, 413, msg);
        } else {
            dispatch(r);
        }
        if (r->drop)
            return MHD_NO;
        if (r->deferred)
            return MHD_YES;
        if (!r->answered)
            ic_sim_reply_sim_error(r, 500, "no answer");
        if (r->delay_ms > 0 && timer_add(srv, r))
            return MHD_YES;
    }
    if (!r->answered)
        return MHD_NO;
    return queue_answer(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    ic_sim_req *r = *con_cls;
    if (!r)
        return;
    ic_buf_free(&r->body);
    ic_free(r->path);
    ic_free(r->resp);
    ic_free(r->fill_arg);
    ic_free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '"'))
        msg[--n] = '\0';
    for (char *c = msg; *c; c++)
        if (*c == '"')
            *c = '\'';
    IC_DEBUG("wasim_mhd", "msg=\"%s\"", msg);
}

ic_err ic_sim_server_start(ic_sim *s, ic_sim_server **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_sim_server *srv = ic_calloc(1, sizeof *srv);
    srv->sim = s;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->cv, &ca);
    pthread_condattr_destroy(&ca);

    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    memset(&in4, 0, sizeof in4);
    memset(&in6, 0, sizeof in6);
    if (inet_pton(AF_INET, s->cfg.listen_addr, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)s->cfg.port);
        sa = (struct sockaddr *)&in4;
    } else if (inet_pton(AF_INET6, s->cfg.listen_addr, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)s->cfg.port);
        sa = (struct sockaddr *)&in6;
        flags |= MHD_USE_IPv6;
    } else {
        err = ic_errf(em, IC_ERR_INVALID, "--listen %s is not an IP address", s->cfg.listen_addr);
        goto out;
    }
    srv->d = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(s->cfg.threads > 0 ? s->cfg.threads : 2),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    if (!srv->d) {
        err = ic_errf(em, IC_ERR_IO, "cannot listen on %s:%d (in use?)", s->cfg.listen_addr,
                      s->cfg.port);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : s->cfg.port;
    if (pthread_create(&srv->timer, NULL, timer_main, srv) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the timer thread");
        goto out;
    }
    srv->timer_started = true;
out:
    if (err) {
        ic_sim_server_stop(srv);
        srv = NULL;
    }
    *out = srv;
    return err;
}

int ic_sim_server_port(const ic_sim_server *srv)
{
    return srv->port;
}

void ic_sim_server_stop(ic_sim_server *srv)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    pthread_cond_signal(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    if (srv->timer_started)
        pthread_join(srv->timer, NULL);
    if (srv->d)
        MHD_stop_daemon(srv->d);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    ic_free(srv->heap);
    ic_free(srv);
}
