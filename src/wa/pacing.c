/* pacing.c - channel throughput, per-person pair limit and backoff (see
 * pacing.h for the reasoning). */
#include "wa/pacing.h"

#include "base/alloc.h"

#include <string.h>

void ic_pace_config_default(ic_pace_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->window_margin_us = 12000;
    cfg->window_margin_max_us = 100000;
    cfg->smooth_burst_us = 4000;
    cfg->pair_burst = 6;
    cfg->pair_interval_us = 6 * IC_PACE_SECOND_US;
    cfg->retry_base_us = IC_PACE_SECOND_US;
    cfg->retry_cap_us = 300 * IC_PACE_SECOND_US;
    cfg->pair_backoff_cap_us = 900 * IC_PACE_SECOND_US;
    cfg->throttle_pause_us = IC_PACE_SECOND_US / 2;
    cfg->throttle_pause_cap_us = 16 * IC_PACE_SECOND_US;
}

static int clamp_rate(int rate)
{
    if (rate < 1)
        return 1;
    if (rate > 1000)
        return 1000;
    return rate;
}

static void set_limit(ic_pacer *p, int limit)
{
    p->limit = limit < 1 ? 1 : (limit > p->rate ? p->rate : limit);
    p->interval_us = (IC_PACE_SECOND_US + p->limit - 1) / p->limit;
    p->tolerance_us = p->cfg->smooth_burst_us;
    if (p->tolerance_us < p->interval_us)
        p->tolerance_us = p->interval_us; /* a burst of at least 2 */
}

void ic_pacer_init(ic_pacer *p, int rate, const ic_pace_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->rate = clamp_rate(rate);
    p->window_us = IC_PACE_SECOND_US + cfg->window_margin_us;
    p->ring = ic_calloc((size_t)p->rate, sizeof *p->ring);
    p->pause_us = cfg->throttle_pause_us;
    set_limit(p, p->rate);
}

void ic_pacer_free(ic_pacer *p)
{
    if (!p)
        return;
    ic_free(p->ring);
    p->ring = NULL;
}

int64_t ic_pacer_next_us(const ic_pacer *p, int64_t now)
{
    int64_t t = now;
    if (p->paused_until > t)
        t = p->paused_until;
    if (p->ring_count >= p->limit) {
        /* The limit-th most recent send must have left the window. */
        int idx = (p->ring_head + p->ring_count - p->limit) % p->rate;
        int64_t free_at = p->ring[idx] + p->window_us;
        if (free_at > t)
            t = free_at;
    }
    int64_t smooth_at = p->tat - p->tolerance_us;
    if (smooth_at > t)
        t = smooth_at;
    return t;
}

void ic_pacer_take(ic_pacer *p, int64_t now)
{
    p->ring[(p->ring_head + p->ring_count) % p->rate] = now;
    if (p->ring_count < p->rate)
        p->ring_count++;
    else
        p->ring_head = (p->ring_head + 1) % p->rate;
    p->tat = (p->tat > now ? p->tat : now) + p->interval_us;
}

/* Widens the counting window's margin (doubling, up to the cap); false when
 * it is already at the cap. */
static bool widen_margin(ic_pacer *p)
{
    int64_t margin = p->window_us - IC_PACE_SECOND_US;
    if (margin >= p->cfg->window_margin_max_us)
        return false;
    margin = margin < 1000 ? 1000 : margin * 2;
    if (margin > p->cfg->window_margin_max_us)
        margin = p->cfg->window_margin_max_us;
    p->window_us = IC_PACE_SECOND_US + margin;
    return true;
}

void ic_pacer_throttled(ic_pacer *p, int64_t now)
{
    if (now < p->paused_until)
        return; /* answers to requests that left before the pause count once */
    bool repeated = p->last_throttle_us != 0 && now - p->last_throttle_us < 60 * IC_PACE_SECOND_US;
    /* Sends that left on time can reach Meta bunched up (network and CPU
     * jitter): first allow for more of that; only when 130429s go on at the
     * widest margin is the number's real limit taken to be below R. */
    bool widened = widen_margin(p);
    if (repeated) {
        p->pause_us *= 2;
        if (p->pause_us > p->cfg->throttle_pause_cap_us)
            p->pause_us = p->cfg->throttle_pause_cap_us;
        if (!widened)
            set_limit(p, p->limit - (p->limit + 9) / 10);
    } else {
        p->pause_us = p->cfg->throttle_pause_us;
    }
    p->last_throttle_us = now;
    p->paused_until = now + p->pause_us;
    p->recover_at_us = p->paused_until + IC_PACE_SECOND_US;
}

void ic_pacer_ok(ic_pacer *p, int64_t now)
{
    int64_t base = IC_PACE_SECOND_US + p->cfg->window_margin_us;
    if ((p->limit >= p->rate && p->window_us <= base) || now < p->recover_at_us)
        return;
    p->recover_at_us = now + IC_PACE_SECOND_US;
    if (p->limit < p->rate) {
        /* Back to R first, 2% of R per quiet second... */
        int step = p->rate / 50;
        set_limit(p, p->limit + (step < 1 ? 1 : step));
        return;
    }
    /* ...then the margin back to its base, a tenth per quiet second. */
    int64_t shrink = (p->window_us - base) / 10;
    p->window_us -= shrink < 1000 ? 1000 : shrink;
    if (p->window_us < base)
        p->window_us = base;
}

int64_t ic_pair_next_us(int64_t tat, const ic_pace_config *cfg)
{
    return tat - (int64_t)(cfg->pair_burst - 1) * cfg->pair_interval_us;
}

int64_t ic_pair_take(int64_t tat, int64_t now, const ic_pace_config *cfg)
{
    return (tat > now ? tat : now) + cfg->pair_interval_us;
}

int64_t ic_pair_pause(int64_t tat, int64_t until, const ic_pace_config *cfg)
{
    int64_t t = until + (int64_t)(cfg->pair_burst - 1) * cfg->pair_interval_us;
    return t > tat ? t : tat;
}

bool ic_pair_idle(int64_t tat, int64_t now)
{
    return tat <= now;
}

int64_t ic_backoff_us(int attempt, uint32_t rnd, const ic_pace_config *cfg)
{
    if (attempt < 1)
        attempt = 1;
    int64_t d = cfg->retry_base_us;
    for (int i = 1; i < attempt && d < cfg->retry_cap_us; i++)
        d *= 2;
    if (d > cfg->retry_cap_us)
        d = cfg->retry_cap_us;
    /* jitter in [0.75, 1.25): rnd / 2^32 scaled to half of d */
    int64_t jitter = (int64_t)(((unsigned __int128)(uint64_t)d * rnd) >> 33);
    d = d - d / 4 + jitter;
    return d > cfg->retry_cap_us ? cfg->retry_cap_us : d;
}

int64_t ic_pair_backoff_us(int x, const ic_pace_config *cfg)
{
    if (x < 0)
        x = 0;
    int64_t d = IC_PACE_SECOND_US;
    for (int i = 0; i < x && d < cfg->pair_backoff_cap_us; i++)
        d *= 4;
    return d > cfg->pair_backoff_cap_us ? cfg->pair_backoff_cap_us : d;
}
