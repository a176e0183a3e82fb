/*
 * log: format events as single key=value lines and send them to syslog, stderr or a test sink.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/log.h"

static const int facilities[] = { LOG_MAIL, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
	LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7, LOG_DAEMON };
static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };

static struct {
	char ident[64];
	int level;
	bool to_stderr;
	bool opened;
	as_log_sink_fn sink;
	void *sink_arg;
} state = { "autosmime", AS_LEVEL_INFO, true, false, NULL, NULL };

void
as_log_open(const char *ident, int facility, int level, bool to_stderr)
{
	snprintf(state.ident, sizeof(state.ident), "%s", ident);
	state.level = level;
	state.to_stderr = to_stderr;
	if (!to_stderr) {
		if (facility < 0 || (size_t)facility >= sizeof(facilities) / sizeof(facilities[0]))
			facility = AS_FAC_MAIL;
		openlog(state.ident, LOG_PID | LOG_NDELAY, facilities[facility]);
		state.opened = true;
	}
}

void
as_log_set_level(int level)
{
	state.level = level;
}

void
as_log_close(void)
{
	if (state.opened)
		closelog();
	state.opened = false;
}

void
as_log_set_sink(as_log_sink_fn fn, void *arg)
{
	state.sink = fn;
	state.sink_arg = arg;
}

const char *
as_log_value(const char *value, char *buf, size_t cap)
{
	size_t o = 0;
	bool quote;

	if (cap == 0)
		return "";
	if (value == NULL)
		value = "";
	quote = *value == '\0' || strpbrk(value, " \t\"=") != NULL;
	if (quote && o + 1 < cap)
		buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		char esc[5];
		size_t n;

		if (*p == '"' || *p == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (iscntrl(*p))
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else {
			esc[0] = (char)*p;
			n = 1;
		}
		/* keep room for the closing quote and the NUL */
		if (o + n + (quote ? 2 : 1) > cap)
			break;
		memcpy(buf + o, esc, n);
		o += n;
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void
emit(int level, const char *line)
{
	if (state.sink != NULL) {
		state.sink(level, line, state.sink_arg);
		return;
	}
	if (state.to_stderr) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		/* one fprintf per line so threads do not interleave inside a line */
		fprintf(stderr, "%s %s[%ld]: %s: %s\n", stamp, state.ident, (long)getpid(),
		    level_names[level], line);
		return;
	}
	syslog(priorities[level], "%s", line);
}

static void vlog(int level, bool with_ssl, const char *qid, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
vlog(int level, bool with_ssl, const char *qid, const char *fmt, va_list ap)
{
	char line[AS_LOG_LINE_MAX];
	size_t o = 0;
	int n;

	if (level < AS_LEVEL_ERR)
		level = AS_LEVEL_ERR;
	if (level > AS_LEVEL_DEBUG)
		level = AS_LEVEL_DEBUG;
	if (level > state.level) {
		if (with_ssl)
			ERR_clear_error();
		return;
	}
	if (qid != NULL && *qid != '\0') {
		n = snprintf(line, sizeof(line), "%s: ", qid);
		if (n > 0)
			o = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	}
	n = vsnprintf(line + o, sizeof(line) - o, fmt, ap);
	if (n > 0)
		o += (size_t)n < sizeof(line) - o ? (size_t)n : sizeof(line) - o - 1;
	if (with_ssl) {
		unsigned long e;
		const char *sep = " ssl_error=\"";
		bool any = false;

		while ((e = ERR_get_error()) != 0) {
			char text[256], safe[300];

			ERR_error_string_n(e, text, sizeof(text));
			as_log_value(text, safe, sizeof(safe));
			/* as_log_value may quote; strip its quotes since we build one quoted field */
			if (safe[0] == '"') {
				memmove(safe, safe + 1, strlen(safe));
				safe[strlen(safe) - 1] = '\0';
			}
			n = snprintf(line + o, sizeof(line) - o, "%s%s", any ? "; " : sep, safe);
			if (n > 0)
				o += (size_t)n < sizeof(line) - o ? (size_t)n : sizeof(line) - o - 1;
			any = true;
		}
		if (any && o + 1 < sizeof(line)) {
			line[o++] = '"';
			line[o] = '\0';
		}
	}
	emit(level, line);
}

void
as_log(int level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, false, qid, fmt, ap);
	va_end(ap);
}

void
as_log_ssl(int level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, true, qid, fmt, ap);
	va_end(ap);
}
