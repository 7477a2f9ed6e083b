/* request.c - the ic_req accessors and the answering functions. */
#include "http/http_internal.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a request with one reference (libmicrohttpd's). */
ic_req *ic_req_new(ic_http *h, struct MHD_Connection *conn, const char *method, const char *url)
{
    ic_req *r = ic_calloc(1, sizeof *r);
    r->h = h;
    r->conn = conn;
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->refs, 1);
    ic_strlcpy(r->method, method, sizeof r->method);
    r->path = ic_strdup(url ? url : "/");
    memcpy(r->rid, "r-", 2);
    ic_random_hex(r->rid + 2, 4);
    ic_buf_init(&r->body);
    r->start_us = ic_mono_us();
    return r;
}

/* Drops a reference; the last one frees the request. */
void ic_req_unref(ic_req *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->resp)
        MHD_destroy_response(r->resp);
    for (ic_hdr *x = r->hdrs, *nx; x; x = nx) {
        nx = x->next;
        ic_free(x->name);
        ic_free(x->value);
        ic_free(x);
    }
    ic_buf_free(&r->body);
    ic_free(r->path);
    ic_free(r->segbuf);
    pthread_mutex_destroy(&r->mu);
    ic_free(r);
}

/* ---- accessors ------------------------------------------------------------ */

/* The request method ("GET"). Borrowed; thread-safe. */
const char *ic_req_method(const ic_req *r)
{
    return r->method;
}

/* The URL-decoded path without the query string. Borrowed; thread-safe. */
const char *ic_req_path(const ic_req *r)
{
    return r->path;
}

/* A capture of the route pattern, or NULL. Borrowed; thread-safe. */
const char *ic_req_param(const ic_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->pnames[i], name) == 0)
            return r->pvals[i];
    return NULL;
}

/* A query argument, or NULL. Borrowed from libmicrohttpd: call it from the
 * handler, before the request is answered. */
const char *ic_req_query(const ic_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A request header (case-insensitive), or NULL. Borrowed from
 * libmicrohttpd: call it from the handler, before the request is answered. */
const char *ic_req_header(const ic_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The body, NUL-terminated ("" when empty). Borrowed; valid until the
 * request is answered. */
const char *ic_req_body(const ic_req *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return ic_buf_cstr(&r->body);
}

/* The request id. Borrowed; thread-safe. */
const char *ic_req_id(const ic_req *r)
{
    return r->rid;
}

/* Stores one pointer for the handler. Not synchronised: the handler and its
 * deferred answer must not race on it. */
void ic_req_set_data(ic_req *r, void *data)
{
    r->data = data;
}

/* The pointer stored with ic_req_set_data, or NULL. */
void *ic_req_data(const ic_req *r)
{
    return r->data;
}

/* ---- building answers ----------------------------------------------------- */

static void add_std_headers(ic_req *r, struct MHD_Response *resp, const char *ctype)
{
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
}

/* Adds the handler's extra headers; a Cache-Control of the handler's
 * replaces the default no-store. Caller holds r->mu. */
static void add_extra_headers(ic_req *r, struct MHD_Response *resp)
{
    for (ic_hdr *x = r->hdrs; x; x = x->next) {
        if (strcasecmp(x->name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0)
            MHD_del_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, x->name, x->value);
    }
}

/* Makes a response over data (owned, stolen; may be NULL when len is 0). */
static struct MHD_Response *buffer_response(ic_req *r, const char *ctype, void *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, data, ic_free);
    if (!resp) {
        ic_free(data);
        IC_ERROR("http_response_failed", "rid=%s", r->rid);
        abort();
    }
    add_std_headers(r, resp, ctype);
    return resp;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    ic_buf_append(data, buffer, size);
    return 0;
}

static struct MHD_Response *error_response(ic_req *r, const char *code, const char *message)
{
    json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    if (!err) /* message was not valid UTF-8 */
        err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", "error");
    ic_buf b = IC_BUF_INIT;
    json_dump_callback(err, dump_cb, &b, JSON_COMPACT);
    json_decref(err);
    size_t len = b.len;
    return buffer_response(r, "application/json", ic_buf_steal(&b), len);
}

/* See http_internal.h. */
struct MHD_Response *ic_req_error_response(ic_req *r, const char *code, const char *message)
{
    return error_response(r, code, message);
}

/* See http_internal.h. Thread-safe. */
void ic_req_finish(ic_req *r, int status, struct MHD_Response *resp, bool user)
{
    bool drop_ref = false;
    bool resume = false;
    ic_http *h = r->h;

    pthread_mutex_lock(&r->mu);
    if (user) {
        if (r->user_answered) {
            pthread_mutex_unlock(&r->mu);
            MHD_destroy_response(resp);
            IC_ERROR("http_answered_twice", "rid=%s", r->rid);
            return;
        }
        r->user_answered = true;
        drop_ref = r->deferred;
        add_extra_headers(r, resp);
    }
    if (r->answered) {
        /* The server answered first (shutdown), or the client went away. */
        pthread_mutex_unlock(&r->mu);
        MHD_destroy_response(resp);
        goto out;
    }
    r->answered = true;
    r->status = status;
    r->resp = resp;
    if (r->listed) {
        pthread_mutex_lock(&h->mu);
        ic_http_deferred_unlink(h, r);
        atomic_fetch_add(&h->resuming_now, 1);
        pthread_mutex_unlock(&h->mu);
        r->listed = false;
        resume = true;
    }
    pthread_mutex_unlock(&r->mu);

    if (resume) {
        /* The connection is suspended, so libmicrohttpd holds r until it is
         * resumed and completed; h lives until resuming_now drops. */
        MHD_resume_connection(r->conn);
        atomic_fetch_sub(&h->resuming_now, 1);
    }
out:
    if (drop_ref)
        ic_req_unref(r);
}

/* ---- answering, for handlers ---------------------------------------------- */

/* Answers with a copy of body. Once; any thread. */
void ic_req_respond(ic_req *r, int status, const char *content_type, const void *body, size_t len)
{
    void *copy = NULL;
    if (len) {
        copy = ic_malloc(len);
        memcpy(copy, body, len);
    }
    ic_req_finish(r, status, buffer_response(r, content_type, copy, len), true);
}

/* Answers with body as compact JSON; steals body (NULL gives a 500). */
void ic_req_respond_json(ic_req *r, int status, json_t *body)
{
    if (!body) {
        ic_req_finish(r, 500, error_response(r, "internal", "the answer could not be built"), true);
        return;
    }
    ic_buf b = IC_BUF_INIT;
    if (json_dump_callback(body, dump_cb, &b, JSON_COMPACT) != 0) {
        json_decref(body);
        ic_buf_free(&b);
        ic_req_finish(r, 500, error_response(r, "internal", "the answer could not be built"), true);
        return;
    }
    json_decref(body);
    size_t len = b.len;
    ic_req_finish(r, status, buffer_response(r, "application/json", ic_buf_steal(&b), len), true);
}

/* Answers {"error":{"code","message"}}. Once; any thread. */
void ic_req_error(ic_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ic_req_finish(r, status, error_response(r, code, msg), true);
}

/* Answers with a file streamed from disk, or 404 when it cannot be opened. */
void ic_req_respond_file(ic_req *r, int status, const char *content_type, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        ic_req_finish(r, 404, error_response(r, "not_found", "no such file"), true);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        ic_req_finish(r, 500, error_response(r, "internal", "the file could not be sent"), true);
        return;
    }
    add_std_headers(r, resp, content_type);
    ic_req_finish(r, status, resp, true);
}

/* Adds a header to the handler's answer (copied). Any thread, before
 * answering. */
void ic_req_add_header(ic_req *r, const char *name, const char *value)
{
    ic_hdr *x = ic_malloc(sizeof *x);
    x->name = ic_strdup(name);
    x->value = ic_strdup(value);
    pthread_mutex_lock(&r->mu);
    x->next = r->hdrs;
    r->hdrs = x;
    pthread_mutex_unlock(&r->mu);
}

/* Marks the request as answered later; takes the reference that the answer
 * drops. Call from the handler, before handing r to another thread. */
void ic_req_defer(ic_req *r)
{
    pthread_mutex_lock(&r->mu);
    if (!r->deferred && !r->user_answered && !r->returned) {
        r->deferred = true;
        atomic_fetch_add(&r->refs, 1);
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- streaming answers ------------------------------------------------------ */

/* What libmicrohttpd's callbacks get for a streaming answer; holds a
 * reference on the request until the response is destroyed. */
typedef struct stream_ctx {
    ic_req *r;
    ic_stream_read read;
    ic_stream_done done;
    void *cls;
} stream_ctx;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_ctx *s = cls;
    ssize_t n = s->read(s->cls, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void stream_free(void *cls)
{
    stream_ctx *s = cls;
    s->done(s->cls);
    ic_req_unref(s->r);
    ic_free(s);
}

/* Answers with a streamed body; see http.h. From the handler, once. */
void ic_req_respond_stream(ic_req *r, int status, const char *content_type, ic_stream_read read,
                           ic_stream_done done, void *cls)
{
    stream_ctx *s = ic_malloc(sizeof *s);
    s->r = r;
    s->read = read;
    s->done = done;
    s->cls = cls;
    atomic_fetch_add(&r->refs, 1);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s, stream_free);
    if (!resp) {
        stream_free(s);
        ic_req_finish(r, 500, error_response(r, "internal", "the answer could not be built"), true);
        return;
    }
    add_std_headers(r, resp, content_type);
    ic_req_finish(r, status, resp, true);
}

/* See http.h: from the stream's read only. */
void ic_req_stream_pause(ic_req *r)
{
    MHD_suspend_connection(r->conn);
}

/* See http.h: any thread, after a pause, before done. */
void ic_req_stream_resume(ic_req *r)
{
    ic_http *h = r->h;
    atomic_fetch_add(&h->resuming_now, 1);
    MHD_resume_connection(r->conn);
    atomic_fetch_sub(&h->resuming_now, 1);
}
