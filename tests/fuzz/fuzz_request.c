/*
 * fuzz_request.c -- any bytes as a trusted request to a live engine (in a temporary
 * database, with a namespace of test-provider procedures registered): whatever the
 * request, the engine answers without crashing or leaking.  Procedures that sleep or end
 * the process are left out of the namespace on purpose.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/provost.h"

static provost_engine *engine;

static const char ns[] =
    "<namespace name='T' providerSource='test'>"
    "<procedure name='Echo' type='read' access='public'/>"
    "<procedure name='Write' type='write' saveDataForRollback='1'/>"
    "<procedure name='Two' type='twoPhase'/>"
    "<procedure name='Fail' type='write'/>"
    "<procedure name='FailPrepare' type='twoPhase'/>"
    "<procedure name='FailRollback' type='write'/>"
    "<procedure name='Context' type='read'/>"
    "<procedure name='Whoami' type='read'/>"
    "<procedure name='Inner' type='write' access='public'><execute namespace='T' procedure='Write'>"
    "<before source='data' destination='executeData' mode='merge' ifNull='ignore'/>"
    "<after source='executeData' destination='data' mode='merge'/></execute></procedure>"
    "</namespace>";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static char dir[] = "/tmp/provost-fuzz-request-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    /* a small step budget: an inline procedure with long loops ends quickly */
    provost_options o = {.db_path = dir, .sync = PROVOST_SYNC_NONE, .caller = "fuzzer", .step_budget = 100000};
    provost_error err;
    if (provost_open(&o, &engine, &err) != 0 || provost_register(engine, "t.xml", ns, sizeof ns - 1, NULL, &err) != 0) {
        fprintf(stderr, "fuzz_request: %s\n", err.message);
        abort();
    }
    unsetenv("PROVOST_TEST_TRACE");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    provost_response r;
    provost_error err;
    provost_submit(engine, (const char *)data, size, PROVOST_COMPACT, &r, &err);
    provost_response_free(&r);
    if (size > 2 && data[0] == 'T') { /* also as the data of a simple request */
        provost_call(engine, "T", "Inner", (const char *)data + 1, size - 1, PROVOST_COMPACT, &r, &err);
        provost_response_free(&r);
    }
    return 0;
}
