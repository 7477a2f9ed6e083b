/* faults.c - injected failures (fail, drop, slow, throttle), the settings
 * that can change at run time, and the simulated clock's API. */
#include "sim.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>

double ic_sim_rand01(ic_sim *s)
{
    /* xorshift64*: fast, and reproducible with --seed. */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

ic_sim_fault ic_sim_fault_pick(ic_sim *s, int *meta_code)
{
    ic_sim_faults *f = &s->faults;
    *meta_code = 0;
    if (f->drop_rate > 0 && ic_sim_rand01(s) < f->drop_rate)
        return IC_SIM_FAULT_DROP;
    if (f->fail_first > 0) {
        f->fail_first--;
        *meta_code = 2;
        return IC_SIM_FAULT_500;
    }
    if (f->throttle_first > 0) {
        f->throttle_first--;
        *meta_code = 130429;
        return IC_SIM_FAULT_THROTTLE;
    }
    if (f->fail_rate > 0 && ic_sim_rand01(s) < f->fail_rate) {
        *meta_code = ic_sim_rand01(s) < 0.5 ? 1 : 2;
        return IC_SIM_FAULT_500;
    }
    return IC_SIM_FAULT_NONE;
}

/* The settings as JSON; caller holds mu. */
static json_t *faults_json(ic_sim *s)
{
    const ic_sim_faults *f = &s->faults;
    return json_pack("{s:f, s:f, s:i, s:I, s:I, s:i, s:b, s:b, s:b, s:b, s:i}", "fail_rate",
                     f->fail_rate, "drop_rate", f->drop_rate, "slow_ms", f->slow_ms, "fail_first",
                     (json_int_t)f->fail_first, "throttle_first", (json_int_t)f->throttle_first,
                     "status_delay_ms", s->cfg.status_delay_ms, "statuses", s->cfg.statuses, "read",
                     s->cfg.read, "pair_limit", s->cfg.pair_limit, "window", s->cfg.window, "mps",
                     s->cfg.default_mps);
}

void ic_sim_faults_get(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    pthread_mutex_lock(&s->mu);
    json_t *j = faults_json(s);
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_json(r, 200, j);
}

static bool get_rate(json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!(d >= 0.0 && d <= 1.0))
        return false;
    *out = d;
    return true;
}

static bool get_int(json_t *v, int64_t max, int64_t *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || i > max)
        return false;
    *out = i;
    return true;
}

static bool known_key(const char *key)
{
    static const char *const keys[] = {"fail_rate",      "drop_rate",       "slow_ms", "fail_first",
                                       "throttle_first", "status_delay_ms", "mps",     "statuses",
                                       "read",           "pair_limit",      "window"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

void ic_sim_faults_post(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *body = ic_sim_req_json(r);
    if (!body)
        return;
    char msg[160] = "";
    pthread_mutex_lock(&s->mu);
    /* Check everything first so that a bad request changes nothing. */
    ic_sim_faults f = s->faults;
    ic_sim_config c = s->cfg;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int64_t i = 0;
        bool ok = true;
        if (strcmp(key, "fail_rate") == 0)
            ok = get_rate(v, &f.fail_rate);
        else if (strcmp(key, "drop_rate") == 0)
            ok = get_rate(v, &f.drop_rate);
        else if (strcmp(key, "slow_ms") == 0 && (ok = get_int(v, 600000, &i)))
            f.slow_ms = (int)i;
        else if (strcmp(key, "fail_first") == 0 && (ok = get_int(v, INT64_MAX, &i)))
            f.fail_first = i;
        else if (strcmp(key, "throttle_first") == 0 && (ok = get_int(v, INT64_MAX, &i)))
            f.throttle_first = i;
        else if (strcmp(key, "status_delay_ms") == 0 && (ok = get_int(v, 3600000, &i)))
            c.status_delay_ms = (int)i;
        else if (strcmp(key, "mps") == 0 && (ok = get_int(v, 100000, &i) && i > 0))
            c.default_mps = (int)i;
        else if (strcmp(key, "statuses") == 0 && (ok = json_is_boolean(v)))
            c.statuses = json_is_true(v);
        else if (strcmp(key, "read") == 0 && (ok = json_is_boolean(v)))
            c.read = json_is_true(v);
        else if (strcmp(key, "pair_limit") == 0 && (ok = json_is_boolean(v)))
            c.pair_limit = json_is_true(v);
        else if (strcmp(key, "window") == 0 && (ok = json_is_boolean(v)))
            c.window = json_is_true(v);
        else if (!known_key(key))
            ok = false;
        if (!ok) {
            snprintf(msg, sizeof msg, "bad or unknown setting \"%.60s\"", key);
            break;
        }
    }
    json_t *view = NULL;
    if (!*msg) {
        if (c.default_mps != s->cfg.default_mps)
            for (size_t i = 0; i < s->n_numbers; i++)
                s->numbers[i].mps = c.default_mps;
        s->faults = f;
        /* Only the run-time settings: the rest of cfg is read without mu. */
        s->cfg.status_delay_ms = c.status_delay_ms;
        s->cfg.default_mps = c.default_mps;
        s->cfg.statuses = c.statuses;
        s->cfg.read = c.read;
        s->cfg.pair_limit = c.pair_limit;
        s->cfg.window = c.window;
        view = faults_json(s);
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(body);
    if (!view) {
        ic_sim_reply_sim_error(r, 400, msg);
        return;
    }
    IC_INFO("wasim_faults_set", NULL);
    ic_sim_reply_json(r, 200, view);
}

static json_t *clock_json(ic_sim *s)
{
    int64_t now = ic_sim_now_us(s);
    return json_pack("{s:I, s:I}", "now", (json_int_t)(now / 1000000), "offset_s",
                     (json_int_t)(atomic_load(&s->clock_offset_us) / 1000000));
}

void ic_sim_clock_get(ic_sim_req *r)
{
    ic_sim_reply_json(r, 200, clock_json(ic_sim_req_sim(r)));
}

void ic_sim_clock_post(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *body = ic_sim_req_json(r);
    if (!body)
        return;
    json_t *adv = json_object_get(body, "advance_s");
    if (!json_is_integer(adv) || json_integer_value(adv) < -315360000 ||
        json_integer_value(adv) > 315360000) {
        json_decref(body);
        ic_sim_reply_sim_error(r, 400, "advance_s must be an integer number of seconds");
        return;
    }
    ic_sim_clock_advance(s, (int64_t)json_integer_value(adv));
    json_decref(body);
    ic_sim_reply_json(r, 200, clock_json(s));
}
