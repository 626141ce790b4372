/* Shared by config.c (rrouted.conf) and wgquick.c (interface files); not a public API. */
#ifndef RR_CONF_INTERNAL_H
#define RR_CONF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"

#define CONF_FILE_MAX (1u << 20)   /* a config bigger than this is surely not one */

/*
 * The INI dialect both files use, as wg-quick reads its files: '#' starts a
 * comment anywhere on a line, ';' only at its start; "[Name]" opens a
 * section; "Key = Value" with whitespace trimmed. Callbacks may modify value.
 */
struct conf_ini {
	const char *path;
	struct conf_errors *errs;
	void *user;
	void (*section)(void *user, const char *name, int line);
	void (*key)(void *user, const char *key, char *value, int line);
};
void conf_ini_parse(char *text, const struct conf_ini *ini);

/* Reads a whole text file (NUL-terminated) into *text; -1 with an error added. */
int conf_read_file(const char *path, char **text, size_t *len, struct conf_errors *errs);
/*
 * A private, writable copy of a configuration's text: of text, or of the file at path
 * when text is NULL (conf_read_file). NULL when there is none, with the error in errs.
 */
char *conf_text_get(const char *text, const char *path, size_t *len, struct conf_errors *errs);
/* Wipes and frees what conf_read_file or conf_text_get returned (it may hold keys). */
void conf_text_free(char *text, size_t len);

/*
 * One parse of a configuration's text, with the errors it adds counted: in the caller's
 * list, or in a scratch one when the caller passed none (the parse must still know
 * whether it failed). Lives where it was started: errs may point into it.
 */
struct conf_parse_run {
	struct conf_errors *errs;
	struct conf_errors scratch;
	unsigned errors_before;
	char *text;                  /* conf_text_get's copy */
	size_t len;
};
/* Starts a run over text, or the file at path when text is NULL; false: no text (said). */
bool conf_run_start(struct conf_parse_run *run, const char *text, const char *path,
		    struct conf_errors *errs);
/* Ends it, wiping and freeing the text; true when the run added no error. */
bool conf_run_finish(struct conf_parse_run *run);

/* Decimal digits only (no sign, no spaces), value <= max. 0 or -1. */
int conf_parse_uint(const char *s, unsigned long max, unsigned long *out);

/*
 * Makes room for element n of an array whose capacity is implied by n (the
 * next power of two). When wipe, the old block is wiped before it is freed
 * (it may hold keys), so realloc() is not used. NULL when out of memory.
 */
void *conf_array_grow(void *arr, size_t n, size_t elem, bool wipe);

/* Splits value on commas and blanks and calls fn for each item. */
void conf_split_list(char *value, void (*fn)(void *user, const char *item, int line),
		     void *user, int line);

char *conf_trim(char *s);

#endif
