/*
 * shim.h -- a C face for Google Benchmark (bench/shim.cc): the benchmarks are written in C
 * and registered here; the library's main loop, timing, repetitions and JSON output are
 * Google Benchmark's own.
 */
#ifndef PROVOST_BENCH_SHIM_H
#define PROVOST_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pb_state pb_state;
typedef void (*pb_fn)(pb_state *s, void *arg);

/* Register fn(s, arg) under name.  Inside it:  while (pb_keep_running(s)) { ...one iteration... } */
void pb_register(const char *name, pb_fn fn, void *arg);
int pb_keep_running(pb_state *s);
void pb_pause(pb_state *s);  /* stop the clock (setup inside the loop) */
void pb_resume(pb_state *s);
/* Items processed per iteration (steps, records, transforms): reported as items/s. */
void pb_set_items_per_iteration(pb_state *s, int64_t items);
void pb_set_label(pb_state *s, const char *label);
void pb_error(pb_state *s, const char *message); /* the benchmark is reported as failed */
/* Google Benchmark's main: --benchmark_filter, --benchmark_min_time, --benchmark_format... */
int pb_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
