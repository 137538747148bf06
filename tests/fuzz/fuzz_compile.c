/*
 * fuzz_compile.c -- libFuzzer target for the compiler: any bytes as a namespace or
 * request document.  When a bundle results, the code of every procedure must pass the
 * structural verifier and the loader must accept the bundle (code the compiler wrote
 * that either refuses is a bug: abort), and the disassembler must print it; everything
 * is freed before the next input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "provost/compiler.h"
#include "provost/verify.h"
#include "vm/bundle.h"

static FILE *sink;

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* global libxml2/libxslt state is set up once, not counted as a leak of an input */
    provost_compiler_init();
    xmlSetGenericErrorFunc(NULL, quiet);
    sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    provost_compiled c;
    int rc = provost_compile("fuzz.xml", (const char *)data, size, &c);
    provost_compiled_print(&c, "fuzz.xml", sink);
    if ((rc == 0) != (c.bundle != NULL) || (c.bundle && c.nerrors) || (!c.bundle && !c.nerrors))
        abort(); /* the result must agree with itself */
    if (c.bundle) {
        char err[256];
        pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
        if (!b) {
            fprintf(stderr, "the loader refused a bundle the compiler wrote: %s\n", err);
            abort();
        }
        for (size_t i = 0; i < b->nprocs; i++) {
            const provost_proc *p = &b->procs_v[i];
            uint32_t at;
            const char *why;
            if (p->ncode && provost_verify_code(b->code_v + p->code, p->ncode, &at, &why) != 0) {
                fprintf(stderr, "the compiler wrote code the verifier refuses: procedure %zu, "
                                "instruction %u: %s\n", i, at, why);
                abort();
            }
        }
        pvm_disasm(b, sink);
        pvm_bundle_close(b);
    }
    provost_compiled_free(&c);
    return 0;
}
