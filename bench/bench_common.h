/*
 * Helpers shared by the C benchmarks in bench/. Header only, static inline:
 * the Makefile links each bench program alone against librr.a.
 */
#ifndef RR_BENCH_COMMON_H
#define RR_BENCH_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic wall-clock time in seconds. */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Says what failed, after the program's name, and exits 1. */
static inline _Noreturn void bench_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	exit(1);
}

#endif
