/* time.h - clocks. Stored times are UTC microseconds since the epoch. */
#ifndef IC_BASE_TIME_H
#define IC_BASE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, UTC microseconds since 1970. Thread-safe. */
int64_t ic_now_us(void);

/* Monotonic clock in microseconds, for timeouts and rates. Thread-safe. */
int64_t ic_mono_us(void);

/* Formats us (UTC microseconds) as "2016-01-30T01:57:09.000000Z" into out
 * (at least 32 bytes). Thread-safe. */
void ic_time_iso(int64_t us, char *out, size_t size);

/* Sleeps for us microseconds (EINTR-safe). */
void ic_sleep_us(int64_t us);

#endif
