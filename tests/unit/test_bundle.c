/*
 * test_bundle.c - bundles as the compiler writes them and as the loader checks them.
 *
 *  - examples/mailbox.xml (a namespace) and examples/provision-user.xml (a request) compile
 *    in memory to bundles that load, from a buffer and from a file;
 *  - compiling is deterministic: the same source gives the same bytes;
 *  - the header carries the magic, the format, the compiler version and the SHA-256 of
 *    the source (checked with OpenSSL), and the hash follows the source;
 *  - the pools are deduplicated: one stylesheet used in three places is stored once, one
 *    path text is stored once;
 *  - every truncation is refused with a reason; every single-bit corruption is refused by
 *    the checksum; with the checksum recomputed after each corruption the structural
 *    checks take over: the loader never crashes, and whatever it accepts disassembles;
 *  - a foreign format and a wrong magic are refused with their own messages;
 *  - pvm_bundle_open: a real file loads; a missing file, a directory and an empty
 *    file are refused.
 *
 * PROVOST_SOURCE_DIR (a string) names the root of the source tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "provost/compiler.h"
#include "vm/bundle.h"

#ifndef PROVOST_SOURCE_DIR
#error "PROVOST_SOURCE_DIR must be defined as the path of the source tree"
#endif

#define ERRLEN 256

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

typedef struct source {
    char *text;
    size_t len;
} source;

static source read_source(const char *relpath)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", PROVOST_SOURCE_DIR, relpath);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    source s = {0};
    size_t cap = 0;
    for (;;) {
        if (s.len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            s.text = realloc(s.text, cap);
            assert_non_null(s.text);
        }
        size_t n = fread(s.text + s.len, 1, cap - s.len, f);
        s.len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return s;
}

/* Compiles text and fails the test, printing the diagnostics, if no bundle results. */
static void compile_ok(const char *name, const char *text, size_t len, provost_compiled *out)
{
    int rc = provost_compile(name, text, len, out);
    if (rc != 0 || !out->bundle) {
        provost_compiled_print(out, name, stderr);
        fail_msg("%s did not compile", name);
    }
    assert_true(out->size >= sizeof(provost_bundle_header));
    assert_int_equal(out->nerrors, 0);
}

/* The checksum the compiler writes: CRC-32 of the whole file with the checksum field
 * zero. */
static uint32_t bundle_crc(const unsigned char *buf, size_t len)
{
    provost_bundle_header hz;
    memcpy(&hz, buf, sizeof hz);
    hz.checksum = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&hz, sizeof hz);
    crc = crc32(crc, buf + sizeof hz, (uInt)(len - sizeof hz));
    return (uint32_t)crc;
}

static void reseal(unsigned char *buf, size_t len)
{
    uint32_t crc = bundle_crc(buf, len);
    memcpy(buf + offsetof(provost_bundle_header, checksum), &crc, sizeof crc);
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *q = malloc(n ? n : 1);
    assert_non_null(q);
    memcpy(q, p, n);
    return q;
}

/* How many entries of the string pool are exactly s. */
static size_t pool_count(const pvm_bundle *b, const char *s)
{
    size_t count = 0;
    for (size_t off = 0; off < b->nstrings;) {
        const char *e = b->strings + off;
        size_t n = strlen(e);
        if (strcmp(e, s) == 0)
            count++;
        off += n + 1;
    }
    return count;
}

static size_t path_count(const pvm_bundle *b, const char *text)
{
    size_t count = 0;
    for (size_t i = 0; i < b->npaths; i++)
        if (strcmp(pvm_bundle_str(b, b->paths_v[i].text), text) == 0)
            count++;
    return count;
}

/* ------------------------------------------------------------------ */
/* Fixture: the two examples, compiled once                            */
/* ------------------------------------------------------------------ */

typedef struct fixture {
    source ns_src, req_src;
    provost_compiled ns, req;
    FILE *devnull;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ns_src = read_source("examples/mailbox.xml");
    f->req_src = read_source("examples/provision-user.xml");
    compile_ok("mailbox.xml", f->ns_src.text, f->ns_src.len, &f->ns);
    compile_ok("provision-user.xml", f->req_src.text, f->req_src.len, &f->req);
    f->devnull = fopen("/dev/null", "w");
    assert_non_null(f->devnull);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    provost_compiled_free(&f->ns);
    provost_compiled_free(&f->req);
    free(f->ns_src.text);
    free(f->req_src.text);
    fclose(f->devnull);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Loading what the compiler wrote                                     */
/* ------------------------------------------------------------------ */

static void test_examples_load(void **state)
{
    fixture *f = *state;
    char err[ERRLEN] = "";

    /* in place (the compiler's buffer comes from malloc: aligned) */
    pvm_bundle *b = pvm_bundle_load(f->ns.bundle, f->ns.size, 0, err, sizeof err);
    if (!b)
        fail_msg("mailbox bundle refused: %s", err);
    assert_ptr_equal(b->base, f->ns.bundle);
    assert_int_equal(b->ns->kind, PROVOST_BUNDLE_NAMESPACE);
    assert_string_equal(pvm_bundle_str(b, b->ns->name), "Mailbox");
    assert_string_equal(pvm_bundle_str(b, b->ns->provider), "test");
    assert_int_equal(b->nprocs, 4);
    size_t provider_procs = 0;
    for (size_t i = 0; i < b->nprocs; i++)
        if (b->procs_v[i].flags & PROVOST_PROC_PROVIDER)
            provider_procs++;
    assert_int_equal(provider_procs, 3);
    assert_true(b->ncode > 0);
    /* the original document travels with the bundle */
    const char *src = pvm_bundle_str(b, b->ns->source);
    assert_non_null(src);
    assert_int_equal(strlen(src), f->ns_src.len);
    assert_memory_equal(src, f->ns_src.text, f->ns_src.len);
    pvm_disasm(b, f->devnull);
    pvm_bundle_close(b);

    /* a private copy */
    b = pvm_bundle_load(f->req.bundle, f->req.size, 1, err, sizeof err);
    if (!b)
        fail_msg("request bundle refused: %s", err);
    assert_ptr_not_equal(b->base, f->req.bundle);
    assert_int_equal(b->ns->kind, PROVOST_BUNDLE_REQUEST);
    assert_int_equal(b->ns->name, PROVOST_NONE);
    assert_int_equal(b->nprocs, 1);
    assert_int_equal(b->procs_v[0].name, PROVOST_NONE);
    assert_int_equal(b->ncalls, 1);
    assert_string_equal(pvm_bundle_str(b, b->calls_v[0].ns), "Mailbox");
    assert_string_equal(pvm_bundle_str(b, b->calls_v[0].proc), "ProvisionUser");
    pvm_disasm(b, f->devnull);
    pvm_bundle_close(b);
}

static void test_unaligned_buffer(void **state)
{
    fixture *f = *state;
    char err[ERRLEN] = "";
    unsigned char *buf = malloc(f->ns.size + 8);
    assert_non_null(buf);
    memcpy(buf + 1, f->ns.bundle, f->ns.size);
    /* used in place, a misaligned buffer is refused ... */
    assert_null(pvm_bundle_load(buf + 1, f->ns.size, 0, err, sizeof err));
    assert_non_null(strstr(err, "aligned"));
    /* ... and a private copy is fine */
    pvm_bundle *b = pvm_bundle_load(buf + 1, f->ns.size, 1, err, sizeof err);
    assert_non_null(b);
    pvm_bundle_close(b);
    free(buf);
}

static void test_deterministic(void **state)
{
    fixture *f = *state;
    provost_compiled again = {0}, req_again = {0};
    compile_ok("mailbox.xml", f->ns_src.text, f->ns_src.len, &again);
    assert_int_equal(again.size, f->ns.size);
    assert_memory_equal(again.bundle, f->ns.bundle, f->ns.size);
    provost_compiled_free(&again);

    compile_ok("provision-user.xml", f->req_src.text, f->req_src.len, &req_again);
    assert_int_equal(req_again.size, f->req.size);
    assert_memory_equal(req_again.bundle, f->req.bundle, f->req.size);
    provost_compiled_free(&req_again);

    /* the file name is for diagnostics only: it does not reach the bundle */
    compile_ok("elsewhere/other-name.xml", f->ns_src.text, f->ns_src.len, &again);
    assert_int_equal(again.size, f->ns.size);
    assert_memory_equal(again.bundle, f->ns.bundle, f->ns.size);
    provost_compiled_free(&again);
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    assert_true(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL));
    assert_int_equal(len, 32);
}

static void check_header(const provost_compiled *c, const source *s)
{
    const provost_bundle_header *h = (const void *)c->bundle;
    assert_memory_equal(h->magic, PROVOST_BUNDLE_MAGIC, 8);
    assert_int_equal(h->format, PROVOST_BUNDLE_FORMAT);
    assert_int_equal(h->header_size, sizeof *h);
    assert_int_equal(h->file_size, c->size);
    assert_int_equal(h->endian, PROVOST_ENDIAN_MARK);
    assert_non_null(memchr(h->compiler, 0, sizeof h->compiler));
    assert_string_equal(h->compiler, provost_compiler_version());
    assert_non_null(strstr(h->compiler, PROVOST_VERSION));
    unsigned char want[32];
    sha256(s->text, s->len, want);
    assert_memory_equal(h->source_hash, want, 32);
    assert_int_equal(h->checksum, bundle_crc(c->bundle, c->size));
    for (int i = 0; i < PROVOST_SEC__COUNT; i++) {
        assert_int_equal(h->sections[i].offset % 8, 0);
        assert_true(h->sections[i].offset >= sizeof *h);
        assert_true(h->sections[i].offset <= c->size);
    }
}

static void test_header(void **state)
{
    fixture *f = *state;
    check_header(&f->ns, &f->ns_src);
    check_header(&f->req, &f->req_src);

    /* a change to the source (here a trailing comment) changes the hash and the
     * checksum, but not the code */
    static const char extra[] = "<!-- one more line -->\n";
    source edited = {malloc(f->ns_src.len + sizeof extra), f->ns_src.len + sizeof extra - 1};
    assert_non_null(edited.text);
    memcpy(edited.text, f->ns_src.text, f->ns_src.len);
    memcpy(edited.text + f->ns_src.len, extra, sizeof extra);
    provost_compiled c = {0};
    compile_ok("mailbox.xml", edited.text, edited.len, &c);
    check_header(&c, &edited);
    const provost_bundle_header *h0 = (const void *)f->ns.bundle, *h1 = (const void *)c.bundle;
    assert_memory_not_equal(h0->source_hash, h1->source_hash, 32);
    assert_int_not_equal(h0->checksum, h1->checksum);

    char err[ERRLEN];
    pvm_bundle *b0 = pvm_bundle_load(f->ns.bundle, f->ns.size, 0, err, sizeof err);
    pvm_bundle *b1 = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
    assert_non_null(b0);
    assert_non_null(b1);
    assert_int_equal(b0->ncode, b1->ncode);
    assert_memory_equal(b0->code_v, b1->code_v, b0->ncode * sizeof(provost_insn));
    pvm_bundle_close(b0);
    pvm_bundle_close(b1);
    provost_compiled_free(&c);
    free(edited.text);
}

/* ------------------------------------------------------------------ */
/* Pools                                                               */
/* ------------------------------------------------------------------ */

#define SAME_BEFORE                                                                 \
    "      <before source=\"data\" sourcePath=\"user/name\" destination=\"executeData\">" \
    "<xsl:template match=\"name\"><who><xsl:value-of select=\".\"/></who></xsl:template>" \
    "</before>\n"

static const char dedup_ns[] =
    "<namespace name=\"Dedup\" providerSource=\"test\"\n"
    "           xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n"
    "  <procedure name=\"Leaf\" type=\"write\"/>\n"
    "  <procedure name=\"First\" type=\"write\">\n"
    "    <execute namespace=\"Dedup\" procedure=\"Leaf\">\n"
    "      <when source=\"data\" sourcePath=\"user/name\"/>\n"
    SAME_BEFORE
    "    </execute>\n"
    "    <execute namespace=\"Dedup\" procedure=\"Leaf\">\n"
    SAME_BEFORE
    "      <after source=\"executeData\" destination=\"data\" destinationPath=\"user/name\"/>\n"
    "    </execute>\n"
    "  </procedure>\n"
    "  <procedure name=\"Second\" type=\"write\">\n"
    "    <execute namespace=\"Dedup\" procedure=\"Leaf\">\n"
    SAME_BEFORE
    "      <before source=\"data\" sourcePath=\"user\" destination=\"executeData\">"
    "<xsl:template match=\"user\"><other/></xsl:template></before>\n"
    "    </execute>\n"
    "  </procedure>\n"
    "</namespace>\n";

static void test_pool_dedup(void **state)
{
    provost_compiled c = {0};
    compile_ok("dedup.xml", dedup_ns, sizeof dedup_ns - 1, &c);
    char err[ERRLEN] = "";
    pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
    if (!b)
        fail_msg("dedup bundle refused: %s", err);

    /* four stylesheets written, two distinct: the pool holds two, and the three uses of
     * the same one point at the same entry */
    assert_int_equal(b->nxsls, 2);
    size_t uses[2] = {0, 0};
    for (size_t i = 0; i < b->nxforms; i++)
        if (b->xforms_v[i].xsl != PROVOST_NONE) {
            assert_true(b->xforms_v[i].xsl < 2);
            uses[b->xforms_v[i].xsl]++;
        }
    assert_int_equal(uses[0], 3);
    assert_int_equal(uses[1], 1);
    assert_int_equal(pool_count(b, pvm_bundle_str(b, b->xsls_v[0].text)), 1);
    assert_int_not_equal(b->xsls_v[0].hash, b->xsls_v[1].hash);

    /* user/name is used five times (a when, three befores, an after): one path, one
     * string */
    assert_int_equal(path_count(b, "user/name"), 1);
    assert_int_equal(pool_count(b, "user/name"), 1);
    assert_int_equal(path_count(b, "user"), 1);
    /* names: the namespace and every call naming it share one string */
    assert_int_equal(pool_count(b, "Dedup"), 1);
    assert_int_equal(pool_count(b, "Leaf"), 1);
    assert_int_equal(b->ns->name, b->calls_v[0].ns);

    /* the mailbox example uses one stylesheet twice, and user/ paths many times */
    pvm_bundle_close(b);
    provost_compiled_free(&c);

    fixture *f = *state;
    b = pvm_bundle_load(f->ns.bundle, f->ns.size, 0, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(path_count(b, "user"), 1);
    assert_int_equal(pool_count(b, "user"), 1);
    for (size_t i = 0; i < b->nxsls; i++)
        assert_int_equal(pool_count(b, pvm_bundle_str(b, b->xsls_v[i].text)), 1);
    for (size_t i = 0; i < b->nxsls; i++)
        for (size_t j = i + 1; j < b->nxsls; j++)
            assert_int_not_equal(b->xsls_v[i].text, b->xsls_v[j].text);
    pvm_bundle_close(b);
}

/* ------------------------------------------------------------------ */
/* Structure: hand-made code with a valid checksum                     */
/* ------------------------------------------------------------------ */

/* P compiles to 0 STEP, 1 EXECDATA, 2 CALL, 3 ENDSTEP, 4 RET; each case rewrites some of
 * it, reseals the bundle and expects the loader to name the procedure, the instruction
 * and its opcode. */
typedef struct patch {
    uint32_t pc;
    uint8_t op;
    uint32_t p5;
} patch;

static void expect_refused(const patch *pt, size_t n, uint32_t at, const char *opname)
{
    static const char src[] = "<namespace name=\"S\">\n"
                              "  <procedure name=\"P\" type=\"write\" access=\"public\">\n"
                              "    <execute namespace=\"S\" procedure=\"P\"/>\n"
                              "  </procedure>\n"
                              "</namespace>\n";
    provost_compiled c;
    compile_ok("s.xml", src, strlen(src), &c);
    unsigned char *buf = dup_bytes(c.bundle, c.size);
    provost_bundle_header h;
    memcpy(&h, buf, sizeof h);
    provost_insn *code = (provost_insn *)(buf + h.sections[PROVOST_SEC_CODE].offset);
    assert_int_equal(h.sections[PROVOST_SEC_CODE].count, 5);
    assert_int_equal(code[4].op, PROVOST_OP_RET);
    for (size_t i = 0; i < n; i++) {
        code[pt[i].pc].op = pt[i].op;
        code[pt[i].pc].p5 = pt[i].p5;
    }
    reseal(buf, c.size);
    char err[ERRLEN] = "";
    pvm_bundle *b = pvm_bundle_load(buf, c.size, 0, err, sizeof err);
    if (b)
        fail_msg("a bundle whose %s at %u breaks the structure was accepted", opname, at);
    char want[64];
    snprintf(want, sizeof want, "instruction %u (%s)", at, opname);
    if (!strstr(err, "procedure 'P'") || !strstr(err, want))
        fail_msg("the reason does not name procedure 'P' and %s: %s", want, err);
    free(buf);
    provost_compiled_free(&c);
}

static void test_structure_refused(void **state)
{
    (void)state;
    /* ENDTRY and ENDCATCH with no TRY or CATCH open */
    expect_refused((const patch[]){{0, PROVOST_OP_ENDTRY, 4}}, 1, 0, "ENDTRY");
    expect_refused((const patch[]){{0, PROVOST_OP_ENDCATCH, 0}}, 1, 0, "ENDCATCH");
    /* a CATCH reached by running into it, not by an error in its try */
    expect_refused((const patch[]){{0, PROVOST_OP_CATCH, 0}}, 1, 0, "CATCH");
    expect_refused((const patch[]){{0, PROVOST_OP_TRY, 3}, {3, PROVOST_OP_CATCH, 0}}, 2, 3, "CATCH");
    /* a JUMP to itself, and one back without a NEXT or a repeat's count */
    expect_refused((const patch[]){{1, PROVOST_OP_JUMP, 1}}, 1, 1, "JUMP");
    expect_refused((const patch[]){{2, PROVOST_OP_JUMP, 0}}, 1, 2, "JUMP");
    /* no RET: the procedure runs off its code */
    expect_refused((const patch[]){{4, PROVOST_OP_ENDSTEP, 0}}, 1, 4, "ENDSTEP");
}

/* ------------------------------------------------------------------ */
/* Damage                                                              */
/* ------------------------------------------------------------------ */

static void check_truncations(const provost_compiled *c)
{
    char err[ERRLEN];
    for (size_t len = 0; len < c->size; len++) {
        err[0] = 0;
        /* copy = 1: the loader's copy has exactly len bytes, so any read past the end
         * would be caught by AddressSanitizer */
        pvm_bundle *b = pvm_bundle_load(c->bundle, len, 1, err, sizeof err);
        if (b) {
            pvm_bundle_close(b);
            fail_msg("a bundle cut to %zu of %zu bytes was accepted", len, c->size);
        }
        if (!err[0])
            fail_msg("a bundle cut to %zu bytes was refused without a reason", len);
        if (len < 8)
            assert_non_null(strstr(err, "magic"));
        else
            assert_non_null(strstr(err, "truncated"));
    }
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    check_truncations(&f->ns);
    check_truncations(&f->req);
}

static void check_bit_flips(const provost_compiled *c)
{
    char err[ERRLEN];
    unsigned char *buf = dup_bytes(c->bundle, c->size);
    for (size_t i = 0; i < c->size; i++) {
        unsigned char bit = (unsigned char)(1u << (i % 8));
        buf[i] ^= bit;
        err[0] = 0;
        pvm_bundle *b = pvm_bundle_load(buf, c->size, 1, err, sizeof err);
        if (b) {
            pvm_bundle_close(b);
            fail_msg("a bundle with bit %zu of byte %zu flipped was accepted", i % 8, i);
        }
        if (!err[0])
            fail_msg("byte %zu flipped: refused without a reason", i);
        /* past the fields checked before the checksum (magic, format, sizes, byte
         * order), the checksum is what refuses it */
        size_t endian = offsetof(provost_bundle_header, endian);
        if (i >= offsetof(provost_bundle_header, checksum) && (i < endian || i >= endian + 4))
            if (!strstr(err, "checksum"))
                fail_msg("byte %zu flipped: refused with \"%s\", not by the checksum", i, err);
        buf[i] ^= bit;
    }
    free(buf);
}

static void test_bit_flips(void **state)
{
    fixture *f = *state;
    check_bit_flips(&f->ns);
    check_bit_flips(&f->req);
}

/* Corruptions that keep a valid checksum: the structural checks must hold.  Each
 * byte is damaged in several ways (one bit flipped, the top bit flipped, set to 0, to
 * 0xFF); whatever the loader accepts must disassemble. */
static void check_resealed(const provost_compiled *c, FILE *devnull, size_t *accepted, size_t *refused)
{
    char err[ERRLEN];
    unsigned char *buf = dup_bytes(c->bundle, c->size);
    for (size_t i = 0; i < c->size; i++) {
        const unsigned char orig = buf[i];
        const unsigned char variants[] = {(unsigned char)(orig ^ (1u << (i % 8))), (unsigned char)(orig ^ 0x80),
                                          0x00, 0xFF};
        for (size_t v = 0; v < sizeof variants; v++) {
            if (variants[v] == orig)
                continue;
            buf[i] = variants[v];
            reseal(buf, c->size);
            err[0] = 0;
            pvm_bundle *b = pvm_bundle_load(buf, c->size, 1, err, sizeof err);
            if (b) {
                pvm_disasm(b, devnull);
                pvm_bundle_close(b);
                (*accepted)++;
            } else {
                if (!err[0])
                    fail_msg("byte %zu set to 0x%02x: refused without a reason", i, variants[v]);
                (*refused)++;
            }
        }
        buf[i] = orig;
    }
    /* every field is little-endian and 4-aligned: whole words set to boundary values
     * reach the index checks (one past the end, NONE, huge) that single bytes miss */
    for (size_t i = 0; i + 4 <= c->size; i += 4) {
        uint32_t orig;
        memcpy(&orig, buf + i, 4);
        const uint32_t values[] = {0, 1, orig + 1, orig - 1, 0x7FFFFFFFu, PROVOST_NONE, 0xFFFFFFFEu};
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            if (values[v] == orig)
                continue;
            memcpy(buf + i, &values[v], 4);
            reseal(buf, c->size);
            err[0] = 0;
            pvm_bundle *b = pvm_bundle_load(buf, c->size, 1, err, sizeof err);
            if (b) {
                pvm_disasm(b, devnull);
                pvm_bundle_close(b);
                (*accepted)++;
            } else {
                if (!err[0])
                    fail_msg("word at %zu set to 0x%08x: refused without a reason", i, values[v]);
                (*refused)++;
            }
        }
        memcpy(buf + i, &orig, 4);
    }
    reseal(buf, c->size);
    assert_memory_equal(buf, c->bundle, c->size);
    free(buf);
}

static void test_resealed_corruption(void **state)
{
    fixture *f = *state;
    size_t accepted = 0, refused = 0;
    check_resealed(&f->ns, f->devnull, &accepted, &refused);
    check_resealed(&f->req, f->devnull, &accepted, &refused);
    /* damage in text (descriptions, the source document) is harmless; damage in
     * indexes is caught: both must happen */
    assert_true(accepted > 0);
    assert_true(refused > 0);
}

static void test_foreign_format_and_magic(void **state)
{
    fixture *f = *state;
    char err[ERRLEN];
    unsigned char *buf = dup_bytes(f->ns.bundle, f->ns.size);
    provost_bundle_header *h = (void *)buf;

    h->format = PROVOST_BUNDLE_FORMAT + 1;
    reseal(buf, f->ns.size);
    assert_null(pvm_bundle_load(buf, f->ns.size, 1, err, sizeof err));
    assert_non_null(strstr(err, "format"));
    assert_non_null(strstr(err, "recompile"));
    h->format = PROVOST_BUNDLE_FORMAT;

    buf[0] = 'X';
    reseal(buf, f->ns.size);
    assert_null(pvm_bundle_load(buf, f->ns.size, 1, err, sizeof err));
    assert_non_null(strstr(err, "magic"));
    buf[0] = PROVOST_BUNDLE_MAGIC[0];

    h->endian = 0x04030201u;
    reseal(buf, f->ns.size);
    assert_null(pvm_bundle_load(buf, f->ns.size, 1, err, sizeof err));
    assert_non_null(strstr(err, "byte order"));
    h->endian = PROVOST_ENDIAN_MARK;

    /* some other document entirely */
    static const char xml[] = "<?xml version=\"1.0\"?><namespace/>";
    assert_null(pvm_bundle_load(xml, sizeof xml - 1, 1, err, sizeof err));
    assert_non_null(strstr(err, "magic"));
    assert_false(provost_is_bundle(xml, sizeof xml - 1));
    assert_true(provost_is_bundle(buf, f->ns.size));

    /* and, restored, it loads again */
    reseal(buf, f->ns.size);
    pvm_bundle *b = pvm_bundle_load(buf, f->ns.size, 1, err, sizeof err);
    assert_non_null(b);
    pvm_bundle_close(b);
    free(buf);
}

/* Bundles fuzzing found, in tests/unit/bundles/: loaded as the fuzz target loads them (size
 * and checksum made right, so the structure is judged), each must be refused naming what. */
static void expect_fuzz_bundle_refused(const char *file, const char *what)
{
    char err[ERRLEN], path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/bundles/%s", PROVOST_SOURCE_DIR, file);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    assert_true(n > sizeof(provost_bundle_header) && n < sizeof buf);
    provost_bundle_header h;
    memcpy(&h, buf, sizeof h);
    h.file_size = n;
    memcpy(buf, &h, sizeof h);
    reseal(buf, n);
    assert_null(pvm_bundle_load(buf, n, 1, err, sizeof err));
    assert_non_null(strstr(err, what));
}

/* A transform (tables are shared by every procedure) whose source is a forEach slot the
 * calling procedure does not have; run, it read an uninitialised slot. */
static void test_shared_table_slot_refused(void **state)
{
    (void)state;
    expect_fuzz_bundle_refused("slot-past-procedure.pvb", "slot");
}

/* A namespace bundle without a name: registering it handed NULL to strdup. */
static void test_nameless_namespace_refused(void **state)
{
    (void)state;
    expect_fuzz_bundle_refused("namespace-without-name.pvb", "name");
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    if (n)
        assert_int_equal(fwrite(p, 1, n, out), n);
    assert_int_equal(fclose(out), 0);
}

static void test_open_files(void **state)
{
    fixture *f = *state;
    char err[ERRLEN];
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/test_bundle.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));

    /* a bundle written to a file maps and loads */
    snprintf(path, sizeof path, "%s/mailbox.pvb", dir);
    write_file(path, f->ns.bundle, f->ns.size);
    pvm_bundle *b = pvm_bundle_open(path, err, sizeof err);
    if (!b)
        fail_msg("pvm_bundle_open: %s", err);
    assert_int_equal(b->owner, 1);
    assert_int_equal(b->size, f->ns.size);
    assert_memory_equal(b->base, f->ns.bundle, f->ns.size);
    assert_int_equal(b->nprocs, 4);
    pvm_disasm(b, f->devnull);
    pvm_bundle_close(b);
    unlink(path);

    /* the request too */
    snprintf(path, sizeof path, "%s/request.pvb", dir);
    write_file(path, f->req.bundle, f->req.size);
    b = pvm_bundle_open(path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(b->ns->kind, PROVOST_BUNDLE_REQUEST);
    pvm_bundle_close(b);
    unlink(path);

    /* a missing file */
    snprintf(path, sizeof path, "%s/missing.pvb", dir);
    err[0] = 0;
    assert_null(pvm_bundle_open(path, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));

    /* a directory */
    err[0] = 0;
    assert_null(pvm_bundle_open(dir, err, sizeof err));
    assert_true(err[0] != 0);

    /* an empty file */
    snprintf(path, sizeof path, "%s/empty.pvb", dir);
    write_file(path, "", 0);
    err[0] = 0;
    assert_null(pvm_bundle_open(path, err, sizeof err));
    assert_non_null(strstr(err, "empty"));
    unlink(path);

    /* a file cut short, and a file with bytes after the bundle */
    snprintf(path, sizeof path, "%s/short.pvb", dir);
    write_file(path, f->ns.bundle, f->ns.size / 2);
    err[0] = 0;
    assert_null(pvm_bundle_open(path, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    unlink(path);
    unsigned char *padded = calloc(1, f->ns.size + 16);
    assert_non_null(padded);
    memcpy(padded, f->ns.bundle, f->ns.size);
    snprintf(path, sizeof path, "%s/padded.pvb", dir);
    write_file(path, padded, f->ns.size + 16);
    free(padded);
    err[0] = 0;
    assert_null(pvm_bundle_open(path, err, sizeof err));
    assert_non_null(strstr(err, "padded"));
    unlink(path);

    /* the XML source is not a bundle */
    snprintf(path, sizeof path, "%s/mailbox.xml", dir);
    write_file(path, f->ns_src.text, f->ns_src.len);
    err[0] = 0;
    assert_null(pvm_bundle_open(path, err, sizeof err));
    assert_non_null(strstr(err, "magic"));
    unlink(path);

    assert_int_equal(rmdir(dir), 0);
    /* closing nothing is allowed */
    pvm_bundle_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_unaligned_buffer),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_pool_dedup),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_resealed_corruption),
        cmocka_unit_test(test_structure_refused),
        cmocka_unit_test(test_foreign_format_and_magic),
        cmocka_unit_test(test_shared_table_slot_refused),
        cmocka_unit_test(test_nameless_namespace_refused),
        cmocka_unit_test(test_open_files),
    };
    return cmocka_run_group_tests_name("bundle", tests, setup, teardown);
}
