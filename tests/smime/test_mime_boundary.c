/*
 * test_mime_boundary: boundaries are well formed and never repeat, also when many threads
 * (libmilter's connection threads) draw them at once.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "milter/engine/mime_boundary.h"
#include "tests/tap.h"

#define THREADS 4
#define PER_THREAD 5000

static char drawn[THREADS * PER_THREAD][MIME_BOUNDARY_LEN + 1];
static int failures[THREADS];

static void *
draw(void *arg)
{
	int t = (int)(size_t)arg;

	for (int i = 0; i < PER_THREAD; i++)
		if (mime_boundary_make(drawn[t * PER_THREAD + i], MIME_BOUNDARY_LEN + 1) != 0)
			failures[t]++;
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
well_formed(const char *b)
{
	if (strlen(b) != MIME_BOUNDARY_LEN || strncmp(b, "smime-", 6) != 0)
		return 0;
	for (const char *p = b + 6; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int
main(void)
{
	pthread_t th[THREADS];
	char small[MIME_BOUNDARY_LEN];
	int bad = 0, repeats = 0, fails = 0, hexcount[16] = { 0 };

	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, draw, (void *)(size_t)t);
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		fails += failures[t];
	}
	tap_ok(fails == 0, "%d boundaries drawn from %d threads, none failed", THREADS * PER_THREAD,
	    THREADS);
	for (int i = 0; i < THREADS * PER_THREAD; i++) {
		bad += !well_formed(drawn[i]);
		for (const char *p = drawn[i] + 6; *p != '\0'; p++)
			hexcount[*p <= '9' ? *p - '0' : *p - 'a' + 10]++;
	}
	tap_ok(bad == 0, "every boundary is \"smime-\" and 32 lower-case hex digits (%d bad)", bad);
	qsort(drawn, THREADS * PER_THREAD, sizeof(drawn[0]), cmp);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		repeats += strcmp(drawn[i - 1], drawn[i]) == 0;
	tap_ok(repeats == 0, "no boundary repeats (%d repeats)", repeats);
	/* 640,000 digits: each of 16 values expected 40,000 times; a counter in clear would fail */
	bad = 0;
	for (int d = 0; d < 16; d++)
		bad += hexcount[d] < 38000 || hexcount[d] > 42000;
	tap_ok(bad == 0, "hex digits are evenly spread (no visible counter)");
	tap_ok(mime_boundary_make(small, sizeof(small)) == -1, "a buffer too small is refused");
	return tap_done();
}
