/* Cuts off HTTP clients that send a request too slowly (one byte a second
 * would reset an inactivity timeout forever): each connection gets a
 * deadline from the first byte of a request until the request is complete.
 *
 * The guard creates each connection's bufferevent for evhttp
 * (evhttp_set_bevcb), watches its input buffer, and holds a reference on it,
 * so a deadline can never touch a freed connection or a reused descriptor. A
 * sweep four times a second releases the connections evhttp has freed and shuts
 * down those past their deadline. Event-loop thread only. */
#ifndef EB_BACKEND_SLOWGUARD_H
#define EB_BACKEND_SLOWGUARD_H

#include <event2/event.h>
#include <event2/http.h>

struct slowguard;

struct slowguard *slowguard_new(struct event_base *base, struct evhttp *http, long deadline_s);
/* After evhttp_free: releases what is left. */
void slowguard_free(struct slowguard *g);
/* The request was read completely and is being handled: no deadline now. */
void slowguard_request_start(struct slowguard *g, struct evhttp_request *req);
/* The reply is going out: the next byte starts the next request's deadline. */
void slowguard_request_done(struct slowguard *g, struct evhttp_request *req);

#endif
