/* numbers.c - the business phone numbers wa-sim answers for: --number and
 * POST /sim/numbers. */
#include "sim.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_WABA "102290129340398"

typedef struct number_in {
    const char *pnid, *token, *secret, *url, *waba, *display;
    int mps; /* 0 = the default */
} number_in;

static bool id_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return true;
}

static void default_display(const char *pnid, char *out, size_t size)
{
    char digits[8];
    size_t n = 0, len = strlen(pnid);
    for (size_t i = len; i > 0 && n < 7; i--)
        if (isdigit((unsigned char)pnid[i - 1]))
            digits[6 - n++] = pnid[i - 1];
    if (n < 7) {
        snprintf(out, size, "15550100000");
        return;
    }
    snprintf(out, size, "1555%.7s", digits);
}

/* Adds or replaces a number; caller holds mu (or runs before start). */
static ic_err number_set(ic_sim *s, const number_in *in, ic_sim_number **out, ic_errmsg *em)
{
    if (!in->pnid || !id_ok(in->pnid, sizeof((ic_sim_number *)0)->pnid))
        return ic_errf(em, IC_ERR_INVALID, "phone_number_id must be 1-63 letters or digits");
    if (!in->token || !*in->token || strlen(in->token) >= sizeof((ic_sim_number *)0)->token)
        return ic_errf(em, IC_ERR_INVALID, "access_token must be 1-511 characters");
    if (!in->secret || !*in->secret || strlen(in->secret) >= sizeof((ic_sim_number *)0)->secret)
        return ic_errf(em, IC_ERR_INVALID, "app_secret must be 1-255 characters");
    const char *url = in->url && strcmp(in->url, "-") != 0 ? in->url : "";
    if (strlen(url) >= sizeof((ic_sim_number *)0)->webhook_url)
        return ic_errf(em, IC_ERR_TOO_BIG, "webhook_url is over 1023 characters");
    if (*url && !ic_str_starts(url, "http://") && !ic_str_starts(url, "https://"))
        return ic_errf(em, IC_ERR_INVALID, "webhook_url must start with http:// or https://");
    if (in->waba && !id_ok(in->waba, sizeof((ic_sim_number *)0)->waba_id))
        return ic_errf(em, IC_ERR_INVALID, "waba_id must be 1-63 letters or digits");
    if (in->display && strlen(in->display) >= sizeof((ic_sim_number *)0)->display_phone)
        return ic_errf(em, IC_ERR_INVALID, "display_phone is over 31 characters");
    if (in->mps < 0 || in->mps > 100000)
        return ic_errf(em, IC_ERR_INVALID, "mps must be 1-100000");

    ic_sim_number *n = ic_sim_number_find(s, in->pnid);
    if (!n) {
        if (s->n_numbers == IC_SIM_MAX_NUMBERS)
            return ic_errf(em, IC_ERR_TOO_BIG, "at most %d numbers", IC_SIM_MAX_NUMBERS);
        n = &s->numbers[s->n_numbers++];
        memset(n, 0, sizeof *n);
        ic_strlcpy(n->pnid, in->pnid, sizeof n->pnid);
        n->mps = s->cfg.default_mps;
        ic_strlcpy(n->waba_id, DEFAULT_WABA, sizeof n->waba_id);
        default_display(in->pnid, n->display_phone, sizeof n->display_phone);
    }
    ic_strlcpy(n->token, in->token, sizeof n->token);
    ic_strlcpy(n->secret, in->secret, sizeof n->secret);
    ic_strlcpy(n->webhook_url, url, sizeof n->webhook_url);
    if (in->waba)
        ic_strlcpy(n->waba_id, in->waba, sizeof n->waba_id);
    if (in->display)
        ic_strlcpy(n->display_phone, in->display, sizeof n->display_phone);
    if (in->mps > 0)
        n->mps = in->mps;
    if (out)
        *out = n;
    return IC_OK;
}

ic_err ic_sim_number_parse_flag(ic_sim *s, const char *spec, ic_errmsg *em)
{
    ic_err err = IC_OK;
    char *copy = ic_strdup(spec);
    char *parts[6] = {0};
    size_t np = 0;
    char *p = copy;
    while (np < 6) {
        parts[np++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (np < 4) {
        err = ic_errf(em, IC_ERR_INVALID,
                      "--number wants PHONE_NUMBER_ID,ACCESS_TOKEN,APP_SECRET,WEBHOOK_URL");
        goto out;
    }
    number_in in = {
        parts[0], parts[1], parts[2], parts[3], np > 4 ? parts[4] : NULL, np > 5 ? parts[5] : NULL,
        0};
    err = number_set(s, &in, NULL, em);
out:
    ic_free(copy);
    return err;
}

ic_sim_number *ic_sim_number_find(ic_sim *s, const char *pnid)
{
    if (!pnid)
        return NULL;
    for (size_t i = 0; i < s->n_numbers; i++)
        if (strcmp(s->numbers[i].pnid, pnid) == 0)
            return &s->numbers[i];
    return NULL;
}

ic_sim_number *ic_sim_number_by_waba(ic_sim *s, const char *waba_id)
{
    for (size_t i = 0; i < s->n_numbers; i++)
        if (strcmp(s->numbers[i].waba_id, waba_id) == 0)
            return &s->numbers[i];
    return NULL;
}

ic_sim_number *ic_sim_number_first(ic_sim *s)
{
    return s->n_numbers ? &s->numbers[0] : NULL;
}

bool ic_sim_token_known(ic_sim *s, const char *token)
{
    if (!token)
        return false;
    for (size_t i = 0; i < s->n_numbers; i++)
        if (ic_str_eq(s->numbers[i].token, token))
            return true;
    return false;
}

ic_err ic_sim_target_get(ic_sim *s, const char *pnid, ic_sim_target *out)
{
    ic_err err = IC_ERR_NOT_FOUND;
    pthread_mutex_lock(&s->mu);
    ic_sim_number *n = ic_sim_number_find(s, pnid);
    if (n) {
        ic_strlcpy(out->pnid, n->pnid, sizeof out->pnid);
        ic_strlcpy(out->secret, n->secret, sizeof out->secret);
        ic_strlcpy(out->webhook_url, n->webhook_url, sizeof out->webhook_url);
        ic_strlcpy(out->waba_id, n->waba_id, sizeof out->waba_id);
        ic_strlcpy(out->display_phone, n->display_phone, sizeof out->display_phone);
        err = IC_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* The public view of a number: never the token or the secret. */
static json_t *number_json(const ic_sim_number *n)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s}", "phone_number_id", n->pnid, "waba_id", n->waba_id,
                     "display_phone_number", n->display_phone, "mps", n->mps, "webhook_url",
                     n->webhook_url);
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

void ic_sim_numbers_post(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    ic_errmsg em = {{0}};
    json_t *body = ic_sim_req_json(r);
    if (!body)
        return;
    json_t *mps = json_object_get(body, "mps");
    if (mps && !json_is_integer(mps)) {
        ic_sim_reply_sim_error(r, 400, "mps must be an integer");
        goto out;
    }
    number_in in = {jstr(body, "phone_number_id"),
                    jstr(body, "access_token"),
                    jstr(body, "app_secret"),
                    jstr(body, "webhook_url"),
                    jstr(body, "waba_id"),
                    jstr(body, "display_phone"),
                    mps ? (int)json_integer_value(mps) : 0};
    if (mps && in.mps == 0)
        in.mps = -1;
    pthread_mutex_lock(&s->mu);
    ic_sim_number *n = NULL;
    ic_err err = number_set(s, &in, &n, &em);
    json_t *view = err ? NULL : number_json(n);
    pthread_mutex_unlock(&s->mu);
    if (err) {
        ic_sim_reply_sim_error(r, 400, em.msg);
        goto out;
    }
    char masked[32];
    ic_mask_phone(in.pnid, masked, sizeof masked);
    IC_INFO("wasim_number_set", "phone_number_id=%s", masked);
    ic_sim_reply_json(r, 200, view);
out:
    json_decref(body);
}

void ic_sim_numbers_get(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *arr = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_numbers; i++)
        json_array_append_new(arr, number_json(&s->numbers[i]));
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_json(r, 200, json_pack("{s:o}", "data", arr));
}
