/* Blob files: atomic write (tmp, fsync, rename, fsync dir) and bounded read. */
#include "wire/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync of the directory makes the rename itself durable (POSIX leaves it to the fs). */
static int sync_parent_dir(const char *path, struct mtg_err *err)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return mtg_err_set(err, MTG_EINVAL, "blob: directory of \"%s\" too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mtg_err_set(err, MTG_EIO, "blob: open dir %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some filesystems refuse fsync on directories; the data is already synced. */
    if (rc != 0 && saved != EINVAL && saved != EROFS)
        return mtg_err_set(err, MTG_EIO, "blob: fsync dir %s: %s", dir, strerror(saved));
    return MTG_OK;
}

int mtg_blob_write_file(const struct mtg_blob *b, const char *path, unsigned flags,
                        struct mtg_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char *tmp = NULL;
    int fd = -1;
    int rc;

    if (!b || !path || !*path)
        return mtg_err_set(err, MTG_EINVAL, "blob: write_file needs a blob and a path");
    if ((rc = mtg_blob_encode(b, flags, &buf, &len, err)) != MTG_OK)
        return rc;
    size_t tlen = strlen(path) + sizeof ".tmp";
    tmp = malloc(tlen);
    if (!tmp) {
        rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory");
        goto fail;
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mtg_err_set(err, MTG_EIO, "blob: create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (write_all(fd, buf, len) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "blob: write %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (fsync(fd) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "blob: fsync %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = mtg_err_set(err, MTG_EIO, "blob: close %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "blob: rename %s -> %s: %s", tmp, path, strerror(errno));
        goto fail_unlink;
    }
    rc = sync_parent_dir(path, err);
    free(tmp);
    free(buf);
    return rc;

fail_unlink:
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
fail:
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(buf);
    return rc;
}

int mtg_blob_read_file(const char *path, const struct mtg_blob_limits *lim,
                       struct mtg_blob **out, struct mtg_err *err)
{
    struct mtg_blob_limits deflim = mtg_blob_limits_default();
    uint8_t *buf = NULL;
    struct stat st;
    int fd = -1;
    int rc;

    if (!path || !out)
        return mtg_err_set(err, MTG_EINVAL, "blob: read_file needs a path and an output");
    *out = NULL;
    if (!lim)
        lim = &deflim;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mtg_err_set(err, errno == ENOENT ? MTG_ENOTFOUND : MTG_EIO, "blob: open %s: %s",
                           path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "blob: stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mtg_err_set(err, MTG_EIO, "blob: %s is not a regular file", path);
        goto fail;
    }
    if ((unsigned long long)st.st_size > lim->max_bytes) {
        rc = mtg_err_set(err, MTG_ETOOBIG, "blob: %s is %lld bytes, over the limit of %zu", path,
                         (long long)st.st_size, lim->max_bytes);
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    if (!buf) {
        rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory reading %s", path);
        goto fail;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = mtg_err_set(err, MTG_EIO, "blob: read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break; /* shrank under us: decode reports the truncation */
        got += (size_t)r;
    }
    close(fd);
    fd = -1;
    rc = mtg_blob_decode(buf, got, lim, out, err);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "%s", path);
    free(buf);
    return rc;

fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}
