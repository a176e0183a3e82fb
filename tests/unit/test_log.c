/*
 * test_log: log lines carry the queue id first, key=value fields, escaped hostile values, the
 * drained OpenSSL error queue, and respect the level.
 */
#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "tests/tap.h"

static char last[AS_LOG_LINE_MAX];
static int lines;

static void
capture(int level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(last, sizeof(last), "%s", line);
	lines++;
}

int
main(void)
{
	char buf[64];

	as_log_open("test", AS_FAC_MAIL, AS_LEVEL_INFO, true);
	as_log_set_sink(capture, NULL);

	as_log(AS_LEVEL_INFO, "4F2A1C", "event=sign sender=%s", "a@example.org");
	tap_ok(strcmp(last, "4F2A1C: event=sign sender=a@example.org") == 0, "queue id first: %s", last);

	as_log(AS_LEVEL_NOTICE, NULL, "event=start");
	tap_ok(strcmp(last, "event=start") == 0, "no queue id: %s", last);

	lines = 0;
	as_log(AS_LEVEL_DEBUG, NULL, "event=noise");
	tap_ok(lines == 0, "debug is below the info level and dropped");

	as_log_value("evil\nevent=forged \"x\"", buf, sizeof(buf));
	tap_ok(strcmp(buf, "\"evil\\x0aevent=forged \\\"x\\\"\"") == 0, "hostile value escaped: %s", buf);
	as_log_value("", buf, sizeof(buf));
	tap_ok(strcmp(buf, "\"\"") == 0, "empty value quoted");
	as_log_value("plain", buf, sizeof(buf));
	tap_ok(strcmp(buf, "plain") == 0, "plain value untouched");
	as_log_value("a very long value with spaces that will not fit", buf, 12);
	tap_ok(strlen(buf) < 12 && buf[0] == '"' && buf[strlen(buf) - 1] == '"',
	    "a cut value stays quoted and bounded: %s", buf);

	/* provoke an OpenSSL error: an unknown digest */
	ERR_clear_error();
	EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);
	as_log_ssl(AS_LEVEL_ERR, "Q1", "event=error op=fetch");
	tap_ok(strncmp(last, "Q1: event=error op=fetch ssl_error=\"", 36) == 0 &&
	    last[strlen(last) - 1] == '"', "OpenSSL error queue drained into the line: %s", last);
	tap_ok(ERR_peek_error() == 0, "the error queue is empty afterwards");

	as_log_set_sink(NULL, NULL);
	return tap_done();
}
