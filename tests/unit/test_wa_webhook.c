/* test_wa_webhook.c - the WhatsApp webhook parser against courier's conformance
 * cases (with their signatures), Meta's examples, and every message type.
 * Malformed input, bounds, the handshake and wa-parse: test_wa_webhook_robust.c.
 */
#include "base/buf.h"
#include "base/crypto.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "cli/cli.h"
#include "wa/webhook.h"

#include <dirent.h>
#include <fcntl.h>
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

/* ---- helpers ---------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    ic_buf b = IC_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ic_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return ic_buf_steal(&b);
}

static char *shared_path(const char *rel)
{
    const char *dir = getenv("IC_SHARED_DIR");
    if (!dir)
        fail_msg("IC_SHARED_DIR is not set (run through ctest)");
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b, "%s/%s", dir, rel);
    return ic_buf_steal(&b);
}

/* Parses body, asserting success, into b. */
static void parse_into(const char *body, ic_wa_batch *b)
{
    ic_errmsg em = {{0}};
    *b = (ic_wa_batch)IC_WA_BATCH_INIT;
    ic_err rc = ic_wa_webhook_parse(body, strlen(body), b, &em);
    if (rc != IC_OK)
        fail_msg("parse failed: %s", em.msg);
}

/* A messages change with one contact (Ann, 27820001111) and the given
 * members of value (messages/statuses/errors...). */
static char *envelope(const char *value_members)
{
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b,
                  "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"WABA\","
                  "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":"
                  "\"whatsapp\",\"metadata\":{\"display_phone_number\":\"15550001111\","
                  "\"phone_number_id\":\"PNI\"},\"contacts\":[{\"profile\":{\"name\":\"Ann\"},"
                  "\"wa_id\":\"27820001111\"}],%s}}]}]}",
                  value_members);
    return ic_buf_steal(&b);
}

/* One message from Ann with id wamid.A, timestamp 1700000000, and fields. */
static char *one_message(const char *fields)
{
    ic_buf m = IC_BUF_INIT;
    ic_buf_printf(&m,
                  "\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.A\","
                  "\"timestamp\":\"1700000000\",%s}]",
                  fields);
    char *body = envelope(ic_buf_cstr(&m));
    ic_buf_free(&m);
    return body;
}

/* Parses one message built from fields and expects exactly one event. */
static void parse_one(const char *fields, ic_wa_batch *b)
{
    char *body = one_message(fields);
    parse_into(body, b);
    free(body);
    assert_int_equal(b->count, 1);
}

/* The value at a dotted path of objects ("context.id"), or NULL. */
static json_t *jpath(json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        assert_true(n < sizeof key);
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static const char *jstr(const ic_wa_event *ev, const char *path)
{
    return json_string_value(jpath(ev->content, path));
}

static void assert_ignored(const ic_wa_event *ev, const char *reason)
{
    assert_int_equal(ev->kind, IC_WA_IGNORED);
    assert_string_equal(ev->type, "ignored");
    assert_non_null(ev->reason);
    assert_string_equal(ev->reason, reason);
    assert_string_equal(jstr(ev, "reason"), reason);
}

static int setup_crypto(void **state)
{
    (void)state;
    ic_log_set_level(IC_LOG_ERROR);
    return ic_crypto_init() == IC_OK ? 0 : -1;
}

/* ---- courier conformance ---------------------------------------------- */

static const ic_wa_event *only_kind(const ic_wa_batch *b, ic_wa_kind kind, size_t want)
{
    const ic_wa_event *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < b->count; i++)
        if (b->events[i].kind == kind) {
            if (!first)
                first = &b->events[i];
            n++;
        }
    assert_int_equal(n, want);
    return first;
}

static void check_attachment(const ic_wa_event *m, const char *want)
{
    if (strncmp(want, "geo:", 4) == 0) {
        json_t *lat = jpath(m->content, "location.latitude");
        json_t *lng = jpath(m->content, "location.longitude");
        assert_true(json_is_number(lat) && json_is_number(lng));
        char geo[80];
        snprintf(geo, sizeof geo, "geo:%f,%f", json_number_value(lat), json_number_value(lng));
        assert_string_equal(geo, want);
        return;
    }
    /* courier's mock resolves media id "id_<type>" to ".../attachmentURL_<Type>". */
    const char *t = strstr(want, "attachmentURL_");
    assert_non_null(t);
    char id[64];
    int n = snprintf(id, sizeof id, "id_%s", t + strlen("attachmentURL_"));
    for (int i = 3; i < n; i++)
        id[i] = (char)((id[i] >= 'A' && id[i] <= 'Z') ? id[i] - 'A' + 'a' : id[i]);
    assert_non_null(m->media_id);
    assert_string_equal(m->media_id, id);
    assert_non_null(m->mime_type);
    assert_string_equal(jstr(m, "media_id"), id);
}

static void check_case(json_t *tc)
{
    const char *label = json_string_value(json_object_get(tc, "Label"));
    const char *data = json_string_value(json_object_get(tc, "Data"));
    const char *prep = json_string_value(json_object_get(tc, "PrepRequest"));
    const char *contains = json_string_value(json_object_get(tc, "ExpectedBodyContains"));
    assert_non_null(label);
    assert_non_null(data);
    print_message("case: %s\n", label);

    char *body;
    size_t len;
    if (strcmp(data, "not json") == 0) {
        body = strdup(data);
        len = strlen(body);
    } else {
        ic_buf rel = IC_BUF_INIT;
        ic_buf_printf(&rel, "conformance/courier-wac/%s", data);
        char *path = shared_path(ic_buf_cstr(&rel));
        body = read_file(path, &len);
        free(path);
        ic_buf_free(&rel);
    }

    char sig[80], hex[65];
    ic_hmac_sha256_hex("fb_app_secret", 13, body, len, hex);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    assert_true(ic_wa_signature_ok("fb_app_secret", sig, body, len));
    if (prep && strcmp(prep, "addInvalidSignature") == 0) {
        ic_hmac_sha256_hex("not_the_secret", 14, body, len, hex);
        snprintf(sig, sizeof sig, "sha256=%s", hex);
        assert_false(ic_wa_signature_ok("fb_app_secret", sig, body, len));
        free(body);
        return;
    }

    ic_wa_batch b = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    ic_err rc = ic_wa_webhook_parse(body, len, &b, &em);
    free(body);
    if (contains && strstr(contains, "unable to parse")) {
        assert_int_equal(rc, IC_ERR_PARSE);
        assert_non_null(strstr(em.msg, "unable to parse request JSON"));
        assert_int_equal(b.count, 0);
        return;
    }
    assert_int_equal(rc, IC_OK);

    static const char *const reasons[] = {"invalid whatsapp id", "invalid timestamp",
                                          "ignoring status: deleted", "unknown status: in_orbit"};
    for (size_t i = 0; contains && i < sizeof reasons / sizeof reasons[0]; i++)
        if (strstr(contains, reasons[i])) {
            assert_int_equal(b.count, 1);
            assert_ignored(&b.events[0], reasons[i]);
        }
    if (contains && strstr(contains, "ignoring group message")) {
        /* Our deviation: group messages are kept, with their group. */
        const ic_wa_event *m = only_kind(&b, IC_WA_MESSAGE, 1);
        assert_string_equal(m->group_id, "555555555");
        assert_string_equal(m->text, "Hello World, group message");
    }

    json_t *text = json_object_get(tc, "ExpectedMsgText");
    if (text) {
        only_kind(&b, IC_WA_IGNORED, 0);
        const ic_wa_event *m = only_kind(&b, IC_WA_MESSAGE, 1);
        assert_string_equal(m->text ? m->text : "", json_string_value(text));
        char urn[128], iso[40];
        snprintf(urn, sizeof urn, "whatsapp:%s", m->from);
        assert_string_equal(urn, json_string_value(json_object_get(tc, "ExpectedURN")));
        assert_string_equal(m->id, json_string_value(json_object_get(tc, "ExpectedExternalID")));
        ic_time_iso(m->timestamp * 1000000, iso, sizeof iso);
        assert_string_equal(iso, json_string_value(json_object_get(tc, "ExpectedDate")));
        assert_string_equal(m->phone_number_id, "1234567890");
        json_t *name = json_object_get(tc, "ExpectedContactName");
        if (name)
            assert_string_equal(m->contact_name, json_string_value(name));
        json_t *atts = json_object_get(tc, "ExpectedAttachments");
        size_t i;
        json_t *a;
        json_array_foreach(atts, i, a) check_attachment(m, json_string_value(a));
        if (!atts)
            assert_null(m->media_id);
        json_t *payload = json_object_get(tc, "ExpectedPayload");
        if (payload) {
            json_t *want = json_loads(json_string_value(payload), 0, NULL);
            assert_non_null(want);
            assert_true(json_equal(want, json_object_get(m->content, "response")));
            json_decref(want);
        } else {
            assert_null(json_object_get(m->content, "response"));
        }
        json_t *new_urn = json_object_get(tc, "ExpectedNewURN");
        const char *uid = jstr(m, "from_user_id");
        if (json_is_object(new_urn)) {
            const char *v = json_string_value(json_object_get(new_urn, "Value"));
            assert_non_null(uid);
            assert_string_equal(v + strlen("whatsapp:"), uid);
        } else {
            assert_null(uid);
        }
    }

    json_t *statuses = json_object_get(tc, "ExpectedStatuses");
    if (statuses) {
        only_kind(&b, IC_WA_IGNORED, 0);
        const ic_wa_event *s = only_kind(&b, IC_WA_STATUS, json_array_size(statuses));
        json_t *want = json_array_get(statuses, 0);
        assert_string_equal(s->id, json_string_value(json_object_get(want, "ExternalID")));
        const char *st = json_string_value(json_object_get(want, "Status"));
        assert_true(strncmp(st, "models.MsgStatus", 16) == 0);
        char lower[32];
        snprintf(lower, sizeof lower, "%s", st + 16);
        lower[0] = (char)(lower[0] - 'A' + 'a');
        assert_string_equal(s->type, lower);
        assert_string_equal(jstr(s, "status"), lower);
        assert_string_equal(s->recipient, "5678");
    }

    json_t *errors = json_object_get(tc, "ExpectedErrors");
    if (errors) {
        size_t seen = 0;
        for (size_t i = 0; i < b.count; i++) {
            if (!b.events[i].error_title)
                continue;
            json_t *want = json_array_get(errors, seen++);
            assert_non_null(want);
            char code[24];
            snprintf(code, sizeof code, "%d", b.events[i].error_code);
            assert_string_equal(code, json_string_value(json_object_get(want, "code")));
            assert_string_equal(b.events[i].error_title,
                                json_string_value(json_object_get(want, "message")));
        }
        assert_int_equal(seen, json_array_size(errors));
    }
    ic_wa_batch_free(&b);
}

static void test_courier_incoming_cases(void **state)
{
    (void)state;
    char *path = shared_path("conformance/courier-wac/incoming_cases.json");
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    free(path);
    assert_non_null(doc);
    json_t *cases = json_object_get(doc, "cases");
    size_t i;
    json_t *tc;
    json_array_foreach(cases, i, tc) check_case(tc);
    assert_int_equal(json_array_size(cases), 29);
    json_decref(doc);
}

/* Every inbound webhook body among Meta's examples gives the right kinds. */
static void test_meta_examples(void **state)
{
    (void)state;
    static const struct {
        const char *prefix;
        ic_wa_kind kind;
    } kinds[] = {{"inbound-", IC_WA_MESSAGE},
                 {"status-", IC_WA_STATUS},
                 {"account-error-", IC_WA_ERROR},
                 {"template-status-", IC_WA_IGNORED}};
    char *dir = shared_path("whatsapp/examples");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int webhooks = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *body = read_file(path, &len);
        json_t *root = json_loadb(body, len, 0, NULL);
        assert_non_null(root);
        bool is_webhook = json_object_get(root, "object") && json_object_get(root, "entry");
        json_decref(root);
        if (!is_webhook) {
            free(body);
            continue;
        }
        webhooks++;
        print_message("example: %s\n", de->d_name);
        size_t k = 0;
        while (k < sizeof kinds / sizeof kinds[0] && !ic_str_starts(de->d_name, kinds[k].prefix))
            k++;
        assert_true(k < sizeof kinds / sizeof kinds[0]);
        ic_wa_batch b = IC_WA_BATCH_INIT;
        assert_int_equal(ic_wa_webhook_parse(body, len, &b, NULL), IC_OK);
        free(body);
        assert_int_equal(b.count, 1);
        assert_int_equal(b.events[0].kind, kinds[k].kind);
        assert_string_equal(b.events[0].phone_number_id ? b.events[0].phone_number_id
                                                        : "106540352242922",
                            "106540352242922");
        if (kinds[k].kind == IC_WA_IGNORED) {
            assert_ignored(&b.events[0], "unhandled field message_template_status_update");
            assert_string_equal(jstr(&b.events[0], "value.event"), "APPROVED");
        }
        ic_wa_batch_free(&b);
    }
    closedir(d);
    free(dir);
    assert_int_equal(webhooks, 6);
}

/* ---- message types courier does not cover ------------------------------ */

static void test_reaction_and_removal(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.OURS\","
              "\"emoji\":\"\\ud83d\\udc4d\"}",
              &b);
    assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
    assert_string_equal(b.events[0].type, "reaction");
    assert_string_equal(b.events[0].text, "\xf0\x9f\x91\x8d");
    assert_string_equal(jstr(&b.events[0], "reaction.message_id"), "wamid.OURS");
    assert_null(json_object_get(b.events[0].content, "removed"));
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.OURS\"}", &b);
    assert_string_equal(b.events[0].type, "reaction");
    assert_null(b.events[0].text);
    assert_true(json_is_true(json_object_get(b.events[0].content, "removed")));
    ic_wa_batch_free(&b);
}

static void test_sticker_voice_document(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"sticker\",\"sticker\":{\"id\":\"ST1\",\"mime_type\":\"image/webp\","
              "\"sha256\":\"x\",\"animated\":true}",
              &b);
    assert_string_equal(b.events[0].media_id, "ST1");
    assert_string_equal(b.events[0].mime_type, "image/webp");
    assert_null(b.events[0].text);
    assert_true(json_is_true(jpath(b.events[0].content, "sticker.animated")));
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"audio\",\"audio\":{\"id\":\"AU1\",\"mime_type\":\"audio/ogg\","
              "\"voice\":true}",
              &b);
    assert_string_equal(b.events[0].type, "audio");
    assert_string_equal(b.events[0].media_id, "AU1");
    assert_true(json_is_true(json_object_get(b.events[0].content, "voice")));
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"audio\",\"audio\":{\"id\":\"AU2\",\"mime_type\":\"audio/mpeg\"}", &b);
    assert_null(json_object_get(b.events[0].content, "voice"));
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"document\",\"document\":{\"id\":\"D1\",\"mime_type\":"
              "\"application/pdf\",\"filename\":\"clinic.pdf\",\"caption\":\"my results\"}",
              &b);
    assert_string_equal(b.events[0].text, "my results");
    assert_string_equal(jstr(&b.events[0], "document.filename"), "clinic.pdf");
    ic_wa_batch_free(&b);
}

static void test_contacts_order_system(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"contacts\",\"contacts\":[{\"name\":{\"formatted_name\":\"Nurse Joy\"},"
              "\"phones\":[{\"phone\":\"+27 82 000 2222\",\"wa_id\":\"27820002222\"}]}]",
              &b);
    assert_string_equal(b.events[0].type, "contacts");
    assert_string_equal(b.events[0].contact_name, "Ann");
    json_t *cards = json_object_get(b.events[0].content, "contacts");
    assert_int_equal(json_array_size(cards), 1);
    assert_string_equal(json_string_value(jpath(json_array_get(cards, 0), "name.formatted_name")),
                        "Nurse Joy");
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"order\",\"order\":{\"catalog_id\":\"C1\",\"text\":\"for the clinic\","
              "\"product_items\":[{\"product_retailer_id\":\"P1\",\"quantity\":2,"
              "\"item_price\":10.5,\"currency\":\"ZAR\"}]}",
              &b);
    assert_string_equal(b.events[0].text, "for the clinic");
    assert_int_equal(json_array_size(jpath(b.events[0].content, "order.product_items")), 1);
    ic_wa_batch_free(&b);

    /* System messages carry no contacts. */
    char *body = envelope("\"messages\":[{\"from\":\"27820009999\",\"id\":\"wamid.S\","
                          "\"timestamp\":\"1700000000\",\"type\":\"system\",\"system\":{"
                          "\"body\":\"User A changed from 27820009999 to 27820008888\","
                          "\"wa_id\":\"27820008888\",\"type\":\"user_changed_number\"}}]");
    parse_into(body, &b);
    free(body);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.events[0].type, "system");
    assert_null(b.events[0].contact_name);
    assert_string_equal(jstr(&b.events[0], "new_wa_id"), "27820008888");
    assert_string_equal(jstr(&b.events[0], "system.type"), "user_changed_number");
    assert_non_null(strstr(b.events[0].text, "changed from"));
    ic_wa_batch_free(&b);
}

static void test_context_referral_group(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"text\",\"text\":{\"body\":\"fwd\"},\"group_id\":\"G1\","
              "\"context\":{\"from\":\"15550001111\",\"id\":\"wamid.PREV\",\"forwarded\":true,"
              "\"referred_product\":{\"catalog_id\":\"C\",\"product_retailer_id\":\"P\"}},"
              "\"referral\":{\"source_url\":\"https://fb.me/ad\",\"source_type\":\"ad\","
              "\"ctwa_clid\":\"CL\"}",
              &b);
    const ic_wa_event *m = &b.events[0];
    assert_string_equal(m->context_id, "wamid.PREV");
    assert_string_equal(m->group_id, "G1");
    assert_true(json_is_true(jpath(m->content, "context.forwarded")));
    assert_string_equal(jstr(m, "context.referred_product.product_retailer_id"), "P");
    assert_string_equal(jstr(m, "referral.source_url"), "https://fb.me/ad");
    assert_string_equal(jstr(m, "group_id"), "G1");
    ic_wa_batch_free(&b);
}

static void test_unsupported_and_unknown(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"unsupported\",\"unsupported\":{\"type\":\"edit\"},\"errors\":[{"
              "\"code\":131051,\"title\":\"Message type unknown\",\"message\":\"Message type "
              "unknown\",\"error_data\":{\"details\":\"Message type is currently not "
              "supported.\"}}]",
              &b);
    const ic_wa_event *m = &b.events[0];
    assert_int_equal(m->kind, IC_WA_MESSAGE);
    assert_string_equal(m->type, "unsupported");
    assert_int_equal(m->error_code, 131051);
    assert_string_equal(m->error_title, "Message type unknown");
    assert_string_equal(jstr(m, "unsupported.type"), "edit");
    json_t *e = json_array_get(json_object_get(m->content, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "details")),
                        "Message type is currently not supported.");
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"poll\",\"poll\":{\"question\":\"ok?\"}", &b);
    assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
    assert_string_equal(b.events[0].type, "poll");
    assert_string_equal(jstr(&b.events[0], "poll.question"), "ok?");
    ic_wa_batch_free(&b);

    /* A type named like one of our own members cannot be kept under it. */
    parse_one("\"type\":\"kind\",\"kind\":{}", &b);
    assert_ignored(&b.events[0], "invalid message type");
    ic_wa_batch_free(&b);
}

static void test_interactive_replies(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_one("\"type\":\"interactive\",\"interactive\":{\"type\":\"list_reply\",\"list_reply\":"
              "{\"id\":\"row-2\",\"title\":\"Clinic hours\",\"description\":\"when\"}}",
              &b);
    assert_string_equal(b.events[0].text, "Clinic hours");
    assert_string_equal(jstr(&b.events[0], "payload"), "row-2");
    ic_wa_batch_free(&b);

    /* A response_json that is not JSON at all is kept raw, with a note. */
    parse_one("\"type\":\"interactive\",\"interactive\":{\"type\":\"nfm_reply\",\"nfm_reply\":{"
              "\"name\":\"flow\",\"body\":\"Sent\",\"response_json\":\"{oops\"}}",
              &b);
    assert_string_equal(b.events[0].text, "Sent");
    assert_null(json_object_get(b.events[0].content, "response"));
    assert_string_equal(jstr(&b.events[0], "response_error"), "response_json is not a JSON object");
    assert_string_equal(jstr(&b.events[0], "interactive.nfm_reply.response_json"), "{oops");
    ic_wa_batch_free(&b);

    parse_one("\"type\":\"button\",\"button\":{\"payload\":\"STOP\",\"text\":\"Unsubscribe\"}", &b);
    assert_string_equal(b.events[0].text, "Unsubscribe");
    assert_string_equal(jstr(&b.events[0], "payload"), "STOP");
    ic_wa_batch_free(&b);
}

/* ---- statuses and errors ----------------------------------------------- */

static void test_statuses_with_pricing(void **state)
{
    (void)state;
    static const char *const names[] = {"delivered", "read", "played"};
    for (size_t i = 0; i < 3; i++) {
        char members[1024];
        snprintf(members, sizeof members,
                 "\"statuses\":[{\"id\":\"wamid.OUT\",\"status\":\"%s\",\"timestamp\":"
                 "\"1750263773\",\"recipient_id\":\"27820001111\",\"biz_opaque_callback_data\":"
                 "\"msg-42\",\"pricing\":{\"billable\":false,\"pricing_model\":\"PMP\",\"type\":"
                 "\"free_customer_service\",\"category\":\"service\"},\"conversation\":{\"id\":"
                 "\"CONV\",\"origin\":{\"type\":\"service\"}}}]",
                 names[i]);
        char *body = envelope(members);
        ic_wa_batch b;
        parse_into(body, &b);
        free(body);
        assert_int_equal(b.count, 1);
        const ic_wa_event *s = &b.events[0];
        assert_int_equal(s->kind, IC_WA_STATUS);
        assert_string_equal(s->type, names[i]);
        assert_string_equal(s->id, "wamid.OUT");
        assert_string_equal(s->recipient, "27820001111");
        assert_string_equal(s->biz_opaque, "msg-42");
        assert_string_equal(s->phone_number_id, "PNI");
        assert_true(s->timestamp == 1750263773);
        assert_int_equal(s->error_code, 0);
        assert_string_equal(jstr(s, "pricing.pricing_model"), "PMP");
        assert_string_equal(jstr(s, "pricing.category"), "service");
        assert_string_equal(jstr(s, "conversation.id"), "CONV");
        ic_wa_batch_free(&b);
    }
    /* A group send reports the participant. */
    char *body = envelope("\"statuses\":[{\"id\":\"wamid.G\",\"status\":\"read\",\"timestamp\":"
                          "1750263773,\"recipient_id\":\"G1\",\"recipient_type\":\"group\","
                          "\"recipient_participant_id\":\"27820003333\"}]");
    ic_wa_batch b;
    parse_into(body, &b);
    free(body);
    assert_string_equal(jstr(&b.events[0], "recipient_type"), "group");
    assert_string_equal(jstr(&b.events[0], "recipient_participant_id"), "27820003333");
    ic_wa_batch_free(&b);
}

static void test_value_errors_each_one_event(void **state)
{
    (void)state;
    char *body = envelope("\"errors\":[{\"code\":130429,\"title\":\"Rate limit hit\"},"
                          "{\"code\":131052,\"message\":\"Media download error\","
                          "\"error_data\":{\"details\":\"too big\"}}]");
    ic_wa_batch b;
    parse_into(body, &b);
    free(body);
    assert_int_equal(b.count, 2);
    assert_int_equal(b.events[0].kind, IC_WA_ERROR);
    assert_string_equal(b.events[0].type, "error");
    assert_int_equal(b.events[0].error_code, 130429);
    assert_string_equal(b.events[0].error_title, "Rate limit hit");
    assert_int_equal(b.events[1].error_code, 131052);
    assert_string_equal(b.events[1].error_title, "Media download error");
    json_t *e = json_array_get(json_object_get(b.events[1].content, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "details")), "too big");
    ic_wa_batch_free(&b);
}

/* ---- envelope rules ----------------------------------------------------- */

static void test_timestamps(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t want; /* -1: invalid */
    } cases[] = {
        {"\"1700000000123\"", 1700000000}, /* milliseconds */
        {"1700000000", 1700000000},        /* a JSON integer */
        {"\"0\"", 0},
        {"\"-5\"", -1},
        {"\"17e8\"", -1},
        {"\" 1700000000\"", -1},
        {"1.7e9", -1},
        {"\"\"", -1},
        {"null", -1},
        {"\"99999999999999999999999\"", -1},
        {"\"1700000000123456\"", -1}, /* microseconds: not a Meta timestamp */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ic_buf m = IC_BUF_INIT;
        ic_buf_printf(&m,
                      "\"messages\":[{\"from\":\"27820001111\",\"id\":\"wamid.T\",\"timestamp\":"
                      "%s,\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]",
                      cases[i].json);
        char *body = envelope(ic_buf_cstr(&m));
        ic_buf_free(&m);
        ic_wa_batch b;
        parse_into(body, &b);
        free(body);
        assert_int_equal(b.count, 1);
        print_message("timestamp %s\n", cases[i].json);
        if (cases[i].want < 0) {
            assert_ignored(&b.events[0], "invalid timestamp");
            assert_string_equal(b.events[0].id, "wamid.T");
        } else {
            assert_int_equal(b.events[0].kind, IC_WA_MESSAGE);
            assert_true(b.events[0].timestamp == cases[i].want);
            assert_true(json_integer_value(json_object_get(b.events[0].content, "timestamp")) ==
                        cases[i].want);
        }
        ic_wa_batch_free(&b);
    }
}

static void test_sender_ids(void **state)
{
    (void)state;
    static const struct {
        const char *fields;
        const char *from; /* NULL: invalid whatsapp id */
        const char *user_id;
    } cases[] = {
        {"\"from\":\"27820001111\"", "27820001111", NULL},
        {"\"from\":\"27820001111\",\"from_user_id\":\"ZA.abc123\"", "27820001111", "ZA.abc123"},
        {"\"from\":\"27820001111\",\"from_user_id\":\"za.abc\"", "27820001111", NULL},
        {"\"from_user_id\":\"ZA.abc123\"", "ZA.abc123", NULL},
        {"\"from\":\"\",\"from_user_id\":\"ZA.9\"", "ZA.9", NULL},
        {"\"from\":\"+27820001111\"", NULL, NULL},
        {"\"from\":27820001111", NULL, NULL},
        {"\"from\":\"ZA.\"", NULL, NULL},
        {"\"from\":\"ZAR.123\"", NULL, NULL},
        {"\"from\":\"123456789012345678901234567890123\"", NULL, NULL},
        {"\"from_user_id\":[]", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ic_buf m = IC_BUF_INIT;
        ic_buf_printf(&m,
                      "\"messages\":[{%s,\"id\":\"wamid.F\",\"timestamp\":\"1700000000\","
                      "\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]",
                      cases[i].fields);
        char *body = envelope(ic_buf_cstr(&m));
        ic_buf_free(&m);
        ic_wa_batch b;
        parse_into(body, &b);
        free(body);
        print_message("sender %s\n", cases[i].fields);
        assert_int_equal(b.count, 1);
        if (!cases[i].from) {
            assert_ignored(&b.events[0], "invalid whatsapp id");
        } else {
            assert_string_equal(b.events[0].from, cases[i].from);
            const char *uid = jstr(&b.events[0], "from_user_id");
            if (cases[i].user_id)
                assert_string_equal(uid, cases[i].user_id);
            else
                assert_null(uid);
        }
        ic_wa_batch_free(&b);
    }
}

static void test_duplicates_across_changes(void **state)
{
    (void)state;
#define DUP_MSG                                                                                    \
    "{\"from\":\"27820001111\",\"id\":\"wamid.D\",\"timestamp\":\"1700000000\",\"type\":"          \
    "\"text\",\"text\":{\"body\":\"%s\"}}"
    ic_buf b1 = IC_BUF_INIT;
    ic_buf_puts(&b1, "{\"object\":\"whatsapp_business_account\",\"entry\":[");
    for (int e = 0; e < 2; e++) {
        ic_buf_printf(&b1,
                      "%s{\"id\":\"W\",\"changes\":[{\"field\":\"messages\",\"value\":{"
                      "\"messages\":[",
                      e ? "," : "");
        ic_buf_printf(&b1, DUP_MSG, e ? "second" : "first");
        ic_buf_puts(&b1, ",");
        ic_buf_printf(&b1, DUP_MSG, "again");
        ic_buf_puts(&b1, "]}}]}");
    }
    ic_buf_puts(&b1, "]}");
    ic_wa_batch b;
    parse_into(ic_buf_cstr(&b1), &b);
    ic_buf_free(&b1);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.events[0].text, "first");
    assert_null(b.events[0].phone_number_id);
    ic_wa_batch_free(&b);
}

static void test_other_objects_and_fields(void **state)
{
    (void)state;
    ic_wa_batch b;
    parse_into("{\"object\":\"page\",\"entry\":[]}", &b);
    assert_int_equal(b.count, 1);
    assert_ignored(&b.events[0], "unknown object page");
    ic_wa_batch_free(&b);

    parse_into("{\"entry\":[]}", &b);
    assert_ignored(&b.events[0], "unknown object (missing)");
    ic_wa_batch_free(&b);

    parse_into("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":"
               "[{\"field\":\"user_preferences\",\"value\":{\"user_preferences\":[{\"wa_id\":"
               "\"27820001111\",\"value\":\"stop\",\"category\":\"marketing_messages\"}]}}]}]}",
               &b);
    assert_int_equal(b.count, 1);
    assert_ignored(&b.events[0], "unhandled field user_preferences");
    assert_string_equal(jstr(&b.events[0], "field"), "user_preferences");
    assert_string_equal(jstr(&b.events[0], "entry_id"), "W");
    json_t *pref = json_array_get(jpath(b.events[0].content, "value.user_preferences"), 0);
    assert_string_equal(json_string_value(json_object_get(pref, "value")), "stop");
    ic_wa_batch_free(&b);

    /* No entries at all: nothing to report. */
    parse_into("{\"object\":\"whatsapp_business_account\"}", &b);
    assert_int_equal(b.count, 0);
    ic_wa_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_courier_incoming_cases),
        cmocka_unit_test(test_meta_examples),
        cmocka_unit_test(test_reaction_and_removal),
        cmocka_unit_test(test_sticker_voice_document),
        cmocka_unit_test(test_contacts_order_system),
        cmocka_unit_test(test_context_referral_group),
        cmocka_unit_test(test_unsupported_and_unknown),
        cmocka_unit_test(test_interactive_replies),
        cmocka_unit_test(test_statuses_with_pricing),
        cmocka_unit_test(test_value_errors_each_one_event),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_sender_ids),
        cmocka_unit_test(test_duplicates_across_changes),
        cmocka_unit_test(test_other_objects_and_fields),
    };
    return cmocka_run_group_tests(tests, setup_crypto, NULL);
}
