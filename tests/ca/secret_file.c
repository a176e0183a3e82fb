/*
 * secret_file: see secret_file.h. Owns nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/ca/secret_file.h"

void
write_secret(const char *path, const char *value)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(value, fp) == EOF || fclose(fp) != 0 || chmod(path, 0600) != 0)
		exit(99);
}
