/* sim.h - wa-sim's shared state and the functions its files call on each other.
 *
 * wa-sim stands in for Meta's WhatsApp Cloud API on loopback (docs/wa-sim.md).
 * One ic_sim lives for the whole process. Its state is guarded by sim->mu,
 * except the webhook queue (webhooks.c, its own leaf lock: code holding
 * sim->mu may enqueue statuses, never the other way round) and the server's
 * timer queue (server.c). Handlers run on libmicrohttpd's pool threads.
 */
#ifndef IC_SIM_H
#define IC_SIM_H

#include "base/buf.h"
#include "base/err.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IC_SIM_MAX_NUMBERS 64
#define IC_SIM_INBOX_PER_PERSON 200
#define IC_SIM_BATCH_MAX 1000 /* statuses in one webhook, like Meta */
#define IC_SIM_WAMID_MAX 160

typedef struct ic_sim ic_sim;
typedef struct ic_sim_req ic_sim_req;
typedef struct ic_sim_people ic_sim_people;
typedef struct ic_sim_media ic_sim_media;
typedef struct ic_sim_templates ic_sim_templates;
typedef struct ic_sim_webhooks ic_sim_webhooks;
typedef struct ic_sim_server ic_sim_server;
typedef struct ic_sim_dupset ic_sim_dupset;

/* ---- limits.c: sliding windows and the simulated clock -------------------- */

/* Times (monotonic microseconds) of events inside the last window_us. */
typedef struct ic_sim_ratewin {
    int64_t *t;
    size_t cap, head, len;
} ic_sim_ratewin;

/* Drops entries older than now_us - window_us and returns how many remain.
 * Not thread-safe: the caller holds the owner's lock. */
size_t ic_sim_ratewin_prune(ic_sim_ratewin *w, int64_t now_us, int64_t window_us);
/* Records an event at now_us (growing as needed). Not thread-safe. */
void ic_sim_ratewin_push(ic_sim_ratewin *w, int64_t now_us);
/* Forgets every entry and frees the memory; w is reusable. NULL is fine. */
void ic_sim_ratewin_free(ic_sim_ratewin *w);

/* The simulated wall clock: real time plus the offset moved by --clock-offset
 * and POST /sim/clock. Thread-safe. */
int64_t ic_sim_now_us(ic_sim *s);
int64_t ic_sim_now_s(ic_sim *s);
/* Moves the simulated clock forward by secs (negative moves it back).
 * Thread-safe. */
void ic_sim_clock_advance(ic_sim *s, int64_t secs);

/* ---- numbers.c: the business phone numbers -------------------------------- */

typedef struct ic_sim_number {
    char pnid[64];
    char token[512];
    char secret[256];
    char webhook_url[1024];
    char waba_id[64];
    char display_phone[32];
    int mps;
    ic_sim_ratewin rate; /* accepted sends in the last second */
    uint64_t accepted, throttled;
    size_t max_rate_1s;
} ic_sim_number;

/* A copy of what webhook delivery needs, taken under sim->mu. */
typedef struct ic_sim_target {
    char pnid[64];
    char secret[256];
    char webhook_url[1024];
    char waba_id[64];
    char display_phone[32];
} ic_sim_target;

/* Adds or replaces (by phone_number_id) a number. spec is the --number flag
 * "PNID,TOKEN,SECRET,URL[,WABA_ID[,DISPLAY_PHONE]]". Caller holds sim->mu or
 * runs before the server starts. IC_ERR_INVALID / IC_ERR_TOO_BIG with em. */
ic_err ic_sim_number_parse_flag(ic_sim *s, const char *spec, ic_errmsg *em);
/* The number with that phone_number_id, or NULL. Borrowed; caller holds mu. */
ic_sim_number *ic_sim_number_find(ic_sim *s, const char *pnid);
/* The number whose WABA id is waba_id, or NULL. Caller holds mu. */
ic_sim_number *ic_sim_number_by_waba(ic_sim *s, const char *waba_id);
/* The first number registered, or NULL. Caller holds mu. */
ic_sim_number *ic_sim_number_first(ic_sim *s);
/* True when token is the access token of some number. Caller holds mu. */
bool ic_sim_token_known(ic_sim *s, const char *token);
/* Copies the delivery target of pnid into out. Takes sim->mu itself.
 * IC_ERR_NOT_FOUND when the number is gone. */
ic_err ic_sim_target_get(ic_sim *s, const char *pnid, ic_sim_target *out);
/* Routes: POST /sim/numbers and GET /sim/numbers. Like every route handler
 * here they run on a poll thread, must not be called holding sim->mu (they
 * take it), and answer r exactly once; errors become 4xx answers. */
void ic_sim_numbers_post(ic_sim_req *r);
void ic_sim_numbers_get(ic_sim_req *r);

/* ---- faults.c ------------------------------------------------------------- */

typedef struct ic_sim_faults {
    double fail_rate;       /* fraction of sends answered 500 (code 1 or 2) */
    double drop_rate;       /* fraction of sends whose connection is closed */
    int slow_ms;            /* answer sends after this delay */
    int64_t fail_first;     /* the next N sends fail with 500 */
    int64_t throttle_first; /* the next N sends answer 130429 */
} ic_sim_faults;

typedef enum ic_sim_fault {
    IC_SIM_FAULT_NONE = 0,
    IC_SIM_FAULT_DROP,
    IC_SIM_FAULT_500,
    IC_SIM_FAULT_THROTTLE,
} ic_sim_fault;

/* Decides the fault for one send (consuming fail_first/throttle_first).
 * Caller holds sim->mu. */
ic_sim_fault ic_sim_fault_pick(ic_sim *s, int *meta_code);
/* A uniform random double in [0,1). Caller holds sim->mu. */
double ic_sim_rand01(ic_sim *s);
/* Routes: GET/POST /sim/faults, GET/POST /sim/clock. */
void ic_sim_faults_get(ic_sim_req *r);
void ic_sim_faults_post(ic_sim_req *r);
void ic_sim_clock_get(ic_sim_req *r);
void ic_sim_clock_post(ic_sim_req *r);

/* ---- stats.c -------------------------------------------------------------- */

typedef struct ic_sim_stats {
    uint64_t accepted, throttled_130429, pair_limited_131056, failed_5xx, dropped;
    uint64_t rejected_4xx, unauthorized_401, duplicates, window_failed_131047;
    uint64_t marked_read, inbound_sent, inbound_acknowledged, media_uploaded;
    uint64_t webhooks_delivered, webhooks_failed, webhooks_given_up, statuses_delivered;
    uint64_t statuses_dropped;
    ic_sim_ratewin rate; /* all accepted sends in the last second */
    size_t max_rate_1s;
    ic_sim_dupset *dups;
} ic_sim_stats;

/* Records an accepted send to number n; counts a duplicate when biz_opaque
 * (may be NULL) was accepted before. Caller holds sim->mu. */
void ic_sim_stats_accept(ic_sim *s, ic_sim_number *n, const char *biz_opaque, int64_t mono_us);
/* Frees the duplicate set and windows. */
void ic_sim_stats_free(ic_sim_stats *st);
/* Counter bumps from the webhook thread: take sim->mu themselves. */
void ic_sim_stats_webhook(ic_sim *s, bool ok, bool given_up, size_t statuses);
/* Routes: GET /sim/stats, POST /sim/reset. */
void ic_sim_stats_get(ic_sim_req *r);
void ic_sim_reset_post(ic_sim_req *r);

/* ---- people.c: simulated phones ------------------------------------------ */

typedef enum ic_sim_st {
    IC_SIM_ST_ACCEPTED = 0,
    IC_SIM_ST_SENT,
    IC_SIM_ST_DELIVERED,
    IC_SIM_ST_READ,
    IC_SIM_ST_FAILED,
} ic_sim_st;

/* Creates the empty table (owned); max_people and inbox_max bound its
 * memory. Guarded by sim->mu like everything below. */
ic_sim_people *ic_sim_people_new(size_t max_people, size_t inbox_max);
/* Frees the table; NULL is fine. */
void ic_sim_people_free(ic_sim_people *p);
/* Forgets every person (inboxes, windows, pair-limit state). */
void ic_sim_people_clear(ic_sim_people *p);
/* Records an inbound message from wa_id at simulated time ts_s (opens the
 * 24-hour window). Caller holds sim->mu. */
void ic_sim_people_inbound(ic_sim_people *p, const char *wa_id, int64_t ts_s);
/* True when wa_id wrote within the last 24 hours of simulated time now_s.
 * Caller holds sim->mu. */
bool ic_sim_people_window_open(ic_sim_people *p, const char *wa_id, int64_t now_s);
/* Pair limit: true when one more message to wa_id may go now (a bucket of 45
 * refilled at one per 6 s). Does not consume. Caller holds sim->mu. */
bool ic_sim_people_pair_ok(ic_sim_people *p, const char *wa_id, int64_t mono_us);
/* Records an accepted send: consumes a pair-limit token, keeps body (stolen,
 * the JSON text) in the person's inbox. Caller holds sim->mu. */
void ic_sim_people_deliver(ic_sim_people *p, const char *wa_id, const char *wamid, const char *pnid,
                           char *body, int64_t mono_us, int64_t now_s);
/* Moves the inbox entry wamid of wa_id to status st (forward only).
 * Caller holds sim->mu. */
void ic_sim_people_status(ic_sim_people *p, const char *wa_id, const char *wamid, ic_sim_st st,
                          int error_code);
/* Adds {"recipients", "untracked_sends", "inbox_entries",
 * "per_recipient_max"} to the stats object. Caller holds sim->mu. */
void ic_sim_people_stats(ic_sim_people *p, json_t *stats);
/* Route: GET /sim/people/{wa_id}/inbox. */
void ic_sim_inbox_get(ic_sim_req *r, const char *wa_id);

/* ---- inbound.c: what simulated people send ------------------------------- */

/* Routes: POST /sim/people/{wa_id}/send, POST /sim/raw-webhook. */
void ic_sim_people_send(ic_sim_req *r, const char *wa_id);
void ic_sim_raw_webhook(ic_sim_req *r);

/* ---- templates.c ---------------------------------------------------------- */

/* Loads the built-in templates, or the file when path is non-NULL (a JSON
 * array or {"data":[...]}); *out is owned and read-only afterwards, so it may
 * be read from any thread. IC_ERR_PARSE with em (also for a missing file). */
ic_err ic_sim_templates_load(const char *path, ic_sim_templates **out, ic_errmsg *em);
/* Frees t; NULL is fine. */
void ic_sim_templates_free(ic_sim_templates *t);
/* Checks a template send object against the approved list. Returns 0 when it
 * may go, else Meta's code (132001 unknown, 132000 parameter count) with
 * details in em; *category gets "marketing"/"utility"/"authentication". */
int ic_sim_templates_check(const ic_sim_templates *t, const json_t *tpl, const char **category,
                           ic_errmsg *em);
/* The approved list as Meta's {"data":[...],"paging":{}} (owned). */
json_t *ic_sim_templates_list(const ic_sim_templates *t);

/* ---- validate.c: send bodies ---------------------------------------------- */

/* What a valid send body says. Strings borrowed from the body. */
typedef struct ic_sim_send {
    const char *to;
    const char *type;
    const char *biz_opaque;
    bool is_template;
    bool is_reaction;
    bool to_group;
} ic_sim_send;

/* Validates a POST /{pnid}/messages send body (not a mark-as-read) as Meta
 * would. Returns 0 when valid, else Meta's error code (100 malformed, 131009
 * a value over a limit) with the details in em. */
int ic_sim_validate_send(const json_t *body, ic_sim_send *out, ic_errmsg *em);

/* ---- graph.c -------------------------------------------------------------- */

/* Routes the Graph API paths (version prefix already removed). */
void ic_sim_graph_route(ic_sim_req *r, const char *path);

/* ---- media.c -------------------------------------------------------------- */

typedef struct ic_sim_media_info {
    char id[32];
    char sha256[65];
    char mime[128];
    size_t size;
} ic_sim_media_info;

/* Creates the empty store (owned) holding at most max_bytes of file data.
 * Guarded by sim->mu. */
ic_sim_media *ic_sim_media_new(size_t max_bytes);
/* Frees the store and its files; NULL is fine. */
void ic_sim_media_free(ic_sim_media *m);
/* Registers a sample file of kind ("image", "audio", "video", "document",
 * "sticker") with mime (NULL = the kind's default) and size (0 = the sample's
 * own size; larger sizes are generated on download). Takes sim->mu itself
 * (the caller must not hold it). IC_ERR_TOO_BIG past 100 MB. */
ic_err ic_sim_media_add_sample(ic_sim *s, const char *kind, const char *mime, size_t size,
                               const char *pnid, ic_sim_media_info *out);
/* The download URL of media id (valid 5 minutes of simulated time) into out,
 * signed with sim->url_key. Takes sim->mu itself briefly. */
void ic_sim_media_url(ic_sim *s, const char *id, char *out, size_t size);
/* Graph routes: POST /{pnid}/media, GET /{media_id}, DELETE /{media_id};
 * return false when id is not a media id (so the caller answers 100). */
void ic_sim_media_upload(ic_sim_req *r, const char *pnid);
bool ic_sim_media_get(ic_sim_req *r, const char *id);
bool ic_sim_media_delete(ic_sim_req *r, const char *id);
/* Route: GET /whatsapp_business/attachments/ (the download URL). */
void ic_sim_media_download(ic_sim_req *r);

/* ---- webhooks.c ----------------------------------------------------------- */

/* One status webhook item to send later. */
typedef struct ic_sim_status_spec {
    const char *pnid;
    const char *wamid;
    const char *recipient;
    const char *biz_opaque;   /* NULL when the send had none */
    const char *category;     /* pricing category, e.g. "service" */
    const char *pricing_type; /* "free_customer_service" or "regular" */
    bool billable;
    bool to_group;
    bool only_sent; /* reactions produce only "sent" */
    int fail_code;  /* non-zero: one "failed" status with this code */
} ic_sim_status_spec;

/* Called on the webhook thread when a synchronous delivery ends: http_status
 * 0 means no answer (connection refused, timeout, no webhook URL). */
typedef void (*ic_sim_sync_cb)(void *arg, long http_status, const char *resp, size_t resp_len);

/* Starts the delivery thread; *out is owned (stop, then free). s must
 * outlive it. IC_ERR_INTERNAL with em when the thread cannot start. */
ic_err ic_sim_webhooks_start(ic_sim *s, ic_sim_webhooks **out, ic_errmsg *em);
/* Stops the thread: synchronous jobs still waiting get their callback with
 * status 0; later statuses are dropped and later synchronous deliveries
 * refused. The struct stays valid until ic_sim_webhooks_free. NULL is fine. */
void ic_sim_webhooks_stop(ic_sim_webhooks *w);
/* Frees what stop left (pending statuses, retries). NULL is fine. */
void ic_sim_webhooks_free(ic_sim_webhooks *w);
/* Schedules sent/delivered/read (or failed) for an accepted send using the
 * current delay and flags. Thread-safe (may be called holding sim->mu). */
void ic_sim_webhooks_statuses(ic_sim *s, const ic_sim_status_spec *spec);
/* Delivers body (stolen) to target now, signed per sig_mode ("good", "bad",
 * "none"), and calls cb once with the outcome. retry: on failure, keep
 * retrying later with backoff (the callback still reports the first try).
 * Thread-safe; IC_ERR_BUSY when stopping (cb is not called). */
ic_err ic_sim_webhooks_sync(ic_sim_webhooks *w, const ic_sim_target *t, char *body, size_t len,
                            const char *sig_mode, bool retry, ic_sim_sync_cb cb, void *arg);
/* Statuses waiting to be sent, and deliveries awaiting a retry. NULL w gives
 * zeros. Thread-safe. */
void ic_sim_webhooks_pending(ic_sim_webhooks *w, size_t *statuses, size_t *jobs);

/* ---- server.c ------------------------------------------------------------- */

/* Starts libmicrohttpd on cfg.listen_addr:cfg.port with a timer thread for
 * delayed answers; *out is owned (ic_sim_server_stop). IC_ERR_INVALID for a
 * bad address, IC_ERR_IO with em when the port is taken. */
ic_err ic_sim_server_start(ic_sim *s, ic_sim_server **out, ic_errmsg *em);
/* The port bound (the real one when cfg.port was 0). Thread-safe. */
int ic_sim_server_port(const ic_sim_server *srv);
/* Resumes every suspended request (503), stops and frees. NULL is fine. */
void ic_sim_server_stop(ic_sim_server *srv);

/* Request accessors, for handlers: results are borrowed from r and valid
 * until it is answered; they may be called on the handler's thread only. */
/* "GET", "POST", ... */
const char *ic_sim_req_method(const ic_sim_req *r);
/* A header value or NULL (borrowed). */
const char *ic_sim_req_header(const ic_sim_req *r, const char *name);
/* A query argument or NULL (borrowed). */
const char *ic_sim_req_query(const ic_sim_req *r, const char *name);
/* The whole body, NUL-terminated ("" when none), its length in *len. */
const char *ic_sim_req_body(const ic_sim_req *r, size_t *len);
/* The simulator the request belongs to. */
ic_sim *ic_sim_req_sim(const ic_sim_req *r);
/* The bearer token of the Authorization header, or NULL. */
const char *ic_sim_req_bearer(const ic_sim_req *r);
/* Parses the body as a JSON object (owned) or answers 400 and returns NULL. */
json_t *ic_sim_req_json(ic_sim_req *r);

/* Answers: each sets the answer of r (a second answer is ignored and its
 * buffer freed). They may be called from any thread as long as only one
 * thread owns r at a time (the handler, or whoever it deferred r to). */
/* Sets the answer (copied). */
void ic_sim_reply(ic_sim_req *r, int status, const char *ctype, const void *body, size_t len);
/* Sets a JSON answer; steals body. */
void ic_sim_reply_json(ic_sim_req *r, int status, json_t *body);
/* Sets a byte answer whose buffer is stolen (freed with ic_free). */
void ic_sim_reply_owned(ic_sim_req *r, int status, const char *ctype, char *body, size_t len);
/* Sets a streamed answer of size bytes produced by fill(arg, offset, buf, max);
 * arg is freed with ic_free afterwards. */
void ic_sim_reply_stream(ic_sim_req *r, int status, const char *ctype, uint64_t size,
                         ssize_t (*fill)(void *arg, uint64_t pos, char *buf, size_t max),
                         void *arg);
/* Answers Meta's error shape {"error":{"message","type","code",
 * "error_data":{"messaging_product","details"},"fbtrace_id"}}. */
void ic_sim_reply_meta(ic_sim_req *r, int http, int code, const char *details);
/* Answers {"error":"..."} for the /sim API. */
void ic_sim_reply_sim_error(ic_sim_req *r, int http, const char *msg);
/* Closes the connection without an answer. */
void ic_sim_req_drop(ic_sim_req *r);
/* Delays the already-set answer by ms (the connection is suspended, other
 * requests go on). */
void ic_sim_req_delay(ic_sim_req *r, int ms);
/* Suspends the request until ic_sim_req_resume; call from the handler before
 * handing r to another thread. */
void ic_sim_req_defer(ic_sim_req *r);
/* Resumes a deferred request whose answer was set. Any thread, once. */
void ic_sim_req_resume(ic_sim_req *r);

/* ---- util.c --------------------------------------------------------------- */

/* A new unique wamid into out (IC_SIM_WAMID_MAX). Thread-safe. */
void ic_sim_new_wamid(ic_sim *s, char *out, size_t size);
/* A new numeric id (media ids) into out. Thread-safe. */
void ic_sim_new_numeric_id(ic_sim *s, char *out, size_t size);
/* Meta's title for an error code ("Rate limit hit"). Never NULL. */
const char *ic_sim_meta_title(int code);
/* Meta's errors[] item {"code","title","message","error_data","href"} (owned). */
json_t *ic_sim_meta_error_item(int code, const char *details);
/* 64-bit FNV-1a of s. */
uint64_t ic_sim_hash64(const char *s, size_t len);
/* Compact JSON text of j (owned), or NULL on failure. */
char *ic_sim_dumps(const json_t *j, size_t *len);

/* ---- the simulator -------------------------------------------------------- */

typedef struct ic_sim_config {
    const char *listen_addr;
    int port;
    int threads;
    int default_mps;
    bool pair_limit;
    bool window;
    bool statuses;
    bool read;
    int status_delay_ms;
    bool any_template;
    int webhook_concurrency;
    int webhook_retries;
    int webhook_timeout_ms;
    size_t inbox_max;
    size_t max_people;
    size_t max_upload;
    size_t max_media_bytes;
    uint64_t seed;
    const char *templates_file;
} ic_sim_config;

struct ic_sim {
    ic_sim_config cfg; /* flags; the runtime-changeable ones are read under mu */
    pthread_mutex_t mu;
    ic_sim_faults faults;
    uint64_t rng;
    _Atomic int64_t clock_offset_us;
    _Atomic uint64_t id_seq;
    char id_prefix[16];
    char base_url[128]; /* "http://127.0.0.1:PORT" */
    char url_key[65];   /* signs media download URLs */
    ic_sim_number numbers[IC_SIM_MAX_NUMBERS];
    size_t n_numbers;
    ic_sim_people *people;
    ic_sim_media *media;
    ic_sim_templates *templates;
    ic_sim_stats stats;
    ic_sim_webhooks *wh;
    ic_sim_server *srv;
};

#endif
