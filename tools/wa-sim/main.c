/* main.c - wa-sim's command line: flags, start, wait for a signal, stop. */
#include "sim.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"

#include <ctype.h>
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: wa-sim [flags]\n"
    "A WhatsApp Cloud API simulator on loopback: Graph API sends, media and templates,\n"
    "signed status webhooks, simulated people and injected faults (docs/wa-sim.md).\n"
    "\n"
    "  --port N                 listen port; 0 picks a free one (default 8090). Prints\n"
    "                           \"wa-sim listening on http://ADDR:PORT\" when ready\n"
    "  --listen ADDR            listen address (default 127.0.0.1)\n"
    "  --number PNID,TOKEN,SECRET,WEBHOOK_URL[,WABA_ID[,DISPLAY_PHONE]]\n"
    "                           a business number: its access token, app secret and where\n"
    "                           its signed webhooks go (\"-\" for none); repeatable\n"
    "  --mps N                  throughput per number: accepted sends in any sliding\n"
    "                           second; more get 130429 (default 80)\n"
    "  --pair-limit             per recipient: a burst of 45, then 1 message per 6 s\n"
    "                           (131056 beyond)\n"
    "  --window                 enforce the 24-hour customer service window: a non-template\n"
    "                           send outside it gets a wamid, then a failed status 131047\n"
    "  --clock-offset S         start the simulated clock S seconds from now\n"
    "  --fail-rate P            fraction of sends answered 500 (Meta code 1 or 2)\n"
    "  --drop-rate P            fraction of sends whose connection is closed unanswered\n"
    "  --slow-ms N              answer sends after N ms (other requests go on)\n"
    "  --fail-first N           the first N sends fail with 500 (code 2)\n"
    "  --throttle-first N       the first N sends get 130429\n"
    "  --status-delay-ms N      sent after N ms, delivered after 2N, read after 3N (100)\n"
    "  --no-statuses            send no status webhooks\n"
    "  --no-read                stop at delivered\n"
    "  --templates FILE         approved templates (JSON array or {\"data\":[...]});\n"
    "                           default: hello_world, appointment_reminder, community_update\n"
    "  --any-template           accept template sends not in the list\n"
    "  --seed N                 seed for --fail-rate and --drop-rate (default: random)\n"
    "  --threads N              HTTP poll threads (default 2)\n"
    "  --webhook-concurrency N  status webhooks in flight at once (default 8)\n"
    "  --webhook-retries N      retries of a webhook not answered 200 (default 5)\n"
    "  --webhook-timeout-ms N   webhook request timeout (default 30000)\n"
    "  --inbox-max N            message bodies kept over all inboxes (default 100000)\n"
    "  --max-people N           people tracked (default 500000)\n"
    "  --max-upload-mb N        media upload bound (default 101)\n"
    "  --help                   this text\n";

enum {
    OPT_PORT = 256,
    OPT_LISTEN,
    OPT_NUMBER,
    OPT_MPS,
    OPT_PAIR,
    OPT_WINDOW,
    OPT_CLOCK,
    OPT_FAIL_RATE,
    OPT_DROP_RATE,
    OPT_SLOW,
    OPT_FAIL_FIRST,
    OPT_THROTTLE_FIRST,
    OPT_STATUS_DELAY,
    OPT_NO_STATUSES,
    OPT_NO_READ,
    OPT_TEMPLATES,
    OPT_ANY_TEMPLATE,
    OPT_SEED,
    OPT_THREADS,
    OPT_WH_CONC,
    OPT_WH_RETRIES,
    OPT_WH_TIMEOUT,
    OPT_INBOX_MAX,
    OPT_MAX_PEOPLE,
    OPT_MAX_UPLOAD,
    OPT_HELP,
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"number", required_argument, NULL, OPT_NUMBER},
    {"mps", required_argument, NULL, OPT_MPS},
    {"pair-limit", no_argument, NULL, OPT_PAIR},
    {"window", no_argument, NULL, OPT_WINDOW},
    {"clock-offset", required_argument, NULL, OPT_CLOCK},
    {"fail-rate", required_argument, NULL, OPT_FAIL_RATE},
    {"drop-rate", required_argument, NULL, OPT_DROP_RATE},
    {"slow-ms", required_argument, NULL, OPT_SLOW},
    {"fail-first", required_argument, NULL, OPT_FAIL_FIRST},
    {"throttle-first", required_argument, NULL, OPT_THROTTLE_FIRST},
    {"status-delay-ms", required_argument, NULL, OPT_STATUS_DELAY},
    {"no-statuses", no_argument, NULL, OPT_NO_STATUSES},
    {"no-read", no_argument, NULL, OPT_NO_READ},
    {"templates", required_argument, NULL, OPT_TEMPLATES},
    {"any-template", no_argument, NULL, OPT_ANY_TEMPLATE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"webhook-concurrency", required_argument, NULL, OPT_WH_CONC},
    {"webhook-retries", required_argument, NULL, OPT_WH_RETRIES},
    {"webhook-timeout-ms", required_argument, NULL, OPT_WH_TIMEOUT},
    {"inbox-max", required_argument, NULL, OPT_INBOX_MAX},
    {"max-people", required_argument, NULL, OPT_MAX_PEOPLE},
    {"max-upload-mb", required_argument, NULL, OPT_MAX_UPLOAD},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Parses an integer flag within [lo, hi] or exits with a message. */
static int64_t int_flag(const char *name, const char *v, int64_t lo, int64_t hi)
{
    int64_t n = 0;
    if (ic_parse_i64(v, &n) != IC_OK || n < lo || n > hi) {
        fprintf(stderr, "wa-sim: --%s wants an integer from %lld to %lld, not \"%s\"\n", name,
                (long long)lo, (long long)hi, v);
        exit(2);
    }
    return n;
}

static double rate_flag(const char *name, const char *v)
{
    double d = 0;
    if (ic_parse_double(v, &d) != IC_OK || d < 0 || d > 1) {
        fprintf(stderr, "wa-sim: --%s wants a fraction from 0 to 1, not \"%s\"\n", name, v);
        exit(2);
    }
    return d;
}

static void defaults(ic_sim *s)
{
    ic_sim_config *c = &s->cfg;
    c->listen_addr = "127.0.0.1";
    c->port = 8090;
    c->threads = 2;
    c->default_mps = 80;
    c->statuses = true;
    c->read = true;
    c->status_delay_ms = 100;
    c->webhook_concurrency = 8;
    c->webhook_retries = 5;
    c->webhook_timeout_ms = 30000;
    c->inbox_max = 100000;
    c->max_people = 500000;
    c->max_upload = 101u * 1024u * 1024u;
    c->max_media_bytes = 512u * 1024u * 1024u;
}

/* Reads the flags; numbers are collected into specs (borrowed argv). */
static void parse_flags(ic_sim *s, int argc, char **argv, const char **specs, size_t *nspecs)
{
    ic_sim_config *c = &s->cfg;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case OPT_PORT:
            c->port = (int)int_flag("port", optarg, 0, 65535);
            break;
        case OPT_LISTEN:
            c->listen_addr = optarg;
            break;
        case OPT_NUMBER:
            if (*nspecs == IC_SIM_MAX_NUMBERS) {
                fprintf(stderr, "wa-sim: at most %d --number flags\n", IC_SIM_MAX_NUMBERS);
                exit(2);
            }
            specs[(*nspecs)++] = optarg;
            break;
        case OPT_MPS:
            c->default_mps = (int)int_flag("mps", optarg, 1, 100000);
            break;
        case OPT_PAIR:
            c->pair_limit = true;
            break;
        case OPT_WINDOW:
            c->window = true;
            break;
        case OPT_CLOCK:
            ic_sim_clock_advance(s, int_flag("clock-offset", optarg, -315360000, 315360000));
            break;
        case OPT_FAIL_RATE:
            s->faults.fail_rate = rate_flag("fail-rate", optarg);
            break;
        case OPT_DROP_RATE:
            s->faults.drop_rate = rate_flag("drop-rate", optarg);
            break;
        case OPT_SLOW:
            s->faults.slow_ms = (int)int_flag("slow-ms", optarg, 0, 600000);
            break;
        case OPT_FAIL_FIRST:
            s->faults.fail_first = int_flag("fail-first", optarg, 0, INT64_MAX);
            break;
        case OPT_THROTTLE_FIRST:
            s->faults.throttle_first = int_flag("throttle-first", optarg, 0, INT64_MAX);
            break;
        case OPT_STATUS_DELAY:
            c->status_delay_ms = (int)int_flag("status-delay-ms", optarg, 0, 3600000);
            break;
        case OPT_NO_STATUSES:
            c->statuses = false;
            break;
        case OPT_NO_READ:
            c->read = false;
            break;
        case OPT_TEMPLATES:
            c->templates_file = optarg;
            break;
        case OPT_ANY_TEMPLATE:
            c->any_template = true;
            break;
        case OPT_SEED:
            c->seed = (uint64_t)int_flag("seed", optarg, 1, INT64_MAX);
            break;
        case OPT_THREADS:
            c->threads = (int)int_flag("threads", optarg, 1, 64);
            break;
        case OPT_WH_CONC:
            c->webhook_concurrency = (int)int_flag("webhook-concurrency", optarg, 1, 256);
            break;
        case OPT_WH_RETRIES:
            c->webhook_retries = (int)int_flag("webhook-retries", optarg, 0, 100);
            break;
        case OPT_WH_TIMEOUT:
            c->webhook_timeout_ms = (int)int_flag("webhook-timeout-ms", optarg, 100, 600000);
            break;
        case OPT_INBOX_MAX:
            c->inbox_max = (size_t)int_flag("inbox-max", optarg, 0, 100000000);
            break;
        case OPT_MAX_PEOPLE:
            c->max_people = (size_t)int_flag("max-people", optarg, 1, 100000000);
            break;
        case OPT_MAX_UPLOAD:
            c->max_upload = (size_t)int_flag("max-upload-mb", optarg, 1, 2000) * 1024u * 1024u;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wa-sim: unexpected argument \"%s\"\n", argv[optind]);
        exit(2);
    }
}

static void random_ids(ic_sim *s)
{
    char hex[17];
    ic_random_hex(hex, 8);
    for (char *p = hex; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    ic_strlcpy(s->id_prefix, hex, sizeof s->id_prefix);
    ic_random_hex(s->url_key, 32);
    uint64_t seed = s->cfg.seed;
    if (!seed)
        for (int i = 0; i < 16; i++)
            seed = seed * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'A' + 10);
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

int main(int argc, char **argv)
{
    static ic_sim sim;
    ic_sim *s = &sim;
    ic_errmsg em = {{0}};
    const char *specs[IC_SIM_MAX_NUMBERS];
    size_t nspecs = 0;
    int rc = 1;
    sigset_t sigs;

    ic_log_init();
    if (ic_crypto_init() != IC_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "wa-sim: cannot initialise libsodium or libcurl\n");
        return 1;
    }
    pthread_mutex_init(&s->mu, NULL);
    defaults(s);
    parse_flags(s, argc, argv, specs, &nspecs);
    for (size_t i = 0; i < nspecs; i++) {
        if (ic_sim_number_parse_flag(s, specs[i], &em) != IC_OK) {
            fprintf(stderr, "wa-sim: --number: %s\n", em.msg);
            return 2;
        }
    }
    if (ic_sim_templates_load(s->cfg.templates_file, &s->templates, &em) != IC_OK) {
        fprintf(stderr, "wa-sim: %s\n", em.msg);
        return 2;
    }
    random_ids(s);
    s->people = ic_sim_people_new(s->cfg.max_people, s->cfg.inbox_max);
    s->media = ic_sim_media_new(s->cfg.max_media_bytes);

    /* Signals are taken by sigwait below: block them before any thread starts. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* Read before other threads may change them. */
    size_t n_numbers = s->n_numbers;
    int mps = s->cfg.default_mps, pair = s->cfg.pair_limit, window = s->cfg.window;
    if (ic_sim_webhooks_start(s, &s->wh, &em) != IC_OK ||
        ic_sim_server_start(s, &s->srv, &em) != IC_OK) {
        fprintf(stderr, "wa-sim: %s\n", em.msg);
        goto out;
    }
    const char *host = s->cfg.listen_addr;
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
        host = "127.0.0.1";
    char base[sizeof s->base_url];
    snprintf(base, sizeof base, strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
             ic_sim_server_port(s->srv));
    pthread_mutex_lock(&s->mu);
    ic_strlcpy(s->base_url, base, sizeof s->base_url);
    pthread_mutex_unlock(&s->mu);
    IC_INFO("wasim_started", "port=%d numbers=%zu mps=%d pair_limit=%d window=%d",
            ic_sim_server_port(s->srv), n_numbers, mps, pair, window);
    printf("wa-sim listening on %s\n", base);
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    IC_INFO("wasim_stopping", "signal=%d", sig);
    rc = 0;
out:
    ic_sim_webhooks_stop(s->wh);
    ic_sim_server_stop(s->srv);
    ic_sim_webhooks_free(s->wh);
    ic_sim_people_free(s->people);
    ic_sim_media_free(s->media);
    ic_sim_templates_free(s->templates);
    ic_sim_stats_free(&s->stats);
    for (size_t i = 0; i < s->n_numbers; i++)
        ic_sim_ratewin_free(&s->numbers[i].rate);
    curl_global_cleanup();
    return rc;
}
