/* File helpers of the overlay area: paths of key files, atomic writes with
 * the final mode set before any byte lands, directories. */
#ifndef EB_OVERLAY_FILES_H
#define EB_OVERLAY_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* DIR/keys/NAME.EXT ("key" or "pub"). 0, or -1 when it does not fit. */
int files_key_path(char *out, size_t len, const char *dir, const char *name, const char *ext);
/* Writes PATH atomically: a temporary file created with O_EXCL and `mode`
 * (fchmod'ed to exactly `mode` before writing), then renamed over PATH.
 * 0 or -errno. */
int files_write(const char *path, const char *data, size_t len, mode_t mode);
/* Creates a directory (and its parents, 0755) and gives it exactly `mode`.
 * 0 or -errno. */
int files_mkdir(const char *path, mode_t mode);

#endif
