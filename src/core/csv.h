/* A small CSV reader: comma separated, optional double quotes ("" inside
 * quotes is a quote), CRLF or LF, '#' comment lines and blank lines skipped.
 * Streaming: feed it one line at a time. */
#ifndef EB_CORE_CSV_H
#define EB_CORE_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_FIELDS 32

struct csv_row {
    size_t nfields;
    char *fields[CSV_MAX_FIELDS]; /* point into buf */
    char buf[4096];
};

/* Splits one line (without or with its newline). Returns the number of
 * fields, 0 for a blank or comment line, -1 for an unterminated quote, too
 * many fields or a line longer than the buffer. Fields are trimmed of spaces. */
int csv_split(const char *line, struct csv_row *row);

/* Index of a column name in a header row, or -1. */
int csv_column(const struct csv_row *header, const char *name);

/* Writes one field as RFC 4180 wants it: quoted (quotes doubled) when it
 * holds a comma, a quote or a line break; NULL writes an empty field. */
void csv_write_field(FILE *f, const char *s);

#endif
