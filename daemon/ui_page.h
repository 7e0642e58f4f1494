/* SPDX-License-Identifier: ISC */
/*
 * ui_page: the status page as compiled in.  The definitions are generated
 * at build time by uigen from daemon/ui.html (ui_page.c, in the build
 * directory); only ui.c reads them.
 */
#ifndef UI_PAGE_H
#define UI_PAGE_H

#include <stddef.h>

/* The page's bytes (not NUL-terminated) and their length. */
extern const unsigned char	ui_page_html[];
extern const size_t		ui_page_len;
/* The Content-Security-Policy, with the hashes of its script and style. */
extern const char		ui_page_csp[];

#endif /* UI_PAGE_H */
