/* bench_sse.c - many SSE clients on one epoll thread, and the latency of
 * inbound messages reaching all of them (run by bench/sse.py).
 *
 * Opens --clients streams GET /api/v1/events (HTTP/1.0, Bearer token) to
 * 127.0.0.1:--port, waits until every one has its "retry:" line, then, --events
 * times: posts one signed inbound text webhook to --webhook (a path) with
 * --secret, and records when each client sees that event's
 * "event: message.created" line. Prints one line per event (p50, p99, max
 * over the clients, ms, from just before the POST) and a summary line
 * "summary clients=N events=E p50_ms=.. p99_ms=.. max_ms=.. missed=M"
 * over every (event, client) pair. Only loopback; raises RLIMIT_NOFILE.
 */
#include "base/crypto.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define NEEDLE "event: message.created\n"
#define TAIL 64

typedef struct cl {
    int fd;
    bool ready; /* saw "retry:" */
    bool closed;
    int seen; /* message.created events seen */
    char tail[TAIL + 1];
    size_t tail_len;
    int64_t *at; /* arrival per event (mono us) */
} cl;

static int port = 0, nclients = 2000, nevents = 20, gap_ms = 300;
static const char *token = "", *webhook = "", *secret = "", *phone_id = "100000000000001";

static int dial(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

/* Counts needle occurrences in the new bytes, across read boundaries. */
static void feed(cl *c, const char *buf, size_t n, int64_t now, int cur_event)
{
    char scan[TAIL + 65536 + 1];
    memcpy(scan, c->tail, c->tail_len);
    memcpy(scan + c->tail_len, buf, n);
    size_t len = c->tail_len + n;
    scan[len] = '\0';
    if (!c->ready && strstr(scan, "retry:"))
        c->ready = true;
    for (const char *p = scan; (p = strstr(p, NEEDLE)) != NULL; p += sizeof NEEDLE - 1) {
        if (c->seen < nevents && c->seen <= cur_event)
            c->at[c->seen] = now;
        c->seen++;
    }
    /* Keep the end that could start a needle (shorter than it). */
    size_t keep = len < sizeof NEEDLE - 2 ? len : sizeof NEEDLE - 2;
    memcpy(c->tail, scan + len - keep, keep);
    c->tail_len = keep;
}

static void pump(int ep, cl *cls, int ms, int cur_event)
{
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, ms);
    int64_t now = ic_mono_us();
    for (int i = 0; i < n; i++) {
        cl *c = &cls[evs[i].data.u32];
        char buf[65536];
        for (;;) {
            ssize_t k = read(c->fd, buf, sizeof buf);
            if (k > 0) {
                feed(c, buf, (size_t)k, now, cur_event);
                continue;
            }
            if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                c->closed = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
            break;
        }
    }
}

/* Posts one inbound text webhook; true on 200. Blocking, own connection. */
static bool post_webhook(int i)
{
    char body[1024], sig[65], req[2048];
    int blen = snprintf(
        body, sizeof body,
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"
        "\"display_phone_number\":\"15550001\",\"phone_number_id\":\"%s\"},\"contacts\":[{"
        "\"profile\":{\"name\":\"Bench\"},\"wa_id\":\"2782%07d\"}],\"messages\":[{\"from\":"
        "\"2782%07d\",\"id\":\"wamid.bench-sse-%d-%lld\",\"timestamp\":\"%lld\",\"type\":"
        "\"text\",\"text\":{\"body\":\"hello\"}}]}}]}]}",
        phone_id, i % 50, i % 50, i, (long long)ic_now_us(), (long long)(ic_now_us() / 1000000));
    ic_hmac_sha256_hex(secret, strlen(secret), body, (size_t)blen, sig);
    int rlen = snprintf(req, sizeof req,
                        "POST %s HTTP/1.0\r\nHost: b\r\nContent-Type: application/json\r\n"
                        "X-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n%s",
                        webhook, sig, blen, body);
    int s = dial();
    if (s < 0 || write(s, req, (size_t)rlen) != rlen) {
        if (s >= 0)
            close(s);
        return false;
    }
    char ans[512];
    ssize_t k = read(s, ans, sizeof ans - 1);
    close(s);
    return k > 12 && memcmp(ans + 9, "200", 3) == 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port"))
            port = (int)strtol(v, NULL, 10);
        else if (!strcmp(k, "--clients"))
            nclients = (int)strtol(v, NULL, 10);
        else if (!strcmp(k, "--events"))
            nevents = (int)strtol(v, NULL, 10);
        else if (!strcmp(k, "--gap-ms"))
            gap_ms = (int)strtol(v, NULL, 10);
        else if (!strcmp(k, "--token"))
            token = v;
        else if (!strcmp(k, "--webhook"))
            webhook = v;
        else if (!strcmp(k, "--secret"))
            secret = v;
        else if (!strcmp(k, "--phone-id"))
            phone_id = v;
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (!port || nclients <= 0 || nevents <= 0) {
        fprintf(stderr, "usage: bench_sse --port N --token T --webhook PATH --secret S "
                        "[--clients 2000] [--events 20] [--gap-ms 300]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    cl *cls = calloc((size_t)nclients, sizeof *cls);
    char req[1024];
    int rlen = snprintf(req, sizeof req,
                        "GET /api/v1/events HTTP/1.0\r\nHost: b\r\nAccept: text/event-stream\r\n"
                        "Authorization: Bearer %s\r\n\r\n",
                        token);
    for (int i = 0; i < nclients; i++) {
        cls[i].at = calloc((size_t)nevents, sizeof(int64_t));
        cls[i].fd = dial();
        if (cls[i].fd < 0 || write(cls[i].fd, req, (size_t)rlen) != rlen) {
            fprintf(stderr, "client %d: cannot connect (%s)\n", i, strerror(errno));
            return 1;
        }
        fcntl(cls[i].fd, F_SETFL, fcntl(cls[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cls[i].fd, &e);
        if (i % 100 == 99)
            pump(ep, cls, 0, -1);
    }
    int64_t end = ic_mono_us() + 30 * 1000000LL;
    int ready = 0;
    while (ic_mono_us() < end) {
        pump(ep, cls, 50, -1);
        ready = 0;
        for (int i = 0; i < nclients; i++)
            ready += cls[i].ready && !cls[i].closed;
        if (ready == nclients)
            break;
    }
    printf("connected %d of %d\n", ready, nclients);
    fflush(stdout);
    if (ready != nclients)
        return 1;
    /* Tells bench/sse.py to read the server's memory now. */
    printf("ready\n");
    fflush(stdout);
    pump(ep, cls, 1000, -1);

    int64_t *all = calloc((size_t)nclients * (size_t)nevents, sizeof(int64_t));
    size_t nall = 0, missed = 0;
    int64_t *one = calloc((size_t)nclients, sizeof(int64_t));
    for (int e = 0; e < nevents; e++) {
        int64_t t0 = ic_mono_us();
        if (!post_webhook(e)) {
            fprintf(stderr, "event %d: the webhook was not accepted\n", e);
            return 1;
        }
        int64_t until = t0 + 5 * 1000000LL;
        for (;;) {
            pump(ep, cls, 20, e);
            int got = 0;
            for (int i = 0; i < nclients; i++)
                got += cls[i].seen > e;
            if (got == nclients || ic_mono_us() > until)
                break;
        }
        size_t n1 = 0;
        for (int i = 0; i < nclients; i++) {
            if (cls[i].seen > e && cls[i].at[e]) {
                one[n1++] = cls[i].at[e] - t0;
                all[nall++] = cls[i].at[e] - t0;
            } else {
                missed++;
            }
        }
        qsort(one, n1, sizeof *one, cmp_i64);
        printf("event %d: clients=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", e, n1,
               pct(one, n1, 0.5), pct(one, n1, 0.99), n1 ? (double)one[n1 - 1] / 1000.0 : 0);
        fflush(stdout);
        int64_t next = ic_mono_us() + (int64_t)gap_ms * 1000;
        while (ic_mono_us() < next)
            pump(ep, cls, 10, e);
    }
    qsort(all, nall, sizeof *all, cmp_i64);
    printf("summary clients=%d events=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f missed=%zu\n",
           nclients, nevents, pct(all, nall, 0.5), pct(all, nall, 0.99),
           nall ? (double)all[nall - 1] / 1000.0 : 0, missed);
    for (int i = 0; i < nclients; i++) {
        close(cls[i].fd);
        free(cls[i].at);
    }
    free(cls);
    free(all);
    free(one);
    close(ep);
    return missed ? 1 : 0;
}
