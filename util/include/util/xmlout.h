/*
 * xmlout.h -- the one way a node or a document becomes text.  Each thread keeps one
 * libxml2 save context per kind of output, so the indentation table libxml2 fills when
 * a context is made (about as costly as serialising a small response) is filled once per
 * thread, not once per call.  Nothing may be serialised after xmlCleanupParser.
 */
#ifndef PU_XMLOUT_H
#define PU_XMLOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

enum {
    PU_XML_FORMAT = 1, /* indented, ending with a newline */
    PU_XML_DECL = 2,   /* a document starts with its XML declaration */
    PU_XML_AS_XML = 4, /* a node of an HTML document is still written as XML */
};

/* n and everything under it as UTF-8 text, malloc'd and NUL-terminated; *len (when len
 * is not NULL) its length.  NULL when out of memory or libxml2 cannot write it. */
char *pu_xml_string(xmlNodePtr n, unsigned flags, size_t *len);

/* What pu_xml_string(o, 0, len) writes of an element o named OUTER holding only a copy of
 * N renamed AS (N's own name when AS is NULL), written straight from N: no copy, no tree
 * for o.  Only for a plain N (elements without namespaces, their attributes and ASCII
 * text); else NULL with *plain false, for the caller to build the tree.  NULL with *plain
 * true when out of memory. */
char *pu_xml_plain_wrapped(const char *outer, xmlNodePtr n, const char *as, size_t *len, bool *plain);

#endif
