#include "core/csv.h"

#include <ctype.h>
#include <string.h>

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int csv_split(const char *line, struct csv_row *row)
{
    row->nfields = 0;
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == 0 || *p == '\n' || *p == '\r' || *p == '#')
        return 0;
    char *out = row->buf, *end = row->buf + sizeof(row->buf) - 1;
    char *field = out;
    int quoted = 0;
    for (p = line;; p++) {
        char c = *p;
        if (quoted) {
            if (c == 0)
                return -1;
            if (c == '"' && p[1] == '"') {
                c = '"';
                p++;
            } else if (c == '"') {
                quoted = 0;
                continue;
            }
        } else if (c == '"') {
            quoted = 1;
            continue;
        } else if (c == ',' || c == 0 || c == '\n' || c == '\r') {
            if (out >= end || row->nfields >= CSV_MAX_FIELDS)
                return -1;
            *out++ = 0;
            row->fields[row->nfields++] = trim(field);
            field = out;
            if (c != ',')
                break;
            continue;
        }
        if (out >= end)
            return -1;
        *out++ = c;
    }
    return (int)row->nfields;
}

int csv_column(const struct csv_row *header, const char *name)
{
    for (size_t i = 0; i < header->nfields; i++)
        if (!strcmp(header->fields[i], name))
            return (int)i;
    return -1;
}

void csv_write_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
