/* tests/bench/bench_util.h: what the small benchmark programs (bench_stats, bench_pool)
 * share: a monotonic clock, and the lengths they take on the command line, checked. */
#ifndef GRADFLOW_BENCH_UTIL_H
#define GRADFLOW_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock (wall time: these programs time threads too). Needs
 * _POSIX_C_SOURCE 200809L before the first include. */
static inline double bench_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* *n = the decimal length in arg if it is a whole number from lo to hi; else 0. */
static inline int bench_length(const char *arg, size_t lo, size_t hi, size_t *n)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end != '\0' || arg[0] == '-' || v < lo || v > hi)
        return 0;
    *n = (size_t)v;
    return 1;
}

#endif
