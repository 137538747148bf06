/*
 * fuzz_bundle.c -- libFuzzer target for the bundle loader: any bytes as a bundle, and
 * what it accepts is run.
 *
 * Each input is loaded twice: as it is (copy = 1: the loader's private copy has exactly
 * the input's size, so AddressSanitizer sees any read past it), and again with its size
 * and checksum fields made right, so that mutations reach the structural checks behind
 * the checksum.  Whatever the loader accepts must disassemble, and a namespace it
 * accepts is registered in a live engine (a temporary database) and every public
 * procedure is called: a bundle the loader lets through must not crash, hang or leak
 * the engine.  The engine's step budget is small, so no input runs for long (run.sh
 * also gives libFuzzer a time limit per input).  Bundles that would load a plug-in, or
 * reach the test provider's Crash or Sleep, are loaded but not run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "provost/provost.h"
#include "vm/bundle.h"

static FILE *sink;
static provost_engine *engine;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/provost-fuzz-bundle-XXXXXX";

/* libFuzzer ends with exit(): the engine is closed and its database removed then. */
static void cleanup(void)
{
    provost_close(engine);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_bundle: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    if (!mkdtemp(dir))
        abort();
    provost_options o = {.db_path = dir, .sync = PROVOST_SYNC_NONE, .caller = "fuzzer", .step_budget = 20000};
    provost_error err;
    if (provost_open(&o, &engine, &err) != 0) {
        fprintf(stderr, "fuzz_bundle: %s\n", err.message);
        abort();
    }
    unsetenv("PROVOST_TEST_TRACE");
    atexit(cleanup);
    return 0;
}

/* Built-in providers only, and none of the test provider's procedures that sleep or end
 * the process. */
static int safe_to_run(const pvm_bundle *b)
{
    const char *provider = pvm_bundle_str(b, b->ns->provider);
    if (b->ns->kind != PROVOST_BUNDLE_NAMESPACE ||
        (provider && strcasecmp(provider, "test") != 0 && strcasecmp(provider, "error") != 0))
        return 0;
    for (size_t i = 0; i < b->nprocs; i++) {
        const char *name = pvm_bundle_str(b, b->procs_v[i].name);
        if ((b->procs_v[i].flags & PROVOST_PROC_PROVIDER) && name &&
            (strcasecmp(name, "Crash") == 0 || strcasecmp(name, "Sleep") == 0))
            return 0;
    }
    return 1;
}

/* Register the namespace, call each public procedure, and remove it again. */
static void run(const void *buf, size_t size)
{
    provost_ns_info info;
    provost_error err;
    if (provost_register(engine, "fuzz.pvb", buf, size, &info, &err) != 0)
        return;
    provost_proc_info *procs = NULL;
    size_t n = 0;
    if (provost_list_procedures(engine, info.name, &procs, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (procs[i].access != PROVOST_ACCESS_PUBLIC)
                continue;
            provost_response r;
            static const char data[] = "<data><n>3</n><a b='1'>x</a></data>";
            if (provost_call(engine, info.name, procs[i].name, data, sizeof data - 1, PROVOST_COMPACT, &r, &err) == 0)
                provost_response_free(&r);
        }
        provost_proc_info_free(procs, n);
    }
    provost_unregister(engine, info.name, &err);
    free(info.name);
    free(info.version);
    free(info.provider);
    free(info.description);
}

static void try_load(const void *buf, size_t size, int copy)
{
    char err[256];
    err[0] = 0;
    pvm_bundle *b = pvm_bundle_load(buf, size, copy, err, sizeof err);
    if (b) {
        pvm_disasm(b, sink);
        int runnable = safe_to_run(b);
        pvm_bundle_close(b);
        if (runnable)
            run(buf, size);
    } else if (!err[0]) {
        abort(); /* refused without a reason */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size, 1);

    if (size < sizeof(provost_bundle_header))
        return 0;
    unsigned char *buf = malloc(size); /* exactly size bytes, 16-aligned */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    provost_bundle_header h;
    memcpy(&h, buf, sizeof h);
    h.file_size = size;
    h.checksum = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32_z(crc, buf + sizeof h, size - sizeof h);
    h.checksum = (uint32_t)crc;
    memcpy(buf, &h, sizeof h);
    try_load(buf, size, 0);
    free(buf);
    return 0;
}
