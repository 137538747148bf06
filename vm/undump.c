/*
 * undump.c -- the bundle loader (compiler/dump.c is the writer): map a bundle, then check
 * everything once -- magic, format, size, checksum, section bounds, every index every
 * instruction and table entry holds, and the structure of every procedure's code
 * (provost/verify.h) -- so the interpreter can trust it without another check.  A corrupt,
 * truncated or foreign bundle is refused with a reason, never read out of bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "provost/verify.h"
#include "bundle.h"

static pvm_bundle *fail(pvm_bundle *b, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    pvm_bundle_close(b);
    return NULL;
}

int provost_is_bundle(const void *buf, size_t len)
{
    return len >= 8 && memcmp(buf, PROVOST_BUNDLE_MAGIC, 8) == 0;
}

static int str_ok(const pvm_bundle *b, uint32_t off, int none_ok)
{
    return off == PROVOST_NONE ? none_ok : off < b->nstrings;
}

/* Operand checks driven by the opcode table's operand kinds. */
static int operand_ok(const pvm_bundle *b, const provost_proc *p, char kind, uint32_t v)
{
    switch (kind) {
    case PROVOST_OPK_NONE: case PROVOST_OPK_INT: case PROVOST_OPK_STEP: return 1;
    case PROVOST_OPK_SLOT: return v < p->nslots;
    case PROVOST_OPK_SCOPE: return v < (uint32_t)PROVOST_SCOPE_SLOT0 + p->nslots;
    case PROVOST_OPK_IFNULL: return v <= PROVOST_IFNULL_IGNORE;
    case PROVOST_OPK_KIND: return v <= PROVOST_STEP_TRANSFORM;
    case PROVOST_OPK_PATH: return v < b->npaths;
    case PROVOST_OPK_LIT: return str_ok(b, v, 1);
    case PROVOST_OPK_XFORM: return v < b->nxforms;
    case PROVOST_OPK_CALL: return v < b->ncalls;
    case PROVOST_OPK_SEL: return v < p->nselects;
    case PROVOST_OPK_SELD: return v < b->nselects;
    case PROVOST_OPK_CASE: return v < p->ncases;
    case PROVOST_OPK_JUMP: return v < p->ncode;
    }
    return 0;
}

static const char *check_tables(const pvm_bundle *b)
{
    for (size_t i = 0; i < b->npaths; i++) {
        const provost_path *p = &b->paths_v[i];
        if (!str_ok(b, p->text, 0) || !str_ok(b, p->nsdecl, 1) || p->kind > PROVOST_PATH_XPATH)
            return "a path entry is corrupt";
        if (p->kind == PROVOST_PATH_SIMPLE &&
            (p->nsteps == 0 || p->first > b->npsteps || p->nsteps > b->npsteps - p->first))
            return "a path's steps are out of bounds";
    }
    for (size_t i = 0; i < b->npsteps; i++) {
        const provost_pstep *s = &b->psteps_v[i];
        if (s->kind > PROVOST_PSTEP_CHILDEQ || !str_ok(b, s->name, 0) ||
            (s->kind == PROVOST_PSTEP_CHILDEQ && (!str_ok(b, s->attr, 0) || !str_ok(b, s->value, 0))))
            return "a path step is corrupt";
    }
    for (size_t i = 0; i < b->nxsls; i++)
        if (!str_ok(b, b->xsls_v[i].text, 0))
            return "a stylesheet entry is corrupt";
    for (size_t i = 0; i < b->nxforms; i++) {
        const provost_xform *x = &b->xforms_v[i];
        if (x->dir > 1 || x->source >= PROVOST_SCOPE_SLOT0 + PROVOST_MAX_SLOTS ||
            x->destination >= PROVOST_SCOPE_SLOT0 + PROVOST_MAX_SLOTS || x->mode > PROVOST_MODE_MOVE ||
            x->ifnull > PROVOST_IFNULL_IGNORE || x->allow_null > 1 ||
            (x->source_path != PROVOST_NONE && x->source_path >= b->npaths) ||
            (x->dest_path != PROVOST_NONE && x->dest_path >= b->npaths) ||
            (x->xsl != PROVOST_NONE && x->xsl >= b->nxsls))
            return "a transform entry is corrupt";
    }
    for (size_t i = 0; i < b->ncalls; i++) {
        const provost_callref *c = &b->calls_v[i];
        if (!str_ok(b, c->ns, 0) || !str_ok(b, c->proc, 0) || c->impersonate > 2 || c->sensitive > 2 ||
            c->trusted > 2 || c->suspended > 1)
            return "a call entry is corrupt";
    }
    for (size_t i = 0; i < b->nselects; i++) {
        const provost_select *s = &b->selects_v[i];
        if (!str_ok(b, s->name, 0) || (s->path != PROVOST_NONE && s->path >= b->npaths) ||
            s->source >= PROVOST_SCOPE_SLOT0 || s->first > b->nwheres || s->nwhere > b->nwheres - s->first)
            return "a select entry is corrupt";
    }
    for (size_t i = 0; i < b->nwheres; i++)
        if (!str_ok(b, b->wheres_v[i].value, 0))
            return "a where entry is corrupt";
    for (size_t i = 0; i < b->ncases; i++)
        if (!str_ok(b, b->cases_v[i], 0))
            return "a case name is corrupt";
    if (!str_ok(b, b->ns->name, 1) || !str_ok(b, b->ns->provider, 1) || !str_ok(b, b->ns->description, 1) ||
        !str_ok(b, b->ns->version, 1) || !str_ok(b, b->ns->provider_context, 1) ||
        !str_ok(b, b->ns->source, 1) || b->ns->kind > PROVOST_BUNDLE_REQUEST || b->ns->read_only > 1)
        return "the namespace entry is corrupt";
    if (b->ns->kind == PROVOST_BUNDLE_NAMESPACE && b->ns->name == PROVOST_NONE)
        return "the namespace has no name";
    if (b->nprocs == 0)
        return "the bundle holds no procedure";
    for (size_t i = 0; i < b->nprocs; i++) {
        const provost_proc *p = &b->procs_v[i];
        if (!str_ok(b, p->name, 1) || !str_ok(b, p->description, 1) || !str_ok(b, p->procdata, 1) ||
            !str_ok(b, p->input_schema, 1) || !str_ok(b, p->output_schema, 1) ||
            p->type < PROVOST_TYPE_READ || p->type > PROVOST_TYPE_TWOPHASE || p->access > 1 ||
            p->nslots > PROVOST_MAX_SLOTS || p->nselects > PROVOST_MAX_SELECTS ||
            p->code > b->ncode || p->ncode > b->ncode - p->code || p->cases > b->ncases ||
            p->ncases > b->ncases - p->cases)
            return "a procedure entry is corrupt";
        if (!(p->flags & PROVOST_PROC_PROVIDER) && p->ncode == 0)
            return "a procedure has no code";
        for (uint32_t pc = 0; pc < p->ncode; pc++) {
            const provost_insn *in = &b->code_v[p->code + pc];
            if (in->op >= PROVOST_OP__COUNT)
                return "an instruction has an unknown opcode";
            const char *k = provost_op_kinds(in->op);
            if (!operand_ok(b, p, k[0], in->p1) || !operand_ok(b, p, k[1], in->p2) ||
                !operand_ok(b, p, k[2], in->p3) || !operand_ok(b, p, k[3], in->p4) ||
                !operand_ok(b, p, k[4], in->p5))
                return "an instruction has an operand out of range";
            /* the transform and select tables are shared by every procedure: the scopes
             * they name must be slots this one has (an unbound slot is never read) */
            uint32_t scopes = (uint32_t)PROVOST_SCOPE_SLOT0 + p->nslots;
            if (in->op == PROVOST_OP_XFORM &&
                (b->xforms_v[in->p4].source >= scopes || b->xforms_v[in->p4].destination >= scopes))
                return "a transform names a forEach slot its procedure does not have";
            if (in->op == PROVOST_OP_SELECT && b->selects_v[in->p4].source >= scopes)
                return "a select names a forEach slot its procedure does not have";
        }
    }
    return NULL;
}

pvm_bundle *pvm_bundle_load(const void *buf, size_t len, int copy, char *err, size_t errlen)
{
    pvm_bundle *b = calloc(1, sizeof *b);
    if (!b)
        return fail(NULL, err, errlen, "out of memory");
    if (copy) {
        void *p = malloc(len ? len : 1);
        if (!p)
            return fail(b, err, errlen, "out of memory");
        memcpy(p, buf, len);
        b->base = p;
        b->owner = 2;
    } else {
        b->base = buf;
    }
    b->size = len;
    const provost_bundle_header *h = (const void *)b->base;
    if (len < 8 || memcmp(b->base, PROVOST_BUNDLE_MAGIC, 8) != 0)
        return fail(b, err, errlen, "not a Provost bundle (bad magic)");
    if (len < sizeof *h)
        return fail(b, err, errlen, "truncated bundle: %zu bytes, shorter than its header", len);
    if (((uintptr_t)b->base & 7) != 0)
        return fail(b, err, errlen, "bundle buffer is not 8-byte aligned");
    if (h->endian != PROVOST_ENDIAN_MARK)
        return fail(b, err, errlen, "bundle was written on a machine of the other byte order: recompile it");
    if (h->format != PROVOST_BUNDLE_FORMAT)
        return fail(b, err, errlen, "bundle format %u, but this provost reads format %u: recompile it with "
                                    "this provost (written by %.31s)", h->format, PROVOST_BUNDLE_FORMAT,
                    h->compiler);
    if (h->header_size != sizeof *h)
        return fail(b, err, errlen, "bundle header is corrupt (size %u)", h->header_size);
    if (h->file_size != len)
        return fail(b, err, errlen, "truncated or padded bundle: header says %llu bytes, file has %zu",
                    (unsigned long long)h->file_size, len);
    provost_bundle_header hz = *h;
    hz.checksum = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&hz, sizeof hz);
    for (size_t done = sizeof hz; done < len;) {
        uInt chunk = len - done > (1u << 30) ? (1u << 30) : (uInt)(len - done);
        crc = crc32(crc, b->base + done, chunk);
        done += chunk;
    }
    if ((uint32_t)crc != h->checksum)
        return fail(b, err, errlen, "bundle checksum mismatch: the file is corrupt");

    static const size_t elem[PROVOST_SEC__COUNT] = {
#define PVB_ELEM(name, type) sizeof(type),
        PROVOST_SECTIONS(PVB_ELEM)
#undef PVB_ELEM
    };
    for (int i = 0; i < PROVOST_SEC__COUNT; i++) {
        const provost_section *s = &h->sections[i];
        if (s->offset % 8 || s->offset < sizeof *h || s->offset > len ||
            s->count > (len - s->offset) / elem[i])
            return fail(b, err, errlen, "bundle section %d is out of bounds: the file is corrupt", i);
    }
    b->header = h;
    b->strings = (const char *)b->base + h->sections[PROVOST_SEC_STRINGS].offset;
    b->nstrings = h->sections[PROVOST_SEC_STRINGS].count;
    if (b->nstrings && b->strings[b->nstrings - 1] != 0)
        return fail(b, err, errlen, "bundle string pool is not terminated: the file is corrupt");
#define PVB_SET(field, sec) \
    b->field##_v = (const void *)(b->base + h->sections[sec].offset), b->n##field = h->sections[sec].count;
    PVB_SET(paths, PROVOST_SEC_PATHS)
    PVB_SET(psteps, PROVOST_SEC_PSTEPS)
    PVB_SET(xsls, PROVOST_SEC_XSLS)
    PVB_SET(xforms, PROVOST_SEC_XFORMS)
    PVB_SET(calls, PROVOST_SEC_CALLS)
    PVB_SET(selects, PROVOST_SEC_SELECTS)
    PVB_SET(wheres, PROVOST_SEC_WHERES)
    PVB_SET(cases, PROVOST_SEC_CASES)
    PVB_SET(procs, PROVOST_SEC_PROCS)
    PVB_SET(code, PROVOST_SEC_CODE)
#undef PVB_SET
    if (h->sections[PROVOST_SEC_NSINFO].count != 1)
        return fail(b, err, errlen, "bundle has no namespace entry: the file is corrupt");
    b->ns = (const void *)(b->base + h->sections[PROVOST_SEC_NSINFO].offset);
    const char *why = check_tables(b);
    if (why)
        return fail(b, err, errlen, "%s: the file is corrupt", why);
    for (size_t i = 0; i < b->nprocs; i++) {
        const provost_proc *p = &b->procs_v[i];
        uint32_t at;
        if (p->ncode && provost_verify_code(b->code_v + p->code, p->ncode, &at, &why) != 0) {
            const char *name = pvm_bundle_str(b, p->name);
            return fail(b, err, errlen, "%s%s%s, instruction %u (%s) %s: the file is corrupt",
                        name ? "procedure '" : "the request's procedure", name ? name : "", name ? "'" : "",
                        at, provost_op_name(b->code_v[p->code + at].op), why);
        }
    }
    return b;
}

pvm_bundle *pvm_bundle_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(NULL, err, errlen, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(NULL, err, errlen, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return fail(NULL, err, errlen, "not a Provost bundle (empty file)");
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return fail(NULL, err, errlen, "cannot map: %s", strerror(errno));
    pvm_bundle *b = pvm_bundle_load(m, (size_t)st.st_size, 0, err, errlen);
    if (!b) {
        munmap(m, (size_t)st.st_size);
        return NULL;
    }
    b->owner = 1;
    return b;
}

void pvm_bundle_close(pvm_bundle *b)
{
    if (!b)
        return;
    if (b->owner == 1)
        munmap((void *)b->base, b->size);
    else if (b->owner == 2)
        free((void *)b->base);
    free(b);
}
