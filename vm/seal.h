/*
 * seal.h -- sealing journaled secrets with AES-256-GCM, and the database's master key that
 * seals each transaction's own key.
 */
#ifndef PVM_SEAL_H
#define PVM_SEAL_H

#include <stdbool.h>
#include <stddef.h>

/* in sealed as *out (malloc'd), NONCE + n + TAG bytes.  0, or -1 with *out NULL. */
int pvm_seal(const unsigned char key[32], const unsigned char *in, size_t n, unsigned char **out, size_t *outn);
/* The reverse, *out NUL-terminated; -1 with *out NULL when in was not sealed by key. */
int pvm_unseal(const unsigned char key[32], const unsigned char *in, size_t n, unsigned char **out, size_t *outn);

typedef struct pvm_masterkey {
    char path[4096];         /* DB/master.key */
    unsigned char key[32];
    bool ok;                 /* key holds it */
    char problem[4200];      /* why it cannot be used (naming the file), or "" */
    char mode[4200];         /* its mode lets others read it (naming the file), or "" */
} pvm_masterkey;

/* Reads k->path: 0, or -1 with k->problem (*missing when there is no file at all). */
int pvm_masterkey_read(pvm_masterkey *k, bool *missing);
/* Makes a new key at k->path and reads it: 0, or -1 with err. */
int pvm_masterkey_create(pvm_masterkey *k, char *err, size_t errlen);

#endif
