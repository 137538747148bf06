/*
 * seal.c -- sealing with AES-256-GCM (a random 12-byte nonce, then the ciphertext, then
 * the 16-byte tag), and the database's master key: the file master.key beside the
 * database, 32 random bytes, mode 0600, written whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "seal.h"

#define NONCE 12
#define TAG 16

int pvm_seal(const unsigned char key[32], const unsigned char *in, size_t n, unsigned char **out, size_t *outn)
{
    *out = malloc(NONCE + n + TAG);
    if (!*out)
        return -1;
    unsigned char *nonce = *out, *ct = *out + NONCE, *tag = *out + NONCE + n;
    if (getrandom(nonce, NONCE, 0) != NONCE) {
        free(*out);
        *out = NULL;
        return -1;
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
                      (n == 0 || EVP_EncryptUpdate(c, ct, &len, in, (int)n) == 1) &&
                      EVP_EncryptFinal_ex(c, ct + len, &len) == 1 &&
                      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(*out);
        *out = NULL;
        return -1;
    }
    *outn = NONCE + n + TAG;
    return 0;
}

int pvm_unseal(const unsigned char key[32], const unsigned char *in, size_t n, unsigned char **out, size_t *outn)
{
    if (n < NONCE + TAG)
        return -1;
    size_t m = n - NONCE - TAG;
    *out = malloc(m + 1);
    if (!*out)
        return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) == 1 &&
                      (m == 0 || EVP_DecryptUpdate(c, *out, &len, in + NONCE, (int)m) == 1) &&
                      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(in + n - TAG)) == 1 &&
                      EVP_DecryptFinal_ex(c, *out + len, &len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(*out); /* the caller may free it too: it must not see the freed pointer */
        *out = NULL;
        return -1;
    }
    (*out)[m] = 0;
    *outn = m;
    return 0;
}

/* Reads the master key.  0, or -1 with k->problem saying why (*missing when there is
 * no file at all). */
int pvm_masterkey_read(pvm_masterkey *k, bool *missing)
{
    *missing = false;
    k->ok = false;
    k->problem[0] = k->mode[0] = 0;
    int fd = open(k->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *missing = errno == ENOENT;
        if (*missing)
            snprintf(k->problem, sizeof k->problem, "%s is missing", k->path);
        else
            snprintf(k->problem, sizeof k->problem, "%s cannot be read: %s", k->path, strerror(errno));
        return -1;
    }
    struct stat st;
    unsigned char buf[33];
    ssize_t n = fstat(fd, &st) == 0 ? read(fd, buf, sizeof buf) : -1;
    int rerrno = errno;
    close(fd);
    if (n < 0) {
        snprintf(k->problem, sizeof k->problem, "%s cannot be read: %s", k->path, strerror(rerrno));
        return -1;
    }
    if (n != (ssize_t)sizeof k->key) {
        if (n > (ssize_t)sizeof k->key)
            snprintf(k->problem, sizeof k->problem, "%s is not a master key (longer than 32 bytes)", k->path);
        else
            snprintf(k->problem, sizeof k->problem, "%s is not a master key (%zd bytes, not 32)", k->path, n);
        OPENSSL_cleanse(buf, sizeof buf);
        return -1;
    }
    if (st.st_mode & 077)
        snprintf(k->mode, sizeof k->mode, "%s can be read by other users (mode %04o): chmod 600 it", k->path,
                 (unsigned)(st.st_mode & 07777));
    memcpy(k->key, buf, sizeof k->key);
    OPENSSL_cleanse(buf, sizeof buf);
    k->ok = true;
    return 0;
}

/* A new master key, mode 0600, written whole or not at all. */
int pvm_masterkey_create(pvm_masterkey *mk, char *err, size_t errlen)
{
    unsigned char k[32];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        snprintf(err, errlen, "no random source for the master key");
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.new", mk->path);
    int w = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = w >= 0 && write(w, k, sizeof k) == (ssize_t)sizeof k && fsync(w) == 0;
    int why = errno;
    if (w >= 0 && close(w) != 0 && ok)
        ok = false, why = errno;
    if (ok && rename(tmp, mk->path) != 0)
        ok = false, why = errno;
    if (!ok) {
        snprintf(err, errlen, "cannot create %s: %s", mk->path, strerror(why ? why : EIO));
        unlink(tmp);
        OPENSSL_cleanse(k, sizeof k);
        return -1;
    }
    OPENSSL_cleanse(k, sizeof k);
    bool missing;
    if (pvm_masterkey_read(mk, &missing) != 0) {
        snprintf(err, errlen, "%s", mk->problem);
        return -1;
    }
    return 0;
}
