/*
 * test_enrol: the enrolment API end to end with real parts: a CA created in a temporary
 * directory (ca_open + ca_init, Berkeley DB on disk), the enrolment databases in the same
 * environment, and a sendmail-compatible capture script (capture-sendmail.sh) that keeps every
 * injected mail. A new mailbox gets a challenge mail; a reply built from that mail (quoted, as a
 * mail client would) issues a certificate and a confirmation mail. Then the attack table of
 * issue 5, each refused with nothing issued, the same answer text, an audit record, and no
 * token anywhere in the audit log. With DNS_RESOLVER set (enrol_dns.sh) the CAA step runs
 * against the harness DNS too.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "tests/ca/domain_fixture.h"
#include "tests/policy/enrol_fixture.h"
#include "tests/tap.h"

/* One row of the attack table: refused, nothing issued, the standard answer, an audit
 * record, no token or challenge id in the answer. */
static void
expect_refused(const char *what, const char *text, const struct enrol_reply_facts *f,
    time_t now, const char *tok, const char *chal_id)
{
	struct enrol_reply_result res;
	int certs = cert_count(), refused = audit_scan().refused;

	reply(text, f, now, &res);
	tap_ok(res.status == ENROL_REPLY_REFUSED && cert_count() == certs &&
	    strcmp(res.answer, refused_answer) == 0 && strstr(res.answer, tok) == NULL &&
	    (chal_id == NULL || chal_id[0] == '\0' || strstr(res.answer, chal_id) == NULL) &&
	    audit_scan().refused == refused + 1, "attack: %s: refused, nothing issued, "
	    "standard answer, audited", what);
}

struct burst {
	const char *text;
	const struct enrol_reply_facts *f;
	time_t now;
	int issued, refused, other;
};

static pthread_mutex_t burst_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
burst_thread(void *arg)
{
	struct burst *b = arg;
	struct enrol_reply_result res;
	int i;

	for (i = 0; i < 125; i++) {
		reply(b->text, b->f, b->now, &res);
		pthread_mutex_lock(&burst_lock);
		if (res.status == ENROL_REPLY_ISSUED)
			b->issued++;
		else if (res.status == ENROL_REPLY_REFUSED)
			b->refused++;
		else
			b->other++;
		pthread_mutex_unlock(&burst_lock);
	}
	return NULL;
}

/*
 * Does `mail` verify with openssl cms against the CA root, signed by the enrolment address,
 * with `text` in the signed content? (An independent reader, not our own code.)
 */
static bool
signed_by_gateway(const char *mail, const char *text)
{
	char path[128], cmd[1024], *content = NULL;
	FILE *fp;
	bool ok;

	snprintf(path, sizeof(path), "%s/check.eml", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return false;
	fputs(mail, fp);
	if (fclose(fp) != 0)
		return false;
	snprintf(cmd, sizeof(cmd), "openssl cms -verify -CAfile %s/root.pem -in %s "
	    "-signer %s/signer.pem -out %s/content.txt 2>/dev/null && openssl x509 -in "
	    "%s/signer.pem -noout -ext subjectAltName | grep -q 'email:enrol@gw.example.org'",
	    dir, path, dir, dir, dir);
	if (system(cmd) != 0 || strstr(mail, "Content-Type: multipart/signed") == NULL)
		return false;
	snprintf(path, sizeof(path), "%s/content.txt", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	content = calloc(1, 65536);
	ok = content != NULL && fread(content, 1, 65535, fp) > 0 && strstr(content, text) != NULL;
	fclose(fp);
	free(content);
	return ok;
}

/* The happy path, reuse, renewal and the CLI functions. */
static void
flow_cases(time_t now)
{
	struct enrol_reply_facts f = facts_for("alice@example.org");
	struct enrol_reply_result res;
	struct enrol_decision d;
	struct enrol_status s;
	struct ca_cert_info info;
	struct ca_error cerr;
	struct audit_scan a;
	char tok[AS_TOKEN_LEN + 1], *mail, *text, *conf = NULL, args[600];
	int before, certs;
	bool due;
	time_t na;

	tap_ok(enrol_unenrolled_sender(ctx, "bob@unrelated.example", now, &d) == 0 &&
	    d.event == ENROL_EV_NOT_ELIGIBLE && d.action == ENROL_ACT_PASS,
	    "a sender outside local_domains is not eligible");
	tap_ok(enrol_unenrolled_sender(ctx, "root@example.org", now, &d) == 0 &&
	    d.event == ENROL_EV_NOT_ELIGIBLE, "an excluded mailbox is not eligible");
	tap_ok(enrol_unenrolled_sender(ctx, "enrol@gw.example.org", now, &d) == 0 &&
	    d.event == ENROL_EV_NOT_ELIGIBLE, "the enrolment address itself never enrols");
	/* A challenge that cannot be sent: pass means pass, tempfail means tempfail. */
	{
		struct enrol_params bp = params;
		struct enrol_ctx *bc = NULL;

		bp.sendmail_command = "/bin/false";
		bp.unenrolled_action = AS_UNENROLLED_PASS;
		if (enrol_open(&bp, &bc, err_buf, sizeof(err_buf)) == 0) {
			tap_ok(enrol_unenrolled_sender(bc, "ivy@example.org", now, &d) < 0 &&
			    d.event == ENROL_EV_ERROR && d.action == ENROL_ACT_PASS,
			    "unenrolled_action pass: a challenge that cannot be sent still passes "
			    "the mail");
			enrol_close(bc);
		}
		bp.unenrolled_action = AS_UNENROLLED_TEMPFAIL;
		if (enrol_open(&bp, &bc, err_buf, sizeof(err_buf)) == 0) {
			tap_ok(enrol_unenrolled_sender(bc, "ivy@example.org", now, &d) < 0 &&
			    d.action == ENROL_ACT_TEMPFAIL,
			    "unenrolled_action tempfail: the same failure tempfails");
			enrol_close(bc);
		}
	}
	/* HENRY@, Henry@ and henry@ are one mailbox, as Postfix delivers them. */
	before = outbox_read(NULL);
	tap_ok(enrol_unenrolled_sender(ctx, "henry@example.org", now, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_SENT && enrol_unenrolled_sender(ctx, "HENRY@example.org",
	    now, &d) == 0 && d.event == ENROL_EV_CHALLENGE_OPEN &&
	    enrol_unenrolled_sender(ctx, "Henry@Example.ORG", now, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_OPEN && outbox_read(NULL) == before + 1,
	    "henry@, HENRY@ and Henry@ share one open challenge: one mail sent");
	before = outbox_read(NULL);
	mail = challenge_for("alice@EXAMPLE.org", now, tok);
	tap_ok(mail != NULL, "a new mailbox gets a challenge mail through the sendmail command");
	if (mail == NULL)
		return;
	tap_ok(signed_by_gateway(mail, tok), "the challenge is S/MIME signed: openssl cms -verify "
	    "against the CA root, signer enrol@gw.example.org, the token in the signed text");
	{
		char *forged = strdup(mail), *h = forged != NULL ? strstr(forged, "Hello,") : NULL;

		if (h != NULL)
			h[1] = 'a';
		tap_ok(h != NULL && !signed_by_gateway(forged, "Hallo,"), "an imitation with the "
		    "text changed does not verify");
		free(forged);
	}
	tap_ok(strstr(mail, "Auto-Submitted: auto-generated; type=acme") != NULL &&
	    strstr(mail, "To: alice@example.org") != NULL &&
	    strstr(mail, "Reply-To: enrol@gw.example.org") != NULL,
	    "the challenge follows RFC 8823 and goes to the normalised mailbox");
	{
		char path[512];
		FILE *fp;
		DIR *dd = opendir(outbox);
		struct dirent *e;

		args[0] = '\0';
		while (dd != NULL && (e = readdir(dd)) != NULL)
			if (strstr(e->d_name, ".args") != NULL) {
				snprintf(path, sizeof(path), "%s/%s", outbox, e->d_name);
				if ((fp = fopen(path, "r")) != NULL) {
					size_t n = fread(args, 1, sizeof(args) - 1, fp);

					args[n] = '\0';
					fclose(fp);
				}
			}
		if (dd != NULL)
			closedir(dd);
		tap_ok(strstr(args, "-i\n-t\n-f\nenrol@gw.example.org") != NULL,
		    "sendmail gets -i -t and the enrolment address as envelope sender");
	}
	tap_ok(enrol_unenrolled_sender(ctx, "alice@example.org", now + 5, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_OPEN && outbox_read(NULL) == before + 1,
	    "no second challenge while one is open");
	tap_ok(enrol_status(ctx, "alice@example.org", now, &s, err_buf, sizeof(err_buf)) == 0 &&
	    s.eligible && s.challenge_open && !s.certified && s.challenge_expires == now + 3600,
	    "status: challenge open, not certified");
	certs = cert_count();
	text = make_reply(mail, "alice@example.org", tok, tok);
	reply(text, &f, now + 60, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED && res.confirmation_sent && res.serial_hex[0] &&
	    cert_count() == certs + 1, "the reply issues a certificate (%s)",
	    enrol_reply_status_name(res.status));
	tap_ok(ca_cert_get(ca, res.serial_hex, &info, &cerr) == CA_OK &&
	    strcmp(info.mailbox, "alice@example.org") == 0 && info.profile == CA_PROFILE_MAILBOX,
	    "the certificate is for the mailbox, mailbox-validated");
	ca_cert_info_free(&info);
	tap_ok(outbox_read(&conf) == before + 2 && conf != NULL &&
	    strstr(conf, "smime-type=certs-only") != NULL && strstr(conf, "To: alice@example.org"),
	    "the confirmation with the certificate is mailed");
	tap_ok(conf != NULL && signed_by_gateway(conf, "smime.p7c"), "the confirmation is signed "
	    "by the gateway certificate too");
	free(conf);
	expect_refused("reused token (the same reply again)", text, &f, now + 70, tok, NULL);
	free(text);
	tap_ok(enrol_status(ctx, "alice@example.org", now + 100, &s, err_buf, sizeof(err_buf)) == 0 &&
	    !s.challenge_open && s.validated && s.validation_reusable && s.certified &&
	    strstr(s.validation_evidence, "login=alice@example.org") != NULL &&
	    strstr(s.validation_evidence, "caa=allowed") != NULL,
	    "status: validated (evidence recorded), certified");
	a = audit_scan();
	tap_ok(a.leaks == 0 && a.records > 5, "the audit log has the steps (%d records) and no token",
	    a.records);
	/* Renewal. */
	tap_ok(enrol_renewal_due(ctx, "alice@example.org", now, &due, &na) == 0 && !due,
	    "renewal is not due for a new certificate");
	tap_ok(enrol_renewal_due(ctx, "alice@example.org", na - 29 * 86400, &due, NULL) == 0 && due,
	    "renewal is due within renew_before of expiry");
	before = outbox_read(NULL);
	certs = cert_count();
	tap_ok(enrol_renew(ctx, "alice@example.org", now + 200, &d) == 0 &&
	    d.event == ENROL_EV_ISSUED && d.action == ENROL_ACT_PASS && cert_count() == certs + 1 &&
	    outbox_read(NULL) == before + 1, "renewal within validation_reuse issues at once "
	    "(no challenge, a confirmation)");
	tap_ok(enrol_renew(ctx, "alice@example.org", now + 31 * 86400LL, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_SENT && d.action == ENROL_ACT_PASS,
	    "after validation_reuse a renewal needs a new challenge");
	tap_ok(enrol_cancel(ctx, "alice@example.org", "cli:test", err_buf, sizeof(err_buf)) == 0 &&
	    enrol_cancel(ctx, "alice@example.org", "cli:test", err_buf, sizeof(err_buf)) == 1,
	    "enrol cancel: cancels once, then nothing to cancel");
	tap_ok(enrol_start(ctx, "zoe@other.example", "cli:test", now, &d, err_buf,
	    sizeof(err_buf)) == 0 && d.event == ENROL_EV_CHALLENGE_SENT, "enrol start sends one");
	tap_ok(enrol_start(ctx, "not a mailbox", "cli:test", now, &d, err_buf, sizeof(err_buf)) < 0,
	    "enrol start refuses a non-mailbox");
	free(mail);
}

/* The attack table of issue 5. */
static void
attack_cases(time_t now)
{
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct enrol_decision d;
	char tok[AS_TOKEN_LEN + 1], tok2[AS_TOKEN_LEN + 1], guess[AS_TOKEN_LEN + 1];
	char *mail, *mail2, *text;
	int i, certs, before;

	if ((mail = challenge_for("carl@example.org", now, tok)) == NULL)
		return;
	text = make_reply(mail, "carl@example.org", tok, tok);
	f = facts_for("carl@example.org");
	f.sasl_login = NULL;
	expect_refused("unauthenticated reply from outside", text, &f, now, tok, NULL);
	f.client_internal = true;
	f.client_ip = "127.0.0.1";
	expect_refused("internal unauthenticated, not allowed by config", text, &f, now, tok, NULL);
	f = facts_for("carl@example.org");
	f.sasl_login = "mallory@example.org";
	f.login_may_use = false;
	expect_refused("authenticated as another user", text, &f, now, tok, NULL);
	f = facts_for("carl@example.org");
	f.from_mailbox = "dora@example.org";
	expect_refused("spoofed From (differs from the envelope)", text, &f, now, tok, NULL);
	f = facts_for("carl@example.org");
	f.envelope_sender = "attacker@evil.example";
	expect_refused("envelope sender differs from From", text, &f, now, tok, NULL);
	free(text);

	/* A token from another mailbox (dora's token in carl's reply). */
	if ((mail2 = challenge_for("dora@example.org", now, tok2)) == NULL)
		return;
	f = facts_for("carl@example.org");
	text = make_reply(mail, "carl@example.org", tok2, tok2);
	expect_refused("a token from another mailbox", text, &f, now, tok2, NULL);
	free(text);
	/* Subject and body with different tokens (carl's own token in the subject). */
	text = make_reply(mail, "carl@example.org", tok, tok2);
	expect_refused("Subject and body carry different tokens", text, &f, now, tok, NULL);
	free(text);
	/* The real reply still works afterwards: refusals above did not use it up. */
	text = make_reply(mail, "carl@example.org", tok, tok);
	reply(text, &f, now + 1, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED, "carl's own correct reply still issues");
	free(text);
	free(mail);
	free(mail2);

	/* Expired token. */
	if ((mail = challenge_for("eve@example.org", now, tok)) == NULL)
		return;
	text = make_reply(mail, "eve@example.org", tok, tok);
	f = facts_for("eve@example.org");
	expect_refused("expired token", text, &f, now + 3600, tok, NULL);
	free(text);
	free(mail);

	/* A reply to a cancelled challenge. */
	if ((mail = challenge_for("fay@example.org", now, tok)) == NULL)
		return;
	enrol_cancel(ctx, "fay@example.org", "cli:test", err_buf, sizeof(err_buf));
	text = make_reply(mail, "fay@example.org", tok, tok);
	f = facts_for("fay@example.org");
	expect_refused("a reply to a cancelled challenge", text, &f, now, tok, NULL);
	free(text);
	free(mail);

	/* 1,000 guessed tokens; then even the right one is refused (the challenge is burnt). */
	if ((mail = challenge_for("gus@example.org", now, tok)) == NULL)
		return;
	f = facts_for("gus@example.org");
	certs = cert_count();
	{
		int refused = 0, same = 0;

		for (i = 0; i < 1000; i++) {
			unsigned char h[AS_TOKEN_HASH_LEN];

			as_token_new(guess, sizeof(guess), h);
			if (i < 50 && n_tokens < MAX_TOKENS)
				memcpy(tokens[n_tokens++], guess, sizeof(guess));
			text = make_reply(mail, "gus@example.org", guess, guess);
			reply(text, &f, now, &res);
			refused += res.status == ENROL_REPLY_REFUSED;
			same += strcmp(res.answer, refused_answer) == 0;
			free(text);
		}
		tap_ok(refused == 1000 && same == 1000 && cert_count() == certs,
		    "attack: 1,000 guessed tokens: all refused with the same answer, nothing issued");
	}
	text = make_reply(mail, "gus@example.org", tok, tok);
	expect_refused("the right token after the guesses (challenge burnt)", text, &f, now, tok,
	    NULL);
	free(text);
	free(mail);

	/* A burst of 1,000 copies of a correct reply from 8 threads: one issuance. */
	if ((mail = challenge_for("hal@example.org", now, tok)) == NULL)
		return;
	f = facts_for("hal@example.org");
	text = make_reply(mail, "hal@example.org", tok, tok);
	certs = cert_count();
	{
		pthread_t th[8];
		struct burst b = { .text = text, .f = &f, .now = now };

		for (i = 0; i < 8; i++)
			pthread_create(&th[i], NULL, burst_thread, &b);
		for (i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
		tap_ok(b.issued == 1 && b.refused == 999 && b.other == 0 && cert_count() == certs + 1,
		    "attack: a burst of 1,000 replies: exactly one issuance (%d issued, %d refused, "
		    "%d other)", b.issued, b.refused, b.other);
	}
	free(text);
	free(mail);

	/* A challenge flood: 1,000 triggers for one mailbox, and for 1,000 mailboxes. */
	before = outbox_read(NULL);
	for (i = 0; i < 1000; i++) {
		enrol_unenrolled_sender(ctx, "ivy@example.org", now + 35 * 86400LL + i, &d);
		if (i % 10 == 0)    /* someone keeps cancelling, to get around the one-open rule */
			enrol_cancel(ctx, "ivy@example.org", "cli:test", err_buf, sizeof(err_buf));
	}
	tap_ok(outbox_read(NULL) - before == 3,
	    "attack: challenge flood on one mailbox: the hourly limit holds (%d mails)",
	    outbox_read(NULL) - before);
	enrol_close(ctx);
	params.limits.global_hour = 50;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		return;
	before = outbox_read(NULL);
	for (i = 0; i < 1000; i++) {
		char mb[64];

		snprintf(mb, sizeof(mb), "flood%d@example.org", i);
		enrol_unenrolled_sender(ctx, mb, now + 40 * 86400LL + i, &d);
	}
	tap_ok(outbox_read(NULL) - before == 50,
	    "attack: challenge flood on 1,000 mailboxes: the global limit holds (%d mails)",
	    outbox_read(NULL) - before);
	tap_ok(audit_scan().leaks == 0 && log_leaks() == 0,
	    "no token (real or guessed) appears in the audit log or the log lines (%d checked)",
	    n_tokens);
}

static void
action_cases(time_t now)
{
	struct enrol_decision d;
	char tok[AS_TOKEN_LEN + 1], *mail;

	enrol_close(ctx);
	params.unenrolled_action = AS_UNENROLLED_TEMPFAIL;
	params.limits.global_hour = 100000;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		return;
	tap_ok(enrol_unenrolled_sender(ctx, "jan@example.org", now, &d) == 0 &&
	    d.action == ENROL_ACT_TEMPFAIL && d.event == ENROL_EV_CHALLENGE_SENT,
	    "unenrolled_action tempfail: the message is tempfailed");
	enrol_close(ctx);
	params.unenrolled_action = AS_UNENROLLED_REJECT;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		return;
	tap_ok(enrol_unenrolled_sender(ctx, "jan@example.org", now + 1, &d) == 0 &&
	    d.action == ENROL_ACT_REJECT && d.event == ENROL_EV_CHALLENGE_OPEN,
	    "unenrolled_action reject: rejected, no second challenge");
	/* A sendmail that cannot queue: TEMPFAIL, and no challenge stays open. */
	{
		char fail[200];
		FILE *fp;

		snprintf(fail, sizeof(fail), "%s/FAIL", outbox);
		fp = fopen(fail, "w");
		if (fp != NULL)
			fclose(fp);
		tap_ok(enrol_unenrolled_sender(ctx, "kim@example.org", now, &d) < 0 &&
		    d.action == ENROL_ACT_TEMPFAIL && d.event == ENROL_EV_ERROR,
		    "sendmail failing: the message is tempfailed");
		unlink(fail);
		mail = challenge_for("kim@example.org", now + 1, tok);
		tap_ok(mail != NULL, "and no challenge was left open by the failure");
		free(mail);
	}
}

/* The canonical refusal text, from a reply when there is no challenge at all. */
static void
canonical_answer(time_t now)
{
	struct enrol_reply_facts f = facts_for("nobody@example.org");
	struct enrol_reply_result res;
	char *text = make_reply("Subject: x\n\nACME: AAAAAAAAAAAAAAAAAAAAAAAA\n",
	    "nobody@example.org", "AAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAA");

	reply(text, &f, now, &res);
	free(text);
	snprintf(refused_answer, sizeof(refused_answer), "%s", res.answer);
	tap_ok(res.status == ENROL_REPLY_REFUSED && strlen(res.answer) > 20,
	    "a reply without a challenge is refused: \"%s\"", res.answer);
	tap_ok(strstr(res.answer, "more than 1 hour old") != NULL && strstr(res.answer, "a day") ==
	    NULL, "the refusal names the configured challenge_lifetime (1h), not a day");
}

/* Sponsor-validated profile: names from the sponsor table; no entry blocks issuance. */
static void
sponsor_cases(time_t now)
{
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct ca_cert_info info;
	struct ca_error cerr;
	char path[128], tok[AS_TOKEN_LEN + 1], *mail, *text, cn[256] = "";
	FILE *fp;
	int certs;

	snprintf(path, sizeof(path), "%s/sponsors", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	fprintf(fp, "# test sponsors\nsam@example.org  Samuel | Smith\n");
	fclose(fp);
	enrol_close(ctx);
	params.profile = AS_PROFILE_SPONSOR;
	params.sponsor_map_file = path;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open with a sponsor table: %s", err_buf);
		return;
	}
	if ((mail = challenge_for("sam@example.org", now, tok)) == NULL)
		return;
	f = facts_for("sam@example.org");
	text = make_reply(mail, "sam@example.org", tok, tok);
	reply(text, &f, now, &res);
	if (res.status == ENROL_REPLY_ISSUED && ca_cert_get(ca, res.serial_hex, &info, &cerr) == CA_OK) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(info.cert), NID_commonName, cn,
		    sizeof(cn));
		tap_ok(info.profile == CA_PROFILE_SPONSOR && strcmp(cn, "Samuel Smith") == 0,
		    "sponsor profile: sponsor-validated certificate with the table's names (%s)", cn);
		ca_cert_info_free(&info);
	} else {
		tap_ok(0, "sponsor profile: issued (%s)", enrol_reply_status_name(res.status));
	}
	free(text);
	free(mail);
	if ((mail = challenge_for("sue@example.org", now, tok)) == NULL)
		return;
	f = facts_for("sue@example.org");
	text = make_reply(mail, "sue@example.org", tok, tok);
	certs = cert_count();
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_BLOCKED && cert_count() == certs &&
	    strstr(res.answer, "administrator") != NULL,
	    "sponsor profile without a table entry: blocked, nothing issued");
	free(text);
	free(mail);
	enrol_close(ctx);
	params.profile = AS_PROFILE_MAILBOX;
	params.sponsor_map_file = NULL;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		ctx = NULL;
}

/* An audit record of this event whose fields hold `text`? */
struct find_arg {
	const char *event, *text;
	bool found;
};

static int
find_cb(const struct ca_audit_record *r, void *arg)
{
	struct find_arg *a = arg;

	if (strcmp(r->event, a->event) == 0 && strstr(r->fields, a->text) != NULL)
		a->found = true;
	return 0;
}

/*
 * Organization-validated profile (S/MIME BR 3.2.2.1): the daemon's path refuses issuance
 * while the domain has no domain control validation, keeps the mailbox proof, and issues
 * on it once the domain is validated.
 */
static void
organization_cases(time_t now)
{
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct enrol_decision d;
	struct ca_cert_info info;
	struct ca_error cerr = { "" };
	struct find_arg fa = { "enrol-issue", "reason=no-domain-validation", false };
	char tok[AS_TOKEN_LEN + 1], *mail, *text;
	int certs;

	enrol_close(ctx);
	params.profile = AS_PROFILE_ORGANIZATION;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open for the organization profile: %s", err_buf);
		return;
	}
	if ((mail = challenge_for("olga@example.org", now, tok)) == NULL)
		return;
	f = facts_for("olga@example.org");
	text = make_reply(mail, "olga@example.org", tok, tok);
	certs = cert_count();
	reply(text, &f, now, &res);
	ca_audit_foreach(ca, find_cb, &fa, &cerr);
	tap_ok(res.status == ENROL_REPLY_BLOCKED && cert_count() == certs && fa.found,
	    "organization profile without a domain validation: blocked, nothing issued, audited");
	free(text);
	free(mail);
	tap_ok(fixture_domain_validate(ca, "example.org", 90 * 86400LL, NULL, &cerr) == CA_OK,
	    "domain control validation of example.org recorded (%s)", cerr.text);
	memset(&info, 0, sizeof(info));
	if (enrol_unenrolled_sender(ctx, "olga@example.org", now, &d) != 0 ||
	    d.event != ENROL_EV_ISSUED || ca_cert_get(ca, d.serial_hex, &info, &cerr) != CA_OK)
		info.profile = CA_PROFILE_MAILBOX;
	tap_ok(d.event == ENROL_EV_ISSUED && info.profile == CA_PROFILE_ORGANIZATION,
	    "then the kept mailbox proof gives an organization-validated certificate (%s)",
	    enrol_event_name(d.event));
	ca_cert_info_free(&info);
	ca_domain_revoke(ca, "example.org", "test", &cerr);
	enrol_close(ctx);
	params.profile = AS_PROFILE_MAILBOX;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		ctx = NULL;
}

/* domain_profiles: the mailbox's domain picks the key type and validity of its certificate. */
static void
domain_profile_case(time_t now)
{
	static char item[] = "example.org=mailbox/ec-p384/30d";
	char *items[] = { item };
	struct as_conf_list list = { items, 1 };
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct ca_cert_info info;
	struct ca_error cerr;
	char tok[AS_TOKEN_LEN + 1], *mail, *text;

	enrol_close(ctx);
	params.domain_profiles = &list;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open with domain_profiles: %s", err_buf);
		ctx = NULL;
		return;
	}
	if ((mail = challenge_for("pat@example.org", now, tok)) != NULL) {
		f = facts_for("pat@example.org");
		text = make_reply(mail, "pat@example.org", tok, tok);
		reply(text, &f, now, &res);
		if (res.status == ENROL_REPLY_ISSUED &&
		    ca_cert_get(ca, res.serial_hex, &info, &cerr) == CA_OK) {
			/* validity counts both ends (RFC 5280 4.1.2.5), so notAfter is 1 s short */
			EVP_PKEY *key = X509_get0_pubkey(info.cert);
			const ASN1_TIME *nb = X509_get0_notBefore(info.cert);
			const ASN1_TIME *na = X509_get0_notAfter(info.cert);
			int days = -1, secs = 0;

			ASN1_TIME_diff(&days, &secs, nb, na);
			tap_ok(key != NULL && EVP_PKEY_get_bits(key) == 384 &&
			    EVP_PKEY_is_a(key, "EC") && days * 86400LL + secs + 1 == 30 * 86400LL,
			    "domain_profiles: the example.org item gives an EC P-384 key for 30 days "
			    "(%d bits; notAfter - notBefore + 1 s = %d d %d s)",
			    key ? EVP_PKEY_get_bits(key) : 0, days, secs + 1);
			ca_cert_info_free(&info);
		} else {
			tap_ok(0, "domain_profiles: issued (%s)", enrol_reply_status_name(res.status));
		}
		free(text);
		free(mail);
	}
	enrol_close(ctx);
	params.domain_profiles = NULL;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0)
		ctx = NULL;
}

/* With the harness DNS (enrol_dns.sh): CAA before issuance, SPF for internal hosts. */
/*
 * CAA asked of three DNS perspectives, two of them down: no quorum, so a temporary failure
 * (the challenge stays open, nothing issued); with the perspectives back the same reply
 * issues.
 */
static void
perspective_cases(time_t now, const char *ours)
{
	char dead1[64], dead2[64], *items[3], tok[AS_TOKEN_LEN + 1], mb[300], *mail, *text;
	struct as_conf_list list = { items, 3 };
	const struct as_conf_list *saved = params.dns_perspectives;
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct enrol_status s;
	int certs;

	if (getenv("DNS_DEAD_PORT") == NULL)
		return;
	snprintf(dead1, sizeof(dead1), "127.0.0.1@%s", getenv("DNS_DEAD_PORT"));
	snprintf(dead2, sizeof(dead2), "127.0.0.2@%s", getenv("DNS_DEAD_PORT"));
	items[0] = (char *)params.dns_resolver;
	items[1] = dead1;
	items[2] = dead2;
	enrol_close(ctx);
	params.dns_perspectives = &list;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open with three perspectives: %s", err_buf);
		params.dns_perspectives = saved;
		enrol_open(&params, &ctx, err_buf, sizeof(err_buf));
		return;
	}
	snprintf(mb, sizeof(mb), "per@%s", ours);
	if ((mail = challenge_for(mb, now, tok)) == NULL)
		return;
	f = facts_for(mb);
	text = make_reply(mail, mb, tok, tok);
	certs = cert_count();
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_TEMPFAIL && cert_count() == certs &&
	    enrol_status(ctx, mb, now, &s, err_buf, sizeof(err_buf)) == 0 && s.challenge_open,
	    "CAA with 2 of 3 perspectives down: temporary failure, challenge kept, nothing issued "
	    "(%s)", enrol_reply_status_name(res.status));
	enrol_close(ctx);
	params.dns_perspectives = saved;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		ctx = NULL;
		free(text);
		free(mail);
		return;
	}
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED, "the same reply issues once DNS answers again (%s)",
	    enrol_reply_status_name(res.status));
	free(text);
	free(mail);
}

static void
dns_cases(time_t now)
{
	const char *ours = getenv("DNS_ZONE_OURS"), *other = getenv("DNS_ZONE_OTHER");
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct enrol_status s;
	char tok[AS_TOKEN_LEN + 1], mb[300], mb2[300], *mail, *text;
	int certs;

	if (getenv("DNS_RESOLVER") == NULL || ours == NULL || other == NULL) {
		tap_diag("DNS_RESOLVER not set: CAA and SPF cases run through enrol_dns.sh");
		return;
	}
	local_items[2] = (char *)ours;
	local_items[3] = (char *)other;
	local_list.count = 4;
	enrol_close(ctx);
	params.caa_check = true;
	params.ca_domain = getenv("DNS_CA_DOMAIN");
	params.dns_resolver = getenv("DNS_RESOLVER");
	params.dns_trust_anchor_file = getenv("DNS_TRUST_ANCHOR");
	params.allow_internal_unauthenticated = true;
	if (enrol_open(&params, &ctx, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open with CAA: %s", err_buf);
		return;
	}
	snprintf(mb, sizeof(mb), "ann@%s", ours);
	if ((mail = challenge_for(mb, now, tok)) == NULL)
		return;
	f = facts_for(mb);
	text = make_reply(mail, mb, tok, tok);
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED && enrol_status(ctx, mb, now, &s, err_buf,
	    sizeof(err_buf)) == 0 && strstr(s.validation_evidence, "caa=allowed") != NULL &&
	    strstr(s.validation_evidence, "dnssec=secure") != NULL,
	    "CAA issuemail naming us: issued, CAA evidence in the validation record");
	free(text);
	free(mail);
	snprintf(mb2, sizeof(mb2), "ben@%s", other);
	if ((mail = challenge_for(mb2, now, tok)) == NULL)
		return;
	f = facts_for(mb2);
	text = make_reply(mail, mb2, tok, tok);
	certs = cert_count();
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_BLOCKED && cert_count() == certs &&
	    strstr(res.answer, tok) == NULL, "CAA naming another CA: blocked, nothing issued");
	tap_ok(strstr(res.answer, "confirmed") == NULL && strstr(res.answer, "stays valid until") !=
	    NULL && enrol_status(ctx, mb2, now, &s, err_buf, sizeof(err_buf)) == 0 &&
	    s.challenge_open && !s.validation_reusable,
	    "CAA block: the answer confirms nothing, the challenge stays open, no validation "
	    "recorded (\"%s\")", res.answer);
	free(text);
	free(mail);
	perspective_cases(now, ours);
	/* Internal host without SMTP AUTH: SPF must pass for the client address. */
	snprintf(mb, sizeof(mb), "cid@%s", ours);
	if ((mail = challenge_for(mb, now, tok)) == NULL)
		return;
	text = make_reply(mail, mb, tok, tok);
	f = facts_for(mb);
	f.sasl_login = NULL;
	f.client_internal = true;
	f.client_ip = "192.0.2.99";
	expect_refused("internal host, SPF fails for its address", text, &f, now, tok, NULL);
	f.client_ip = "192.0.2.10";
	reply(text, &f, now, &res);
	tap_ok(res.status == ENROL_REPLY_ISSUED, "internal host, SPF pass: issued");
	free(text);
	free(mail);
}

/* The Message-ID of the newest mail in the capture outbox, or "" */
static void
newest_msgid(char *out, size_t cap)
{
	char *mail = NULL, *p, *e;

	out[0] = '\0';
	if (outbox_read(&mail) > 0 && mail != NULL && (p = strstr(mail, "Message-ID: ")) != NULL &&
	    (e = strchr(p, '\n')) != NULL)
		snprintf(out, cap, "%.*s", (int)(e - p - 12), p + 12);
	free(mail);
}

/*
 * Bounced challenges give their slot of the global hourly budget back: forged senders of an
 * internal host cannot use up enrolment for everyone.
 */
static void
bounce_cases(time_t now)
{
	struct enrol_params bp = params;
	struct enrol_ctx *bc = NULL;
	struct enrol_decision d;
	char id1[300], dsn[1200], chal[17];

	bp.limits.global_hour = 2;
	if (enrol_open(&bp, &bc, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open for the bounce cases: %s", err_buf);
		return;
	}
	enrol_unenrolled_sender(bc, "ghost1@example.org", now, &d);
	newest_msgid(id1, sizeof(id1));
	enrol_unenrolled_sender(bc, "ghost2@example.org", now, &d);
	tap_ok(enrol_unenrolled_sender(bc, "real@example.org", now, &d) == 0 &&
	    d.event == ENROL_EV_RATE_LIMITED, "two challenges use up a global budget of 2");
	snprintf(dsn, sizeof(dsn), "From: MAILER-DAEMON@gw.example.org\nSubject: Undelivered "
	    "Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; "
	    "boundary=b\n\n--b\n\nunknown user: \"ghost1\"\n--b\nContent-Type: "
	    "text/rfc822-headers\n\nFrom: enrol@gw.example.org\nTo: ghost1@example.org\n"
	    "Message-ID: %s\nSubject: ACME: x\n--b--\n", id1);
	tap_ok(id1[0] == '<' && enrol_bounce(bc, dsn, strlen(dsn), chal) == 1 && chal[0] != '\0',
	    "a DSN quoting the challenge's Message-ID is matched to its challenge");
	tap_ok(enrol_unenrolled_sender(bc, "real@example.org", now + 1, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_SENT, "the bounced challenge's slot went back: "
	    "a real sender gets a challenge");
	tap_ok(enrol_bounce(bc, dsn, strlen(dsn), chal) == 0, "the same bounce twice refunds "
	    "nothing more");
	enrol_close(bc);
}

/*
 * One internal host sending with forged senders: its challenges stop at its own hourly budget
 * and the gateway's budget stays for everybody else (another host's sender still gets one).
 */
static void
client_flood_cases(time_t now)
{
	struct enrol_params bp = params;
	struct enrol_ctx *bc = NULL;
	struct enrol_decision d;
	char mb[64];
	int sent = 0, limited = 0, i, before;

	bp.limits.global_hour = 8;
	bp.limits.client_hour = 3;
	bp.unenrolled_action = AS_UNENROLLED_PASS;
	if (enrol_open(&bp, &bc, err_buf, sizeof(err_buf)) < 0) {
		tap_ok(0, "enrol_open for the client flood cases: %s", err_buf);
		return;
	}
	before = outbox_read(NULL);
	for (i = 0; i < 20; i++) {
		snprintf(mb, sizeof(mb), "forged%d@example.org", i);
		if (enrol_unenrolled_sender_at(bc, mb, "192.0.2.7", now, &d) == 0 &&
		    d.event == ENROL_EV_CHALLENGE_SENT)
			sent++;
		else if (d.event == ENROL_EV_RATE_LIMITED)
			limited++;
	}
	tap_ok(sent == 3 && limited == 17 && outbox_read(NULL) == before + 3,
	    "host A's 20 forged senders: 3 challenges (its own budget), 17 refused (sent %d, "
	    "limited %d)", sent, limited);
	tap_ok(enrol_unenrolled_sender_at(bc, "forged99@example.org", "[192.0.2.7]", now, &d) ==
	    0 && d.event == ENROL_EV_RATE_LIMITED && d.action == ENROL_ACT_PASS,
	    "host A in brackets is the same host; unenrolled_action pass still passes its mail "
	    "(event %s)", enrol_event_name(d.event));
	tap_ok(enrol_unenrolled_sender_at(bc, "bea@example.org", "192.0.2.8", now, &d) == 0 &&
	    d.event == ENROL_EV_CHALLENGE_SENT, "host B's sender still gets a challenge");
	for (i = 0; i < 3; i++) {
		snprintf(mb, sizeof(mb), "v6user%d@example.org", i);
		enrol_unenrolled_sender_at(bc, mb, i == 0 ? "2001:db8:1:2::10" : i == 1 ?
		    "2001:db8:1:2:aaaa::1" : "IPv6:2001:db8:1:2::99", now, &d);
	}
	tap_ok(enrol_unenrolled_sender_at(bc, "v6user3@example.org", "2001:db8:1:2::77", now, &d) ==
	    0 && d.event == ENROL_EV_RATE_LIMITED, "IPv6 addresses of one /64 share one budget");
	tap_ok(enrol_unenrolled_sender_at(bc, "v6other@example.org", "2001:db8:1:3::77", now, &d) ==
	    0 && d.event == ENROL_EV_CHALLENGE_SENT, "the next /64 has its own");
	tap_ok(enrol_unenrolled_sender_at(bc, "last@example.org", "192.0.2.9", now, &d) == 0 &&
	    d.event == ENROL_EV_RATE_LIMITED, "the global budget (8) still caps all hosts together");
	enrol_close(bc);
}

static void
run_cases(void)
{
	time_t now = time(NULL);

	canonical_answer(now);
	flow_cases(now);
	attack_cases(now + 1000);
	action_cases(now + 45 * 86400LL);
	sponsor_cases(now + 46 * 86400LL);
	domain_profile_case(now + 47 * 86400LL);
	organization_cases(now + 48 * 86400LL);
	bounce_cases(now + 60 * 86400LL);
	client_flood_cases(now + 62 * 86400LL);
	dns_cases(time(NULL));    /* DNSSEC signatures are checked at this time */
}

int
main(void)
{
	char err[256];

	if (getenv("top_srcdir") == NULL)
		tap_skip_all("top_srcdir not set (run through make check)");
	as_log_set_sink(log_sink, NULL);
	if (setup() < 0) {
		printf("Bail out! cannot set up the CA in %s\n", dir);
		return 1;
	}
	base_params(&params);
	if (enrol_open(&params, &ctx, err, sizeof(err)) < 0) {
		printf("Bail out! enrol_open: %s\n", err);
		return 1;
	}
	run_cases();
	enrol_close(ctx);
	ca_close(ca);   /* st is the CA's own */
	as_log_set_sink(NULL, NULL);
	fixture_cleanup();
	return tap_done();
}
