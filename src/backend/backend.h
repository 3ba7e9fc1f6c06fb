/* Entry points of the backend area: `edgebench backend` (the per-region HTTP
 * service) and `edgebench db` (schema, role, cleanup, diagnosis). */
#ifndef EB_BACKEND_BACKEND_H
#define EB_BACKEND_BACKEND_H

int backend_main(int argc, char **argv);
int db_main(int argc, char **argv);

#endif
