/* bench_load.c - the load generator of the benchmarks.
 *
 * Webhook mode (--secret): sends pre-signed WhatsApp text webhooks (unique
 * message ids) to impactchat webhook URLs; success is 200. --url may be
 * given several times (or as a comma-separated list): request i goes to URL
 * i mod n, so the load spreads round-robin over several nodes.
 * Send mode (--api-token): queues template messages to distinct people
 * through POST /api/v1/messages; success is 202.
 *
 * Either way it uses many concurrent keep-alive connections (libcurl multi)
 * and prints messages/s and the time to answer (p50, p99, max) as one JSON
 * line. Bodies and signatures are made before the clock starts, so the
 * generator's own CPU goes to HTTP only.
 *
 *   bench_load --url URL[,URL...] [--url URL ...] (--secret SECRET | --api-token TOKEN)
 *              [--connections 64]
 *              [--requests 100000] [--per-request 1] [--people 5000]
 *              [--phone-number-id ID] [--channel-id 1]
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/str.h"
#include "base/time.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct req {
    char *body;
    size_t len;
    struct curl_slist *headers;
    int64_t started_us;
} req;

#define MAX_URLS 16

typedef struct opts {
    const char *urls[MAX_URLS];
    int nurls;
    const char *secret, *phone_id, *api_token;
    int64_t connections, requests, per_request, people, channel_id;
} opts;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* A template send to person r (distinct for every request). */
static void make_send(const opts *o, int64_t r, req *out)
{
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b,
                  "{\"channel_id\":%lld,\"to\":\"2783%07lld\",\"lane\":\"bulk\",\"message\":"
                  "{\"type\":\"template\",\"template\":{\"name\":\"hello_world\","
                  "\"language\":{\"code\":\"en_US\"}}}}",
                  (long long)o->channel_id, (long long)r);
    char hdr[200];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", o->api_token);
    out->headers = curl_slist_append(NULL, "Content-Type: application/json");
    out->headers = curl_slist_append(out->headers, hdr);
    out->headers = curl_slist_append(out->headers, "Expect:");
    out->len = b.len;
    out->body = ic_buf_steal(&b);
}

static void make_body(const opts *o, int64_t r, req *out)
{
    if (o->api_token) {
        make_send(o, r, out);
        return;
    }
    ic_buf b = IC_BUF_INIT;
    int64_t now = ic_now_us() / 1000000;
    ic_buf_printf(
        &b,
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
        "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
        "\"metadata\":{\"display_phone_number\":\"15550001\",\"phone_number_id\":\"%s\"},"
        "\"contacts\":[",
        o->phone_id);
    for (int64_t i = 0; i < o->per_request; i++) {
        int64_t person = (r * o->per_request + i) % o->people;
        ic_buf_printf(&b, "%s{\"profile\":{\"name\":\"Person %lld\"},\"wa_id\":\"2782%07lld\"}",
                      i ? "," : "", (long long)person, (long long)person);
    }
    ic_buf_puts(&b, "],\"messages\":[");
    for (int64_t i = 0; i < o->per_request; i++) {
        int64_t n = r * o->per_request + i;
        int64_t person = n % o->people;
        ic_buf_printf(&b,
                      "%s{\"from\":\"2782%07lld\",\"id\":\"wamid.bench.%lld.%lld\",\"timestamp\":"
                      "\"%lld\",\"type\":\"text\",\"text\":{\"body\":\"Hello, I would like some "
                      "information about the clinic hours please %lld\"}}",
                      i ? "," : "", (long long)person, (long long)now, (long long)n, (long long)now,
                      (long long)n);
    }
    ic_buf_puts(&b, "]}}]}]}");
    char hex[65], hdr[100];
    ic_hmac_sha256_hex(o->secret, strlen(o->secret), b.data, b.len, hex);
    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: sha256=%s", hex);
    out->headers = curl_slist_append(NULL, "Content-Type: application/json");
    out->headers = curl_slist_append(out->headers, hdr);
    out->headers = curl_slist_append(out->headers, "Expect:");
    out->len = b.len;
    out->body = ic_buf_steal(&b);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static CURL *start_one(CURLM *m, const opts *o, req *rq, int64_t idx)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, o->urls[idx % o->nurls]);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)rq->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(intptr_t)idx);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    rq->started_us = ic_mono_us();
    curl_multi_add_handle(m, e);
    return e;
}

/* Adds the comma-separated URLs in arg (modified in place); -1 when there
 * are more than MAX_URLS or one is empty. */
static int add_urls(opts *o, char *arg)
{
    for (char *p = arg;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p || o->nurls >= MAX_URLS)
            return -1;
        o->urls[o->nurls++] = p;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"url", required_argument, NULL, 'u'},
                                       {"secret", required_argument, NULL, 's'},
                                       {"phone-number-id", required_argument, NULL, 'p'},
                                       {"connections", required_argument, NULL, 'c'},
                                       {"requests", required_argument, NULL, 'r'},
                                       {"per-request", required_argument, NULL, 'k'},
                                       {"people", required_argument, NULL, 'P'},
                                       {"api-token", required_argument, NULL, 't'},
                                       {"channel-id", required_argument, NULL, 'C'},
                                       {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int64_t *dst = NULL;
        switch (ch) {
        case 'u':
            if (add_urls(o, optarg) != 0)
                return -1;
            continue;
        case 's':
            o->secret = optarg;
            continue;
        case 'p':
            o->phone_id = optarg;
            continue;
        case 'c':
            dst = &o->connections;
            break;
        case 'r':
            dst = &o->requests;
            break;
        case 'k':
            dst = &o->per_request;
            break;
        case 'P':
            dst = &o->people;
            break;
        case 't':
            o->api_token = optarg;
            continue;
        case 'C':
            dst = &o->channel_id;
            break;
        default:
            return -1;
        }
        if (ic_parse_i64(optarg, dst) != IC_OK || *dst <= 0)
            return -1;
    }
    return o->nurls > 0 && (o->secret || o->api_token) ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts o = {.phone_id = "100000000000001",
              .connections = 64,
              .requests = 100000,
              .per_request = 1,
              .channel_id = 1,
              .people = 5000};
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: bench_load --url URL[,URL...] (--secret SECRET | --api-token TOKEN) "
                "[--connections N] [--requests N] [--per-request N] [--people N] "
                "[--phone-number-id ID] [--channel-id N]\n");
        return 2;
    }
    ic_crypto_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    req *reqs = ic_calloc((size_t)o.requests, sizeof *reqs);
    for (int64_t r = 0; r < o.requests; r++)
        make_body(&o, r, &reqs[r]);
    int64_t *lat = ic_calloc((size_t)o.requests, sizeof *lat);
    int64_t next = 0, done = 0, ok = 0, failed = 0, running = 0, statuses[6] = {0};

    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o.connections);
    int64_t t0 = ic_mono_us();
    while (next < o.requests && running < o.connections) {
        start_one(m, &o, &reqs[next], next);
        next++;
        running++;
    }
    while (done < o.requests) {
        int still = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            void *priv = NULL;
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            int64_t idx = (int64_t)(intptr_t)priv;
            lat[done] = ic_mono_us() - reqs[idx].started_us;
            if (msg->data.result == CURLE_OK && code == (o.api_token ? 202 : 200)) {
                ok++;
            } else {
                if (!failed)
                    fprintf(stderr, "bench_load: first failure: %s, HTTP %ld\n",
                            curl_easy_strerror(msg->data.result), code);
                failed++;
            }
            statuses[code >= 100 && code < 600 ? code / 100 : 0]++;
            done++;
            running--;
            curl_multi_remove_handle(m, e);
            curl_easy_cleanup(e);
            if (next < o.requests) {
                start_one(m, &o, &reqs[next], next);
                next++;
                running++;
            }
        }
        if (done < o.requests)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int64_t elapsed = ic_mono_us() - t0;
    qsort(lat, (size_t)done, sizeof *lat, cmp_i64);
    double secs = (double)elapsed / 1e6;
    printf("{\"requests\":%lld,\"messages\":%lld,\"acknowledged_messages\":%lld,\"failed\":%lld,"
           "\"http_5xx\":%lld,\"seconds\":%.3f,\"messages_per_s\":%.0f,\"p50_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
           (long long)o.requests, (long long)(o.requests * o.per_request),
           (long long)(ok * o.per_request), (long long)failed, (long long)statuses[5], secs,
           (double)(ok * o.per_request) / secs, lat[done / 2] / 1000.0,
           lat[(size_t)((double)done * 0.99)] / 1000.0, lat[done - 1] / 1000.0);
    curl_multi_cleanup(m);
    for (int64_t r = 0; r < o.requests; r++) {
        ic_free(reqs[r].body);
        curl_slist_free_all(reqs[r].headers);
    }
    ic_free(reqs);
    ic_free(lat);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
