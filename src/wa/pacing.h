/* pacing.h - how fast the sender may talk to the Graph API.
 *
 * Three limits, all pure arithmetic on a clock the caller passes in (every
 * function takes `now` in microseconds of a monotonic clock), so tests drive
 * them with a simulated clock:
 *
 *  - The channel pacer holds a phone number to its throughput R (Meta:
 *    80 messages/s by default, up to 1,000). Meta (and wa-sim) count requests
 *    over a sliding one-second window and answer 130429 beyond R, so the pacer
 *    enforces exactly that, with a safety margin: it remembers the issue times
 *    of the last R sends and lets a new one go only when the R-th most recent
 *    is at least 1 s + margin old. Any window of 1 s + margin therefore holds
 *    at most R sends, which stays true at the far end as long as the requests'
 *    arrival jitter is below the margin (12 ms by default: at most ~1.2% of R
 *    is given up). On top, a smoothing bucket at rate R with a small burst
 *    spreads the sends over the second instead of firing R at once. A send is
 *    counted when its request is issued, not when it is answered.
 *  - The pair limit holds each recipient to Meta's "about 1 message per 6 s"
 *    with a burst (Meta lends up to 45 in 6 s, taken back from later quota).
 *    The default is a burst of 6, then one every 6 s, so a helpline's reply of
 *    a few messages never stalls and a busy conversation stays well inside
 *    Meta's allowance. It is a GCRA: one int64 of state per person.
 *  - Backoff: exponential with jitter for retries, 4^X seconds for 131056 as
 *    Meta advises, and an adaptive pause of the channel on 130429 that, when
 *    it repeats, also lowers the channel's rate for a while (multiplicative
 *    decrease, slow recovery).
 *
 * Not thread-safe: the sender thread owns its pacers.
 */
#ifndef IC_WA_PACING_H
#define IC_WA_PACING_H

#include <stdbool.h>
#include <stdint.h>

#define IC_PACE_SECOND_US ((int64_t)1000000)

/* Tunables; ic_pace_config_default() fills in the documented defaults. */
typedef struct ic_pace_config {
    int64_t window_margin_us;      /* extra length of the counting window: 12 ms */
    int64_t window_margin_max_us;  /* 130429s widen it (absorbing arrival jitter
                                      between us and Meta) up to: 100 ms */
    int64_t smooth_burst_us;       /* the smoothing bucket's burst, as time: 4 ms
                                      (never fewer than 2 sends) */
    int pair_burst;                /* sends to one person at once: 6 */
    int64_t pair_interval_us;      /* then one per: 6 s */
    int64_t retry_base_us;         /* first retry after: 1 s */
    int64_t retry_cap_us;          /* retries never wait longer than: 5 min */
    int64_t pair_backoff_cap_us;   /* 131056 waits 4^X s up to: 15 min */
    int64_t throttle_pause_us;     /* first pause of a channel on 130429: 0.5 s */
    int64_t throttle_pause_cap_us; /* pauses double up to: 16 s */
} ic_pace_config;

/* Fills *cfg with the defaults above. */
void ic_pace_config_default(ic_pace_config *cfg);

/* ---- the channel pacer ---------------------------------------------------- */

typedef struct ic_pacer {
    int rate;          /* configured R, sends per second (1..1000) */
    int limit;         /* effective R now (lowered after 130429) */
    int64_t window_us; /* 1 s + margin (the margin widens after 130429) */
    int64_t *ring;     /* owned: issue times of the last `rate` sends */
    int ring_head;     /* index of the oldest kept time */
    int ring_count;
    int64_t tat;          /* smoothing GCRA: theoretical arrival time */
    int64_t interval_us;  /* smoothing: ceil(1 s / limit) */
    int64_t tolerance_us; /* smoothing: burst allowance */
    int64_t paused_until; /* no sends before this (0: not paused) */
    int64_t last_throttle_us;
    int64_t recover_at_us;     /* next time the limit may climb back */
    int64_t pause_us;          /* the next pause's length */
    const ic_pace_config *cfg; /* borrowed; must outlive the pacer */
} ic_pacer;

/* Sets p up for rate sends per second (clamped to 1..1000). cfg is borrowed
 * and must outlive p. Free with ic_pacer_free. */
void ic_pacer_init(ic_pacer *p, int rate, const ic_pace_config *cfg);

/* Frees the ring; p may be NULL. */
void ic_pacer_free(ic_pacer *p);

/* Returns the earliest time a send may be issued: a value <= now means now. */
int64_t ic_pacer_next_us(const ic_pacer *p, int64_t now);

/* Records a send issued at now. The caller checks ic_pacer_next_us first. */
void ic_pacer_take(ic_pacer *p, int64_t now);

/* Meta said 130429 (throughput reached): pauses the channel (0.5 s). When
 * it happens again within a minute, the pause doubles (capped) and the
 * effective rate drops by 10%; it climbs back by 2% of R each quiet second.
 * A one-off (say, a burst of network jitter) thus costs only the pause. */
void ic_pacer_throttled(ic_pacer *p, int64_t now);

/* Lets the effective rate recover; call on each success (cheap). */
void ic_pacer_ok(ic_pacer *p, int64_t now);

/* ---- the pair limit (per recipient) --------------------------------------- */

/* A person's pair-limit state is one int64 (the GCRA "theoretical arrival
 * time"); 0 means fresh, with the full burst available. */

/* Returns the earliest time a message to this person may be picked. */
int64_t ic_pair_next_us(int64_t tat, const ic_pace_config *cfg);

/* Returns the new state after a send to this person at now. */
int64_t ic_pair_take(int64_t tat, int64_t now, const ic_pace_config *cfg);

/* Returns the state after Meta's 131056: nothing before until, and no burst
 * right after it either. */
int64_t ic_pair_pause(int64_t tat, int64_t until, const ic_pace_config *cfg);

/* True when the state has fully recovered by now (the person can be
 * forgotten without giving them more than a fresh burst). */
bool ic_pair_idle(int64_t tat, int64_t now);

/* ---- backoff -------------------------------------------------------------- */

/* The wait before retry number attempt (1 = first retry): retry_base * 2^(n-1)
 * capped at retry_cap, scaled by a jitter in [0.75, 1.25) drawn from rnd (any
 * 32-bit random value), and never above retry_cap. */
int64_t ic_backoff_us(int attempt, uint32_t rnd, const ic_pace_config *cfg);

/* Meta's advice for 131056: wait 4^x seconds (x = 0, 1, 2, ...), capped at
 * pair_backoff_cap. */
int64_t ic_pair_backoff_us(int x, const ic_pace_config *cfg);

#endif
