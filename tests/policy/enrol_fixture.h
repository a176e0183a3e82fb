/*
 * enrol_fixture: shared set-up and helpers of test_enrol (see enrol_fixture.c). Not TAP: the
 * test file owns every tap_ok (tests/tap.h keeps its counters per translation unit).
 */
#ifndef AUTOSMIME_TESTS_ENROL_FIXTURE_H
#define AUTOSMIME_TESTS_ENROL_FIXTURE_H

#include <stdbool.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/store.h"
#include "common/conf.h"
#include "policy/enrol.h"
#include "policy/reply_parse.h"
#include "policy/token.h"

#define MAX_MAILS 4096
#define MAX_TOKENS 256

/* Set up by setup(); the enrolment context is the tests' to open and reopen. */
extern char dir[64], outbox[128];
extern struct ca *ca;
extern struct store *st;
extern struct enrol_ctx *ctx;
extern struct enrol_params params;
extern char *local_items[4];
extern struct as_conf_list local_list;
extern char tokens[MAX_TOKENS][AS_TOKEN_LEN + 1];  /* every token seen, for the leak checks */
extern int n_tokens;
extern char refused_answer[ENROL_ANSWER_MAX];
extern char err_buf[256];

/* Capture every log line (as_log_set_sink); how many known tokens appear in them. */
void log_sink(int level, const char *line, void *arg);
int log_leaks(void);

/* A CA in a new temporary directory, and a handle on its environment. 0 or -1. */
int setup(void);
void base_params(struct enrol_params *p);
/* Open the CA of an existing fixture directory (a second process of one test). 0 or -1. */
int attach(const char *existing);
void fixture_cleanup(void);

/* Captured mails: the count, and the newest one's text (malloc'd) when asked. */
int outbox_read(char **newest);
/* The token of a challenge mail (remembered in tokens[]). 0 or -1. */
int token_of(const char *mail, char tok[AS_TOKEN_LEN + 1]);
/* A reply as a mail client writes it, quoting the challenge (malloc'd). */
char *make_reply(const char *challenge, const char *from, const char *subj_tok,
    const char *body_tok);
/* Parse `text` and hand it to enrol_handle_reply. */
int reply(const char *text, const struct enrol_reply_facts *f, time_t now,
    struct enrol_reply_result *res);
/* A fresh challenge for a mailbox: the mail (malloc'd) and its token, or NULL. */
char *challenge_for(const char *mb, time_t now, char tok[AS_TOKEN_LEN + 1]);
/* Facts of an authenticated session of `mb` that may use `mb`. */
struct enrol_reply_facts facts_for(const char *mb);

int cert_count(void);
struct audit_scan {
	int records, refused, leaks;
};
struct audit_scan audit_scan(void);

#endif
