/* `edgebench lab`: the whole benchmark on one machine. */
#ifndef EB_LAB_LAB_H
#define EB_LAB_LAB_H

int lab_main(int argc, char **argv);

#endif
