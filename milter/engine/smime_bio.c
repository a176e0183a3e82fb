/*
 * smime_bio: BIO methods over spools (see smime_bio.h). The methods are created once per
 * process (CRYPTO_THREAD_run_once); each BIO owns only its small state struct.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "milter/engine/mime_enc.h"
#include "milter/engine/smime_bio.h"

/* Lifetime: one BIO. */
struct src_state {
	struct spool *sp;
	char *prefix;
	size_t plen, ppos;
};

/* Lifetime: one BIO. */
struct sink_state {
	struct spool *sp;
	int b64;
	struct b64_enc enc;
	struct mime_out out;
};

static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *src_method, *sink_method;

int
smime_spool_out(void *arg, const void *p, size_t n)
{
	return spool_write(arg, p, n) == 0 ? 0 : -1;
}

static int
src_read(BIO *b, char *buf, int len)
{
	struct src_state *s = BIO_get_data(b);
	ssize_t n;

	if (s == NULL || len <= 0)
		return 0;
	if (s->ppos < s->plen) {
		size_t k = s->plen - s->ppos;

		if (k > (size_t)len)
			k = (size_t)len;
		memcpy(buf, s->prefix + s->ppos, k);
		s->ppos += k;
		return (int)k;
	}
	n = spool_read(s->sp, buf, (size_t)len);
	return n < 0 ? -1 : (int)n;
}

static long
src_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
src_destroy(BIO *b)
{
	struct src_state *s = BIO_get_data(b);

	if (s != NULL) {
		free(s->prefix);
		free(s);
	}
	BIO_set_data(b, NULL);
	return 1;
}

static int
sink_write(BIO *b, const char *buf, int len)
{
	struct sink_state *s = BIO_get_data(b);

	if (s == NULL || len < 0)
		return -1;
	if (s->b64)
		b64_data(&s->enc, &s->out, (const unsigned char *)buf, (size_t)len);
	else
		mime_out_text(&s->out, buf, (size_t)len);
	return s->out.failed ? -1 : len;
}

static long
sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
sink_destroy(BIO *b)
{
	free(BIO_get_data(b));
	BIO_set_data(b, NULL);
	return 1;
}

static void
make_methods(void)
{
	int ti = BIO_get_new_index();

	src_method = BIO_meth_new(ti | BIO_TYPE_SOURCE_SINK, "autosmime spool source");
	if (src_method != NULL) {
		BIO_meth_set_read(src_method, src_read);
		BIO_meth_set_ctrl(src_method, src_ctrl);
		BIO_meth_set_destroy(src_method, src_destroy);
	}
	ti = BIO_get_new_index();
	sink_method = BIO_meth_new(ti | BIO_TYPE_SOURCE_SINK, "autosmime spool sink");
	if (sink_method != NULL) {
		BIO_meth_set_write(sink_method, sink_write);
		BIO_meth_set_ctrl(sink_method, sink_ctrl);
		BIO_meth_set_destroy(sink_method, sink_destroy);
	}
}

BIO *
smime_bio_spool_source(struct spool *sp, const char *prefix, size_t prefix_len)
{
	struct src_state *s;
	BIO *b;

	if (!CRYPTO_THREAD_run_once(&once, make_methods) || src_method == NULL)
		return NULL;
	if (spool_rewind(sp) != 0 || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sp = sp;
	if (prefix_len > 0) {
		s->prefix = malloc(prefix_len);
		if (s->prefix == NULL) {
			free(s);
			return NULL;
		}
		memcpy(s->prefix, prefix, prefix_len);
		s->plen = prefix_len;
	}
	if ((b = BIO_new(src_method)) == NULL) {
		free(s->prefix);
		free(s);
		return NULL;
	}
	BIO_set_data(b, s);	/* transferred */
	BIO_set_init(b, 1);
	return b;
}

BIO *
smime_bio_spool_sink(struct spool *sp, int b64)
{
	struct sink_state *s;
	BIO *b;

	if (!CRYPTO_THREAD_run_once(&once, make_methods) || sink_method == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sp = sp;
	s->b64 = b64;
	b64_init(&s->enc);
	s->out.write = smime_spool_out;
	s->out.arg = sp;
	if ((b = BIO_new(sink_method)) == NULL) {
		free(s);
		return NULL;
	}
	BIO_set_data(b, s);	/* transferred */
	BIO_set_init(b, 1);
	return b;
}

int
smime_bio_b64_finish(BIO *b)
{
	struct sink_state *s = BIO_get_data(b);

	if (s == NULL)
		return -1;
	if (s->b64)
		b64_final(&s->enc, &s->out);
	mime_out_flush(&s->out);
	return s->out.failed ? -1 : 0;
}
