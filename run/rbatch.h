/*
 * rbatch.h -- what the files of the batch runner share: the items that flow from the
 * inputs to the workers, the input readers (batch_xml.c: request documents, streamed;
 * batch_rows.c: CSV and JSON Lines rows turned into data documents), the results
 * (batch_output.c: result lines, the resume scan, tallies), and the run
 * itself (batch_run.c: the threads; batch_open.c: setting up and summing up).
 */
#ifndef PROVOST_RUN_RBATCH_H
#define PROVOST_RUN_RBATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <libxml/tree.h>

#include "provost/batch.h"
#include "util/hist.h"

/* ---- checks before anything runs (batch_setup.c): 0, or -1 with err ------------------- */

/* --out FILE: FILE and FILE.state; --out DIR (existing, or ending in /): DIR/results.jsonl
 * and DIR/batch.state. */
int batch_out_paths(const char *out, char **results, char **statep, char *err, size_t errlen);
/* given, absolute ("-" stays "-"). */
int batch_resolve(const char *given, char **abs, char *err, size_t errlen);
/* The called procedure must exist and be public: else nothing runs. */
struct provost_engine;
int batch_check_call(struct provost_engine *e, const char *ns, const char *proc, char *err, size_t errlen);
/* 1 public, -1 private, 0 no such procedure, -2 the namespace cannot be listed (err). */
int run_find_proc(struct provost_engine *e, const char *ns, const char *proc, char *err, size_t errlen);

/* ---- items ---------------------------------------------------------------------------- */

enum batch_kind {
    BATCH_REQUEST, /* doc: a <request> (one data at most): provost_submit_doc_keyed */
    BATCH_CALL,    /* text: a <data> (or <request> without procedure): provost_call_keyed */
    BATCH_INVALID  /* could not be read: error says why; counted as failed, never run */
};

typedef struct batch_item {
    uint64_t pos;        /* position in the batch, from 1, in input order */
    unsigned input;      /* index of the input file */
    unsigned long line;  /* line of the input where the request (or row) starts */
    int kind;            /* batch_kind */
    xmlDocPtr doc;       /* BATCH_REQUEST (a document of its own: no dictionary) */
    char *text;          /* BATCH_CALL */
    size_t len;
    char *client;        /* clientTransactionId, or NULL */
    char *error;         /* BATCH_INVALID */
} batch_item;

void batch_item_clear(batch_item *it);
/* Makes it an invalid item (what it held is freed); 0, or -1 out of memory. */
int batch_item_invalid(batch_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- inputs --------------------------------------------------------------------------- */

enum batch_format { BATCH_XML = PROVOST_BATCH_XML, BATCH_CSV = PROVOST_BATCH_CSV, BATCH_JSONL = PROVOST_BATCH_JSONL };

/* An XML input file (batch_xml.c): one request, a request with several data (one item per
 * data), or a document whose root holds many requests (or data documents, in call mode);
 * streamed with xmlTextReader, one request expanded at a time.  count_only: the items
 * carry nothing (to count them).  NULL when the file cannot be opened: err says why. */
typedef struct batch_xml batch_xml;
batch_xml *batch_xml_open(const char *path, unsigned input, bool call_mode, bool count_only, char *err,
                          size_t errlen);
/* The next item (owned by the caller): 1, or 0 at the end of the input.  A part of the
 * input that cannot be read becomes an invalid item, and reading goes on after it. */
int batch_xml_next(batch_xml *x, batch_item *it);
void batch_xml_close(batch_xml *x);

/* batch_text.c: an XML input read as text, after a well-formedness error.  Where the
 * (skip+1)th child element of the root starts and ends, from off (depth: 1 when off is
 * inside the root).  Requests never nest, so a <request> start tag directly inside a
 * child of the root (other than a <data>) starts the next child: the one before was not
 * closed.  An end tag at depth 1 (the root's, or a stray one) does not end the counting. */
enum batch_child_how {
    BATCH_CLOSED = 0, /* it ends with its end tag (or never: end -1) */
    BATCH_UNCLOSED,   /* a <request> not closed before the next one starts (at end) */
    BATCH_MISTYPED    /* a <request> whose end tag was typed "<request>" (ends after it) */
};
typedef struct batch_child {
    off_t start, end; /* -1: not found, never ends */
    int how;          /* batch_child_how */
    off_t nested;     /* UNCLOSED, MISTYPED: the <request> tag that showed it */
} batch_child;
void batch_text_find_child(int fd, off_t off, int depth, unsigned skip, batch_child *out);
/* The root element's start tag: where it starts (*at) and ends (*after), its text on one
 * line and its (qualified) name, malloc'd.  -1 when there is none, or it is empty (<x/>). */
int batch_text_root(int fd, off_t *at, off_t *after, char **tag, char **name);
unsigned long batch_text_lines(int fd, off_t from, off_t to); /* line breaks in [from, to) */
bool batch_text_blank_from(int fd, off_t off); /* only blanks from off to the end */
/* The offset of LINE:COL (from 1, in characters) of a parse that started at base, after a
 * prefix of prefix_chars characters on its first line; -1 past the end. */
off_t batch_text_offset(int fd, off_t base, long line, long col, size_t prefix_chars);
/* The next "<request" (or "<data", with_data) tag from off, or -1. */
off_t batch_text_next_tag(int fd, off_t off, bool with_data);
long batch_text_column(int fd, off_t off); /* of the character at off, from 1 */

/* A CSV (RFC 4180, with a header row) or JSON Lines file of rows (batch_rows.c): one data
 * document per row.  NULL when the file cannot be used at all (unreadable, a bad header):
 * err says why, with the line. */
typedef struct batch_rows batch_rows;
batch_rows *batch_rows_open(const char *path, unsigned input, int format, bool count_only, char *err,
                            size_t errlen);
int batch_rows_next(batch_rows *r, batch_item *it);
void batch_rows_close(batch_rows *r);

/* Is name a column of rows: an XML name, or a path of them (a/b/c, a/@attr, @attr)?  NULL
 * if so, else why not. */
const char *batch_column_problem(const char *name);

/* ---- the batch's state (batch_state.c) ------------------------------------------------ */

/* What a resumable batch keeps beside its results. */
typedef struct batch_state {
    char id[33];        /* 32 hex digits */
    char *db;           /* the database, absolute */
    bool call;          /* --call NS PROC */
    char *ns, *proc;
    int format;         /* batch_format of --rows (BATCH_XML otherwise) */
    char **inputs;      /* absolute paths ("-" for standard input) */
    char **given;       /* as they were given */
    int ninputs;
    uint64_t files_hash; /* the names of the files read from directories */
    unsigned long nfiles;
    bool finished;
} batch_state;
void batch_new_id(char id[33]);
int batch_state_write(const char *path, const batch_state *s, char *err, size_t errlen);
/* 1 read, 0 there is none, -1 unreadable or damaged (err). */
int batch_state_read(const char *path, batch_state *s, char *err, size_t errlen);
void batch_state_free(batch_state *s);

/* The files to read, in order: a directory's .xml files by name, "-" copied from standard
 * input into a temporary file.  paths are opened, given are shown (in results). */
typedef struct batch_input {
    char *path;
    char *shown;
    int format; /* batch_format */
} batch_input;
int batch_inputs_expand(const char *const *paths, const char *const *given, int ngiven, bool rows, int format,
                        batch_input **out, size_t *nout, uint64_t *hash, char *err, size_t errlen);
void batch_inputs_free(batch_input *v, size_t n);

/* ---- results -------------------------------------------------------------------------- */

enum batch_status {
    BS_SUCCEEDED = PROVOST_BATCH_SUCCEEDED,
    BS_FAILED = PROVOST_BATCH_FAILED,
    BS_STUCK = PROVOST_BATCH_STUCK,
    BS_INVALID = PROVOST_BATCH_INVALID,
    BS__COUNT = PROVOST_BATCH_STATUSES
};

/* Tallies of a batch: by status and by failure code. */
typedef struct batch_code_count {
    uint32_t code;
    uint64_t n;
} batch_code_count;
typedef struct batch_tally {
    uint64_t by_status[BS__COUNT];
    batch_code_count *codes;
    size_t ncodes, capcodes;
} batch_tally;
int batch_tally_add(batch_tally *t, int status, uint32_t code, uint64_t n);
int batch_tally_merge(batch_tally *into, const batch_tally *from);
void batch_tally_free(batch_tally *t);
uint64_t batch_tally_total(const batch_tally *t);

/* One result line. */
typedef struct batch_result {
    uint64_t pos;
    const char *input;
    unsigned long line;
    const char *client;  /* or NULL */
    const char *txid;    /* or NULL */
    int status;
    uint32_t code;
    const char *description; /* or NULL */
    double ms;           /* < 0: unknown */
    bool resumed;        /* the outcome was recorded by an earlier run */
    const char *response; /* or NULL */
    size_t response_len;
} batch_result;
/* Appends the JSON line (with its newline) to a growing buffer; -1 out of memory. */
int batch_result_format(const batch_result *r, char **buf, size_t *len, size_t *cap);

/* The positions a results file already holds (resume), as a bitmap. */
typedef struct batch_seen {
    uint8_t *bits;
    size_t nbytes;
    uint64_t count;
} batch_seen;
bool batch_seen_has(const batch_seen *s, uint64_t pos);
int batch_seen_set(batch_seen *s, uint64_t pos); /* 1 newly set, 0 already, -1 no memory */
void batch_seen_free(batch_seen *s);

/* Reads an existing results file (fd, locked): positions and tallies of every complete,
 * valid line.  A torn tail (a crash in the middle of a write), duplicates and lines that are
 * not results are dropped, the file compacted in place (a crash while it is, loses only
 * lines that the next resume writes again from the engine's outcomes).  0, or -1 with err. */
int batch_results_scan(int fd, batch_seen *seen, batch_tally *tally, uint64_t *dropped, char *err, size_t errlen);

#define BATCH_STOP_ERROR PROVOST_BATCH_STOP_ERROR
#define BATCH_STOP_WRITE PROVOST_BATCH_STOP_WRITE

/* ---- the run (batch_run.c: the threads; batch_open.c: before and after them) ----------- */

typedef struct batch_queue {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    batch_item *items;
    size_t cap, head, count;
    bool closed;
} batch_queue;

/* An input being read: one of the two readers. */
typedef struct batch_source {
    batch_xml *x;
    batch_rows *r;
} batch_source;

typedef struct batch_run {
    const provost_batch_options *o;
    const char *ns, *proc, *rows; /* o's, or on resume the recorded batch's */
    int format;
    batch_input *inputs;
    size_t ninputs;
    provost_engine *e;
    char id[33];
    batch_queue q;
    FILE *out;
    bool out_is_file;
    char *outbuf;
    pthread_mutex_t out_m; /* the results, and the callbacks */
    atomic_int stop;       /* a signal number, or BATCH_STOP_ERROR / BATCH_STOP_WRITE */
    atomic_ullong done, failed, done_run, total;
    atomic_bool total_known, counting_done, count_quit, ticker_quit;
    uint64_t started_ns;
    batch_seen seen;
    batch_tally before; /* from the results file, on resume */
    /* set up by batch_open.c */
    char *results, *statep, *dbabs;
    batch_state st;     /* the state file, when there is one */
    const char *const *given; /* the inputs as given (or recorded) */
    int ngiven;
    char **abs;         /* and absolute */
    uint64_t hash;
    batch_source first; /* --rows: opened to check its header */
    int fd;             /* the results file, locked */
} batch_run;

/* What the threads leave for the summary. */
typedef struct batch_ran {
    bool finished; /* every input read, nothing left in the queue, no stop */
    double seconds;
    int write_error; /* errno of a failed result write, or 0 */
    batch_tally tally;
    pu_hist hist;    /* latencies in ns */
} batch_ran;

uint64_t batch_now_ns(void);
int batch_stop_reason(batch_run *b); /* 0, or why the batch stops */
int batch_source_open(batch_run *b, batch_source *s, const batch_input *in, unsigned idx, bool count_only,
                      char *err, size_t errlen);
int batch_source_next(batch_source *s, batch_item *it);
void batch_source_close(batch_source *s);
/* Runs the workers over the inputs until the end or a stop.  0, or -1 out of memory.
 * ran (zeroed by the caller) is the caller's to free, whatever the outcome. */
int batch_run_threads(batch_run *b, batch_ran *ran);
/* Through the message callback, under out_m. */
void batch_say(batch_run *b, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* JSON string body (no quotes) of s: appended to buf; -1 out of memory. */
int batch_json_escape(const char *s, size_t n, char **buf, size_t *len, size_t *cap);

#endif
