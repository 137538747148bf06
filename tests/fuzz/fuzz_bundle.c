/*
 * fuzz_bundle.c -- libFuzzer target for the bundle loader: any bytes as a bundle.
 *
 * Each input is loaded twice: as it is (copy = 1: the loader's private copy has exactly
 * the input's size, so AddressSanitizer sees any read past it), and again with its size
 * and checksum fields made right, so that mutations reach the structural checks behind
 * the checksum.  Whatever the loader accepts must disassemble.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "vm/bundle.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    return 0;
}

static void try_load(const void *buf, size_t size, int copy)
{
    char err[256];
    err[0] = 0;
    provost_bundle *b = provost_bundle_load(buf, size, copy, err, sizeof err);
    if (b) {
        provost_disasm(b, sink);
        provost_bundle_close(b);
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
