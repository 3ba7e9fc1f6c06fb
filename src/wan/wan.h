/* `edgebench wan`: a TCP and UDP relay that adds delay, jitter, loss and a rate limit. */
#ifndef EB_WAN_WAN_H
#define EB_WAN_WAN_H

int wan_main(int argc, char **argv);

#endif
