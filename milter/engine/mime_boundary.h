/*
 * mime_boundary: multipart boundaries for the messages the engine builds.
 */
#ifndef AUTOSMIME_MILTER_MIME_BOUNDARY_H
#define AUTOSMIME_MILTER_MIME_BOUNDARY_H

#include <stddef.h>

/* "smime-" and 32 hex digits. */
#define MIME_BOUNDARY_LEN 38

/* Write a fresh boundary (NUL-terminated) into b; cap >= MIME_BOUNDARY_LEN + 1. 0 or -1. */
int mime_boundary_make(char *b, size_t cap);

#endif
