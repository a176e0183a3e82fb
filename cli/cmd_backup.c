/*
 * cmd_backup: `autosmimectl backup DIR` (a hot copy of the store into a new or empty DIR,
 * recovered and verified as a store of its own) and `autosmimectl restore DIR` (a checked
 * backup in place of the store, which no process may have open; the old store is kept aside).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool
dir_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool empty = true;

	if (d == NULL)
		return false;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

/* An absolute, new or empty directory outside the store; created 0700. EX_CLI_* code. */
static int
backup_target(struct cli *cli, const char *dir)
{
	char store[PATH_MAX], parent[PATH_MAX], *slash;
	size_t n;

	if (dir[0] != '/')
		return cli_usage(cli, "backup DIR: DIR must be an absolute path");
	bool made = mkdir(dir, 0700) == 0;

	if (!made && (errno != EEXIST || !dir_empty(dir))) {
		fprintf(stderr, "%s: error: %s must be a new or empty directory%s%s\n", cli->prog,
		    dir, errno != EEXIST ? ": " : "", errno != EEXIST ? strerror(errno) : "");
		return EX_CLI_ERROR;
	}
	chmod(dir, 0700);
	snprintf(parent, sizeof(parent), "%s", dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	if (realpath(cli->conf->store_dir, store) != NULL && realpath(dir, parent) != NULL &&
	    (n = strlen(store), strncmp(parent, store, n) == 0 &&
	    (parent[n] == '/' || parent[n] == '\0'))) {
		fprintf(stderr, "%s: error: %s is inside store_dir %s\n", cli->prog, dir, store);
		if (made)
			rmdir(dir);
		return EX_CLI_USAGE;
	}
	return EX_CLI_OK;
}

int
cmd_backup(struct cli *cli, int argc, char **argv)
{
	struct ca_backup_info info;
	struct ca_error err = { "" };
	struct ca_params p;
	struct timespec t0;
	int r;

	if (argc != 2)
		return cli_usage(cli, "backup DIR");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = backup_target(cli, argv[1])) != EX_CLI_OK)
		return r;
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	r = ca_backup(cli->ca, argv[1], &err);
	ca_close(cli->ca);
	cli->ca = NULL;
	if (r != CA_OK)
		return cli_fail(cli, r, &err);
	cli_ca_params(cli, &p, true);
	p.store_dir = argv[1];
	if ((r = ca_backup_check(&p, &info, &err)) != CA_OK) {
		fprintf(stderr, "%s: error: the backup in %s does not check out: %s\n", cli->prog,
		    argv[1], err.text);
		return EX_CLI_ERROR;
	}
	printf("backup=ok dir=%s certificates=%llu audit_records=%llu bytes=%llu seconds=%.2f\n",
	    argv[1], (unsigned long long)info.certificates,
	    (unsigned long long)info.audit_records, info.bytes, seconds_since(&t0));
	return EX_CLI_OK;
}

int
cmd_restore(struct cli *cli, int argc, char **argv)
{
	struct ca_backup_info info;
	struct ca_error err = { "" };
	struct ca_params p;
	char previous[4200];
	struct stat sb;
	int r;

	if (argc != 2)
		return cli_usage(cli, "restore DIR");
	if (argv[1][0] != '/' || stat(argv[1], &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "%s: error: %s is not a backup directory (absolute path)\n",
		    cli->prog, argv[1]);
		return EX_CLI_USAGE;
	}
	cli_ca_params(cli, &p, true);
	r = ca_restore(&p, argv[1], &info, previous, sizeof(previous), &err);
	if (r != CA_OK) {
		fprintf(stderr, "%s: %s: restore: %s\n", cli->prog,
		    r == CA_INVALID ? "refused" : "error", err.text);
		return r == CA_INVALID ? EX_CLI_REFUSED : EX_CLI_ERROR;
	}
	printf("restore=ok from=%s store_dir=%s previous=%s certificates=%llu audit_records=%llu\n",
	    argv[1], p.store_dir, previous[0] ? previous : "-",
	    (unsigned long long)info.certificates, (unsigned long long)info.audit_records);
	return EX_CLI_OK;
}
