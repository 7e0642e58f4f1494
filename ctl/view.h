/* SPDX-License-Identifier: ISC */
/*
 * view: one frame of `llmproxyctl top`, rendered as text lines.
 */
#ifndef VIEW_H
#define VIEW_H

#include <stddef.h>

#include "snap.h"

#define VIEW_BAR	16		/* bucket bar width, in columns */
#define VIEW_WAIT_WINDOW_S 10		/* percentiles over this long */

/* What one frame shows. */
struct view_in {
	const char		*url;
	const struct snap	*cur;	/* the latest reading */
	const struct snap	*prev;	/* the one before it: rates */
	const struct snap	*old;	/* the oldest kept: percentiles */
	const char		*problem;	/* the last GET failed: why */
	int			 unreachable;	/* ... with no answer */
	long			 failures;	/* failed GETs in a row */
	double			 wall_s;	/* Unix time now */
	int			 width;
	int			 height;	/* 0: as many lines as needed */
	int			 colour;	/* add SGR sequences */
	int			 interactive;	/* show the key help */
};

/*
 * Render a frame: lines ending in '\n' (but for the last when a height
 * is given), none wider than width columns, at most height of them.
 * Bytes the daemon sent that are not printable ASCII print as '?'.  The
 * caller frees the text.
 */
char	*view_render(const struct view_in *in, size_t *len);

#endif /* VIEW_H */
