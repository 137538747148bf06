/*
 * walcheck.c -- reads every RocksDB write-ahead log of a database before it is opened and
 * verifies each record's checksum.  RocksDB verifies them too, but not before it has
 * interpreted the record's type: one bit flipped in a type byte turns a record into one
 * "from a previous instance of a recycled log", which RocksDB takes for the end of the log
 * even with absolute consistency, and every later record is dropped without a word.
 *
 * The log format (RocksDB's db/log_format.h): 32 KiB blocks; a record is a 7-byte header
 * (masked CRC32C of the type byte and the payload, little-endian; payload length, 2 bytes;
 * type) and its payload, never crossing a block; fewer than 7 bytes left in a block are
 * zero padding.  The engine writes only the four plain types (full, first, middle, last):
 * it recycles no logs and compresses none.
 *
 * A log's last record may be cut short without any damage: the process was killed while
 * it wrote the record, so the write never returned and nothing acted on it.  RocksDB is
 * told to drop such a tail (it replays with kTolerateCorruptedTailRecords), and this check
 * decides which tails are torn writes, because a damaged length can look the same:
 *  - the log ends after whole records, the last of them the first or a middle fragment of
 *    a larger one: only a shorter file does that (a flipped type fails its checksum);
 *  - the log ends just after a whole header: RocksDB appends a header and its payload
 *    separately, and flushes its write buffer between them when the buffer is full;
 *  - the log ends inside a record at a multiple of the page size: the kernel stops a
 *    write at a page boundary when the writer is killed.
 * Any other short record is damage.  A flipped bit that lengthens the last record passes
 * only in the 1 in 4096 logs whose size is a page multiple.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"

#define BLOCK 32768
#define HEADER 7
#define PAGE 4096 /* the smallest unit a killed write() stops at */

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit from a table. */
static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) { /* the same values from every thread: a race to fill it is harmless */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static uint32_t unmask(uint32_t masked)
{
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

static const char cut_short[] = "a record cut short";

/* Why the block d[0..n) of a log is damaged (offset in *at), or NULL when every record in
 * it is whole.  Records never cross a block; n < BLOCK only for the log's last block, so
 * only there is a record cut short (at *at, by the end of the file). */
static const char *check_block(const unsigned char *d, size_t n, size_t *at)
{
    size_t pos = 0;
    while (pos < n) {
        *at = pos;
        if (BLOCK - pos < HEADER) { /* the block's zero trailer */
            for (size_t i = pos; i < n; i++)
                if (d[i])
                    return "bytes where a block's padding is";
            return NULL;
        }
        if (n - pos < HEADER)
            return cut_short;
        uint32_t crc = (uint32_t)d[pos] | (uint32_t)d[pos + 1] << 8 | (uint32_t)d[pos + 2] << 16 |
                       (uint32_t)d[pos + 3] << 24;
        size_t len = (size_t)d[pos + 4] | (size_t)d[pos + 5] << 8;
        unsigned type = d[pos + 6];
        if (crc == 0 && len == 0 && type == 0)
            return NULL; /* preallocated, never written: the block ends here */
        if (type < 1 || type > 4)
            return "a record of an unknown type";
        if (HEADER + len > BLOCK - pos)
            return "a record longer than its block";
        if (n - pos - HEADER < len)
            return cut_short;
        if (crc32c(0, d + pos + 6, len + 1) != unmask(crc))
            return "a record that fails its checksum";
        pos += HEADER + len;
    }
    return NULL;
}

/* Why the log at fd is damaged (byte offset in *at), or NULL; block is BLOCK bytes. */
static const char *check_log(int fd, unsigned char *block, size_t *at)
{
    for (off_t base = 0;; base += BLOCK) {
        size_t n = 0;
        while (n < BLOCK) {
            ssize_t r = pread(fd, block + n, BLOCK - n, base + (off_t)n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        if (n == 0)
            return NULL;
        const char *why = check_block(block, n, at);
        if (why == cut_short && (n == *at + HEADER || (base + (off_t)n) % PAGE == 0))
            return NULL; /* a torn write (above) */
        if (why) {
            *at += (size_t)base;
            return why;
        }
        if (n < BLOCK)
            return NULL;
    }
}

int pvm_wal_check(const char *path, char *err, size_t errlen)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 0; /* a new database, or one RocksDB will say it cannot open */
    unsigned char *block = malloc(BLOCK);
    if (!block) {
        closedir(dir);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(dir));) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".log") != 0)
            continue;
        char file[4400];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            continue; /* not ours to judge: RocksDB reports what it cannot read */
        }
        size_t at = 0;
        const char *why = check_log(fd, block, &at);
        close(fd);
        if (why) {
            snprintf(err, errlen,
                     "the database %s is damaged (%s at byte %zu of its write-ahead log %s): nothing was recovered "
                     "or changed; keep a copy of it, then run provost recover --salvage",
                     path, why, at, file);
            rc = -1;
        }
    }
    closedir(dir);
    free(block);
    return rc;
}
