/* PROXY protocol versions 1 (text) and 2 (binary), as HAProxy specifies them:
 * parsing the header a trusted upstream sends, and writing the header sent to
 * a backend so it sees the real client. */
#ifndef EB_PROXY_PP_H
#define EB_PROXY_PP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest header accepted: v1 is at most 107 bytes; v2 carries TLVs we skip. */
#define PP_MAX_HEADER 1024

struct pp_header {
    int version; /* 1 or 2 */
    bool local;  /* v1 UNKNOWN or v2 LOCAL: keep the connection's own addresses */
    struct sockaddr_storage src, dst;
};

/* Parses a header at the start of buf. Returns the header's length (> 0) when
 * complete and valid, 0 when more bytes are needed, -1 when it is not a valid
 * PROXY header (the connection must be closed). Never reads past len. */
int pp_parse(const uint8_t *buf, size_t len, struct pp_header *out);

/* Writes a header for src -> dst into buf (v1 needs 108 bytes, v2 52).
 * Mixed or non-IP families produce "UNKNOWN" (v1) or LOCAL (v2). Returns the
 * length written, or -1 when buf is too small. */
int pp_write_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf, size_t len);
int pp_write_v2(const struct sockaddr *src, const struct sockaddr *dst, uint8_t *buf, size_t len);

#endif
