/*
 * builtin.h -- what the built-in providers (test.c, error.c) share, defined in builtin.c.
 * Private to providers/.  Module prefix: pvp_.
 */
#ifndef PROVOST_PROVIDERS_BUILTIN_H
#define PROVOST_PROVIDERS_BUILTIN_H

#include <stdint.h>

#include <libxml/tree.h>

#include "provost/providers.h"


/* ASCII case-insensitive equality; NULL equals nothing. */
int pvp_eq_nocase(const char *a, const char *b);
/* The first element child of PARENT whose local name is NAME (any namespace), or NULL. */
xmlNodePtr pvp_child(xmlNodePtr parent, const char *name);
/* context/NAME and executeData under the executeXml root, or NULL. */
xmlNodePtr pvp_context_child(xmlDocPtr execute_xml, const char *name);
xmlNodePtr pvp_execute_data(xmlDocPtr execute_xml);
/* The text of PARENT's child NAME (malloc'd, caller frees), or NULL when there is no such
 * child.  Whitespace at both ends is removed when TRIM is set. */
char *pvp_child_text(xmlNodePtr parent, const char *name, int trim);
/* An HRESULT written `0x` + 1..8 hex digits, or in decimal (0..4294967295, or negative
 * down to -2147483648 as Visual Basic prints HRESULTs); whitespace around is allowed.
 * Returns 0 and sets *OUT, or -1 when TEXT is not such a number. */
int pvp_parse_code(const char *text, uint32_t *out);

#endif
