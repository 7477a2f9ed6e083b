/* test_wa_outbound.c - Graph request bodies for the messages we send. The
 * courier conformance cases are read from
 * $IC_SHARED_DIR/conformance/courier-wac/outgoing_cases.json. Meta's limits
 * are tested in test_wa_outbound_limits.c, answers in test_wa_graph_result.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/str.h"
#include "wa_outbound_test.h"

/* ---- courier conformance --------------------------------------------------- */

static json_t *simple_from_case(const json_t *c, const char **to)
{
    json_t *m = json_object();
    const char *urn = json_string_value(json_object_get(c, "MsgURN"));
    assert_non_null(urn);
    *to = strchr(urn, ':') + 1;
    if (json_object_get(c, "MsgText"))
        json_object_set(m, "text", json_object_get(c, "MsgText"));
    if (json_object_get(c, "MsgAttachments"))
        json_object_set(m, "attachments", json_object_get(c, "MsgAttachments"));
    if (json_object_get(c, "MsgLocale"))
        json_object_set(m, "locale", json_object_get(c, "MsgLocale"));
    const char *tpl = json_string_value(json_object_get(c, "MsgTemplating"));
    if (tpl)
        json_object_set_new(m, "templating", J(tpl));
    json_t *qrs = json_object_get(c, "MsgQuickReplies");
    if (qrs) {
        json_t *out = json_array(), *q;
        size_t i;
        json_array_foreach(qrs, i, q)
        {
            json_t *r = json_object();
            static const char *const keys[][2] = {
                {"Type", "type"}, {"Text", "text"}, {"Extra", "extra"}};
            for (size_t k = 0; k < 3; k++)
                if (json_object_get(q, keys[k][0]))
                    json_object_set(r, keys[k][1], json_object_get(q, keys[k][0]));
            json_array_append_new(out, r);
        }
        json_object_set_new(m, "quick_replies", out);
    }
    return m;
}

static void classify_mock(const json_t *mock, ic_wa_result *r)
{
    const char *body = json_string_value(json_object_get(mock, "body"));
    ic_wa_classify((long)json_integer_value(json_object_get(mock, "status")), body, strlen(body),
                   r);
}

static void check_expected_error(const char *label, const json_t *want, const json_t *mock)
{
    ic_wa_result r;
    classify_mock(mock, &r);
    const char *s = json_string_value(want);
    if (s && strcmp(s, "channels.ErrConnectionThrottled") == 0) {
        if (r.verdict != IC_WA_RETRY || !r.throttled)
            fail_msg("%s: wanted a throttled retry", label);
        assert_int_equal(r.pair_limited, r.code == 131056);
    } else if (s && strcmp(s, "channels.ErrResponseUnparseable") == 0) {
        if (r.verdict != IC_WA_FAILED || r.throttled)
            fail_msg("%s: wanted FAILED", label);
    } else if (s && strcmp(s, "channels.ErrConnectionFailed") == 0) {
        if (r.verdict != IC_WA_RETRY || r.throttled)
            fail_msg("%s: wanted an unthrottled retry", label);
    } else {
        const char *call = json_string_value(json_object_get(want, "call"));
        const json_t *args = json_object_get(want, "args");
        assert_non_null(call);
        ic_wa_verdict v =
            strcmp(call, "channels.ErrRetryableWithReason") == 0 ? IC_WA_RETRY : IC_WA_FAILED;
        assert_string_equal(call, v == IC_WA_RETRY ? "channels.ErrRetryableWithReason"
                                                   : "channels.ErrFailedWithReason");
        if (r.verdict != v)
            fail_msg("%s: verdict %d, wanted %d", label, r.verdict, v);
        char code[16];
        snprintf(code, sizeof code, "%d", r.code);
        assert_string_equal(code, json_string_value(json_array_get(args, 0)));
        assert_string_equal(r.reason, json_string_value(json_array_get(args, 1)));
    }
}

static void test_courier_conformance(void **state)
{
    (void)state;
    const char *dir = getenv("IC_SHARED_DIR");
    assert_non_null(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/conformance/courier-wac/outgoing_cases.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        fail_msg("cannot read %s: %s", path, je.text);
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, examined = 0, compared = 0, classified = 0;

    json_array_foreach(cases, i, c)
    {
        const char *label = json_string_value(json_object_get(c, "Label"));
        const json_t *mocks =
            json_object_get(json_object_get(c, "MockResponses"), "*/12345_ID/messages");
        const json_t *reqs = json_object_get(c, "ExpectedRequests");
        const json_t *ext = json_object_get(c, "ExpectedExtIDs");
        const json_t *experr = json_object_get(c, "ExpectedError");
        const char *to = NULL;
        json_t *msg = simple_from_case(c, &to);
        ic_wa_outbound o;
        ic_errmsg em = {{0}};
        ic_err e = ic_wa_outbound_build(msg, to, NULL, NULL, &o, &em);
        if (e)
            fail_msg("%s: refused: %s", label, em.msg);
        json_decref(msg);

        if (reqs) {
            if (o.count != json_array_size(reqs))
                fail_msg("%s: %zu bodies, wanted %zu", label, o.count, json_array_size(reqs));
            for (size_t k = 0; k < o.count; k++) {
                json_t *want =
                    J(json_string_value(json_object_get(json_array_get(reqs, k), "Body")));
                if (!json_equal(o.bodies[k], want)) {
                    char *got = json_dumps(o.bodies[k], JSON_SORT_KEYS);
                    char *w = json_dumps(want, JSON_SORT_KEYS);
                    fail_msg("%s: body %zu\n  got  %s\n  want %s", label, k, got, w);
                }
                json_decref(want);
            }
            const json_t *logs = json_object_get(c, "ExpectedLogErrors");
            if (json_array_size(o.warnings) != json_array_size(logs))
                fail_msg("%s: %zu warnings, wanted %zu", label, json_array_size(o.warnings),
                         json_array_size(logs));
            for (size_t k = 0; k < json_array_size(logs); k++)
                assert_string_equal(
                    json_string_value(json_array_get(o.warnings, k)),
                    json_string_value(json_object_get(json_array_get(logs, k), "Message")));
            compared++;
        } else {
            assert_int_equal(o.count, 1);
        }
        ic_wa_outbound_clear(&o);

        if (experr) {
            check_expected_error(label, experr, json_array_get(mocks, 0));
            classified++;
        } else {
            assert_true(json_array_size(ext) > 0);
            for (size_t k = 0; k < json_array_size(ext); k++) {
                ic_wa_result r;
                classify_mock(json_array_get(mocks, k), &r);
                if (r.verdict != IC_WA_SENT)
                    fail_msg("%s: answer %zu not SENT: %s", label, k, r.reason);
                assert_string_equal(r.wa_id, json_string_value(json_array_get(ext, k)));
            }
            if (!reqs)
                classified++;
        }
        examined++;
    }
    assert_int_equal(examined, 47);
    assert_int_equal(compared + classified, 47);
    assert_int_equal(classified, 8 + 3); /* 8 errors; 3 sends without request bodies */
    json_decref(root);
}

/* ---- bodies -------------------------------------------------------------------- */

#define ENV                                                                                        \
    "\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"" TO "\","

static void test_native_bodies(void **state)
{
    (void)state;
    expect_body("{\"type\":\"text\",\"text\":{\"body\":\"Hello\",\"preview_url\":true}}",
                "{" ENV "\"type\":\"text\",\"text\":{\"body\":\"Hello\",\"preview_url\":true}}");
    expect_body("{\"type\":\"document\",\"document\":{\"id\":\"77\",\"caption\":\"Form\","
                "\"filename\":\"form.pdf\"}}",
                "{" ENV "\"type\":\"document\",\"document\":{\"id\":\"77\",\"caption\":\"Form\","
                "\"filename\":\"form.pdf\"}}");
    expect_body("{\"type\":\"sticker\",\"sticker\":{\"id\":\"9\"}}",
                "{" ENV "\"type\":\"sticker\",\"sticker\":{\"id\":\"9\"}}");
    expect_body("{\"type\":\"audio\",\"audio\":{\"link\":\"https://x.org/a.ogg\"}}",
                "{" ENV "\"type\":\"audio\",\"audio\":{\"link\":\"https://x.org/a.ogg\"}}");
    expect_body("{\"type\":\"location\",\"location\":{\"latitude\":-26.2,\"longitude\":28.04,"
                "\"name\":\"Clinic\",\"address\":\"1 Main Rd\"}}",
                "{" ENV "\"type\":\"location\",\"location\":{\"latitude\":-26.2,\"longitude\":"
                "28.04,\"name\":\"Clinic\",\"address\":\"1 Main Rd\"}}");
    expect_body("{\"type\":\"contacts\",\"contacts\":[{\"name\":{\"formatted_name\":\"Help desk\"},"
                "\"phones\":[{\"phone\":\"+27800000000\",\"type\":\"WORK\"}]}]}",
                "{" ENV "\"type\":\"contacts\",\"contacts\":[{\"name\":{\"formatted_name\":"
                "\"Help desk\"},\"phones\":[{\"phone\":\"+27800000000\",\"type\":\"WORK\"}]}]}");
    expect_body("{\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.A\",\"emoji\":"
                "\"\xF0\x9F\x98\x80\"}}",
                "{" ENV "\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.A\",\"emoji\":"
                "\"\xF0\x9F\x98\x80\"}}");
    /* Meta's own example: reply buttons with an image header and a footer. */
    const char *buttons =
        "{\"type\":\"button\",\"header\":{\"type\":\"image\",\"image\":{\"id\":"
        "\"2762702990552401\"}},"
        "\"body\":{\"text\":\"Hi Pablo!\"},\"footer\":{\"text\":\"Lucky Shrub\"},\"action\":{"
        "\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"change-button\",\"title\":\"Change\"}"
        "},"
        "{\"type\":\"reply\",\"reply\":{\"id\":\"cancel-button\",\"title\":\"Cancel\"}}]}}";
    char *m = subst("{\"type\":\"interactive\",\"interactive\":@@}", buttons);
    char *w = subst("{" ENV "\"type\":\"interactive\",\"interactive\":@@}", buttons);
    expect_body(m, w);
    free(m), free(w);
    const char *flow = "{\"type\":\"flow\",\"header\":{\"type\":\"text\",\"text\":\"Intake\"},"
                       "\"body\":{\"text\":\"Tell us more\"},\"action\":{\"name\":\"flow\","
                       "\"parameters\":{\"flow_message_version\":\"3\",\"flow_token\":\"t1\","
                       "\"flow_name\":\"intake\",\"flow_cta\":\"Start\",\"flow_action\":"
                       "\"navigate\",\"flow_action_payload\":{\"screen\":\"ONE\"}}}}";
    m = subst("{\"type\":\"interactive\",\"interactive\":@@}", flow);
    w = subst("{" ENV "\"type\":\"interactive\",\"interactive\":@@}", flow);
    expect_body(m, w);
    free(m), free(w);
    /* Meta's named-parameter template example. */
    const char *tpl =
        "{\"name\":\"order_confirmation\",\"language\":{\"code\":\"en_US\"},\"components\":[{"
        "\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"parameter_name\":\"first_name\","
        "\"text\":\"Jessica\"}]},{\"type\":\"button\",\"sub_type\":\"quick_reply\",\"index\":0,"
        "\"parameters\":[{\"type\":\"payload\",\"payload\":\"STOP\"}]},{\"type\":\"header\","
        "\"parameters\":[{\"type\":\"document\",\"document\":{\"link\":\"https://x.org/f.pdf\","
        "\"filename\":\"f.pdf\"}}]},{\"type\":\"body\",\"parameters\":[{\"type\":\"currency\","
        "\"currency\":{\"fallback_value\":\"$1\",\"code\":\"USD\",\"amount_1000\":1000}},{\"type\":"
        "\"date_time\",\"date_time\":{\"fallback_value\":\"May 1\"}}]}]}";
    m = subst("{\"type\":\"template\",\"template\":@@}", tpl);
    w = subst("{" ENV "\"type\":\"template\",\"template\":@@}", tpl);
    expect_body(m, w);
    free(m), free(w);
}

static void test_recipients(void **state)
{
    (void)state;
    static const struct {
        const char *to, *key;
    } cases[] = {{"US.1234", "recipient"},
                 {"BR.abcXYZ09", "recipient"},
                 {"us.1234", "to"},
                 {"USA.1", "to"},
                 {"US.", "to"},
                 {"US.12-3", "to"},
                 {"+16505551234", "to"}};
    json_t *msg = J("{\"text\":\"hi\"}");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ic_wa_outbound o;
        ic_errmsg em;
        assert_int_equal(ic_wa_outbound_build(msg, cases[i].to, NULL, NULL, &o, &em), IC_OK);
        const char *other = strcmp(cases[i].key, "to") == 0 ? "recipient" : "to";
        assert_string_equal(json_string_value(json_object_get(o.bodies[0], cases[i].key)),
                            cases[i].to);
        assert_null(json_object_get(o.bodies[0], other));
        ic_wa_outbound_clear(&o);
    }
    json_decref(msg);
    /* Groups: recipient_type group, the group id in "to", no interactive. */
    expect_body("{\"recipient_type\":\"group\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}",
                "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"group\",\"to\":\"" TO
                "\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}");
    expect_err("{\"recipient_type\":\"group\",\"text\":\"Pick\",\"quick_replies\":[\"A\"]}",
               IC_ERR_LIMIT, "WhatsApp groups take no interactive messages");
    expect_err("{\"recipient_type\":\"broadcast\",\"text\":\"hi\"}", IC_ERR_INVALID,
               "recipient_type must be");
    ic_wa_outbound o;
    ic_errmsg em;
    json_t *m2 = J("{\"text\":\"hi\"}");
    assert_int_equal(ic_wa_outbound_build(m2, NULL, NULL, NULL, &o, &em), IC_ERR_INVALID);
    assert_int_equal(ic_wa_outbound_build(m2, "", NULL, NULL, &o, &em), IC_ERR_INVALID);
    assert_int_equal(ic_wa_outbound_build(m2, "27 82", NULL, NULL, &o, &em), IC_ERR_INVALID);
    json_decref(m2);
}

static void test_context_and_callback_placement(void **state)
{
    (void)state;
    /* Audio cannot carry text: two bodies. The reply context goes on the
     * first, our callback data on the last. */
    json_t *msg = J("{\"text\":\"Listen\",\"attachments\":[\"audio/ogg:https://x.org/a.ogg\"]}");
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(ic_wa_outbound_build(msg, TO, "msg-42", "wamid.IN1", &o, &em), IC_OK);
    assert_int_equal(o.count, 2);
    json_t *want0 = J("{" ENV "\"context\":{\"message_id\":\"wamid.IN1\"},\"type\":\"audio\","
                      "\"audio\":{\"link\":\"https://x.org/a.ogg\"}}");
    json_t *want1 = J("{" ENV "\"type\":\"text\",\"text\":{\"body\":\"Listen\",\"preview_url\":"
                      "false},\"biz_opaque_callback_data\":\"msg-42\"}");
    assert_true(json_equal(o.bodies[0], want0));
    assert_true(json_equal(o.bodies[1], want1));
    ic_wa_outbound_clear(&o);
    json_decref(want0), json_decref(want1), json_decref(msg);

    msg = J("{\"type\":\"text\",\"text\":{\"body\":\"ok\"}}");
    assert_int_equal(ic_wa_outbound_build(msg, TO, "m1", "wamid.X", &o, &em), IC_OK);
    json_t *want = J("{" ENV "\"context\":{\"message_id\":\"wamid.X\"},\"type\":\"text\","
                     "\"text\":{\"body\":\"ok\"},\"biz_opaque_callback_data\":\"m1\"}");
    assert_true(json_equal(o.bodies[0], want));
    assert_int_equal(json_array_size(o.warnings), 0);
    ic_wa_outbound_clear(&o);
    ic_wa_outbound_clear(&o); /* twice is harmless */
    ic_wa_outbound_clear(NULL);
    json_decref(want), json_decref(msg);
}

static void test_read_body(void **state)
{
    (void)state;
    json_t *b = ic_wa_mark_read_body("wamid.IN", false);
    json_t *w = J("{\"messaging_product\":\"whatsapp\",\"status\":\"read\",\"message_id\":"
                  "\"wamid.IN\"}");
    assert_true(json_equal(b, w));
    json_decref(b), json_decref(w);
    b = ic_wa_mark_read_body("wamid.IN", true);
    w = J("{\"messaging_product\":\"whatsapp\",\"status\":\"read\",\"message_id\":\"wamid.IN\","
          "\"typing_indicator\":{\"type\":\"text\"}}");
    assert_true(json_equal(b, w));
    json_decref(b);
    assert_null(ic_wa_mark_read_body(NULL, true));
    /* Through build: no "to", no callback data. */
    json_t *msg = J("{\"type\":\"read\",\"message_id\":\"wamid.IN\",\"typing\":true}");
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(ic_wa_outbound_build(msg, TO, "m1", "wamid.Y", &o, &em), IC_OK);
    assert_int_equal(o.count, 1);
    assert_true(json_equal(o.bodies[0], w));
    ic_wa_outbound_clear(&o);
    json_decref(w), json_decref(msg);
    expect_err("{\"type\":\"read\"}", IC_ERR_INVALID, "message_id is required");
    expect_err("{\"type\":\"read\",\"message_id\":\"w\",\"typing\":\"yes\"}", IC_ERR_INVALID,
               "typing must be true or false");
    expect_err("{\"type\":\"read\",\"message_id\":\"w\",\"recipient_type\":\"group\"}",
               IC_ERR_LIMIT, "groups cannot be marked as read");
}

/* ---- the simple form beyond courier's cases ---------------------------------------- */

static const char *list_label(const char *locale)
{
    static char out[64];
    json_t *msg = json_pack("{s:s, s:[s,s,s,s], s:s}", "text", "Pick", "quick_replies", "a", "b",
                            "c", "d", "locale", locale);
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(ic_wa_outbound_build(msg, TO, NULL, NULL, &o, &em), IC_OK);
    json_t *inter = json_object_get(o.bodies[0], "interactive");
    snprintf(out, sizeof out, "%s",
             json_string_value(json_object_get(json_object_get(inter, "action"), "button")));
    ic_wa_outbound_clear(&o);
    json_decref(msg);
    return out;
}

static void test_simple_form_rules(void **state)
{
    (void)state;
    assert_string_equal(list_label("spa-MX"), "Menú");
    assert_string_equal(list_label("es"), "Menú");
    assert_string_equal(list_label("ara"), "قائمة");
    assert_string_equal(list_label("swa"), "Menyu");
    assert_string_equal(list_label("fra"), "Menu");
    assert_string_equal(list_label("xyz"), "Menu");
    assert_string_equal(list_label("spanish"), "Menu");

    /* A caption over 1024 characters cannot ride on the image: two bodies. */
    char *long_text = rep("a", 1025);
    json_t *msg = json_pack("{s:s, s:[s]}", "text", long_text, "attachments",
                            "image/jpeg:https://x.org/a.jpg");
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(ic_wa_outbound_build(msg, TO, NULL, NULL, &o, &em), IC_OK);
    assert_int_equal(o.count, 2);
    assert_string_equal(json_string_value(json_object_get(o.bodies[0], "type")), "image");
    assert_null(json_object_get(json_object_get(o.bodies[0], "image"), "caption"));
    assert_string_equal(json_string_value(json_object_get(o.bodies[1], "type")), "text");
    ic_wa_outbound_clear(&o);
    json_decref(msg);
    free(long_text);

    expect_body("{\"text\":\"Your form\",\"attachments\":[\"text/plain:https://x.org/files/"
                "my%20form.txt?v=2#top\"]}",
                "{" ENV "\"type\":\"document\",\"document\":{\"link\":\"https://x.org/files/"
                "my%20form.txt?v=2#top\",\"caption\":\"Your form\",\"filename\":\"my form.txt\"}}");
    expect_body("{\"attachments\":[\"application/pdf:https://x.org/\"]}",
                "{" ENV "\"type\":\"document\",\"document\":{\"link\":\"https://x.org/\"}}");
    expect_err("{\"text\":\"a\",\"attachments\":[\"image/png:https://x.org/1.png\","
               "\"image/png:https://x.org/2.png\"]}",
               IC_ERR_LIMIT, "attachments has 2 items; a WhatsApp message carries one");
    /* Quick replies become buttons or rows, so Meta's limits apply to them. */
    expect_err("{\"text\":\"Pick\",\"quick_replies\":[\"Tell me more now!!!!!\"]}", IC_ERR_LIMIT,
               "interactive button title \"Tell me more now!!!!!\" is 21 characters");
    expect_err("{\"text\":\"Pick\",\"quick_replies\":[{\"text\":\"A\",\"extra\":\"" /* 73 */
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
               IC_ERR_LIMIT, "interactive list row description");
    expect_err("{\"text\":\"Pick\",\"quick_replies\":[\"A\",\"A\"]}", IC_ERR_LIMIT, "used twice");
    expect_err("{\"text\":\"Go\",\"quick_replies\":[{\"type\":\"url\",\"text\":\"Go\",\"extra\":"
               "\"example.com\"}]}",
               IC_ERR_INVALID, "url must be an http:// or https:// URL");
    /* Warnings are said once per kind of dropped quick reply. */
    msg = J("{\"text\":\"Where?\",\"quick_replies\":[{\"type\":\"location\"},\"A\",\"B\","
            "{\"type\":\"url\",\"extra\":\"https://x.org\"}]}");
    assert_int_equal(ic_wa_outbound_build(msg, TO, NULL, NULL, &o, &em), IC_OK);
    json_t *warn = J("[\"quick reply of type text can't be combined with a location quick reply "
                     "and won't be sent\",\"quick reply of type url can't be combined with a "
                     "location quick reply and won't be sent\"]");
    assert_true(json_equal(o.warnings, warn));
    ic_wa_outbound_clear(&o);
    json_decref(warn), json_decref(msg);
    /* Template variables are ordered by number, not by their order in JSON. */
    expect_body("{\"templating\":{\"template\":{\"name\":\"t\"},\"language\":\"fr\",\"components\":"
                "[{\"type\":\"body\",\"variables\":{\"10\":1,\"2\":0}},{\"type\":\"footer\"}],"
                "\"variables\":[{\"type\":\"text\",\"value\":\"two\"},{\"type\":\"text\","
                "\"value\":\"ten\"}]}}",
                "{" ENV "\"type\":\"template\",\"template\":{\"name\":\"t\",\"language\":{"
                "\"policy\":\"deterministic\",\"code\":\"fr\"},\"components\":[{\"type\":\"body\","
                "\"parameters\":[{\"type\":\"text\",\"text\":\"two\"},{\"type\":\"text\",\"text\":"
                "\"ten\"}]}]}}");
}

static void test_reading_messages(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *type, *text;
        bool tpl;
    } cases[] = {
        {"{\"type\":\"text\",\"text\":{\"body\":\"Hi\"}}", "text", "Hi", false},
        {"{\"type\":\"image\",\"image\":{\"id\":\"1\",\"caption\":\"Look\"}}", "image", "Look",
         false},
        {"{\"type\":\"interactive\",\"interactive\":{\"body\":{\"text\":\"Pick\"}}}", "interactive",
         "Pick", false},
        {"{\"type\":\"template\",\"template\":{\"name\":\"welcome\"}}", "template", "welcome",
         true},
        {"{\"type\":\"contacts\",\"contacts\":[{\"name\":{\"formatted_name\":\"Ana\"}}]}",
         "contacts", "Ana", false},
        {"{\"type\":\"location\",\"location\":{\"address\":\"1 Main Rd\"}}", "location",
         "1 Main Rd", false},
        {"{\"type\":\"audio\",\"audio\":{\"id\":\"1\"}}", "audio", NULL, false},
        {"{\"type\":\"bogus\"}", NULL, NULL, false},
        {"{\"text\":\"Hello\"}", "text", "Hello", false},
        {"{\"text\":\"Hi\",\"attachments\":[\"video/mp4:https://x.org/v.mp4\"]}", "video", "Hi",
         false},
        {"{\"attachments\":[\"application/pdf:https://x.org/f.pdf\"]}", "document", NULL, false},
        {"{\"text\":\"Pick\",\"quick_replies\":[\"A\"]}", "interactive", "Pick", false},
        {"{\"text\":\"\",\"templating\":{\"template\":{\"name\":\"revive\"}}}", "template",
         "revive", true},
        {"{}", NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *m = J(cases[i].msg);
        const char *t = ic_wa_outbound_type(m), *x = ic_wa_outbound_text(m);
        if (!ic_str_eq(t, cases[i].type) || !ic_str_eq(x, cases[i].text) ||
            ic_wa_outbound_is_template(m) != cases[i].tpl)
            fail_msg("%s: type %s text %s", cases[i].msg, t ? t : "NULL", x ? x : "NULL");
        json_decref(m);
    }
    assert_null(ic_wa_outbound_type(NULL));
    assert_null(ic_wa_outbound_text(NULL));
    assert_false(ic_wa_outbound_is_template(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_courier_conformance),
        cmocka_unit_test(test_native_bodies),
        cmocka_unit_test(test_recipients),
        cmocka_unit_test(test_context_and_callback_placement),
        cmocka_unit_test(test_read_body),
        cmocka_unit_test(test_simple_form_rules),
        cmocka_unit_test(test_reading_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
