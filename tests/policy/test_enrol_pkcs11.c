/*
 * test_enrol_pkcs11: the daemon's issuance path (enrolment reply -> ca_issue) with the issuing
 * CA key in a PKCS#11 token. Run by enrol_pkcs11.sh, which makes the SoftHSM2 token and its
 * key and names them in ENROL_PKCS11_MODULE, ENROL_PKCS11_PIN_FILE and ENROL_PKCS11_KEY_URI.
 * A reply issues a certificate signed by the token key; after a restart with a wrong PIN the
 * next reply is a temporary failure that issues nothing and leaves the challenge open, so the
 * same reply issues after a restart with the right PIN. Each restart is a new process
 * (`test_enrol_pkcs11 STATE`, then `wrong-pin DIR`, then `retry DIR`), as a daemon's is: a
 * PKCS#11 login lasts as long as the process that made it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/policy/enrol_fixture.h"
#include "tests/tap.h"

static int
active_cb(const struct ca_authority *a, void *arg)
{
	X509 **out = arg;

	if (a->active && X509_up_ref(a->cert))
		*out = a->cert;
	return a->active;
}

/* Signed by the active issuing CA, whose key the store names only by its token URI. */
static bool
signed_in_token(const char *serial)
{
	struct ca_cert_info info;
	struct ca_error err;
	struct stat sb;
	X509 *ica = NULL;
	char path[256], id[41];
	bool ok = false;

	memset(&info, 0, sizeof(info));
	if (ca_authority_foreach(ca, active_cb, &ica, &err) != CA_OK || ica == NULL ||
	    ca_cert_get(ca, serial, &info, &err) != CA_OK || info.cert == NULL)
		goto out;
	if (ca_root_id(ica, id) != CA_OK) /* its subject key identifier: the CA's id */
		goto out;
	snprintf(path, sizeof(path), "%s/store/ca/%s.key", dir, id);
	if (stat(path, &sb) == 0)
		goto out;
	snprintf(path, sizeof(path), "%s/store/ca/%s.uri", dir, id);
	ok = stat(path, &sb) == 0 && X509_verify(info.cert, X509_get0_pubkey(ica)) == 1;
out:
	X509_free(ica);
	ca_cert_info_free(&info);
	return ok;
}

static int
save(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	int ok = fp != NULL && fputs(text, fp) >= 0;

	return fp != NULL && fclose(fp) == 0 && ok ? 0 : -1;
}

static char *
load(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = fp != NULL ? calloc(1, 256 * 1024) : NULL;
	size_t n;

	if (buf != NULL) {
		n = fread(buf, 1, 256 * 1024 - 1, fp);
		buf[n] = '\0';
	}
	if (fp != NULL)
		fclose(fp);
	return buf;
}

/* First process: a CA whose issuing key is in the token; alice enrols, bob is challenged. */
static int
first(const char *state)
{
	char tok[AS_TOKEN_LEN + 1], path[160], *mail, *text;
	struct enrol_reply_facts f = facts_for("alice@example.org");
	struct enrol_reply_result res;
	time_t now = time(NULL);

	if (setup() < 0) {
		printf("Bail out! set-up failed (the token's issuing CA key)\n");
		return 1;
	}
	base_params(&params);
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		printf("Bail out! enrol_open: %s\n", err_buf);
		return 1;
	}
	mail = challenge_for("alice@example.org", now, tok);
	text = mail != NULL ? make_reply(mail, "alice@example.org", tok, tok) : NULL;
	reply(text, &f, now + 1, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED && signed_in_token(res.serial_hex),
	    "a reply issues a certificate signed by the token key (%s)",
	    enrol_reply_status_name(res.status));
	free(mail);
	free(text);
	/* bob's challenge goes out now: it is signed by the gateway's own key, not the CA's */
	mail = challenge_for("bob@example.org", now, tok);
	snprintf(path, sizeof(path), "%s/bob.challenge", dir);
	tap_ok(mail != NULL && save(path, mail) == 0 && save(state, dir) == 0,
	    "bob is challenged; the daemon stops");
	free(mail);
	enrol_close(ctx);
	ca_close(ca);
	return tap_done();
}

/* Later processes: the daemon restarted on the same store; bob replies. */
static int
again(const char *existing, bool wrong_pin)
{
	char tok[AS_TOKEN_LEN + 1], path[160], *mail = NULL, *text = NULL;
	struct enrol_reply_facts f = facts_for("bob@example.org");
	struct enrol_reply_result res;
	struct enrol_status s;
	time_t now = time(NULL);
	int certs;

	if (attach(existing) < 0) {
		printf("Bail out! cannot open the CA in %s\n", existing);
		return 1;
	}
	base_params(&params);
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		printf("Bail out! enrol_open: %s\n", err_buf);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bob.challenge", dir);
	if ((mail = load(path)) == NULL || token_of(mail, tok) < 0 ||
	    (text = make_reply(mail, "bob@example.org", tok, tok)) == NULL) {
		printf("Bail out! no challenge of bob's\n");
		return 1;
	}
	certs = cert_count();
	reply(text, &f, now, &res);
	if (wrong_pin) {
		tap_ok(res.status == ENROL_REPLY_TEMPFAIL && cert_count() == certs,
		    "wrong PIN: the reply is a temporary failure and nothing is issued (%s)",
		    enrol_reply_status_name(res.status));
		tap_ok(enrol_status(ctx, "bob@example.org", now + 1, &s, err_buf,
		    sizeof(err_buf)) == 0 && s.challenge_open && !s.certified,
		    "... and the challenge stays open");
		tap_ok(audit_scan().leaks == 0 && log_leaks() == 0,
		    "... the token is in neither the audit log nor the log lines");
	} else
		tap_ok(res.status == ENROL_REPLY_ISSUED && cert_count() == certs + 1 &&
		    signed_in_token(res.serial_hex),
		    "the PIN right again: the same reply issues, through the token (%s)",
		    enrol_reply_status_name(res.status));
	free(mail);
	free(text);
	enrol_close(ctx);
	ca_close(ca);
	if (!wrong_pin)
		fixture_cleanup();
	return tap_done();
}

int
main(int argc, char **argv)
{
	int r;

	if (getenv("ENROL_PKCS11_KEY_URI") == NULL)
		tap_skip_all("run by enrol_pkcs11.sh");
	as_log_set_sink(log_sink, NULL);
	if (argc == 2)
		r = first(argv[1]);
	else if (argc == 3)
		r = again(argv[2], strcmp(argv[1], "wrong-pin") == 0);
	else
		r = 2;
	as_log_set_sink(NULL, NULL);
	return r;
}
