/*
 * outcome: the standard answers of per-message processing (see outcome.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "milter/process/outcome.h"

void
process_outcome_free(struct process_outcome *out)
{
	if (out->action == PROCESS_MODIFY)
		smime_result_free(&out->result);
	for (size_t i = 0; i < out->del_count; i++)
		free(out->del[i].name);
	free(out->del);
	memset(out, 0, sizeof(*out));
}

void
process_fail(const struct snapshot *snap, struct process_outcome *out)
{
	switch (snap->conf->on_error) {
	case AS_ACT_ACCEPT:
		out->action = PROCESS_PASS;
		break;
	case AS_ACT_REJECT:
		out->action = PROCESS_REJECT;
		out->rcode = "550";
		out->xcode = "5.3.0";
		out->text = "S/MIME processing failed";
		break;
	default:
		out->action = PROCESS_TEMPFAIL;
		out->rcode = "451";
		out->xcode = "4.3.0";
		out->text = "S/MIME processing failed temporarily, try again later";
		break;
	}
}

void
process_oversize(const struct snapshot *snap, struct process_outcome *out)
{
	switch (snap->conf->oversize_action) {
	case AS_ACT_ACCEPT:
		out->action = PROCESS_PASS;
		break;
	case AS_ACT_REJECT:
		out->action = PROCESS_REJECT;
		out->rcode = "552";
		out->xcode = "5.3.4";
		out->text = "message too big for S/MIME processing";
		break;
	default:
		out->action = PROCESS_TEMPFAIL;
		out->rcode = "452";
		out->xcode = "4.3.4";
		out->text = "message too big for S/MIME processing now";
		break;
	}
}
