/* SPDX-License-Identifier: ISC */
/*
 * confkey: the configuration key table, and the man page written from it.
 *
 * Every key llmproxyd.conf may hold is one entry here: its name, type,
 * scope (top level, a provider's group or one of its model groups),
 * default, bounds, the field it fills, the check of its value and its
 * documentation.  config.c parses, checks, defaults and frees by walking
 * this table, and confkey_write_reference() writes llmproxyd.conf(5)'s
 * key reference from it, so no key is parsed without being documented.  Pure: no libevent,
 * no clock.
 */
#ifndef CONFKEY_H
#define CONFKEY_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum confkey_type {
	CONFKEY_INT,		/* long long */
	CONFKEY_FLOAT,		/* double; an integer is accepted */
	CONFKEY_BOOL,		/* int, 0 or 1 */
	CONFKEY_STRING,		/* char *, NULL when not given */
	CONFKEY_LIST,		/* char ** and a size_t count */
	CONFKEY_ENUM,		/* int: index into names[] */
	CONFKEY_PROVIDERS,	/* the list of provider groups */
	CONFKEY_MODELS,		/* a provider's list of model groups */
	CONFKEY_CLIENTS,	/* the list of client groups */
	CONFKEY_REDIS		/* the redis group */
};

enum confkey_scope {
	CONFKEY_SCOPE_TOP,
	CONFKEY_SCOPE_PROVIDER,
	CONFKEY_SCOPE_MODEL,
	CONFKEY_SCOPE_CLIENT,
	CONFKEY_SCOPE_REDIS
};

/*
 * No default: the loader refuses a file without it.  Only for a STRING,
 * a LIST or the PROVIDERS (a number always holds its default).
 */
#define CONFKEY_REQUIRED	0x1
#define CONFKEY_ABOVE_MIN	0x2	/* fmin itself is out of range */

/* One configuration key: how to parse, check, default and document it. */
struct confkey {
	const char		*name;
	enum confkey_type	 type;
	enum confkey_scope	 scope;
	int			 flags;
	size_t			 off;		/* the field in its struct */
	size_t			 noff;		/* LIST: its size_t count */
	long long		 idef, imin, imax;	/* INT, BOOL, ENUM */
	double			 fdef, fmin, fmax;	/* FLOAT */
	const char		*sdef;		/* STRING, LIST; NULL: none */
	const char *const	*names;		/* ENUM: value i is names[i] */
	const char		*(*check)(char *);	/* NULL or why not */
	const char		*doc;
};

/* Every key, top level first; llmproxyd.conf(5) lists them in this order. */
extern const struct confkey	confkey_table[];
extern const size_t		confkey_count;

/* Return the key called name in scope, or NULL. */
const struct confkey *confkey_find(const char *name,
		    enum confkey_scope scope);
/* Write names as "a, b, c" into buf (len bytes); return buf. */
char		*confkey_join_names(const char *const *names, char *buf,
		    size_t len);
/* Write the key table as man(7) source for llmproxyd.conf(5). */
void		 confkey_write_reference(FILE *f);
/* Name of a log level ("info"), of a dialect ("openai"). */
const char	*confkey_log_level_name(enum log_level level);
const char	*confkey_dialect_name(enum dialect d);

#endif /* CONFKEY_H */
