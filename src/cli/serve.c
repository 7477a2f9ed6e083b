/* serve.c - `impactchat serve`: start every part, run until SIGTERM/SIGINT,
 * then stop them in reverse order so that nothing acknowledged is lost:
 * the HTTP server stops taking requests and answers the ones waiting for a
 * commit, the sender and media fetcher finish what is in flight, and the
 * writer commits everything queued before the database closes.
 */
#include "cli/cli.h"
#include "cli/common.h"

#include "api/routes.h"
#include "api/web.h"
#include "core/live.h"
#include "app.h"
#include "base/log.h"
#include "base/str.h"
#include "http/http.h"
#include "store/bus.h"
#include "store/channel_cache.h"
#include "store/store.h"
#include "wa/media.h"
#include "wa/sender.h"

#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_GRAPH_URL "https://graph.facebook.com/v21.0"
/* Webhooks see a channel's changed secrets within this long
 * (store/channel_cache.h). */
#define CHANNEL_CACHE_TTL_US (5 * 1000 * 1000)
#define CHANNEL_CACHE_MAX 4096

static void usage(FILE *f)
{
    fprintf(f,
            "usage: impactchat serve [--db URL] [--listen ADDR] [--port N] [--public-url URL]\n"
            "                        [--media-dir DIR] [--graph-url URL] [--threads N]\n"
            "                        [--writer-queue N]\n\n"
            "Runs impactchat: WhatsApp webhooks at /webhooks/whatsapp/{channel}, the REST\n"
            "API at /api/v1, the sender and the media fetcher. Migrations are applied on\n"
            "start. SIGTERM or Ctrl-C stops it gracefully.\n\n"
            "  --db URL          database (default $IC_DB or var/impactchat.db)\n"
            "  --listen ADDR     address to listen on (default 127.0.0.1)\n"
            "  --port N          port (default $IC_PORT or 8080; 0 picks a free one)\n"
            "  --public-url URL  how Meta reaches this server (for printed webhook URLs)\n"
            "  --media-dir DIR   where media files are kept (default var/media)\n"
            "  --graph-url URL   Graph API base (default %s)\n"
            "  --threads N       HTTP threads (default 2)\n"
            "  --writer-queue N  jobs waiting for the writer before webhooks get 503\n"
            "                    (default 20000)\n",
            DEFAULT_GRAPH_URL);
}

static ic_err drain_apply(ic_conn *tx, ic_write_job *job)
{
    (void)tx;
    (void)job;
    return IC_OK;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_int_opt(const char *opt, const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (ic_parse_i64(v, out) != IC_OK || *out < lo || *out > hi) {
        ic_cli_err("serve", "%s must be a number from %lld to %lld", opt, (long long)lo,
                   (long long)hi);
        return 0;
    }
    return 1;
}

static int parse_args(int argc, char **argv, ic_config *cfg)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"public-url", required_argument, NULL, 'u'},
                                         {"media-dir", required_argument, NULL, 'm'},
                                         {"graph-url", required_argument, NULL, 'g'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"writer-queue", required_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int64_t v = 0;
    if (ic_parse_i64(env_or("IC_PORT", "8080"), &v) != IC_OK || v < 0 || v > 65535)
        v = 8080;
    cfg->port = (int)v;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            cfg->db_url = optarg;
            break;
        case 'l':
            cfg->listen_addr = optarg;
            break;
        case 'p':
            if (!parse_int_opt("--port", optarg, 0, 65535, &v))
                return 2;
            cfg->port = (int)v;
            break;
        case 'u':
            cfg->public_url = optarg;
            break;
        case 'm':
            cfg->media_dir = optarg;
            break;
        case 'g':
            cfg->graph_url = optarg;
            break;
        case 't':
            if (!parse_int_opt("--threads", optarg, 1, 64, &v))
                return 2;
            cfg->http_threads = (int)v;
            break;
        case 'q':
            if (!parse_int_opt("--writer-queue", optarg, 16, 1000000, &v))
                return 2;
            cfg->writer_queue = (size_t)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int ic_cli_serve(int argc, char **argv)
{
    static char public_url[300];
    ic_config cfg = {
        .db_url = ic_cli_default_db(),
        .listen_addr = "127.0.0.1",
        .public_url = getenv("IC_PUBLIC_URL"),
        .media_dir = env_or("IC_MEDIA_DIR", "var/media"),
        .graph_url = env_or("IC_GRAPH_URL", DEFAULT_GRAPH_URL),
        .max_body = 3 * 1024 * 1024,
        .max_api_body = 1024 * 1024,
        .writer_queue = 20000,
        .http_threads = 2,
    };
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0)
        return rc;

    /* Memory freed on another thread than it was allocated on (webhook jobs
     * end on the writer) made glibc trim its arenas with madvise after
     * nearly every batch, and each trim interrupts every core (a TLB
     * shootdown): 6% of the server's time under load. Keep freed memory, up
     * to 64 MB, and keep bodies up to Meta's 3 MB on the heap. */
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);

    /* Block the stop signals in every thread; this one waits for them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    ic_app app = {.cfg = &cfg};
    ic_http *http = NULL;
    ic_live *live = NULL;
    ic_errmsg em = {{0}};
    rc = 1;
    app.db = ic_cli_open_db("serve", cfg.db_url);
    if (!app.db)
        goto out;
    if (ic_bus_start(app.db, &app.bus, &em) != IC_OK) {
        ic_cli_err("serve", "cannot start the bus: %s", em.msg);
        goto out;
    }
    if (ic_writer_start(app.db, cfg.writer_queue, &app.writer, &em) != IC_OK) {
        ic_cli_err("serve", "cannot start the writer: %s", em.msg);
        goto out;
    }
    if (ic_media_start(app.db, app.writer, cfg.media_dir, cfg.graph_url, &app.media, &em) !=
        IC_OK) {
        ic_cli_err("serve", "cannot start the media fetcher: %s", em.msg);
        goto out;
    }
    if (ic_sender_start(app.db, app.writer, cfg.graph_url, &app.sender, &em) != IC_OK) {
        ic_cli_err("serve", "cannot start the sender: %s", em.msg);
        goto out;
    }
    ic_sender_use_bus(app.sender, app.bus);
    app.channels = ic_channel_cache_new(CHANNEL_CACHE_TTL_US, CHANNEL_CACHE_MAX);
    if (ic_live_start(&app, NULL, &live, &em) != IC_OK) {
        ic_cli_err("serve", "cannot start live updates: %s", em.msg);
        goto out;
    }
    ic_http_config hc = {.listen_addr = cfg.listen_addr,
                         .port = cfg.port,
                         .threads = cfg.http_threads,
                         .default_max_body = cfg.max_api_body};
    if (ic_http_new(&hc, &http, &em) != IC_OK) {
        ic_cli_err("serve", "%s", em.msg);
        goto out;
    }
    ic_api_health_routes(http, &app);
    ic_api_webhook_routes(http, &app);
    ic_api_v1_routes(http, &app);
    ic_api_web_routes(http, &app);
    if (ic_http_start(http, &em) != IC_OK) {
        ic_cli_err("serve", "%s", em.msg);
        goto out;
    }
    if (!cfg.public_url) {
        snprintf(public_url, sizeof public_url, "http://%s:%d", cfg.listen_addr,
                 ic_http_port(http));
        cfg.public_url = public_url;
    }
    printf("impactchat listening on http://%s:%d\n", cfg.listen_addr, ic_http_port(http));
    fflush(stdout);
    IC_INFO("serve_started", "port=%d db=%s", ic_http_port(http), cfg.db_url);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    IC_INFO("serve_stopping", "signal=%d", sig);
    rc = 0;
out:
    ic_live_close(live); /* ends the event streams, which would hold the stop */
    ic_http_stop(http, 10000);
    /* Commit what the webhooks queued while the sender and the media fetcher
     * still run, so their notifications land on live threads. */
    if (app.writer) {
        ic_write_job drain = {0};
        drain.apply = drain_apply;
        ic_writer_run(app.writer, &drain);
    }
    ic_bus_stop(app.bus); /* no more notes for the sender */
    ic_live_stop(live);
    ic_sender_stop(app.sender);
    ic_media_stop(app.media);
    ic_writer_stop(app.writer);
    ic_db_close(app.db);
    ic_channel_cache_free(app.channels);
    if (rc == 0)
        IC_INFO("serve_stopped", NULL);
    return rc;
}
