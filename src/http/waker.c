/* waker.c - a workaround for a libmicrohttpd epoll loop that can stall.
 *
 * libmicrohttpd's epoll loop (MHD_epoll in daemon.c, 0.9.75 and still 1.0.1)
 * drains events with "while (MAX_EVENTS == num_events) epoll_wait(...,
 * timeout)", MAX_EVENTS being 128, and handles none of them until the loop
 * ends. When one call returns exactly 128 events and nothing else is ready,
 * the second call blocks for the whole timeout (up to the 30 s connection
 * timeout) while the 128 connections it just reported, answers resumed
 * through the wakeup channel among them, wait. Their clients wait too, and
 * nothing on them can end the wait: each is waiting for its own answer. Only
 * a poll thread with at least 126 connections (128 less the listening socket
 * and the wakeup channel) can be caught, which is why small loads never see
 * it.
 *
 * Any new event ends the stall, and every poll thread of the pool has the
 * listening socket in its epoll set. So while the server has enough
 * connections for the stall to be possible, this thread opens and closes a
 * loopback connection to the server every KNOCK_INTERVAL_MS: a stall lasts at
 * most that long. libmicrohttpd accepts the connection, reads the end of it
 * and closes it; no request is seen, nothing is logged.
 */
#include "http/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The longest a stalled poll thread waits. */
#define KNOCK_INTERVAL_MS 100
/* A poll thread can stall only with this many connections; below it, which
 * is every small deployment and most tests, nothing is knocked. */
#define KNOCK_MIN_CONNECTIONS 120
/* How long a knock waits for its connection to be established. */
#define KNOCK_CONNECT_MS 100

struct ic_http_waker {
    const atomic_size_t *conns;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled to stop */
    bool stop;         /* (mu) */
};

/* One connection to the server and its end: an event for every poll thread.
 * When it cannot be made (the backlog is full, say), the listening socket is
 * already ready, which is as good. */
static void knock(const ic_http_waker *w)
{
    int s = socket(w->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    if (connect(s, (const struct sockaddr *)&w->addr, w->addrlen) != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = s, .events = POLLOUT};
        (void)poll(&p, 1, KNOCK_CONNECT_MS);
    }
    close(s);
}

static void *waker_main(void *arg)
{
    ic_http_waker *w = arg;
    pthread_setname_np(pthread_self(), "ic-http-wake"); /* shows in top -H and /proc */
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)KNOCK_INTERVAL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
        }
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        if (atomic_load(w->conns) >= KNOCK_MIN_CONNECTIONS)
            knock(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Starts the waker; see http_internal.h. */
ic_http_waker *ic_http_waker_start(const char *listen_addr, int port, const atomic_size_t *conns)
{
    ic_http_waker *w = ic_calloc(1, sizeof *w);
    w->conns = conns;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&w->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&w->addr;
    if (inet_pton(AF_INET, listen_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY))
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        w->addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, listen_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr))
            v6->sin6_addr = in6addr_loopback;
        w->addrlen = sizeof *v6;
    } else {
        ic_free(w);
        return NULL; /* ic_http_start checked the address already */
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, waker_main, w) != 0) {
        IC_WARN("http_waker_failed", "reason=\"cannot start the thread\"");
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        ic_free(w);
        return NULL;
    }
    return w;
}

/* Stops and frees the waker; see http_internal.h. */
void ic_http_waker_stop(ic_http_waker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    ic_free(w);
}
