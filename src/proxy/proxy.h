/* `edgebench proxy`: the geo-routing TCP proxy, and `edgebench proxy routes`. */
#ifndef EB_PROXY_PROXY_H
#define EB_PROXY_PROXY_H

int proxy_main(int argc, char **argv);

#endif
