/* `edgebench overlay`: the WireGuard plan (keys, addresses), its checks, and
 * the hub, spoke and deploy files rendered from it. */
#ifndef EB_OVERLAY_OVERLAY_H
#define EB_OVERLAY_OVERLAY_H

int overlay_main(int argc, char **argv);

#endif
