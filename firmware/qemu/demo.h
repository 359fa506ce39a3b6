#ifndef KN_DEMO_H
#define KN_DEMO_H

/* Runs each kernel family once on small built-in data with its workspace in a static
 * buffer, prints one line per result ("name: v1 v2 ..."), and returns 0 if every call
 * returned the status it should. */
int kn_demo_run(void);

#endif
