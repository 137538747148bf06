/*
 * rbatch_xml.h -- what the two halves of the XML input reader share (batch_xml.c reads,
 * batch_recover.c finds where to go on after a well-formedness error).  Private to them.
 */
#ifndef PROVOST_RUN_RBATCH_XML_H
#define PROVOST_RUN_RBATCH_XML_H

#include <stdbool.h>
#include <sys/types.h>

#include <libxml/xmlreader.h>

#include "provost/compiler.h"
#include "rbatch.h"

enum {
    M_START,     /* before the root element */
    M_CONTAINER, /* in a root whose children are the requests */
    M_PASS2,     /* a <request> root with several data: reading its data */
    M_COUNT,     /* counting only: the parts of a <request> root, already counted */
    M_DONE
};


struct batch_xml {
    char *path;
    unsigned input;
    bool call_mode, count_only;
    int fd;
    xmlTextReaderPtr r;
    int mode;
    bool need_next; /* move past the current node's subtree before reading on */
    bool single;    /* the file is one request (or data document) */
    bool dtd;       /* the file has a DOCTYPE: every request in it is refused */

    /* what the reader reads: prefix (a synthetic root start tag), then the file from base */
    char *prefix;
    size_t prefix_len, prefix_pos, prefix_chars;
    off_t base_off, read_off;
    unsigned long base_line; /* the file's line at base_off */
    unsigned long line_base; /* the file's line of line 1 of the nodes being read */
    unsigned passed;         /* child elements of the root the reader has met */
    char *encoding;          /* the document's encoding, for restarts */
    char *root_tag;          /* "<name ns-declarations...>" of the original root */
    char *root_name;
    provost_xml_error err;           /* the reader's first error */

    /* a request being split: its node and its next <data>, in the reader's tree or in
     * standalone (a request parsed on its own after an error) */
    xmlNodePtr split, split_next;
    xmlDocPtr standalone;
    off_t restart_at; /* >= 0: restart the reader there once the split is done */
    unsigned long restart_line;

    /* a <request> root with several data */
    xmlDocPtr shell;    /* the request without its data */
    size_t data_anchor; /* children of the shell before where the data go */
    size_t count_left;  /* M_COUNT: parts still to report */
};

/* The file's line of a node's line (the reader may have started in the middle). */
static inline unsigned long file_line(const batch_xml *x, long node_line)
{
    return x->line_base + (unsigned long)(node_line < 1 ? 1 : node_line) - 1;
}

/* A reader over the file from offset, after prefix (a start tag on one line, or ""). */
int bxml_start_reader(batch_xml *x, off_t offset, unsigned long line, const char *prefix);
/* An item of a child element n of a container's root (the reader's, or a standalone). */
int bxml_element_item(batch_xml *x, batch_item *it, xmlNodePtr n);
/* Reads on from off, inside a root like the original one (nothing left: done). */
int bxml_restart(batch_xml *x, off_t off, unsigned long line);
/* The reader stopped at an error: the item it costs, and where reading goes on. */
int bxml_recover(batch_xml *x, batch_item *it, bool expanding);

#endif
