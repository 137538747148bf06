/*
 * loader.c -- plug-in providers: find the shared object, dlopen it, check its descriptor.
 * Every failure is a one-line reason and a closed handle, never a crash.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"

/* A plug-in is never unmapped, even after the engine that loaded it closes: the libraries
 * it brings (libpq, libldap, libcurl and their TLS stacks) keep process-wide state --
 * thread-local storage, atexit handlers, keys -- that is not safe to unload under a
 * process that goes on running (or, under LeakSanitizer, that checks its threads at exit). */
#define DL_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats the reason into ERR on one line (any line break from dlerror becomes a space). */
static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static const char *dl_reason(void)
{
    const char *msg = dlerror();
    return msg ? msg : "unknown dynamic loader error";
}

/* Checks the descriptor of an opened object; closes it on failure. */
static const provost_provider *adopt(void *dl, const char *where, void **handle, char *err,
                                     size_t errlen)
{
    dlerror();
    const provost_provider *p = dlsym(dl, PROVOST_PROVIDER_SYMBOL);
    if (!p) {
        set_error(err, errlen, "%s: no %s symbol: not a Provost provider", where,
                  PROVOST_PROVIDER_SYMBOL);
    } else if (p->abi != PROVOST_PROVIDER_ABI) {
        set_error(err, errlen, "%s: provider ABI version %u but the engine wants %u", where,
                  (unsigned)p->abi, (unsigned)PROVOST_PROVIDER_ABI);
    } else if (!p->process) {
        set_error(err, errlen, "%s: provider \"%s\" has no process callback", where,
                  p->name ? p->name : "");
    } else {
        *handle = dl;
        return p;
    }
    dlclose(dl);
    return NULL;
}

/* A plug-in calling an engine service the loading program does not export. */
static const char *hint(const char *msg)
{
    return strstr(msg, "undefined symbol: provost_")
               ? " (the program loading it must export the provider services: link it with "
                 "-rdynamic)"
               : "";
}

static const provost_provider *load_file(const char *path, void **handle, char *err, size_t errlen)
{
    void *dl = dlopen(path, DL_FLAGS);
    if (!dl) {
        const char *msg = dl_reason();
        set_error(err, errlen, "cannot load provider: %s%s", msg, hint(msg));
        return NULL;
    }
    return adopt(dl, path, handle, err, errlen);
}

/* "FILE not found" from the dynamic linker's own search, as opposed to a file that was
 * found but failed (a missing dependency is reported under the dependency's name). */
static int dl_not_found(const char *msg, const char *file)
{
    size_t n = strlen(file);
    return strncmp(msg, file, n) == 0 &&
           strncmp(msg + n, ": cannot open shared object file", 32) == 0;
}

static char *join(const char *dir, size_t dirlen, const char *prefix, const char *name,
                  const char *suffix)
{
    size_t n = dirlen + 1 + strlen(prefix) + strlen(name) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s%s%s%s", (int)dirlen, dir, dirlen ? "/" : "", prefix, name, suffix);
    return s;
}

/* Tries DIR (LEN bytes)/NAME.so, then DIR/libprovost-NAME.so.  Returns 1 when the search
 * ends here (a file was found, loaded or not: *P and ERR say which), 0 to go on; the files
 * it did not find are added to LOG. */
static int try_dir(const char *dir, size_t len, const char *name, const provost_provider **p, void **handle,
                   char *err, size_t errlen, FILE *log, int *n)
{
    static const char *const forms[][2] = {{"", ".so"}, {"libprovost-", ".so"}};
    for (size_t f = 0; len && f < 2; f++) {
        char *file = join(dir, len, forms[f][0], name, forms[f][1]);
        struct stat st;
        if (!file) {
            set_error(err, errlen, "provider \"%s\": out of memory", name);
            return 1;
        }
        if (stat(file, &st) == 0) {
            *p = load_file(file, handle, err, errlen);
            free(file);
            return 1;
        }
        fprintf(log, "%s%s", (*n)++ ? ", " : "", file);
        free(file);
    }
    return 0;
}

/* The plug-ins installed with the command: lib/provost beside the bin directory holding the
 * running executable (the build tree has the same shape), or "" when it cannot be told. */
static void beside_executable(char *dir, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    dir[0] = 0;
    if (n <= 0)
        return;
    exe[n] = 0;
    for (int up = 0; up < 2; up++) { /* .../bin/provost -> ... */
        char *slash = strrchr(exe, '/');
        if (!slash)
            return;
        *slash = 0;
    }
    if ((size_t)snprintf(dir, size, "%s/lib/provost", exe) >= size)
        dir[0] = 0;
}

static const provost_provider *load_by_name(const char *name, void **handle, char *err,
                                            size_t errlen)
{
    /* The places tried, for the "not found" message. */
    char *tried = NULL;
    size_t triedlen = 0;
    FILE *log = open_memstream(&tried, &triedlen);
    if (!log) {
        set_error(err, errlen, "provider \"%s\": out of memory", name);
        return NULL;
    }
    int n = 0;
    const provost_provider *p = NULL;
    int done = 0;

    const char *path = getenv("PROVOST_PROVIDER_PATH");
    while (path && *path && !done) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        done = try_dir(path, len, name, &p, handle, err, errlen, log, &n);
        path = end ? end + 1 : NULL;
    }
    if (!done) {
        char dir[PATH_MAX + 32];
        beside_executable(dir, sizeof dir);
        done = try_dir(dir, strlen(dir), name, &p, handle, err, errlen, log, &n);
    }

    /* The dynamic linker's search. */
    for (size_t f = 0; f < 2 && !done; f++) {
        char *file = f == 0 ? join("", 0, "libprovost-", name, ".so") : join("", 0, "", name, "");
        if (!file) {
            set_error(err, errlen, "provider \"%s\": out of memory", name);
            done = 1;
            break;
        }
        void *dl = dlopen(file, DL_FLAGS);
        if (dl) {
            p = adopt(dl, file, handle, err, errlen);
            done = 1;
        } else {
            const char *msg = dl_reason();
            if (dl_not_found(msg, file)) {
                fprintf(log, "%s%s", n++ ? ", " : "", file);
            } else {
                set_error(err, errlen, "cannot load provider \"%s\": %s%s", name, msg, hint(msg));
                done = 1;
            }
        }
        free(file);
    }
    fclose(log);
    if (!done)
        set_error(err, errlen,
                  "provider \"%s\" not found: tried %s (set PROVOST_PROVIDER_PATH, or name the "
                  "plug-in by its path)",
                  name, tried ? tried : "");
    free(tried);
    return p;
}

const provost_provider *provost_load_provider(const char *name_or_path, void **handle, char *err,
                                              size_t errlen)
{
    void *ignored;
    if (!handle)
        handle = &ignored;
    *handle = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!name_or_path || !*name_or_path) {
        set_error(err, errlen, "no provider named: the name is empty");
        return NULL;
    }
    if (strchr(name_or_path, '/'))
        return load_file(name_or_path, handle, err, errlen);
    return load_by_name(name_or_path, handle, err, errlen);
}

void provost_unload_provider(void *handle)
{
    if (handle)
        dlclose(handle);
}
