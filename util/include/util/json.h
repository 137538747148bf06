/*
 * json.h -- a string written as a JSON string, for the command's and the runners'
 * JSON outputs (one escaping rule wherever Provost writes JSON to a stream).
 */
#ifndef PU_JSON_H
#define PU_JSON_H

#include <stdio.h>

/* s quoted and escaped ("\"", "\\", \n \r \t, other control bytes and DEL as \u00XX;
 * every other byte as it is, so UTF-8 passes through); NULL is written as null. */
void pu_json_string(FILE *f, const char *s);

#endif
