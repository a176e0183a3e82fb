/*
 * fuzz_conf: the configuration parser on arbitrary bytes: it must return a configuration or a
 * file:line error, never crash, leak or read out of bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/conf.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_conf_error err;
	struct as_conf *conf;
	FILE *fp;

	if (size == 0)
		return 0;
	fp = fmemopen((void *)data, size, "r");
	if (fp == NULL)
		return 0;
	conf = as_conf_load_stream(fp, "fuzz", &err);
	fclose(fp);
	if (conf != NULL) {
		/* a configuration that parsed must also dump and parse again */
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);

		if (out != NULL) {
			as_conf_dump(conf, out);
			fclose(out);
			fp = fmemopen(text, len, "r");
			if (fp != NULL) {
				struct as_conf *again = as_conf_load_stream(fp, "dump", &err);

				fclose(fp);
				if (again == NULL) {
					fprintf(stderr, "dump does not parse again: %s\n%.*s\n",
					    err.text, (int)len, text);
					abort();
				}
				as_conf_free(again);
			}
			free(text);
		}
		as_conf_free(conf);
	}
	return 0;
}
