/* SPDX-License-Identifier: ISC */
/*
 * top: `llmproxyctl top`, the live view of a running daemon.
 */
#ifndef TOP_H
#define TOP_H

/*
 * Show the daemon at url (token: NULL or its client token) every second
 * until `q`, SIGINT or SIGTERM (exit 0), or, when frames > 0, for that
 * many frames (then exit as the last GET ended: 0, 1 or 3).
 */
int	top_run(const char *url, const char *token, long frames);

#endif /* TOP_H */
