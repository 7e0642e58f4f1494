/* SPDX-License-Identifier: ISC */
/*
 * mock_reqlog: the bounded log of the requests the mock received, with
 * when each was answered or abandoned, served as JSON on
 * GET /_mock/requests.
 */
#ifndef MOCK_REQLOG_H
#define MOCK_REQLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct exch;

/* Size the log for cap entries; 0 turns it off. */
void	mock_reqlog_init(size_t cap);
/* Log ex's request (body: len bytes) as entry ex->seq. */
void	mock_reqlog_add(struct exch *ex, const char *body, size_t len);
/* Note that we sent the last byte of entry seq (or closed it) at ms. */
void	mock_reqlog_finished(uint64_t seq, double ms);
/* Note that the client of entry seq left early, at ms. */
void	mock_reqlog_closed(uint64_t seq, double ms);
/* Drop every entry; sequence numbers go on, never reused. */
void	mock_reqlog_clear(void);
/* Drop every entry and the ring that held them. */
void	mock_reqlog_free(void);
/* Describe the whole log, oldest first: {"requests":[...]}. */
json_t	*mock_reqlog_json(void);

#endif /* MOCK_REQLOG_H */
