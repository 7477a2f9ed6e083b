/* test_wa_graph_result.c - what the Graph API's answer to a send means:
 * sent, retry later, or failed for good with a reason. (courier's cases are
 * checked in test_wa_outbound.c.) */
#include "wa/outbound.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void classify(long status, const char *body, ic_wa_result *r)
{
    memset(r, 0x5A, sizeof *r); /* every field must be written */
    ic_wa_classify(status, body, body ? strlen(body) : 0, r);
}

/* An error answer with the given code and no details. */
static void classify_code(long status, int code, ic_wa_result *r)
{
    char body[160];
    snprintf(body, sizeof body,
             "{\"error\":{\"message\":\"(#%d) oops\",\"type\":\"OAuthException\","
             "\"code\":%d,\"fbtrace_id\":\"Az8\"}}",
             code, code);
    classify(status, body, r);
}

static void test_sent(void **state)
{
    (void)state;
    ic_wa_result r;
    classify(200,
             "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"+16505551234\","
             "\"wa_id\":\"16505551234\"}],\"messages\":[{\"id\":\"wamid.HBgLMTY0\"}]}",
             &r);
    assert_int_equal(r.verdict, IC_WA_SENT);
    assert_string_equal(r.wa_id, "wamid.HBgLMTY0");
    assert_int_equal(r.code, 0);
    assert_false(r.throttled);
    assert_string_equal(r.reason, "");
    /* Paced templates carry message_status; still sent. */
    classify(
        201,
        "{\"messages\":[{\"id\":\"wamid.P\",\"message_status\":\"held_for_quality_assessment\"}]}",
        &r);
    assert_int_equal(r.verdict, IC_WA_SENT);
    assert_string_equal(r.wa_id, "wamid.P");
}

static void test_unreadable_success_is_failed(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"success\":true}",
                                         "{\"messages\":[]}",
                                         "{\"messages\":[{\"id\":\"\"}]}",
                                         "{\"messages\":[{\"id\":5}]}",
                                         "not json",
                                         "",
                                         NULL};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        ic_wa_result r;
        classify(200, bodies[i], &r);
        assert_int_equal(r.verdict, IC_WA_FAILED);
        assert_int_equal(r.code, 200);
        assert_string_equal(r.reason, "unreadable answer from the Graph API");
        assert_string_equal(r.wa_id, "");
    }
    /* An id too long to keep is not a usable answer either. */
    char body[400];
    snprintf(body, sizeof body, "{\"messages\":[{\"id\":\"%0200d\"}]}", 7);
    ic_wa_result r;
    classify(200, body, &r);
    assert_int_equal(r.verdict, IC_WA_FAILED);
}

static void test_retry_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        bool throttled, pair;
    } cases[] = {{1, false, false},      {2, false, false},      {4, true, false},
                 {80007, true, false},   {130429, true, false},  {131000, false, false},
                 {131016, false, false}, {131048, true, false},  {131053, false, false},
                 {131056, true, true},   {133004, false, false}, {133016, true, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ic_wa_result r;
        classify_code(400, cases[i].code, &r);
        if (r.verdict != IC_WA_RETRY || r.throttled != cases[i].throttled ||
            r.pair_limited != cases[i].pair)
            fail_msg("code %d: verdict %d throttled %d pair %d", cases[i].code, r.verdict,
                     r.throttled, r.pair_limited);
        assert_int_equal(r.code, cases[i].code);
    }
}

static void test_failed_codes(void **state)
{
    (void)state;
    static const int codes[] = {0,      10,     100,    190,    200,    299,    368,
                                131008, 131009, 131026, 131031, 131042, 131047, 131050,
                                131051, 132000, 132001, 132012, 132015, 133010, 613};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ic_wa_result r;
        classify_code(codes[i] == 190 ? 401 : 400, codes[i], &r);
        if (r.verdict != IC_WA_FAILED || r.throttled || r.pair_limited)
            fail_msg("code %d: verdict %d", codes[i], r.verdict);
        assert_int_equal(r.code, codes[i]);
        char want[32];
        snprintf(want, sizeof want, "(#%d) oops", codes[i]);
        assert_string_equal(r.reason, want);
    }
}

static void test_http_status_decides_without_an_error(void **state)
{
    (void)state;
    ic_wa_result r;
    classify(429, NULL, &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    assert_true(r.throttled);
    assert_int_equal(r.code, 429);
    /* 429 with an unknown code is still a rate limit. */
    classify_code(429, 613, &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    assert_true(r.throttled);
    assert_int_equal(r.code, 613);
    classify(502, "<html>Bad Gateway</html>", &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    assert_false(r.throttled);
    assert_int_equal(r.code, 502);
    assert_string_equal(r.reason, "the Graph API failed (HTTP 502)");
    /* A 5xx is worth another try whatever its code says. */
    classify_code(500, 131026, &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    classify(404, "<html>Not Found</html>", &r);
    assert_int_equal(r.verdict, IC_WA_FAILED);
    assert_int_equal(r.code, 404);
    assert_string_equal(r.reason, "unreadable answer from the Graph API (HTTP 404)");
    classify(0, NULL, &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    assert_string_equal(r.reason, "no HTTP answer from the Graph API");
    /* An error object without a code takes the HTTP status. */
    classify(403, "{\"error\":{\"message\":\"Forbidden\"}}", &r);
    assert_int_equal(r.verdict, IC_WA_FAILED);
    assert_int_equal(r.code, 403);
    assert_string_equal(r.reason, "Forbidden");
    classify(400, "{\"error\":{\"code\":\"131047\"}}", &r);
    assert_int_equal(r.verdict, IC_WA_FAILED);
    assert_int_equal(r.code, 400);
    assert_string_equal(r.reason, "Graph API error 400 (HTTP 400)");
}

static void test_reason_prefers_details(void **state)
{
    (void)state;
    ic_wa_result r;
    /* Meta's sample error (cloud-api.md 3.1). */
    classify(400,
             "{\"error\":{\"message\":\"(#130429) Rate limit hit\",\"type\":\"OAuthException\","
             "\"code\":130429,\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":"
             "\"Message failed to send because there were too many messages sent from this "
             "phone number in a short period of time\"},\"error_subcode\":2494055,"
             "\"fbtrace_id\":\"Az8or2yhqkZfEZ-_4Qn_Bam\"}}",
             &r);
    assert_int_equal(r.verdict, IC_WA_RETRY);
    assert_true(r.throttled);
    assert_false(r.pair_limited);
    assert_string_equal(r.reason, "Message failed to send because there were too many messages "
                                  "sent from this phone number in a short period of time");
    classify(400,
             "{\"error\":{\"message\":\"(#131047) Re-engagement message\",\"code\":131047,"
             "\"error_data\":{\"details\":\"\"}}}",
             &r);
    assert_int_equal(r.verdict, IC_WA_FAILED);
    assert_string_equal(r.reason, "(#131047) Re-engagement message");
}

static void test_long_reason_is_cut_between_characters(void **state)
{
    (void)state;
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"error\":{\"code\":100,\"message\":\"");
    for (int i = 0; i < 300; i++) /* "é" is two bytes: 600 bytes of message */
        n += (size_t)snprintf(body + n, sizeof body - n, "\xC3\xA9");
    snprintf(body + n, sizeof body - n, "\"}}");
    ic_wa_result r;
    classify(400, body, &r);
    size_t len = strlen(r.reason);
    assert_true(len > 200 && len < sizeof r.reason);
    assert_int_equal(len % 2, 0); /* whole characters only */
    assert_int_equal((unsigned char)r.reason[len - 2], 0xC3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sent),
        cmocka_unit_test(test_unreadable_success_is_failed),
        cmocka_unit_test(test_retry_codes),
        cmocka_unit_test(test_failed_codes),
        cmocka_unit_test(test_http_status_decides_without_an_error),
        cmocka_unit_test(test_reason_prefers_details),
        cmocka_unit_test(test_long_reason_is_cut_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
