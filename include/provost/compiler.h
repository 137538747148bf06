/*
 * compiler.h -- the compiler's entry: namespace or request XML in, bundle bytes and
 * diagnostics out; and how every Provost document is read (the parser options, DTDs
 * refused, libxml2's messages captured).  The only header of compiler/ that the rest of the
 * house (the VM, the command) includes.
 */
#ifndef PROVOST_COMPILER_H
#define PROVOST_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util/xmlerr.h"

enum provost_severity { PROVOST_WARNING = 0, PROVOST_ERROR = 1 };

typedef struct provost_diag {
    unsigned line, col;
    int severity; /* provost_severity */
    char *message;
} provost_diag;

typedef struct provost_compiled {
    unsigned char *bundle; /* malloc'd bundle bytes; NULL when there were errors */
    size_t size;
    provost_diag *diags;   /* in document order */
    size_t ndiags;
    unsigned nerrors, nwarnings;
} provost_compiled;

/* Compile the document in buf (a namespace, or a request with an inline procedure).
 * filename is used in diagnostics only.  Returns 0 when a bundle was produced, -1
 * otherwise; either way out must be released with provost_compiled_free(). */
int provost_compile(const char *filename, const char *buf, size_t len, provost_compiled *out);

/* Print the diagnostics as "FILE:LINE:COL: error: MESSAGE", one per line. */
void provost_compiled_print(const provost_compiled *c, const char *filename, FILE *to);

void provost_compiled_free(provost_compiled *c);

/* The compiler's version string, stored in every bundle. */
const char *provost_compiler_version(void);

/* Elements of node's tree in the MPF namespace are put in no namespace: the namespace
 * belongs to the language, not to data (docs/semantics.md). */
void provost_strip_mpf(xmlNodePtr node);

/* The parser options of every document Provost reads (xmldoc.c): no network, blanks
 * between elements dropped, line numbers past 65535, and no libxml2 size limits beyond
 * the engine's own (a 1 GiB input): a text node may be larger than 10 MB.  Readers that
 * cannot use provost_xml_read (the streaming reader of batch) pass these options too. */
#define PROVOST_XML_OPTIONS \
    (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_BIG_LINES | XML_PARSE_HUGE | XML_PARSE_NOWARNING | \
     XML_PARSE_NOERROR)

/* The first error of a parse, where libxml2 saw it (line and column from 1, 0 unknown). */
typedef pu_xmlerr provost_xml_error;

/* Documents with a DTD (<!DOCTYPE>, internal subset or external) are refused, with this
 * message, wherever they enter (docs/semantics.md): a parse stops at the DOCTYPE, before
 * any entity is declared, so no entity is ever expanded, loaded or left unexpanded. */
extern const char provost_xml_no_dtd[];
/* Makes a parser context stop at a DOCTYPE with that error (provost_xml_read does it). */
void provost_xml_refuse_dtd(xmlParserCtxtPtr p);

/* A structured error handler (ctx: a provost_xml_error) that keeps the first error. */
#define provost_xml_keep_error pu_xmlerr_handler

/* Parses buf with PROVOST_XML_OPTIONS (| extra: XML_PARSE_IGNORE_ENC and the like);
 * NULL with err filled when it is not a well-formed document or has a DTD.  libxml2's
 * messages go to err only, whatever handler the calling thread has. */
xmlDocPtr provost_xml_read(const char *buf, size_t len, const char *url, const char *encoding, int extra,
                           provost_xml_error *err);

/* libxml2's and libxslt's messages go nowhere unless the code that parses captures them
 * (and turns them into Provost's own errors): the default handlers, which print the
 * offending document to stderr, are replaced, for this thread and as the default of every
 * thread started afterwards.  Called by provost_compiler_init. */
void provost_xml_init(void);

/* One-time initialisation of libxml2/libxslt for the compiler (idempotent). */
void provost_compiler_init(void);

#endif
