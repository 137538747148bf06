/*
 * cmd_forget.c -- `provost batch forget BATCH`: removes the outcomes a finished batch
 * recorded (provost/outcomes.h), which are otherwise kept forever.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "provost/outcomes.h"
#include "provost/provost.h"
#include "tools.h"

int cmd_batch_forget(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return die("usage: provost [--db DIR] batch forget BATCH   (BATCH: the id the batch's summary shows)");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    uint64_t removed;
    provost_error err;
    if (provost_batch_forget(e, argv[1], &removed, &err) != 0)
        status = die("batch forget: %s", err.message);
    else
        printf("forgot batch %s: %" PRIu64 " outcome%s removed\n", argv[1], removed, removed == 1 ? "" : "s");
    provost_close(e);
    return status;
}
