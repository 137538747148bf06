/*
 * http_int.h -- what the parts of the http provider share: the configuration read from
 * providerContext, the pool of libcurl handles, one request and its response, and the
 * JSON <-> XML mapping.  Private to providers/http.
 */
#ifndef HP_HTTP_INT_H
#define HP_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/tree.h>

#include "provost/provider.h"

/* Win32 errors as HRESULTs (docs/providers/http.md has the table). */
#define HP_E_ACCESS_DENIED  0x80070005u /* 401, 403 */
#define HP_E_NOT_FOUND      0x80070002u /* 404, and an unknown procedure */
#define HP_E_ALREADY_EXISTS 0x800700B7u /* 409 */
#define HP_E_SERVER         0x8007054Fu /* 5xx: ERROR_INTERNAL_ERROR */
#define HP_E_TIMEOUT        0x800705B4u /* ERROR_TIMEOUT */
#define HP_E_UNREACHABLE    0x800704CFu /* ERROR_NETWORK_UNREACHABLE */
#define HP_E_TLS            0x80090325u /* SEC_E_UNTRUSTED_ROOT */
#define HP_E_OUTOFMEMORY    0x8007000Eu

#define HP_POOL_MAX   8                   /* idle handles kept per provider instance */
#define HP_BODY_MAX   (16u * 1024 * 1024) /* a larger response fails the call */
#define HP_ERRBODY_MAX 512                /* response bytes quoted in an error */

enum hp_auth { HP_AUTH_NONE, HP_AUTH_BEARER, HP_AUTH_BASIC };

/* providerContext, read at each call (a namespace is one target service). */
typedef struct {
    char *base;          /* baseURL without a trailing '/' */
    long timeout_ms;     /* whole request, connect included */
    char *ca_file;       /* NULL: the system's trust store */
    enum hp_auth auth;
    char *credential, *password_file, *user;
    int in_doubt_manual; /* inDoubt="manual": never re-send in doubt */
} hp_config;

typedef struct {
    char *name, *value;
} hp_header;

typedef struct {
    char *method;
    char *path;           /* validated: starts with one '/', stays under baseURL */
    hp_header *headers;   /* validated names and values */
    size_t nheaders;
    char *body;           /* NULL: no body */
    const char *content_type; /* default for the body when no header names one */
} hp_request;

typedef struct {
    long status;
    hp_header *headers; /* of the final response, names lower-cased */
    size_t nheaders;
    char *body;
    size_t len;
} hp_response;

typedef struct hp_pool hp_pool;

/* transport.c */
hp_pool *hp_pool_new(void);
void hp_pool_free(hp_pool *p);
/* Sends R to CFG->base + R->path; IDEM_KEY (NULL: none) as Idempotency-Key.  Returns 0 with
 * *RESP filled whatever the status, or a failure code: a transport failure described in WHY,
 * or (WHY left empty) the secret's, already described with provost_fail.  *MAYBE_SENT tells
 * whether the request may have reached the service. */
uint32_t hp_perform(provost_pcall *c, hp_pool *pool, const hp_config *cfg, const hp_request *r,
                    const char *idem_key, hp_response *resp, int *maybe_sent, char *why, size_t whylen);
/* A status >= 400 as the call's failure: the HRESULT of the table, method, URL and the
 * first bytes of the body in the description. */
uint32_t hp_status_fail(provost_pcall *c, const hp_config *cfg, const hp_request *r, const hp_response *resp);
uint32_t hp_status_code(long status);
void hp_response_clear(hp_response *resp);
const char *hp_response_header(const hp_response *resp, const char *name);
int hp_path_ok(const char *path, char *why, size_t whylen);
int hp_base_ok(const char *base, char *why, size_t whylen);
int hp_header_name_ok(const char *s);
int hp_header_value_ok(const char *s);

/* jsonxml.c */
/* EL's content as JSON text (malloc'd), or NULL with the reason in WHY. */
char *hp_xml_to_json(xmlNodePtr el, char *why, size_t whylen);
/* V as an element NAME of DOC (the mapping of docs/providers/http.md), or NULL when a
 * string cannot be XML text. */
xmlNodePtr hp_json_to_xml(xmlDocPtr doc, const char *name, json_t *v);
/* RFC 6901: the value at POINTER in ROOT, or NULL. */
json_t *hp_json_pointer(json_t *root, const char *pointer);
/* A value for a placeholder: a string as is, other scalars as JSON text, containers
 * compact (malloc'd). */
char *hp_json_text(json_t *v);
/* Whether S (LEN bytes) can be the text of an XML element: UTF-8 of allowed characters. */
int hp_xml_text_ok(const char *s, size_t len);

/* request.c */
typedef struct {
    const hp_response *resp;
    json_t *json;         /* the response's JSON, or NULL */
    const char *location; /* Location as a path under baseURL, or NULL */
    int probe;            /* check a template before sending: every placeholder has a value */
} hp_fillctx;
/* EL's method (FIXED_METHOD when not NULL), path, header@name, body or json, checked; -1
 * with the reason in WHY. */
int hp_read_request(xmlNodePtr el, const char *fixed_method, hp_request *r, char *why, size_t whylen);
void hp_request_clear(hp_request *r);
int hp_add_header(hp_request *r, const char *name, const char *value);
/* TMPL with {location}, {status}, {header:NAME} and {json:/POINTER} replaced (in a path,
 * all but {location} percent-encoded); any other {...} stays as it is.  NULL with WHY when
 * the response lacks a value (or out of memory, WHY untouched). */
char *hp_fill(const hp_fillctx *f, const char *tmpl, int in_path, char *why, size_t whylen);
json_t *hp_response_json(const hp_response *resp);
/* status, header@name, json or body into executeData ED, in place of the request's. */
int hp_write_response(xmlNodePtr ed, const hp_response *resp, json_t *json);

#endif
