/* Cuts off HTTP clients that send a request too slowly (one byte a second
 * resets an inactivity timeout forever): each connection gets a deadline from
 * the first byte of a request until the request is complete. Implemented as
 * a filter bufferevent given to evhttp (evhttp_set_bevcb), so the guard lives
 * exactly as long as the connection. Event-loop thread only. */
#ifndef EB_BACKEND_SLOWGUARD_H
#define EB_BACKEND_SLOWGUARD_H

#include <event2/event.h>
#include <event2/http.h>

struct slowguard;

struct slowguard *slowguard_new(struct event_base *base, struct evhttp *http, long deadline_s);
void slowguard_free(struct slowguard *g);
/* The request was read completely and is being handled: no deadline now. */
void slowguard_request_start(struct slowguard *g, struct evhttp_request *req);
/* Call right before evhttp_send_reply: the next byte starts the next
 * request's deadline. Returns what slowguard_flush needs (may be NULL). */
void *slowguard_request_done(struct slowguard *g, struct evhttp_request *req);
/* Call right after evhttp_send_reply with what slowguard_request_done
 * returned: pushes the reply through the filter (a libevent 2.1 filter does
 * not process output that was added while writing was disabled). */
void slowguard_flush(void *token);

#endif
