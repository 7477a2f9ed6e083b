/* fake_graph.h - a tiny Graph API for tests, on libmicrohttpd: it records
 * every request (path, Authorization header, JSON body) and answers from a
 * script, else with success ({"messages":[{"id":"wamid.N"}]} for request N,
 * {"success":true} for a read receipt, as Meta does). Included by the test
 * programs that use it; one instance per program (G). */
#ifndef IC_TEST_FAKE_GRAPH_H
#define IC_TEST_FAKE_GRAPH_H

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQS 1024

typedef struct fake_req {
    char path[128];
    char auth[128];
    json_t *body;
} fake_req;

typedef struct script_item {
    int status; /* 0: close the connection without answering */
    char body[512];
} script_item;

static struct {
    pthread_mutex_t mu;
    fake_req reqs[MAX_REQS];
    int nreqs;
    script_item script[32];
    int nscript, pos;
    struct MHD_Daemon *d;
    int port;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *upload,
                                    size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)method;
    (void)version;
    ic_buf *b = *con_cls;
    if (!b) {
        b = ic_calloc(1, sizeof *b);
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        ic_buf_append(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    char answer[600];
    int status = 200;
    pthread_mutex_lock(&G.mu);
    int n = G.nreqs;
    if (n < MAX_REQS) {
        fake_req *r = &G.reqs[n];
        ic_strlcpy(r->path, url, sizeof r->path);
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        ic_strlcpy(r->auth, auth ? auth : "", sizeof r->auth);
        r->body = json_loads(ic_buf_cstr(b), 0, NULL);
        G.nreqs++;
    }
    const char *mark =
        n < MAX_REQS ? json_string_value(json_object_get(G.reqs[n].body, "status")) : NULL;
    if (mark && strcmp(mark, "read") == 0) {
        ic_strlcpy(answer, "{\"success\":true}", sizeof answer); /* as Meta answers */
    } else if (G.pos < G.nscript) {
        status = G.script[G.pos].status;
        ic_strlcpy(answer, G.script[G.pos].body, sizeof answer);
        G.pos++;
    } else {
        snprintf(answer, sizeof answer,
                 "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"x\",\"wa_id\":"
                 "\"x\"}],\"messages\":[{\"id\":\"wamid.%d\"}]}",
                 n + 1);
    }
    pthread_mutex_unlock(&G.mu);
    if (status == 0)
        return MHD_NO; /* drop the connection: the request did reach us */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void fake_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    ic_buf *b = *con_cls;
    if (b) {
        ic_buf_free(b);
        ic_free(b);
        *con_cls = NULL;
    }
}

static void fake_start(void)
{
    G.d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                           fake_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, fake_completed, NULL,
                           MHD_OPTION_END);
    if (!G.d)
        abort();
    G.port = MHD_get_daemon_info(G.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void fake_reset(void)
{
    pthread_mutex_lock(&G.mu);
    for (int i = 0; i < G.nreqs; i++)
        json_decref(G.reqs[i].body);
    G.nreqs = 0;
    G.nscript = G.pos = 0;
    pthread_mutex_unlock(&G.mu);
}

static void fake_script(int status, const char *body)
{
    pthread_mutex_lock(&G.mu);
    G.script[G.nscript].status = status;
    ic_strlcpy(G.script[G.nscript].body, body, sizeof G.script[0].body);
    G.nscript++;
    pthread_mutex_unlock(&G.mu);
}

static void fake_script_error(int http, int code, const char *details)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"error\":{\"message\":\"(#%d) error\",\"type\":\"OAuthException\",\"code\":%d,"
             "\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":\"%s\"},"
             "\"fbtrace_id\":\"Az8or2yhqkZfEZ\"}}",
             code, code, details);
    fake_script(http, body);
}

static int fake_count(void)
{
    pthread_mutex_lock(&G.mu);
    int n = G.nreqs;
    pthread_mutex_unlock(&G.mu);
    return n;
}

/* The biz_opaque_callback_data (our message id) of request i, or 0. */
static int64_t fake_msg_id(int i)
{
    int64_t id = 0;
    pthread_mutex_lock(&G.mu);
    const char *s = json_string_value(json_object_get(G.reqs[i].body, "biz_opaque_callback_data"));
    if (s)
        ic_parse_i64(s, &id);
    pthread_mutex_unlock(&G.mu);
    return id;
}

#endif
