/*
 * vm_fixture.h -- for unit tests of VM modules: an engine on a scratch database and one
 * namespace compiled in memory and prepared for it, as the VM's own code sees them.
 * Include once per test program, after cmocka.h, vm/vm.h and provost/compiler.h.
 */
#ifndef PROVOST_TEST_VM_FIXTURE_H
#define PROVOST_TEST_VM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dbroot[] = "/tmp/provost-vmtest-XXXXXX";
static provost_engine *eng;
static pvm_ns *ns;

/* Opens the engine and prepares the namespace xml (named name in messages). */
static int vm_fixture_setup(const char *name, const char *xml)
{
    if (!mkdtemp(dbroot))
        return -1;
    char path[256];
    snprintf(path, sizeof path, "%s/db", dbroot);
    provost_options o = {.db_path = path, .caller = "tester"};
    provost_error err;
    if (provost_open(&o, &eng, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.message);
        return -1;
    }
    provost_compiled out;
    if (provost_compile(name, xml, strlen(xml), &out) != 0) {
        provost_compiled_print(&out, name, stderr);
        provost_compiled_free(&out);
        return -1;
    }
    char why[256];
    pvm_bundle *b = pvm_bundle_load(out.bundle, out.size, 1, why, sizeof why);
    provost_compiled_free(&out);
    ns = b ? pvm_ns_prepare(eng, b, why, sizeof why) : NULL;
    if (!ns) {
        fprintf(stderr, "prepare: %s\n", why);
        return -1;
    }
    return 0;
}

static int vm_fixture_teardown(void)
{
    pvm_ns_put(ns);
    provost_close(eng);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbroot);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
