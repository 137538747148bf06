/*
 * files.c -- an example plug-in provider, built as libprovost-files.so: directories and
 * files under a base directory, the namespace's providerContext/@root (an absolute path).
 *
 *   CreateDirectory  executeData{path}           mkdir ROOT/path (its parent must exist;
 *                                                one that is already there is success)
 *   DeleteDirectory  executeData{path}           rmdir ROOT/path (it must be empty)
 *   WriteFile        executeData{path, content}  creates ROOT/path holding the text of
 *                                                content (an existing file is an error)
 *
 * path is relative to ROOT and may not contain a ".." component.  Each call records what
 * it did as rollback data (an absolute path under a key naming the change) and rollback
 * undoes exactly that; undoing something already undone -- or never done, when a call's
 * outcome is in doubt and no rollback data reached the journal -- is success.
 *
 * Only provider.h and libxml2; no state; the descriptor is the only exported symbol.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "provost/provider.h"

/* Win32 errors as HRESULTs, the codes a Windows file system provider reports. */
#define FILES_E_NOTFOUND       0x80070002u /* no such procedure */
#define FILES_E_PATH_NOT_FOUND 0x80070003u
#define FILES_E_ACCESS_DENIED  0x80070005u
#define FILES_E_FILE_EXISTS    0x80070050u
#define FILES_E_DISK_FULL      0x80070070u
#define FILES_E_DIR_NOT_EMPTY  0x80070091u
#define FILES_E_ALREADY_EXISTS 0x800700B7u

/* Rollback data keys. */
#define KEY_CREATED_DIR  "createdDirectory"
#define KEY_CREATED_FILE "createdFile"
#define KEY_DELETED_DIR  "deletedDirectory"
#define KEY_MODE         "mode"

static uint32_t from_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return FILES_E_PATH_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return FILES_E_ACCESS_DENIED;
    case EEXIST:
        return FILES_E_ALREADY_EXISTS;
    case ENOTEMPTY:
        return FILES_E_DIR_NOT_EMPTY;
    case ENOSPC:
    case EDQUOT:
        return FILES_E_DISK_FULL;
    default:
        return PROVOST_E_FAIL;
    }
}

/* ---- executeXml ----------------------------------------------------------------------- */

/* ROOT/path for this call (malloc'd), or NULL with the failure in *RC. */
static char *resolve(provost_pcall *c, xmlDocPtr execute_xml, const char *proc, uint32_t *rc)
{
    xmlNodePtr top = xmlDocGetRootElement(execute_xml);
    xmlNodePtr pctx = provost_child(provost_child(top, "context"), "providerContext");
    xmlChar *root = pctx ? xmlGetProp(pctx, BAD_CAST "root") : NULL;
    char *path = provost_child_text(provost_child(top, "executeData"), "path");
    char *full = NULL;

    if (!root || root[0] != '/') {
        *rc = provost_failf(c, PROVOST_E_INVALIDARG,
                    "%s: the namespace's providerContext needs a root attribute, an absolute "
                    "directory (it has %s%s%s)",
                    proc, root ? "\"" : "none", root ? (const char *)root : "", root ? "\"" : "");
    } else if (!path || !*path) {
        *rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: executeData/path is missing", proc);
    } else if (path[0] == '/') {
        *rc = provost_failf(c, PROVOST_E_INVALIDARG,
                    "%s: path \"%.200s\" is absolute: give it relative to the root", proc, path);
    } else {
        for (const char *p = path; p; p = strchr(p, '/'), p = p ? p + 1 : NULL) {
            if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0')) {
                *rc = provost_failf(c, PROVOST_E_INVALIDARG,
                            "%s: path \"%.200s\" contains \"..\": it must stay under the root",
                            proc, path);
                goto out;
            }
        }
        size_t n = strlen((const char *)root) + 1 + strlen(path) + 1;
        full = malloc(n);
        if (!full)
            *rc = provost_failf(c, PROVOST_E_FAIL, "%s: out of memory", proc);
        else
            snprintf(full, n, "%s/%s", (const char *)root, path);
    }
out:
    xmlFree(root);
    free(path);
    return full;
}

/* ---- the procedures ------------------------------------------------------------------- */

static uint32_t create_directory(provost_pcall *c, const char *full)
{
    struct stat st;
    if (mkdir(full, 0755) != 0) {
        int e = errno;
        if (e == EEXIST && stat(full, &st) == 0 && S_ISDIR(st.st_mode))
            return PROVOST_S_OK; /* already there: nothing of ours to undo */
        return provost_failf(c, from_errno(e), "CreateDirectory %s: %s", full, strerror(e));
    }
    if (provost_set_rollback_data(c, KEY_CREATED_DIR, full) != 0) {
        rmdir(full); /* a failed call cleans up after itself */
        return provost_failf(c, PROVOST_E_FAIL, "CreateDirectory %s: cannot record rollback data", full);
    }
    return PROVOST_S_OK;
}

static uint32_t delete_directory(provost_pcall *c, const char *full)
{
    struct stat st;
    if (lstat(full, &st) != 0)
        return provost_failf(c, from_errno(errno), "DeleteDirectory %s: %s", full, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return provost_failf(c, FILES_E_PATH_NOT_FOUND, "DeleteDirectory %s: not a directory", full);
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
    /* Recorded first: if it cannot be, nothing has been deleted yet. */
    if (provost_set_rollback_data(c, KEY_DELETED_DIR, full) != 0 ||
        provost_set_rollback_data(c, KEY_MODE, mode) != 0)
        return provost_failf(c, PROVOST_E_FAIL, "DeleteDirectory %s: cannot record rollback data", full);
    if (rmdir(full) != 0)
        return provost_failf(c, from_errno(errno), "DeleteDirectory %s: %s", full, strerror(errno));
    return PROVOST_S_OK;
}

static uint32_t write_file(provost_pcall *c, xmlDocPtr execute_xml, const char *full)
{
    char *content = provost_child_text(provost_child(xmlDocGetRootElement(execute_xml), "executeData"), "content");
    const char *data = content ? content : "";
    size_t len = strlen(data), done = 0;
    uint32_t rc = PROVOST_S_OK;
    int fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        rc = provost_failf(c, e == EEXIST ? FILES_E_FILE_EXISTS : from_errno(e), "WriteFile %s: %s", full,
                   strerror(e));
        free(content);
        return rc;
    }
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = provost_failf(c, from_errno(errno), "WriteFile %s: %s", full, strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0 && rc == PROVOST_S_OK)
        rc = provost_failf(c, from_errno(errno), "WriteFile %s: %s", full, strerror(errno));
    if (rc == PROVOST_S_OK && provost_set_rollback_data(c, KEY_CREATED_FILE, full) != 0)
        rc = provost_failf(c, PROVOST_E_FAIL, "WriteFile %s: cannot record rollback data", full);
    if (rc != PROVOST_S_OK)
        unlink(full);
    free(content);
    return rc;
}

static uint32_t files_process(provost_pcall *c, xmlDocPtr execute_xml)
{
    const char *proc = provost_pcall_procedure(c);
    enum { CREATE_DIR, DELETE_DIR, WRITE_FILE } op;
    if (proc && strcasecmp(proc, "CreateDirectory") == 0)
        op = CREATE_DIR;
    else if (proc && strcasecmp(proc, "DeleteDirectory") == 0)
        op = DELETE_DIR;
    else if (proc && strcasecmp(proc, "WriteFile") == 0)
        op = WRITE_FILE;
    else
        return provost_failf(c, FILES_E_NOTFOUND,
                     "the files provider has no procedure \"%s\" (it has CreateDirectory, "
                     "DeleteDirectory and WriteFile)",
                     proc ? proc : "");

    uint32_t rc = PROVOST_S_OK;
    char *full = resolve(c, execute_xml, proc, &rc);
    if (!full)
        return rc;
    switch (op) {
    case CREATE_DIR:
        rc = create_directory(c, full);
        break;
    case DELETE_DIR:
        rc = delete_directory(c, full);
        break;
    case WRITE_FILE:
        rc = write_file(c, execute_xml, full);
        break;
    }
    free(full);
    return rc;
}

/* Undo what process recorded.  Absent is success: rollback may run twice (a retry, a
 * recovery) or for a call whose effect never happened. */
static uint32_t files_rollback(provost_pcall *c, xmlDocPtr execute_xml)
{
    const char *path;
    if ((path = provost_get_rollback_data(c, KEY_CREATED_FILE)) != NULL) {
        if (unlink(path) != 0 && errno != ENOENT)
            return provost_failf(c, from_errno(errno), "undo WriteFile %s: %s", path, strerror(errno));
    }
    if ((path = provost_get_rollback_data(c, KEY_CREATED_DIR)) != NULL) {
        if (rmdir(path) != 0 && errno != ENOENT)
            return provost_failf(c, from_errno(errno), "undo CreateDirectory %s: %s", path,
                         strerror(errno));
    }
    if ((path = provost_get_rollback_data(c, KEY_DELETED_DIR)) != NULL) {
        const char *m = provost_get_rollback_data(c, KEY_MODE);
        mode_t mode = m ? (mode_t)strtoul(m, NULL, 8) & 07777 : 0755;
        if (mkdir(path, mode) == 0)
            chmod(path, mode); /* mkdir applies the umask */
        else if (errno != EEXIST)
            return provost_failf(c, from_errno(errno), "undo DeleteDirectory %s: %s", path,
                         strerror(errno));
    }
    return PROVOST_S_OK;
}

__attribute__((visibility("default"))) const provost_provider provost_provider_v1 = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "files",
    .process = files_process,
    .rollback = files_rollback,
};
