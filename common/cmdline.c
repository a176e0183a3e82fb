/*
 * cmdline: configuration loading, -n and -d, written once for the daemon and the CLI.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/cmdline.h"
#include "common/util.h"
#include "common/conf_warn.h"

struct as_conf *
as_cmdline_load_conf(const char *prog, const char *path, int path_given)
{
	struct as_conf_error err = { "" };
	struct as_conf *conf;
	struct stat st;

	if (!path_given && stat(path, &st) < 0 && errno == ENOENT) {
		conf = as_conf_defaults();
		if (conf == NULL)
			fprintf(stderr, "%s: out of memory\n", prog);
		return conf;
	}
	conf = as_conf_load(path, &err);
	if (conf == NULL)
		fprintf(stderr, "%s: %s\n", prog, err.text);
	return conf;
}

int
as_cmdline_check(const char *prog, const char *path, int path_given)
{
	struct as_conf *conf = as_cmdline_load_conf(prog, path, path_given);

	struct as_conf_warning w[AS_CONF_WARN_MAX];
	size_t i, n;

	if (conf == NULL)
		return 1;
	n = as_conf_warnings(conf, w, AS_CONF_WARN_MAX);
	for (i = 0; i < n && i < AS_CONF_WARN_MAX; i++)
		fprintf(stderr, "%s: warning: %s\n", path, w[i].text);
	if (n > 0)
		printf("%s: configuration ok, %zu warning%s\n", path, n, n == 1 ? "" : "s");
	else
		printf("%s: configuration ok\n", path);
	as_conf_free(conf);
	return 0;
}

int
as_cmdline_dump(const char *prog, const char *path, int path_given)
{
	struct as_conf *conf = as_cmdline_load_conf(prog, path, path_given);

	if (conf == NULL)
		return 1;
	as_conf_dump(conf, stdout);
	as_conf_free(conf);
	return 0;
}

int
as_cmdline_early(const char *prog, int check, int dump, const char *path, int path_given)
{
	char why[256];

	if (as_openssl_check(why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, why);
		return 1;
	}
	if (check)
		return as_cmdline_check(prog, path, path_given);
	if (dump)
		return as_cmdline_dump(prog, path, path_given);
	return -1;
}
