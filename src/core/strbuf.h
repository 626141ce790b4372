/* A growable text buffer for control-socket replies (text and JSON). */
#ifndef RR_CORE_STRBUF_H
#define RR_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;      /* always NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;        /* an append failed; the content is truncated */
};

void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);

#endif
