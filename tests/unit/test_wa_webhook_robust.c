/* test_wa_webhook_robust.c - what the webhook does with hostile or broken
 * input (wrong JSON types everywhere, depth bombs, too many events), the
 * signature and GET handshake checks, and `impactchat wa-parse`.
 */
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cli/cli.h"
#include "wa/webhook.h"

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define WBA "{\"object\":\"whatsapp_business_account\","
#define MSG_OK                                                                                     \
    "{\"from\":\"27820001111\",\"id\":\"wamid.A\",\"timestamp\":\"1700000000\",\"type\":"          \
    "\"text\",\"text\":{\"body\":\"hi\"}}"

static char tmpdir[512];

static int setup(void **state)
{
    (void)state;
    ic_log_set_level(IC_LOG_ERROR);
    const char *base = getenv("IC_TEST_TMP");
    if (!base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(tmpdir, sizeof tmpdir, "%s/wa_webhook_XXXXXX", base);
    if (!mkdtemp(tmpdir))
        return -1;
    return ic_crypto_init() == IC_OK ? 0 : -1;
}

/* A body with one messages change whose value has the given members. */
static char *with_value(const char *members)
{
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b,
                  WBA "\"entry\":[{\"id\":\"W\",\"changes\":[{\"field\":\"messages\",\"value\":{"
                      "\"metadata\":{\"phone_number_id\":\"PNI\"},%s}}]}]}",
                  members);
    return ic_buf_steal(&b);
}

static void parse_ok(const char *body, ic_wa_batch *b)
{
    ic_errmsg em = {{0}};
    *b = (ic_wa_batch)IC_WA_BATCH_INIT;
    if (ic_wa_webhook_parse(body, strlen(body), b, &em) != IC_OK)
        fail_msg("parse failed: %s", em.msg);
}

/* Each body gives exactly one event: IGNORED with reason, or a MESSAGE when
 * reason is NULL. */
static void expect_one(const char *body, const char *reason)
{
    ic_wa_batch b;
    print_message("body: %s\n", body);
    parse_ok(body, &b);
    assert_int_equal(b.count, 1);
    if (reason) {
        assert_int_equal(b.events[0].kind, IC_WA_IGNORED);
        assert_string_equal(b.events[0].reason, reason);
    } else {
        assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
    }
    /* Whatever came in, the content prints as JSON. */
    char *dump = json_dumps(b.events[0].content, JSON_COMPACT);
    assert_non_null(dump);
    free(dump);
    ic_wa_batch_free(&b);
}

static void test_wrong_shapes_in_the_envelope(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {WBA "\"entry\":5}", "invalid entry: not an array"},
        {WBA "\"entry\":[5]}", "invalid entry: not an object"},
        {WBA "\"entry\":[{\"changes\":\"x\"}]}", "invalid changes: not an array"},
        {WBA "\"entry\":[{\"changes\":[1]}]}", "invalid change: not an object"},
        {WBA "\"entry\":[{\"changes\":[{\"field\":5,\"value\":{}}]}]}",
         "invalid change: missing field"},
        {WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":[]}]}]}",
         "invalid change: value is not an object"},
        {WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\"}]}]}",
         "invalid change: value is not an object"},
        {WBA "\"entry\":[{\"changes\":[{\"field\":\"x\\u0001\\u00e9y\"}]}]}",
         "unhandled field x???y"},
        {"{\"object\":5}", "unknown object (missing)"},
        {WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":5,"
             "\"contacts\":5,\"messages\":[" MSG_OK "]}}]}]}",
         NULL},
        {WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{"
             "\"phone_number_id\":7},\"contacts\":[5,{\"wa_id\":\"27820001111\",\"profile\":5}],"
             "\"messages\":[" MSG_OK "]}}]}]}",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_one(cases[i][0], cases[i][1]);
}

static void test_wrong_shapes_in_items(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"\"messages\":{}", "invalid messages: not an array"},
        {"\"messages\":[1]", "invalid message: not an object"},
        {"\"statuses\":\"x\"", "invalid statuses: not an array"},
        {"\"statuses\":[5]", "invalid status: not an object"},
        {"\"statuses\":[{\"id\":\"w\",\"timestamp\":\"1\"}]", "invalid status: missing status"},
        {"\"statuses\":[{\"id\":\"w\",\"status\":5,\"timestamp\":\"1\"}]",
         "invalid status: missing status"},
        {"\"statuses\":[{\"status\":\"sent\",\"timestamp\":\"1\"}]",
         "invalid status: missing message id"},
        {"\"statuses\":[{\"id\":[],\"status\":\"sent\",\"timestamp\":\"1\"}]",
         "invalid status: missing message id"},
        {"\"statuses\":[{\"id\":\"w\",\"status\":\"sent\",\"timestamp\":{}}]", "invalid timestamp"},
        {"\"statuses\":[{\"id\":\"w\",\"status\":\"sent\\u00e9\\u0007\",\"timestamp\":\"1\"}]",
         "unknown status: sent???"},
        {"\"errors\":\"x\"", "invalid errors: not an array"},
        {"\"errors\":[5]", "invalid error: not an object"},
        {"\"messages\":[{\"from\":\"1\",\"timestamp\":\"1\",\"type\":\"text\",\"text\":{\"body\":"
         "\"x\"}}]",
         "invalid message: missing id"},
        {"\"messages\":[{\"id\":5,\"from\":\"1\",\"timestamp\":\"1\",\"type\":\"text\"}]",
         "invalid message: missing id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = with_value(cases[i][0]);
        expect_one(body, cases[i][1]);
        free(body);
    }
    /* An error whose members have the wrong types is still one error event. */
    char *body = with_value("\"errors\":[{\"code\":\"131051\",\"title\":5},{\"code\":99999999999,"
                            "\"title\":\"big\",\"error_data\":[]}]");
    ic_wa_batch b;
    parse_ok(body, &b);
    free(body);
    assert_int_equal(b.count, 2);
    assert_int_equal(b.events[0].kind, IC_WA_ERROR);
    assert_int_equal(b.events[0].error_code, 0);
    assert_null(b.events[0].error_title);
    assert_int_equal(b.events[1].error_code, INT_MAX);
    ic_wa_batch_free(&b);
}

/* Message members that make a message unusable, then ones that only lose an
 * optional part. */
static void test_wrong_shapes_in_messages(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"\"type\":5", "invalid message type"},
        {"\"type\":\"Text\",\"Text\":{}", "invalid message type"},
        {"\"type\":\"text\",\"text\":\"hi\"", "invalid text message"},
        {"\"type\":\"text\",\"text\":{\"body\":5}", "invalid text message"},
        {"\"type\":\"image\",\"image\":[]", "invalid image message"},
        {"\"type\":\"video\"", "invalid video message"},
        {"\"type\":\"voice\",\"voice\":5", "invalid voice message"},
        {"\"type\":\"location\",\"location\":{\"latitude\":\"0\",\"longitude\":1}",
         "invalid location message"},
        {"\"type\":\"contacts\",\"contacts\":{}", "invalid contacts message"},
        {"\"type\":\"interactive\",\"interactive\":5", "invalid interactive message"},
        {"\"type\":\"button\",\"button\":\"x\"", "invalid button message"},
        {"\"type\":\"reaction\",\"reaction\":1", "invalid reaction message"},
        {"\"type\":\"order\",\"order\":null", "invalid order message"},
        {"\"type\":\"system\",\"system\":true", "invalid system message"},
    };
    /* member, then a content member that must be absent */
    static const char *const degraded[][2] = {
        {"\"type\":\"interactive\",\"interactive\":{\"type\":5}", "text"},
        {"\"type\":\"interactive\",\"interactive\":{\"type\":\"button_reply\",\"button_reply\":5}",
         "payload"},
        {"\"type\":\"interactive\",\"interactive\":{\"type\":\"nfm_reply\",\"nfm_reply\":{"
         "\"body\":5,\"response_json\":5}}",
         "response"},
        {"\"type\":\"interactive\",\"interactive\":{\"type\":\"nfm_reply\",\"nfm_reply\":{"
         "\"response_json\":\"\\\"just a string\\\"\"}}",
         "response"},
        {"\"type\":\"image\",\"image\":{\"id\":5,\"mime_type\":[],\"caption\":{}}", "media_id"},
        {"\"type\":\"image\",\"image\":{\"id\":5,\"mime_type\":[],\"caption\":{}}", "text"},
        {"\"type\":\"reaction\",\"reaction\":{\"emoji\":5}", "removed"},
        {"\"type\":\"system\",\"system\":{\"wa_id\":\"+1\"}", "new_wa_id"},
        {"\"type\":\"unsupported\",\"unsupported\":5,\"errors\":\"x\"", "errors"},
        {"\"type\":\"text\",\"text\":{\"body\":\"hi\"},\"context\":5", "context"},
        {"\"type\":\"text\",\"text\":{\"body\":\"hi\"},\"referral\":\"x\"", "referral"},
        {"\"type\":\"text\",\"text\":{\"body\":\"hi\"},\"group_id\":5", "group_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ic_buf m = IC_BUF_INIT;
        ic_buf_printf(&m,
                      "\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.B\",\"timestamp\":"
                      "\"1700000000\",%s}]",
                      bad[i][0]);
        char *body = with_value(ic_buf_cstr(&m));
        ic_buf_free(&m);
        expect_one(body, bad[i][1]);
        free(body);
    }
    for (size_t i = 0; i < sizeof degraded / sizeof degraded[0]; i++) {
        ic_buf m = IC_BUF_INIT;
        ic_buf_printf(&m,
                      "\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.B\",\"timestamp\":"
                      "\"1700000000\",%s}]",
                      degraded[i][0]);
        char *body = with_value(ic_buf_cstr(&m));
        ic_buf_free(&m);
        ic_wa_batch b;
        print_message("degraded: %s\n", degraded[i][0]);
        parse_ok(body, &b);
        free(body);
        assert_int_equal(b.count, 1);
        assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
        assert_null(json_object_get(b.events[0].content, degraded[i][1]));
        assert_null(b.events[0].context_id);
        assert_null(b.events[0].group_id);
        assert_null(b.events[0].media_id);
        ic_wa_batch_free(&b);
    }
}

static void test_not_json(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "not json",
        "",
        "[1,2]",
        "\"str\"",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1} x",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\xff\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        ic_wa_batch b = IC_WA_BATCH_INIT;
        ic_errmsg em = {{0}};
        print_message("body: %s\n", bodies[i]);
        assert_int_equal(ic_wa_webhook_parse(bodies[i], strlen(bodies[i]), &b, &em), IC_ERR_PARSE);
        assert_true(strncmp(em.msg, "unable to parse request JSON: ", 30) == 0);
        assert_int_equal(b.count, 0);
        assert_null(b.events);
    }
    /* The reason never quotes the body. */
    ic_wa_batch b = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    const char *secret = "{\"text\":{\"body\":\"my HIV result\" oops}}";
    assert_int_equal(ic_wa_webhook_parse(secret, strlen(secret), &b, &em), IC_ERR_PARSE);
    assert_null(strstr(em.msg, "oops"));
    assert_null(strstr(em.msg, "HIV"));
    assert_int_equal(ic_wa_webhook_parse(NULL, 0, &b, NULL), IC_ERR_PARSE);
}

/* A text message whose body holds 100 "[{" pairs and whose referral nests
 * levels arrays. */
static char *deep_referral(int levels)
{
    ic_buf r = IC_BUF_INIT;
    ic_buf_puts(&r, "\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.R\",\"timestamp\":"
                    "\"1700000000\",\"type\":\"text\",\"text\":{\"body\":\"");
    for (int i = 0; i < 100; i++)
        ic_buf_puts(&r, "[{\\\"");
    ic_buf_puts(&r, "\"},\"referral\":");
    for (int i = 0; i < levels; i++)
        ic_buf_putc(&r, '[');
    for (int i = 0; i < levels; i++)
        ic_buf_putc(&r, ']');
    ic_buf_puts(&r, "}]");
    char *body = with_value(ic_buf_cstr(&r));
    ic_buf_free(&r);
    return body;
}

static void test_depth_bomb(void **state)
{
    (void)state;
    ic_buf deep = IC_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        ic_buf_putc(&deep, '[');
    ic_wa_batch b = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_wa_webhook_parse(deep.data, deep.len, &b, &em), IC_ERR_PARSE);
    assert_non_null(strstr(em.msg, "nested deeper than 64 levels"));
    ic_buf_free(&deep);

    /* 8 levels of envelope and message + 57 in the referral = 65: refused. */
    char *body = deep_referral(57);
    assert_int_equal(ic_wa_webhook_parse(body, strlen(body), &b, &em), IC_ERR_PARSE);
    assert_non_null(strstr(em.msg, "nested deeper"));
    free(body);
    /* 8 + 56 = 64: accepted, the referral (not an object) left out, and the
     * brackets inside the text are only text. */
    body = deep_referral(56);
    parse_ok(body, &b);
    free(body);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
    assert_null(json_object_get(b.events[0].content, "referral"));
    assert_true(strncmp(b.events[0].text, "[{\"[{\"", 6) == 0);
    ic_wa_batch_free(&b);
}

/* n statuses, or n items that are not messages, in one body. */
static char *many(size_t n, bool statuses)
{
    ic_buf items = IC_BUF_INIT;
    ic_buf_puts(&items, statuses ? "\"statuses\":[" : "\"messages\":[");
    for (size_t i = 0; i < n; i++) {
        if (statuses)
            ic_buf_printf(&items,
                          "%s{\"id\":\"wamid.%zu\",\"status\":\"read\",\"timestamp\":\"1\","
                          "\"recipient_id\":\"1\"}",
                          i ? "," : "", i);
        else
            ic_buf_printf(&items, "%s1", i ? "," : "");
    }
    ic_buf_puts(&items, "]");
    char *body = with_value(ic_buf_cstr(&items));
    ic_buf_free(&items);
    return body;
}

static void test_too_many_events(void **state)
{
    (void)state;
    ic_wa_batch b = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    char *body = many(IC_WA_MAX_EVENTS, true);
    assert_int_equal(ic_wa_webhook_parse(body, strlen(body), &b, &em), IC_OK);
    free(body);
    assert_int_equal(b.count, IC_WA_MAX_EVENTS);
    assert_string_equal(b.events[IC_WA_MAX_EVENTS - 1].id, "wamid.3999");
    ic_wa_batch_free(&b);
    assert_int_equal(b.count, 0);

    for (int statuses = 0; statuses < 2; statuses++) {
        body = many(IC_WA_MAX_EVENTS + 1, statuses);
        assert_int_equal(ic_wa_webhook_parse(body, strlen(body), &b, &em), IC_ERR_TOO_BIG);
        free(body);
        assert_int_equal(b.count, 0);
        assert_null(b.events);
        assert_non_null(strstr(em.msg, "more than 4000 events"));
    }
    ic_wa_batch_free(NULL);
}
/* ---- signature and handshake -------------------------------------------- */

static void test_signature(void **state)
{
    (void)state;
    const char *body = "{\"object\":\"whatsapp_business_account\"}";
    size_t len = strlen(body);
    char hex[65], hdr[80];
    ic_hmac_sha256_hex("s3cret", 6, body, len, hex);
    snprintf(hdr, sizeof hdr, "sha256=%s", hex);
    assert_true(ic_wa_signature_ok("s3cret", hdr, body, len));
    for (char *p = hdr + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(ic_wa_signature_ok("s3cret", hdr, body, len));
    assert_false(ic_wa_signature_ok("s3cret", hdr, body, len - 1)); /* body changed */
    assert_false(ic_wa_signature_ok("other", hdr, body, len));
    assert_false(ic_wa_signature_ok("s3cret", hdr + 7, body, len)); /* no prefix */
    assert_false(ic_wa_signature_ok("s3cret", NULL, body, len));
    assert_false(ic_wa_signature_ok(NULL, hdr, body, len));
    assert_false(ic_wa_signature_ok("", hdr, body, len));
    hdr[20] = 'g';
    assert_false(ic_wa_signature_ok("s3cret", hdr, body, len));
    snprintf(hdr, sizeof hdr, "sha256=%s0", hex); /* 65 hex */
    assert_false(ic_wa_signature_ok("s3cret", hdr, body, len));
    snprintf(hdr, sizeof hdr, "sha1=%s", hex);
    assert_false(ic_wa_signature_ok("s3cret", hdr, body, len));
    ic_hmac_sha256_hex("s3cret", 6, "", 0, hex);
    snprintf(hdr, sizeof hdr, "sha256=%s", hex);
    assert_true(ic_wa_signature_ok("s3cret", hdr, NULL, 0));
}

static void test_verify_get(void **state)
{
    (void)state;
    char long_ch[300];
    memset(long_ch, 'c', 256);
    long_ch[256] = '\0';
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", "1158201444", "tok"), IC_OK);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", long_ch, "tok"), IC_OK);
    long_ch[256] = 'c';
    long_ch[257] = '\0';
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", long_ch, "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get("unsubscribe", "tok", "1", "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get(NULL, "tok", "1", "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get("subscribe", "tak", "1", "tok"), IC_ERR_AUTH);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok2", "1", "tok"), IC_ERR_AUTH);
    assert_int_equal(ic_wa_verify_get("subscribe", NULL, "1", "tok"), IC_ERR_AUTH);
    assert_int_equal(ic_wa_verify_get("subscribe", "", "1", ""), IC_ERR_AUTH);
    assert_int_equal(ic_wa_verify_get("subscribe", "x", "1", NULL), IC_ERR_AUTH);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", "", "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", NULL, "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", "ab\ncd", "tok"), IC_ERR_INVALID);
    assert_int_equal(ic_wa_verify_get("subscribe", "tok", "<\x80>", "tok"), IC_ERR_INVALID);
}

/* ---- impactchat wa-parse ------------------------------------------------ */

static char *write_tmp(const char *name, const void *data, size_t len)
{
    ic_buf p = IC_BUF_INIT;
    ic_buf_printf(&p, "%s/%s", tmpdir, name);
    FILE *f = fopen(ic_buf_cstr(&p), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return ic_buf_steal(&p);
}

static char *slurp(const char *path)
{
    ic_buf b = IC_BUF_INIT;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ic_buf_append(&b, chunk, n);
    fclose(f);
    return ic_buf_steal(&b);
}

typedef struct cli_run {
    int rc;
    char *out;
    char *err;
} cli_run;

/* Runs wa-parse with args (NULL-terminated), stdin from stdin_path when
 * non-NULL, and captures what it prints. No cmocka assertion may run while
 * stdout is redirected. */
static cli_run run_wa_parse(const char *const *args, const char *stdin_path)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"wa-parse";
    for (; args[argc - 1] && argc < 15; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    ic_buf po = IC_BUF_INIT, pe = IC_BUF_INIT;
    ic_buf_printf(&po, "%s/stdout", tmpdir);
    ic_buf_printf(&pe, "%s/stderr", tmpdir);
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2), save_in = dup(0);
    int fo = open(ic_buf_cstr(&po), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    int fe = open(ic_buf_cstr(&pe), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    if (stdin_path) {
        int fi = open(stdin_path, O_RDONLY);
        dup2(fi, 0);
        close(fi);
        clearerr(stdin);
    }
    cli_run r;
    r.rc = ic_cli_wa_parse(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    dup2(save_in, 0);
    clearerr(stdin);
    close(save_out);
    close(save_err);
    close(save_in);
    close(fo);
    close(fe);
    r.out = slurp(ic_buf_cstr(&po));
    r.err = slurp(ic_buf_cstr(&pe));
    ic_buf_free(&po);
    ic_buf_free(&pe);
    return r;
}

static void cli_free(cli_run *r)
{
    free(r->out);
    free(r->err);
}

static json_t *line_json(const char *out, int n)
{
    for (int i = 0; i < n && out; i++) {
        out = strchr(out, '\n');
        if (out)
            out++;
    }
    assert_non_null(out);
    size_t len = strcspn(out, "\n");
    json_t *j = json_loadb(out, len, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_wa_parse_prints_one_line_per_event(void **state)
{
    (void)state;
    const char *two = WBA
        "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{"
        "\"phone_number_id\":\"PNI\"},\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.A\","
        "\"timestamp\":\"1700000000\",\"type\":\"location\",\"location\":{\"latitude\":-33.9,"
        "\"longitude\":18.4}}],\"statuses\":[{\"id\":\"wamid.O\",\"status\":\"deleted\","
        "\"timestamp\":\"1\"}]}}]}]}";
    const char *text = WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
                           "\"messages\":[" MSG_OK "]}}]}]}";
    char *f1 = write_tmp("two.json", two, strlen(two));
    char *f2 = write_tmp("text.json", text, strlen(text));
    const char *args[] = {f1, f2, NULL};
    cli_run r = run_wa_parse(args, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.err, "");
    json_t *l0 = line_json(r.out, 0), *l1 = line_json(r.out, 1), *l2 = line_json(r.out, 2);
    assert_string_equal(json_string_value(json_object_get(l0, "kind")), "message");
    assert_string_equal(json_string_value(json_object_get(l0, "type")), "location");
    assert_string_equal(json_string_value(json_object_get(l0, "id")), "wamid.A");
    assert_string_equal(json_string_value(json_object_get(l0, "from")), "27820001111");
    assert_int_equal(json_integer_value(json_object_get(l0, "timestamp")), 1700000000);
    assert_true(json_real_value(json_object_get(json_object_get(l0, "location"), "latitude")) ==
                -33.9);
    assert_string_equal(json_string_value(json_object_get(l1, "kind")), "ignored");
    assert_string_equal(json_string_value(json_object_get(l1, "reason")),
                        "ignoring status: deleted");
    assert_string_equal(json_string_value(json_object_get(l2, "text")), "hi");
    assert_null(strchr(strchr(strchr(strchr(r.out, '\n') + 1, '\n') + 1, '\n') + 1, '\n'));
    json_decref(l0);
    json_decref(l1);
    json_decref(l2);
    cli_free(&r);

    /* "-" reads standard input. */
    const char *dash[] = {"-", NULL};
    r = run_wa_parse(dash, f2);
    assert_int_equal(r.rc, 0);
    l0 = line_json(r.out, 0);
    assert_string_equal(json_string_value(json_object_get(l0, "text")), "hi");
    json_decref(l0);
    cli_free(&r);
    free(f1);
    free(f2);
}

static void test_wa_parse_bad_files_go_on(void **state)
{
    (void)state;
    const char *text = WBA "\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
                           "\"messages\":[" MSG_OK "]}}]}]}";
    char *good = write_tmp("good.json", text, strlen(text));
    char *bad = write_tmp("bad.json", "not json", 8);
    size_t big_len = (size_t)3 * 1024 * 1024 + 1;
    char *big_data = malloc(big_len);
    memset(big_data, ' ', big_len);
    char *big = write_tmp("big.json", big_data, big_len);
    free(big_data);
    ic_buf missing = IC_BUF_INIT;
    ic_buf_printf(&missing, "%s/no-such.json", tmpdir);
    const char *args[] = {ic_buf_cstr(&missing), bad, big, good, NULL};
    cli_run r = run_wa_parse(args, NULL);
    assert_int_equal(r.rc, 1);
    ic_buf want = IC_BUF_INIT;
    ic_buf_printf(&want, "impactchat wa-parse: %s: No such file or directory\n",
                  ic_buf_cstr(&missing));
    ic_buf_printf(&want, "impactchat wa-parse: %s: unable to parse request JSON: ", bad);
    assert_true(strncmp(r.err, ic_buf_cstr(&want), want.len) == 0);
    ic_buf_reset(&want);
    ic_buf_printf(&want, "impactchat wa-parse: %s: larger than 3 MB", big);
    assert_non_null(strstr(r.err, ic_buf_cstr(&want)));
    json_t *l0 = line_json(r.out, 0);
    assert_string_equal(json_string_value(json_object_get(l0, "text")), "hi");
    json_decref(l0);
    cli_free(&r);
    ic_buf_free(&want);
    ic_buf_free(&missing);
    free(good);
    free(bad);
    free(big);
}

static void test_wa_parse_usage(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    cli_run r = run_wa_parse(none, NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "usage: impactchat wa-parse"));
    cli_free(&r);
    const char *bogus[] = {"--bogus", NULL};
    r = run_wa_parse(bogus, NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "unknown option '--bogus'"));
    cli_free(&r);
    const char *help[] = {"--help", NULL};
    r = run_wa_parse(help, NULL);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "usage: impactchat wa-parse [--help] FILE..."));
    assert_string_equal(r.err, "");
    cli_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_shapes_in_the_envelope),
        cmocka_unit_test(test_wrong_shapes_in_items),
        cmocka_unit_test(test_wrong_shapes_in_messages),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_depth_bomb),
        cmocka_unit_test(test_too_many_events),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_verify_get),
        cmocka_unit_test(test_wa_parse_prints_one_line_per_event),
        cmocka_unit_test(test_wa_parse_bad_files_go_on),
        cmocka_unit_test(test_wa_parse_usage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
