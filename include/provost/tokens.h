/*
 * tokens.h -- bearer tokens for the HTTP service (`provost serve`): an operator creates one
 * for a user (`provost token create --user NAME`), hands it to a portal, and the service
 * maps every request's `Authorization: Bearer TOKEN` to that user, whose rights then
 * decide what the request may do.
 *
 * Tokens live beside the database in DB/tokens, owner-only, and hold only a hash of each
 * secret: a copy of the file lets nobody in.  The file, not the database, holds them so
 * that tokens can be created and revoked while a service holds the database open; the
 * service reads the file again when it changes and on SIGHUP.
 */
#ifndef PROVOST_TOKENS_H
#define PROVOST_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct provost_token_info {
    char *id;        /* public part: what list shows and revoke takes */
    char *user;      /* the principal the token stands for */
    int64_t created; /* seconds since the epoch */
    int64_t expires; /* seconds since the epoch; 0: never */
    int revoked;
} provost_token_info;

/* Creates a token for USER, valid until EXPIRES (0: never), and returns it in *TOKEN
 * (malloc'd): the only time the secret is ever shown. */
int provost_token_create(const char *db_dir, const char *user, int64_t expires, char **token,
                         provost_error *err);
/* Revokes token ID (PROVOST_E_NOTFOUND when there is none). */
int provost_token_revoke(const char *db_dir, const char *id, provost_error *err);
int provost_token_list(const char *db_dir, provost_token_info **out, size_t *n, provost_error *err);
void provost_token_list_free(provost_token_info *v, size_t n);

/* The tokens of DB_DIR in memory, for a service to check requests against without
 * touching the disk.  A missing file is an empty set. */
typedef struct provost_tokens provost_tokens;
int provost_tokens_load(const char *db_dir, provost_tokens **out, provost_error *err);
/* 0 with *USER (owned by T) when TOKEN is a valid token at NOW (seconds since the epoch);
 * -1 with ERR saying why (unknown, expired, revoked, malformed) -- the service answers 401. */
int provost_tokens_verify(const provost_tokens *t, const char *token, int64_t now, const char **user,
                          provost_error *err);
void provost_tokens_free(provost_tokens *t);
/* 1 when DB_DIR/tokens is no longer the file T was loaded from (a token was created or
 * revoked since, or the file appeared or went), 0 when it is: a service polls it to know
 * when to load the file again.  Only a stat, no read. */
int provost_tokens_changed(const char *db_dir, const provost_tokens *t);

#ifdef __cplusplus
}
#endif
#endif
