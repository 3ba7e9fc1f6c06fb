/* `edgebench netlab`: the overlay lab's namespace world on its own (plumbing
 * under `edgebench lab --overlay wireguard`, and its cleanup). */
#ifndef EB_NETLAB_NLCLI_H
#define EB_NETLAB_NLCLI_H

int netlab_main(int argc, char **argv);

/* `lab cleanup` / `netlab cleanup [--force]`: argv[0] is the word "cleanup";
 * prog ("edgebench lab cleanup") names the command in messages. */
int netlab_cleanup_main(const char *prog, int argc, char **argv);

#endif
