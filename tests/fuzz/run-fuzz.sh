#!/bin/sh
# Run libFuzzer targets for a while each: run-fuzz.sh BUILD_FUZZ_DIR SECONDS TARGET...
# (a build made with `CC=clang ./configure --enable-fuzzing`; `make fuzz` calls this).
# Each target works on a copy of its seed corpus in $FUZZ_WORK (default /tmp/autosmime-fuzz),
# with its dictionary when there is one; new inputs stay there for the next run, crashes
# land in $FUZZ_WORK/crashes as crash-*, to become regression inputs under corpus/<target>/.
# Prints one line per target: its run time, coverage (edges) and corpus size.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1 seconds=$2
shift 2
work=${FUZZ_WORK:-/tmp/autosmime-fuzz}
mkdir -p "$work/crashes"
rc=0
for target in "$@"; do
	name=${target#fuzz_}
	bin="$build/$target"
	[ -x "$bin" ] || { echo "run-fuzz: $bin is not built (configure --enable-fuzzing)" >&2; exit 2; }
	mkdir -p "$work/$name"
	cp -n "$here/corpus/$name"/* "$work/$name/" 2>/dev/null || :
	dict=""
	[ -f "$here/dict/$name.dict" ] && dict="-dict=$here/dict/$name.dict"
	log="$work/$name.log"
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$work/crashes/$name-" $dict "$work/$name" >"$log" 2>&1; then
		rc=1
		echo "$target: FAILED, see $log and $work/crashes/"
	fi
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "$target: ${seconds}s, cov ${cov:-?} edges, ${execs:-?} runs, corpus $(ls "$work/$name" | wc -l) inputs"
done
exit $rc
