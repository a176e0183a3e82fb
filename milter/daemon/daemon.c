/*
 * daemon: runs autosmime-milter. Loads the configuration, opens the CA and the key cache, and
 * either transforms one file (offline mode, -t) or serves libmilter: create the socket, then
 * daemonise, write the pid file, drop privileges, start the signal thread and smfi_main.
 * Owns the process runtime (snapshot, CA handle, key cache) for the life of the process.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/cmdline.h"
#include "common/domain_profile.h"
#include "common/log.h"
#include "milter/daemon/daemon.h"
#include "milter/daemon/fdlimit.h"
#include "milter/process/enrol_hook.h"
#include "milter/process/keycache.h"
#include "milter/daemon/milterlib.h"
#include "milter/daemon/offline.h"
#include "milter/daemon/procsetup.h"
#include "milter/daemon/sdnotify.h"
#include "milter/process/runtime.h"
#include "milter/daemon/signals.h"

#define KEYCACHE_MAX_ENTRIES 10000

/* The key types this configuration issues (key_type and domain_profiles), as pool bits. */
static unsigned
keypool_types(const struct as_conf *conf)
{
	struct as_domain_profile defaults, dp;
	unsigned bits = 0;
	int t;

	as_domain_profile_defaults(conf, &defaults);
	if ((t = ca_key_type_parse(as_conf_enum_word("key_type", conf->key_type))) >= 0)
		bits |= 1u << t;
	if ((t = ca_key_type_parse(as_conf_enum_word("encryption_key_type",
	    conf->encryption_key_type))) >= 0)
		bits |= 1u << t;
	for (size_t i = 0; i < conf->domain_profiles.count; i++) {
		char why[160];

		if (as_domain_profile_parse(conf->domain_profiles.item[i], &defaults, &dp, why,
		        sizeof(why)) == 0 &&
		    (t = ca_key_type_parse(as_conf_enum_word("key_type", dp.key_type))) >= 0)
			bits |= 1u << t;
	}
	return bits;
}

static int
open_ca(struct milter_runtime *rt, const struct as_conf *conf)
{
	struct ca_params params = { 0 };
	struct ca_error err = { "" };
	char safe[300];

	params.store_dir = conf->store_dir;
	params.kek_file = conf->key_encryption_key_file;
	params.ca_passphrase_file = conf->ca_passphrase_file;
	params.base_url = conf->ca_base_url;
	params.crl_dir = conf->crl_dir;
	params.organization_name = conf->organization_name;
	params.organization_identifier = conf->organization_identifier;
	params.organization_country = conf->organization_country;
	params.pkcs11_module = conf->ca_pkcs11_module;   /* CA keys in a token (empty: unused) */
	params.pkcs11_pin_file = conf->ca_pkcs11_pin_file;
	params.ocsp_url = conf->ocsp_url;   /* dup_or_null: empty means no OCSP */
	params.keypool = true;   /* CA-made RSA keys come ready from a pool: enrolment never waits */
	params.keypool_warm = keypool_types(conf);
	ca_params_encryption(&params, as_conf_enum_word("encryption_key_type",
	    conf->encryption_key_type));
	if (ca_open(&params, &rt->ca, &err) != CA_OK) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed stage=ca reason=%s",
		    as_log_value(err.text, safe, sizeof(safe)));
		return -1;
	}
	rt->keys = keycache_new(rt->ca, rt->now, KEYCACHE_MAX_ENTRIES);
	if (rt->keys == NULL) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed stage=keycache");
		return -1;
	}
	if (rt->current != NULL)
		enrol_hook_prepare(rt, rt->current);   /* logs a bad enrolment setting now */
	/* a bad trust anchor or CRL cache setting shows now, not at the first inbound message */
	if (rt->current != NULL && runtime_inbound_start(rt) < 0)
		as_log(AS_LEVEL_WARNING, NULL, "event=start stage=inbound status=degraded "
		    "reason=\"inbound processing could not be set up; retried per message\"");
	return 0;
}

static void
close_ca(struct milter_runtime *rt)
{
	enrol_hook_shutdown();   /* its databases live in the CA's store */
	keycache_free(rt->keys);
	rt->keys = NULL;
	if (rt->ca != NULL)
		ca_close(rt->ca);
	rt->ca = NULL;
}

/* Socket, then the identity change; everything that needs root happens here. */
static int
open_socket(const struct as_conf *conf, const char **unix_path, uid_t *uid, gid_t *gid,
    bool *drop)
{
	char safe[300];
	int n;

	*drop = false;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() == 0) {
		if (procsetup_user(conf->user, uid, gid) < 0) {
			as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"unknown user\" "
			    "user=%s", as_log_value(conf->user, safe, sizeof(safe)));
			return -1;
		}
		*drop = true;
	}
	if (smfi_setconn(conf->socket) != MI_SUCCESS ||
	    smfi_settimeout((int)conf->milter_timeout) != MI_SUCCESS) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"bad socket\" socket=%s",
		    as_log_value(conf->socket, safe, sizeof(safe)));
		return -1;
	}
	umask(0077);
	/* true: remove a stale unix socket first */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"cannot create socket\" "
		    "socket=%s", as_log_value(conf->socket, safe, sizeof(safe)));
		return -1;
	}
	*unix_path = procsetup_unix_path(conf->socket);
	if (*unix_path != NULL && procsetup_socket_perms(*unix_path, conf->socket_mode,
	    *drop ? *uid : (uid_t)-1, *gid) < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"socket permissions\"");
		return -1;
	}
	if (*unix_path == NULL) {
		n = procsetup_nodelay_listeners();
		as_log(AS_LEVEL_DEBUG, NULL, "event=nodelay listeners=%d", n);
	}
	return 0;
}

static int
serve(struct milter_runtime *rt, const struct daemon_options *opts)
{
	/* our own reference: a SIGHUP may replace the current snapshot while we serve */
	struct snapshot *snap = runtime_acquire(rt);
	const struct as_conf *conf = snap->conf;
	const char *unix_path = NULL;
	struct ca_error cerr = { "" };
	char safe[300];
	uid_t uid;
	gid_t gid;
	bool drop, pidfile = false;
	int r = 1;

	sdnotify_init();
	if (procsetup_pidfile_check(conf->pid_file) < 0)
		goto out;
	(void)fdlimit_raise();   /* one descriptor per MTA connection: 1024 is too few */
	if (milterlib_register(rt) < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"smfi_register\"");
		goto out;
	}
	if (open_socket(conf, &unix_path, &uid, &gid, &drop) < 0)
		goto out;
	if (!opts->foreground && procsetup_daemonize() < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=daemonize");
		goto out;
	}
	if (procsetup_pidfile_write(conf->pid_file) < 0)
		as_log(AS_LEVEL_WARNING, NULL, "event=pidfile status=failed path=%s",
		    as_log_value(conf->pid_file, safe, sizeof(safe)));
	else
		pidfile = true;
	if (drop) {
		if (procsetup_drop(conf->user, uid, gid) < 0) {
			as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"cannot drop "
			    "privileges\" user=%s", as_log_value(conf->user, safe, sizeof(safe)));
			goto out;
		}
	} else
		as_log(AS_LEVEL_NOTICE, NULL, "event=privileges status=kept reason=not-root uid=%ld",
		    (long)getuid());
	if (signals_block() < 0 || open_ca(rt, conf) < 0)
		goto out;
	if (ca_watch_start(rt->ca, &cerr) != CA_OK) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=%s", cerr.text);
		goto out;
	}
	if (signals_start(rt, opts->conf_path, opts->conf_path_given) < 0)
		goto out;
	as_log(AS_LEVEL_NOTICE, NULL, "event=start status=ok socket=%s version=%s",
	    as_log_value(conf->socket, safe, sizeof(safe)), PACKAGE_VERSION);
	procsetup_ready(1);
	sdnotify_send("READY=1\nSTATUS=serving");
	if (smfi_main() != MI_SUCCESS && !signals_stop_requested())
		as_log(AS_LEVEL_ERR, NULL, "event=stop status=failed reason=smfi_main");
	else
		r = 0;
	/* the socket is closed: a new daemon may start while this one closes the store */
	if (pidfile)
		procsetup_pidfile_remove(conf->pid_file);
	pidfile = false;
	signals_stop();
	as_log(AS_LEVEL_NOTICE, NULL, "event=stop status=ok");
out:
	procsetup_ready(0);
	/* a start that failed leaves no socket behind for the MTA to find */
	if (r != 0 && unix_path != NULL && unlink(unix_path) == 0)
		as_log(AS_LEVEL_NOTICE, NULL, "event=stop socket=removed");
	close_ca(rt);
	if (pidfile)
		procsetup_pidfile_remove(conf->pid_file);
	runtime_release(rt, snap);
	return r;
}

int
daemon_main(const struct daemon_options *opts)
{
	struct milter_runtime rt = { 0 };
	struct snapshot *snap;
	struct as_conf *conf;
	bool offline = opts->offline_file != NULL;
	char why[512];
	int r = 1;

	if (offline && (opts->offline_sender == NULL || *opts->offline_sender == '\0')) {
		fprintf(stderr, "autosmime-milter: -t needs -s sender\n");
		return 2;
	}
	conf = as_cmdline_load_conf("autosmime-milter", opts->conf_path, opts->conf_path_given);
	if (conf == NULL)
		return 1;
	/* under systemd stderr is the journal: syslog keeps the facility, so mail.log has it */
	as_log_open("autosmime-milter", conf->syslog_facility, conf->log_level,
	    (opts->foreground && !procsetup_stderr_is_journal()) || offline);
	snap = snapshot_new(conf, why, sizeof(why)); /* conf transferred */
	if (snap == NULL) {
		fprintf(stderr, "autosmime-milter: %s\n", why);
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=%s", why);
		return 1;
	}
	if (runtime_init(&rt, snap) < 0)
		return 1;
	if (offline) {
		struct offline_request req = { opts->offline_file, opts->offline_sender,
			opts->recipients, opts->recipient_count };

		if (open_ca(&rt, rt.current->conf) == 0)
			r = offline_run(&rt, &req, stdout);
		close_ca(&rt);
	} else
		r = serve(&rt, opts);
	runtime_destroy(&rt);
	as_log_close();
	return r;
}
