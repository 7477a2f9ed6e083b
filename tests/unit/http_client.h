/* http_client.h - the one HTTP client of the API's unit tests: a call to
 * 127.0.0.1:port with an optional Authorization header (an API token), an
 * optional session cookie and CSRF token (a signed-in user) and a body; the
 * answer's status, body, the headers the tests look at and the parsed JSON.
 * Plus signing in (POST /api/v1/auth/login) into an http_session. Included by
 * api_fixture.h; everything is static inline. */
#ifndef IC_TEST_HTTP_CLIENT_H
#define IC_TEST_HTTP_CLIENT_H

#include "api/session.h"
#include "base/buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

/* An answer. json is NULL when the body is empty or not JSON; the header
 * fields hold the first such header's value, "" when there was none. Free
 * with resp_free. */
typedef struct resp {
    long status;
    ic_buf body;
    ic_buf hdrs; /* every header line as received */
    json_t *json;
    char set_cookie[512];
    char csrf_token[160]; /* X-CSRF-Token */
    char retry_after[32];
} resp;

/* Who calls: each part is left out when NULL or "". authorization is a whole
 * header value ("Bearer ic_..."); cookie is the session cookie's value. */
typedef struct http_auth {
    const char *authorization;
    const char *cookie;
    const char *csrf;
} http_auth;

/* A signed-in user's session cookie and CSRF token. */
typedef struct http_session {
    char cookie[128];
    char csrf[128];
} http_session;

static inline size_t http_collect(char *p, size_t size, size_t n, void *arg)
{
    ic_buf_append(arg, p, size * n);
    return size * n;
}

/* Copies the value of the first header called name (any case) in hdrs into
 * out; false (out "") when there is none. */
static inline bool http_header(const ic_buf *hdrs, const char *name, char *out, size_t size)
{
    const char *h = ic_buf_cstr(hdrs);
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = h; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
            return true;
        }
    }
    return false;
}

/* Makes the call; asserts that the transfer itself worked (any status is an
 * answer). ctype is the Content-Type to send (none when NULL); body of len
 * bytes is sent when not NULL. A session cookie goes after an unrelated
 * cookie, so that every call also checks the server finds its own among
 * others. */
static inline resp http_call(int port, const char *method, const char *path, const http_auth *auth,
                             const char *ctype, const char *body, size_t len)
{
    resp r = {0};
    char url[600], hauth[700], hcookie[300], hcsrf[300], hct[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
    if (auth && auth->authorization && *auth->authorization) {
        snprintf(hauth, sizeof hauth, "Authorization: %s", auth->authorization);
        hs = curl_slist_append(hs, hauth);
    }
    if (auth && auth->cookie && *auth->cookie) {
        snprintf(hcookie, sizeof hcookie, "Cookie: theme=dark; %s=%s", IC_SESSION_COOKIE,
                 auth->cookie);
        hs = curl_slist_append(hs, hcookie);
    }
    if (auth && auth->csrf && *auth->csrf) {
        snprintf(hcsrf, sizeof hcsrf, "X-CSRF-Token: %s", auth->csrf);
        hs = curl_slist_append(hs, hcsrf);
    }
    if (ctype) {
        snprintf(hct, sizeof hct, "Content-Type: %s", ctype);
        hs = curl_slist_append(hs, hct);
    }
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    if (r.body.len)
        r.json = json_loadb(r.body.data, r.body.len, 0, NULL);
    http_header(&r.hdrs, "Set-Cookie", r.set_cookie, sizeof r.set_cookie);
    http_header(&r.hdrs, "X-CSRF-Token", r.csrf_token, sizeof r.csrf_token);
    http_header(&r.hdrs, "Retry-After", r.retry_after, sizeof r.retry_after);
    return r;
}

/* http_call with a JSON body (Content-Type application/json), or with no
 * body and no Content-Type when json is NULL. */
static inline resp http_json(int port, const char *method, const char *path, const http_auth *auth,
                             const char *json)
{
    return http_call(port, method, path, auth, json ? "application/json" : NULL, json,
                     json ? strlen(json) : 0);
}

static inline void resp_free(resp *r)
{
    ic_buf_free(&r->body);
    ic_buf_free(&r->hdrs);
    json_decref(r->json);
    r->json = NULL;
}

/* The auth of a signed-in user's session. */
static inline http_auth http_session_auth(const http_session *s)
{
    return (http_auth){.cookie = s ? s->cookie : NULL, .csrf = s ? s->csrf : NULL};
}

/* Takes the session cookie out of r's Set-Cookie header into s->cookie;
 * asserts that there is one and that it is the session cookie. */
static inline void http_take_cookie(const resp *r, http_session *s)
{
    assert_true(r->set_cookie[0] != '\0');
    assert_true(strncmp(r->set_cookie, IC_SESSION_COOKIE "=", strlen(IC_SESSION_COOKIE) + 1) == 0);
    const char *val = r->set_cookie + strlen(IC_SESSION_COOKIE) + 1;
    snprintf(s->cookie, sizeof s->cookie, "%.*s", (int)strcspn(val, ";"), val);
}

/* Signs in at port with email and password (into workspace ws when not 0);
 * returns the answer's status. On 200 *s holds the new session's cookie and
 * CSRF token (asserted to be there); otherwise *s is left as it was. */
static inline long http_sign_in(int port, const char *email, const char *password, int64_t ws,
                                http_session *s)
{
    char body[400];
    if (ws)
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"workspace_id\":%lld}",
                 email, password, (long long)ws);
    else
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    resp r = http_json(port, "POST", "/api/v1/auth/login", NULL, body);
    long st = r.status;
    if (st == 200) {
        memset(s, 0, sizeof *s);
        http_take_cookie(&r, s);
        const char *csrf = json_string_value(json_object_get(r.json, "csrf_token"));
        assert_non_null(csrf);
        snprintf(s->csrf, sizeof s->csrf, "%s", csrf);
    }
    resp_free(&r);
    return st;
}

#endif
