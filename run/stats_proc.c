/*
 * stats_proc.c -- the process's own figures for /metrics (the process_* families every
 * Prometheus client exports), read from /proc: CPU time and start time from
 * /proc/self/stat, resident memory from /proc/self/statm, open descriptors by counting
 * /proc/self/fd.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rstats.h"

/* Seconds since the epoch when the machine booted (btime in /proc/stat), or -1. */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -1;
    char line[256];
    double t = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            t = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return t;
}

/* utime, stime (fields 14, 15) and starttime (22) of /proc/self/stat, in clock ticks;
 * the fields are counted after the command name's closing parenthesis (it may hold
 * spaces and parentheses itself). */
static void stat_fields(rst_process *p)
{
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (!s)
        return;
    unsigned long long ut = 0, st = 0, start = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
     * cutime cstime priority nice num_threads itrealvalue starttime(22) */
    if (sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu", &ut,
               &st, &start) != 3)
        return;
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0)
        return;
    p->cpu_seconds = (double)(ut + st) / (double)tck;
    double boot = boot_time();
    if (boot >= 0)
        p->start_time = boot + (double)start / (double)tck;
}

void rst_process_read(rst_process *p)
{
    *p = (rst_process){.cpu_seconds = -1, .start_time = -1, .resident_bytes = -1, .open_fds = -1};
    stat_fields(p);
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        long long size, resident;
        if (fscanf(f, "%lld %lld", &size, &resident) == 2)
            p->resident_bytes = resident * (long long)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int64_t n = 0;
        for (struct dirent *e; (e = readdir(d));)
            n += e->d_name[0] != '.';
        closedir(d);
        p->open_fds = n - 1; /* the directory's own descriptor is not the process's */
    }
}
