/*
 * cmd_config.c -- `provost config`: the engine's settings kept in its database.  One so
 * far: outcome-retention (provost/outcomes.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/outcomes.h"
#include "provost/provost.h"
#include "tools.h"

/* "30d", "12h", "90m", "3600s", "3600", or "forever" (0); -1 if none of these. */
static int64_t parse_duration(const char *v)
{
    if (strcmp(v, "forever") == 0)
        return 0;
    if (!isdigit((unsigned char)v[0]))
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    long long unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                                                   : !strcmp(end, "d")   ? 86400
                                                                          : -1;
    if (errno || unit < 0 || n > (long long)(100LL * 365 * 86400) / unit)
        return -1;
    return (int64_t)(n * unit);
}

static void print_duration(int64_t s)
{
    if (s == 0)
        printf("forever\n");
    else if (s % 86400 == 0)
        printf("%lldd\n", (long long)(s / 86400));
    else if (s % 3600 == 0)
        printf("%lldh\n", (long long)(s / 3600));
    else if (s % 60 == 0)
        printf("%lldm\n", (long long)(s / 60));
    else
        printf("%llds\n", (long long)s);
}

int cmd_config(int argc, char **argv)
{
    bool set = argc == 4 && strcmp(argv[1], "set") == 0, get = argc == 3 && strcmp(argv[1], "get") == 0;
    if (!set && !get)
        return die("usage: provost [--db DIR] config set outcome-retention DURATION | config get outcome-retention");
    if (strcmp(argv[2], "outcome-retention") != 0)
        return die("config: unknown setting '%s' (known: outcome-retention)", argv[2]);
    int64_t seconds = set ? parse_duration(argv[3]) : 0;
    if (seconds < 0)
        return die("config: outcome-retention takes a duration such as 30d, 12h, 90m, 3600s, or forever (not '%s')",
                   argv[3]);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    if (set ? provost_outcome_retention_set(e, seconds, &err) != 0
            : provost_outcome_retention_get(e, &seconds, &err) != 0)
        status = die("config: %s", err.message);
    else if (get)
        print_duration(seconds);
    provost_close(e);
    return status;
}
