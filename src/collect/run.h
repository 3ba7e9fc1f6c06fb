/* `edgebench run`: the collector's command line. */
#ifndef EB_COLLECT_RUN_H
#define EB_COLLECT_RUN_H

int run_main(int argc, char **argv);

#endif
