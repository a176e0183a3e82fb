/*
 * standalone: a main() for fuzz targets without libFuzzer. Replays every file given on the
 * command line, then feeds mutations of them from a fixed-seed generator (so a failure
 * reproduces), and prints TAP. A crash or sanitizer report fails the test.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

#define MAX_INPUT (256 * 1024)
#define MUTATIONS 20000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic, good enough to spread mutations */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t
read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

/* Flip, insert, delete or duplicate bytes; interesting bytes for text parsers are favoured. */
static size_t
mutate(uint8_t *buf, size_t len, size_t cap)
{
	static const uint8_t special[] = { '\0', '\n', '\r', ' ', '\t', '"', '=', '#', ':', ';',
		'-', '/', '\\', 0xff, 0x80, '@', '.', ',' };
	unsigned rounds = 1 + (unsigned)(rng() % 8);

	for (unsigned r = 0; r < rounds; r++) {
		size_t pos = len ? (size_t)(rng() % len) : 0;

		switch (rng() % 5) {
		case 0:
			if (len)
				buf[pos] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:
			if (len)
				buf[pos] = special[rng() % sizeof(special)];
			break;
		case 2:
			if (len < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = special[rng() % sizeof(special)];
				len++;
			}
			break;
		case 3:
			if (len) {
				size_t n = 1 + (size_t)(rng() % 16);

				if (n > len - pos)
					n = len - pos;
				memmove(buf + pos, buf + pos + n, len - pos - n);
				len -= n;
			}
			break;
		default: {
			size_t n = 1 + (size_t)(rng() % 64);

			if (n > len - pos)
				n = len - pos;
			if (len + n <= cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				len += n;
			}
			break;
		}
		}
	}
	return len;
}

int
main(int argc, char **argv)
{
	uint8_t *seed = malloc(MAX_INPUT), *work = malloc(MAX_INPUT);
	int count = 0;

	if (seed == NULL || work == NULL || argc < 2) {
		fprintf(stderr, "usage: %s corpus-file...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		size_t n = read_file(argv[i], seed, MAX_INPUT);

		LLVMFuzzerTestOneInput(seed, n);
		printf("ok %d - replayed %s\n", ++count, argv[i]);
	}
	for (int i = 1; i < argc; i++) {
		size_t n = read_file(argv[i], seed, MAX_INPUT);

		for (int m = 0; m < MUTATIONS / (argc - 1); m++) {
			size_t len = n;

			memcpy(work, seed, n);
			len = mutate(work, len, MAX_INPUT);
			LLVMFuzzerTestOneInput(work, len);
		}
		printf("ok %d - %d mutations of %s\n", ++count, MUTATIONS / (argc - 1), argv[i]);
	}
	printf("1..%d\n", count);
	free(seed);
	free(work);
	return 0;
}
