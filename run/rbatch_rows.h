/*
 * rbatch_rows.h -- what the rows reader (batch_rows.c) and the row builder (batch_rowxml.c)
 * share: a column's path, and the <data> document of one row being built.
 */
#ifndef PROVOST_RUN_RBATCH_ROWS_H
#define PROVOST_RUN_RBATCH_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#define MAX_STEPS 32

typedef struct colspec {
    char *steps[MAX_STEPS]; /* element names */
    int nsteps;
    char *attr; /* or NULL */
    char *name; /* as written */
} colspec;

typedef struct rnode {
    const char *name;
    size_t parent, first, last, next; /* indexes; 0 = none (node 0 is <data>) */
    size_t attrs;                     /* first attribute, index into rattr; 0 = none */
    size_t text, tlen;                /* offset into the value buffer */
    bool has_text;
} rnode;

typedef struct rattr {
    const char *name;
    size_t next, value, vlen;
} rattr;

typedef struct rowbuild {
    rnode *nodes;
    size_t nnodes, capnodes;
    rattr *attrs;
    size_t nattrs, capattrs;
    char *vals; /* values, escaped later */
    size_t nvals, capvals;
    char *out;
    size_t nout, capout;
    char problem[300];
} rowbuild;

int colspec_make(colspec *c, const char *name); /* 0, or -1 out of memory */
void colspec_free(colspec *c);

/* *p (of *cap items of size bytes) holds at least need items: 0, or -1 out of memory. */
int rows_grow(void **p, size_t *cap, size_t need, size_t size);

int rb_init(rowbuild *b); /* 0, or -1 out of memory */
void rb_reset(rowbuild *b); /* an empty <data> */
void rb_free(rowbuild *b);
/* Adds the value of column c (n bytes): 0, or -1 with b->problem (empty: out of memory). */
int rb_add(rowbuild *b, const colspec *c, const char *v, size_t n);
/* The row as text, in b->out (b->nout bytes): 0, or -1 out of memory. */
int rb_write(rowbuild *b);

#endif
