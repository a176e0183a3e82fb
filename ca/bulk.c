/*
 * bulk: the bulk-load switch of a CA handle, for a process that fills a store with many
 * certificates at once and nothing else (bench/store_fill). Owns nothing but the switch.
 *
 * Why: every issuance commits durably (a log flush and fdatasync each), which caps a fill at
 * the disk's flush rate. With the switch on, commits of this process's environment handle
 * only write the log buffer (DB_TXN_NOSYNC: atomic and consistent, not durable until flushed);
 * switching it off flushes the log and takes a forced checkpoint, so everything issued is on
 * disk once ca_bulk_load(ca, false) returns. Other processes' handles stay durable. A heal
 * (store reopen) drops the switch: the reopened handle is durable again, which is only slower.
 */
#include "config.h"

#include "ca/ca_int.h"

int
ca_bulk_load(struct ca *ca, bool on, struct ca_error *err)
{
	DB_ENV *env = ca->st->env;
	int ret;

	if (ca->read_only) {
		ca_seterr(err, "the CA was opened read-only");
		return CA_INVALID;
	}
	if ((ret = env->set_flags(env, DB_TXN_NOSYNC, on ? 1 : 0)) != 0)
		return ca_db_result(ret, err, "bulk load");
	if (on)
		return CA_OK;
	if ((ret = env->log_flush(env, NULL)) != 0 ||
	    (ret = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0)
		return ca_db_result(store_note(ca->st, ret), err, "bulk load: flush");
	return CA_OK;
}
