/*
 * perspective: parses dns_perspectives / dns_perspective_quorum and asks every perspective
 * in parallel (see perspective.h). Owns the threads of one run, joined before it returns.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "policy/dns.h"
#include "policy/perspective.h"

int
as_perspectives_from(const struct as_conf_list *list, long long quorum, const char *single,
    struct as_perspectives *out, char *err, size_t errcap)
{
	ldns_resolver *res = NULL;
	size_t i, n = list != NULL ? list->count : 0;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		snprintf(out->addr[0], sizeof(out->addr[0]), "%s", single != NULL ? single : "");
		out->n = 1;
		out->quorum = 1;
		return 0;
	}
	if (n > AS_PERSPECTIVES_MAX) {
		as_errf(err, errcap, "dns_perspectives: at most %d resolvers", AS_PERSPECTIVES_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *a = list->item[i];

		if (a == NULL || a[0] == '\0' || strlen(a) >= AS_PERSPECTIVE_ADDR_MAX) {
			as_errf(err, errcap, "dns_perspectives: item %zu is empty or too long", i + 1);
			return -1;
		}
		/* the same syntax as dns_resolver, checked by building (and dropping) a resolver */
		if (as_dns_resolver_new(a, true, &res, err, errcap) < 0)
			return -1;
		ldns_resolver_deep_free(res);
		res = NULL;
		snprintf(out->addr[i], sizeof(out->addr[i]), "%s", a);
	}
	out->n = n;
	if (quorum < 0 || (size_t)quorum > n) {
		as_errf(err, errcap, "dns_perspective_quorum %lld: must be 0 (a majority) or 1..%zu",
		    quorum, n);
		return -1;
	}
	out->quorum = quorum == 0 ? (unsigned)(n / 2 + 1) : (unsigned)quorum;
	return 0;
}

struct job {
	void (*work)(size_t i, const char *addr, void *arg);
	void *arg;
	size_t i;
	const char *addr;
};

static void *
job_main(void *p)
{
	struct job *j = p;

	j->work(j->i, j->addr, j->arg);
	return NULL;
}

void
as_perspectives_run(const struct as_perspectives *ps,
    void (*work)(size_t i, const char *addr, void *arg), void *arg)
{
	pthread_t tid[AS_PERSPECTIVES_MAX];
	struct job jobs[AS_PERSPECTIVES_MAX];
	bool started[AS_PERSPECTIVES_MAX];
	size_t i;

	if (ps->n == 1) {
		work(0, ps->addr[0], arg);
		return;
	}
	for (i = 0; i < ps->n; i++) {
		jobs[i] = (struct job){ work, arg, i, ps->addr[i] };
		started[i] = pthread_create(&tid[i], NULL, job_main, &jobs[i]) == 0;
	}
	for (i = 0; i < ps->n; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			work(i, ps->addr[i], arg);
	}
}
