/*
 * rstats.h -- what the renderings of the counters (stats_*.c) share: the exposition
 * format's label and family heads, and the process's own figures from /proc/self.
 */
#ifndef RSTATS_H
#define RSTATS_H

#include <stdint.h>
#include <stdio.h>

/* KEY="VALUE", the value escaped as the exposition format says. */
void rst_label(FILE *f, const char *key, const char *v);
/* The # HELP and # TYPE lines of a family. */
void rst_head(FILE *f, const char *name, const char *type, const char *help);

/* This process, from /proc/self (a field it could not read stays -1). */
typedef struct rst_process {
    double cpu_seconds;    /* user and system time */
    double start_time;     /* seconds since the epoch */
    int64_t resident_bytes;
    int64_t open_fds;
} rst_process;
void rst_process_read(rst_process *p);

#endif
