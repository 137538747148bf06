/*
 * providers.h -- how the engine finds a provider: the built-in ones (`test`, `error`) by
 * name, and plug-ins (shared objects exporting PROVOST_PROVIDER_SYMBOL) with dlopen.  What
 * the providers library offers the VM; a provider itself includes only provider.h.
 */
#ifndef PROVOST_PROVIDERS_H
#define PROVOST_PROVIDERS_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "provost/provider.h"

/* The built-in provider named NAME (ASCII case-insensitive: "test", "error"), or NULL. */
const provost_provider *provost_builtin_provider(const char *name);

/*
 * Loads a plug-in.  NAME_OR_PATH containing '/' is a file path, used as is.  Otherwise it
 * is a name, tried in this order:
 *   1. for each directory D of $PROVOST_PROVIDER_PATH (colon-separated, empty entries
 *      skipped): D/NAME.so, then D/libprovost-NAME.so;
 *   2. the same two files in lib/provost beside the directory of the running executable
 *      (bin/provost finds lib/provost/libprovost-NAME.so; the build tree has that shape);
 *   3. dlopen("libprovost-NAME.so"), then dlopen("NAME"): the dynamic linker's own search
 *      (LD_LIBRARY_PATH, the cache, the default directories).
 * A file that exists but does not load ends the search with its own error.
 *
 * On success returns the plug-in's descriptor and sets *HANDLE (pass it to
 * provost_unload_provider when the descriptor is no longer used).  On failure returns
 * NULL, sets *HANDLE to NULL, closes whatever was opened and writes a one-line reason
 * into ERR (ERRLEN bytes, always NUL-terminated when ERRLEN > 0).  Symbols are bound at
 * load (RTLD_NOW), so a plug-in calling a service the engine does not export fails here,
 * not in the middle of a transaction.  Thread-safe.
 */
const provost_provider *provost_load_provider(const char *name_or_path, void **handle, char *err,
                                              size_t errlen);
void provost_unload_provider(void *handle); /* NULL is allowed */

#endif
