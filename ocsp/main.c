/*
 * autosmime-ocspd: the OCSP responder of the autosmime CA. Owns the process: options, the
 * configuration, the store opened the way autosmimectl opens it (with the CA keys, so that
 * responder certificates can be renewed), the store watcher (the milter and autosmimectl write
 * meanwhile; the store heals itself), the responder (ca_ocsp) and the HTTP side (http.c), and
 * SIGTERM/SIGINT for a clean stop. It stays in the foreground: the service manager runs it.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/cmdline.h"
#include "common/log.h"
#include "common/util.h"
#include "ocsp/http.h"

#define PROG "autosmime-ocspd"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: " PROG " [-fnV] [-d] [-c config]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       print the effective configuration and exit\n"
	    "  -f       log to stderr as well\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n", AS_CONF_DEFAULT_PATH);
}

static int
open_ca(const struct as_conf *conf, struct ca **ca)
{
	struct ca_params p;
	struct ca_error err = { "" };
	char safe[300];

	ca_params_from_conf(&p, conf, false);
	if (ca_open(&p, ca, &err) != CA_OK || ca_watch_start(*ca, &err) != CA_OK) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=%s",
		    as_log_value(err.text, safe, sizeof(safe)));
		return -1;
	}
	return 0;
}

/* The ids of the store's issuing CAs (at most 64, as the CA loads). */
struct ids {
	char id[64][41];
	size_t n;
};

static int
ids_cb(const struct ca_authority *a, void *arg)
{
	struct ids *ids = arg;

	if (ids->n < sizeof(ids->id) / sizeof(ids->id[0]))
		snprintf(ids->id[ids->n++], sizeof(ids->id[0]), "%s", a->id);
	return 0;
}

/* Each issuing CA's responder is made or renewed at start, so a missing key shows at once. */
static void
prepare(struct ca *ca, struct ca_ocsp *ocsp)
{
	struct ca_error err = { "" };
	struct ids ids = { .n = 0 };
	char safe[300];
	size_t i;
	X509 *x;

	if (ca_authority_foreach(ca, ids_cb, &ids, &err) != CA_OK)
		as_log(AS_LEVEL_WARNING, NULL, "event=start reason=%s",
		    as_log_value(err.text, safe, sizeof(safe)));
	for (i = 0; i < ids.n; i++) {
		x = NULL;
		if (ca_ocsp_responder(ocsp, ids.id[i], &x, &err) != CA_OK)
			as_log(AS_LEVEL_WARNING, NULL, "event=ocsp-responder ca=%s status=failed "
			    "reason=%s", ids.id[i], as_log_value(err.text, safe, sizeof(safe)));
		X509_free(x);
	}
}

static int
serve(const struct as_conf *conf)
{
	struct ca_ocsp_params op = { 0 };
	struct ocsp_http_params hp = { 0 };
	struct ca_error err = { "" };
	struct ca *ca = NULL;
	struct ca_ocsp *ocsp = NULL;
	struct ocsp_http *http = NULL;
	char why[300], safe[400];
	sigset_t set;
	int sig = 0, rc = 1;

	/* every thread started from here on leaves the stop signals to sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_ca(conf, &ca) < 0)
		goto out;
	op.validity = conf->ocsp_validity;
	op.responder_validity = conf->ocsp_responder_validity;
	op.cache_max = (unsigned)conf->ocsp_cache_size;
	op.actor = "ocspd";
	op.transient_ca_keys = true;   /* this process serves the network: no CA key kept */
	if (ca_ocsp_new(ca, &op, &ocsp, &err) != CA_OK) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=%s",
		    as_log_value(err.text, safe, sizeof(safe)));
		goto out;
	}
	prepare(ca, ocsp);
	hp.listen = conf->ocsp_listen;
	hp.url = conf->ocsp_url[0] != '\0' ? conf->ocsp_url : NULL;
	hp.connections = (unsigned)conf->ocsp_connections;
	if (ocsp_http_start(&hp, ca, ocsp, &http, why, sizeof(why)) < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=%s",
		    as_log_value(why, safe, sizeof(safe)));
		goto out;
	}
	as_log(AS_LEVEL_NOTICE, NULL, "event=start listen=%s validity=%lld responder_validity=%lld",
	    conf->ocsp_listen, conf->ocsp_validity, conf->ocsp_responder_validity);
	/* SIGHUP is taken and ignored: nothing is re-read without a restart */
	do {
		if (sigwait(&set, &sig) != 0)
			break;
	} while (sig == SIGHUP);
	as_log(AS_LEVEL_NOTICE, NULL, "event=stop signal=%d", sig);
	rc = 0;
out:
	ocsp_http_stop(http);    /* no handler runs after this */
	ca_ocsp_free(ocsp);
	ca_close(ca);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = AS_CONF_DEFAULT_PATH;
	int path_given = 0, check = 0, dump = 0, to_stderr = 0, c, rc;
	struct as_conf *conf;

	while ((c = getopt(argc, argv, "c:dfhnV")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			path_given = 1;
			break;
		case 'd':
			dump = 1;
			break;
		case 'f':
			to_stderr = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("%s\n", as_version_line());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = as_cmdline_early(PROG, check, dump, path, path_given)) >= 0)
		return rc;
	if ((conf = as_cmdline_load_conf(PROG, path, path_given)) == NULL)
		return 1;
	as_log_open(PROG, conf->syslog_facility, conf->log_level, to_stderr != 0);
	rc = serve(conf);
	as_log_close();
	as_conf_free(conf);
	return rc;
}
