/* SPDX-License-Identifier: ISC */
/*
 * xmalloc: allocation that never returns NULL.
 *
 * Running out of memory in a proxy that holds thousands of small buffers
 * has no useful recovery; these abort with a message instead, so callers
 * need no NULL checks.  Pure.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
int	 xasprintf(char **ret, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **ret, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

#endif /* XMALLOC_H */
