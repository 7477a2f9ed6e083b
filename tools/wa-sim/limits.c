/* limits.c - sliding windows of event times and the simulated clock. */
#include "sim.h"

#include "base/alloc.h"
#include "base/time.h"

size_t ic_sim_ratewin_prune(ic_sim_ratewin *w, int64_t now_us, int64_t window_us)
{
    while (w->len && w->t[w->head] <= now_us - window_us) {
        w->head = (w->head + 1) % w->cap;
        w->len--;
    }
    return w->len;
}

void ic_sim_ratewin_push(ic_sim_ratewin *w, int64_t now_us)
{
    if (w->len == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 128;
        int64_t *nt = ic_malloc(ncap * sizeof *nt);
        for (size_t i = 0; i < w->len; i++)
            nt[i] = w->t[(w->head + i) % w->cap];
        ic_free(w->t);
        w->t = nt;
        w->cap = ncap;
        w->head = 0;
    }
    w->t[(w->head + w->len) % w->cap] = now_us;
    w->len++;
}

void ic_sim_ratewin_free(ic_sim_ratewin *w)
{
    if (!w)
        return;
    ic_free(w->t);
    w->t = NULL;
    w->cap = w->head = w->len = 0;
}

int64_t ic_sim_now_us(ic_sim *s)
{
    return ic_now_us() + atomic_load(&s->clock_offset_us);
}

int64_t ic_sim_now_s(ic_sim *s)
{
    return ic_sim_now_us(s) / 1000000;
}

void ic_sim_clock_advance(ic_sim *s, int64_t secs)
{
    atomic_fetch_add(&s->clock_offset_us, secs * 1000000);
}
