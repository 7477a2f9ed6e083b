/* test_wa_outbound_limits.c - messages over one of Meta's limits, and
 * malformed messages, are refused with a reason that names the field. */
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

/* ---- Meta's limits ----------------------------------------------------------- */

/* With max copies of unit in place of "@@" the message passes; with max+1 it
 * is refused with IC_ERR_LIMIT naming the field, the length and the limit. */
static void check_limit(const char *fmt, const char *unit, size_t max, const char *name)
{
    char *at = rep(unit, max), *over = rep(unit, max + 1);
    char *ok_msg = subst(fmt, at), *bad_msg = subst(fmt, over);
    char want[160];
    expect_ok(ok_msg);
    snprintf(want, sizeof want, "is %zu characters; WhatsApp allows %zu", max + 1, max);
    expect_err(bad_msg, IC_ERR_LIMIT, want);
    expect_err(bad_msg, IC_ERR_LIMIT, name);
    free(at), free(over), free(ok_msg), free(bad_msg);
}

#define BUTTON_MSG(body, id, title)                                                                \
    "{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":\"" body    \
    "\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"" id                     \
    "\",\"title\":\"" title "\"}}]}}}"
#define LIST_MSG(body, label, stitle, id, title, desc)                                             \
    "{\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{\"text\":\"" body      \
    "\"},\"action\":{\"button\":\"" label "\",\"sections\":[{\"title\":\"" stitle                  \
    "\",\"rows\":[{\"id\":\"" id "\",\"title\":\"" title "\",\"description\":\"" desc "\"}]}]}}}"

static void test_text_and_media_limits(void **state)
{
    (void)state;
    /* Counted in code points: "é" is two bytes but one character. */
    check_limit("{\"type\":\"text\",\"text\":{\"body\":\"@@\"}}", "é", 4096, "text.body");
    expect_err("{\"type\":\"text\",\"text\":{\"body\":\"\"}}", IC_ERR_LIMIT,
               "text.body is empty; WhatsApp needs 1 to 4096 characters");
    check_limit(
        "{\"type\":\"image\",\"image\":{\"link\":\"https://x.org/a.jpg\",\"caption\":\"@@\"}}", "a",
        1024, "image.caption");
    check_limit("{\"type\":\"video\",\"video\":{\"id\":\"123\",\"caption\":\"@@\"}}", "ü", 1024,
                "video.caption");
    check_limit("{\"type\":\"document\",\"document\":{\"id\":\"1\",\"caption\":\"@@\"}}", "a", 1024,
                "document.caption");
    check_limit(
        "{\"type\":\"template\",\"template\":{\"name\":\"@@\",\"language\":{\"code\":\"en\"}}}",
        "a", 512, "template.name");
}

static void test_interactive_limits(void **state)
{
    (void)state;
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(build(BUTTON_MSG("Hi", "a", "Tell me more now!!!!!"), &o, &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "interactive button title \"Tell me more now!!!!!\" is 21 "
                                "characters; WhatsApp allows 20");
    check_limit(BUTTON_MSG("Hi", "a", "@@"), "é", 20, "interactive button title");
    expect_err(BUTTON_MSG("Hi", "a", ""), IC_ERR_LIMIT, "interactive button title is empty");
    check_limit(BUTTON_MSG("Hi", "@@", "Yes"), "a", 256, "interactive button id");
    check_limit(BUTTON_MSG("@@", "a", "Yes"), "a", 1024, "interactive body text");
    check_limit("{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":"
                "\"Hi\"},\"footer\":{\"text\":\"@@\"},\"header\":{\"type\":\"text\",\"text\":"
                "\"H\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"a\","
                "\"title\":\"Yes\"}}]}}}",
                "a", 60, "interactive footer text");
    check_limit("{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":"
                "\"Hi\"},\"header\":{\"type\":\"text\",\"text\":\"@@\"},\"action\":{\"buttons\":"
                "[{\"type\":\"reply\",\"reply\":{\"id\":\"a\",\"title\":\"Yes\"}}]}}}",
                "a", 60, "interactive header text");

    check_limit(LIST_MSG("@@", "Menu", "S", "r1", "Row", "d"), "a", 4096, "interactive body text");
    check_limit(LIST_MSG("Hi", "@@", "S", "r1", "Row", "d"), "ñ", 20,
                "interactive list button label");
    check_limit(LIST_MSG("Hi", "Menu", "@@", "r1", "Row", "d"), "a", 24,
                "interactive list section title");
    check_limit(LIST_MSG("Hi", "Menu", "S", "@@", "Row", "d"), "a", 200, "interactive list row id");
    check_limit(LIST_MSG("Hi", "Menu", "S", "r1", "@@", "d"), "ß", 24,
                "interactive list row title");
    check_limit(LIST_MSG("Hi", "Menu", "S", "r1", "Row", "@@"), "a", 72,
                "interactive list row description");

    check_limit(
        "{\"type\":\"interactive\",\"interactive\":{\"type\":\"cta_url\",\"body\":{\"text\":"
        "\"Hi\"},\"action\":{\"name\":\"cta_url\",\"parameters\":{\"display_text\":\"@@\","
        "\"url\":\"https://example.org\"}}}}",
        "a", 20, "interactive cta_url display_text");
    check_limit("{\"type\":\"interactive\",\"interactive\":{\"type\":\"flow\",\"body\":{\"text\":"
                "\"Hi\"},\"action\":{\"name\":\"flow\",\"parameters\":{\"flow_message_version\":"
                "\"3\",\"flow_id\":\"1\",\"flow_cta\":\"@@\"}}}}",
                "a", 20, "interactive flow_cta");
}

/* An interactive list with the given rows per section (titled when more
 * than one), as a new JSON message. */
static json_t *list_msg(const size_t *rows, size_t nsections)
{
    json_t *sections = json_array();
    int id = 0;
    for (size_t s = 0; s < nsections; s++) {
        json_t *r = json_array();
        for (size_t k = 0; k < rows[s]; k++, id++) {
            char idb[16];
            snprintf(idb, sizeof idb, "r%d", id);
            json_array_append_new(r, json_pack("{s:s, s:s}", "id", idb, "title", idb));
        }
        char t[24];
        snprintf(t, sizeof t, "S%zu", s);
        json_array_append_new(sections, json_pack("{s:s, s:o}", "title", t, "rows", r));
    }
    return json_pack("{s:s, s:{s:s, s:{s:s}, s:{s:s, s:o}}}", "type", "interactive", "interactive",
                     "type", "list", "body", "text", "Pick one", "action", "button", "Menu",
                     "sections", sections);
}

static json_t *buttons_msg(size_t n)
{
    json_t *b = json_array();
    for (size_t i = 0; i < n; i++) {
        char t[24];
        snprintf(t, sizeof t, "B%zu", i);
        json_array_append_new(
            b, json_pack("{s:s, s:{s:s, s:s}}", "type", "reply", "reply", "id", t, "title", t));
    }
    return json_pack("{s:s, s:{s:s, s:{s:s}, s:{s:o}}}", "type", "interactive", "interactive",
                     "type", "button", "body", "text", "Choose", "action", "buttons", b);
}

static json_t *contacts_msg(size_t n)
{
    json_t *c = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(c, json_pack("{s:{s:s}}", "name", "formatted_name", "Ana"));
    return json_pack("{s:s, s:o}", "type", "contacts", "contacts", c);
}

static ic_err build_j(json_t *msg, ic_errmsg *em)
{
    ic_wa_outbound o;
    memset(em, 0, sizeof *em);
    ic_err e = ic_wa_outbound_build(msg, TO, NULL, NULL, &o, em);
    json_decref(msg);
    ic_wa_outbound_clear(&o);
    return e;
}

static void test_count_limits(void **state)
{
    (void)state;
    ic_errmsg em;
    assert_int_equal(build_j(buttons_msg(3), &em), IC_OK);
    assert_int_equal(build_j(buttons_msg(4), &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "interactive message has 4 buttons; WhatsApp allows 3");
    assert_int_equal(build_j(buttons_msg(0), &em), IC_ERR_LIMIT);
    expect_err("{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":"
               "\"Hi\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"a\","
               "\"title\":\"Yes\"}},{\"type\":\"reply\",\"reply\":{\"id\":\"b\",\"title\":"
               "\"Yes\"}}]}}}",
               IC_ERR_LIMIT, "interactive button title \"Yes\" is used twice");

    size_t ten[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, eleven[11] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(build_j(list_msg(ten, 10), &em), IC_OK);
    assert_int_equal(build_j(list_msg(eleven, 11), &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "interactive list has 11 sections; WhatsApp allows 10");
    size_t five_five[2] = {5, 5}, five_six[2] = {5, 6}, ten_rows[1] = {10};
    assert_int_equal(build_j(list_msg(five_five, 2), &em), IC_OK);
    assert_int_equal(build_j(list_msg(ten_rows, 1), &em), IC_OK);
    assert_int_equal(build_j(list_msg(five_six, 2), &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "interactive list has 11 rows; WhatsApp allows 10 in all");
    /* More than one section: each needs a title. */
    expect_err("{\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{\"text\":"
               "\"Hi\"},\"action\":{\"button\":\"Menu\",\"sections\":[{\"title\":\"A\",\"rows\":"
               "[{\"id\":\"1\",\"title\":\"x\"}]},{\"rows\":[{\"id\":\"2\",\"title\":\"y\"}]}]}}}",
               IC_ERR_INVALID, "sections[1].title is required when a list has more than one");

    assert_int_equal(build_j(contacts_msg(257), &em), IC_OK);
    assert_int_equal(build_j(contacts_msg(258), &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "contacts has 258 contacts; WhatsApp allows 257");
    expect_err("{\"type\":\"contacts\",\"contacts\":[]}", IC_ERR_LIMIT, "contacts is empty");
}

static void test_other_limits(void **state)
{
    (void)state;
    expect_ok("{\"type\":\"location\",\"location\":{\"latitude\":90,\"longitude\":-180}}");
    expect_ok("{\"type\":\"location\",\"location\":{\"latitude\":-90.0,\"longitude\":180.0}}");
    expect_err("{\"type\":\"location\",\"location\":{\"latitude\":90.5,\"longitude\":0}}",
               IC_ERR_INVALID, "location.latitude is 90.5; it must be between -90 and 90");
    expect_err("{\"type\":\"location\",\"location\":{\"latitude\":0,\"longitude\":-180.1}}",
               IC_ERR_INVALID, "location.longitude");
    /* Reactions: one emoji, at most 16 bytes; "" removes the reaction. */
    expect_ok("{\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.A\",\"emoji\":\"\"}}");
    expect_ok("{\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.A\",\"emoji\":"
              "\"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD\"}}");
    char *sixteen = rep("a", 16), *seventeen = rep("a", 17);
    char *m16 = subst(
        "{\"type\":\"reaction\",\"reaction\":{\"message_id\":\"w\",\"emoji\":\"@@\"}}", sixteen);
    char *m17 = subst(
        "{\"type\":\"reaction\",\"reaction\":{\"message_id\":\"w\",\"emoji\":\"@@\"}}", seventeen);
    expect_ok(m16);
    expect_err(m17, IC_ERR_LIMIT, "reaction.emoji is 17 bytes");
    free(sixteen), free(seventeen), free(m16), free(m17);

    /* biz_opaque_callback_data: up to 512 characters. */
    json_t *msg = J("{\"text\":\"hi\"}");
    ic_wa_outbound o;
    ic_errmsg em = {{0}};
    char *b512 = rep("x", 512), *b513 = rep("x", 513);
    assert_int_equal(ic_wa_outbound_build(msg, TO, b512, NULL, &o, &em), IC_OK);
    ic_wa_outbound_clear(&o);
    assert_int_equal(ic_wa_outbound_build(msg, TO, b513, NULL, &o, &em), IC_ERR_LIMIT);
    assert_string_equal(em.msg, "biz_opaque_callback_data is 513 characters; WhatsApp allows 512");
    free(b512), free(b513);
    json_decref(msg);

    /* Templates: lowercase name, a language code, known components. */
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"Bad-Name\",\"language\":{\"code\":"
               "\"en\"}}}",
               IC_ERR_INVALID, "template.name may hold only lowercase letters, digits and _");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{}}}",
               IC_ERR_INVALID, "template.language.code is required");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
               "\"components\":[{\"type\":\"bogus\"}]}}",
               IC_ERR_INVALID, "template.components[0].type \"bogus\" is not a template component");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
               "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"emoji\"}]}]}}",
               IC_ERR_INVALID, "\"emoji\" is not a template parameter type");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
               "\"components\":[{\"type\":\"button\",\"index\":\"0\"}]}}",
               IC_ERR_INVALID, "template.components[0].sub_type is required");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
               "\"components\":[{\"type\":\"button\",\"sub_type\":\"url\",\"index\":\"10\"}]}}",
               IC_ERR_INVALID, "index must be a number from 0 to 9");
    expect_err("{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
               "\"components\":[{\"type\":\"header\",\"parameters\":[{\"type\":\"image\",\"image\":"
               "{\"link\":\"ftp://x/y.png\"}}]}]}}",
               IC_ERR_INVALID, "image.link must be an http:// or https:// URL");

    /* Media: exactly one of id and link; http(s) links; no audio captions. */
    expect_err("{\"type\":\"image\",\"image\":{\"id\":\"1\",\"link\":\"https://x.org/a\"}}",
               IC_ERR_INVALID, "image needs exactly one of \"id\" and \"link\"");
    expect_err("{\"type\":\"image\",\"image\":{}}", IC_ERR_INVALID, "exactly one of");
    expect_err("{\"type\":\"video\",\"video\":{\"link\":\"file:///etc/passwd\"}}", IC_ERR_INVALID,
               "video.link must be an http:// or https:// URL");
    expect_err("{\"type\":\"audio\",\"audio\":{\"id\":\"1\",\"caption\":\"hi\"}}", IC_ERR_INVALID,
               "audio cannot carry a caption");
    expect_err("{\"type\":\"interactive\",\"interactive\":{\"type\":\"cta_url\",\"body\":{\"text\":"
               "\"Hi\"},\"action\":{\"name\":\"cta_url\",\"parameters\":{\"display_text\":\"Go\","
               "\"url\":\"javascript:alert(1)\"}}}}",
               IC_ERR_INVALID, "url must be an http:// or https:// URL");
    expect_err("{\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"header\":{\"type\":"
               "\"image\",\"image\":{\"id\":\"1\"}},\"body\":{\"text\":\"Hi\"},\"action\":{"
               "\"button\":\"M\",\"sections\":[{\"rows\":[{\"id\":\"1\",\"title\":\"x\"}]}]}}}",
               IC_ERR_INVALID, "an interactive list takes only a text header");
}

/* ---- malformed messages ---------------------------------------------------------- */

static void test_wrong_json_types(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *want;
    } cases[] = {
        {"[]", "the message must be a JSON object"},
        {"{}", "the message has no text, attachment or template"},
        {"{\"type\":5}", "type must be a string"},
        {"{\"type\":\"x\"}", "unknown message type \"x\""},
        {"{\"type\":\"text\"}", "text is required"},
        {"{\"type\":\"text\",\"text\":\"hi\"}", "text must be an object"},
        {"{\"type\":\"text\",\"text\":{\"body\":5}}", "text.body must be a string"},
        {"{\"type\":\"text\",\"text\":{\"body\":\"a\",\"preview_url\":1}}", "preview_url"},
        {"{\"type\":\"image\",\"image\":{\"id\":7}}", "image.id must be a string"},
        {"{\"type\":\"location\",\"location\":{\"latitude\":\"1\",\"longitude\":2}}",
         "location.latitude must be a number"},
        {"{\"type\":\"contacts\",\"contacts\":{}}", "contacts must be an array"},
        {"{\"type\":\"contacts\",\"contacts\":[{\"name\":\"Ana\"}]}",
         "contacts[0].name must be an object"},
        {"{\"type\":\"contacts\",\"contacts\":[{\"name\":{}}]}",
         "contacts[0].name.formatted_name is required"},
        {"{\"type\":\"reaction\",\"reaction\":{\"emoji\":\"x\"}}",
         "reaction.message_id is required"},
        {"{\"type\":\"interactive\",\"interactive\":[]}", "interactive must be an object"},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"carousel\"}}",
         "interactive.type must be button, list"},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":\"a\"},"
         "\"action\":{\"buttons\":{}}}}",
         "interactive.action.buttons must be an array"},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{\"text\":\"a\"},"
         "\"action\":{\"buttons\":[{\"type\":\"url\"}]}}}",
         "buttons[0].type must be \"reply\""},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{\"text\":\"a\"},"
         "\"action\":{\"button\":\"M\",\"sections\":[{\"rows\":5}]}}}",
         "sections[0].rows must be an array"},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":\"a\"}}",
         "interactive.body must be an object"},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"location_request_message\","
         "\"body\":{\"text\":\"Where?\"},\"action\":{\"name\":\"send_place\"}}}",
         "interactive.action.name must be \"send_location\""},
        {"{\"type\":\"interactive\",\"interactive\":{\"type\":\"flow\",\"body\":{\"text\":\"a\"},"
         "\"action\":{\"name\":\"flow\",\"parameters\":{\"flow_message_version\":\"3\","
         "\"flow_cta\":\"Go\"}}}}",
         "needs exactly one of flow_id and flow_name"},
        {"{\"type\":\"template\",\"template\":{\"name\":1}}", "template.name must be a string"},
        {"{\"type\":\"template\",\"template\":{\"name\":\"a\",\"language\":{\"code\":\"en\"},"
         "\"components\":{}}}",
         "template.components must be an array"},
        {"{\"text\":5}", "text must be a string"},
        {"{\"text\":\"a\",\"attachments\":\"x\"}", "attachments must be an array"},
        {"{\"text\":\"a\",\"attachments\":[5]}", "attachments[0] must be a string"},
        {"{\"text\":\"a\",\"attachments\":[\"https://x.org/a.jpg\"]}",
         "attachments[0] has a media type WhatsApp cannot send"},
        {"{\"text\":\"a\",\"attachments\":[\"geo:1.0,2.0\"]}", "attachments[0] has a media type"},
        {"{\"text\":\"a\",\"attachments\":[\"image/png:/tmp/a.png\"]}",
         "needs an http:// or https:// URL"},
        {"{\"text\":\"a\",\"quick_replies\":[5]}",
         "quick_replies[0] must be an object or a string"},
        {"{\"text\":\"a\",\"quick_replies\":[{\"type\":\"poll\",\"text\":\"x\"}]}",
         "quick_replies[0].type must be text, location, form or url"},
        {"{\"text\":\"a\",\"quick_replies\":[{\"type\":\"text\"}]}",
         "quick_replies[0].text is required"},
        {"{\"text\":\"a\",\"quick_replies\":[{\"text\":\"x\",\"extra\":1}]}",
         "quick_replies[0].extra must be a string"},
        {"{\"quick_replies\":[\"Yes\"],\"attachments\":[\"image/png:https://x.org/a.png\"]}",
         "quick replies need a text to go with them"},
        {"{\"templating\":\"x\"}", "templating must be an object"},
        {"{\"templating\":{\"template\":{\"name\":\"a\"}}}", "templating.language is required"},
        {"{\"templating\":{\"template\":{\"name\":\"a\"},\"language\":\"en\",\"components\":[{"
         "\"type\":\"body\",\"variables\":{\"1\":3}}],\"variables\":[]}}",
         "must map numbers to positions in templating.variables"},
        {"{\"templating\":{\"template\":{\"name\":\"a\"},\"language\":\"en\",\"components\":[{"
         "\"type\":\"button/quick_reply\",\"variables\":{\"1\":0}}],\"variables\":[{\"type\":"
         "\"text\",\"value\":\"x\"}]}}",
         "name must be \"button.N\" for a button"},
        {"{\"templating\":{\"template\":{\"name\":\"Revive\"},\"language\":\"en\"}}",
         "template.name may hold only"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_err(cases[i].msg, IC_ERR_INVALID, cases[i].want);
    ic_wa_outbound o;
    ic_errmsg em;
    assert_int_equal(ic_wa_outbound_build(NULL, TO, NULL, NULL, &o, &em), IC_ERR_INVALID);
    assert_int_equal(o.count, 0);
    assert_int_equal(ic_wa_outbound_build(NULL, TO, NULL, NULL, NULL, NULL), IC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_media_limits), cmocka_unit_test(test_interactive_limits),
        cmocka_unit_test(test_count_limits),          cmocka_unit_test(test_other_limits),
        cmocka_unit_test(test_wrong_json_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
