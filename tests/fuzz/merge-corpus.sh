#!/bin/sh
# Fold what run-fuzz.sh found into the tree's corpus: merge-corpus.sh BUILD_FUZZ_DIR TARGET...
# Keeps every input already in corpus/<target>/ and adds the fewest of $FUZZ_WORK/<target>/
# that bring new coverage features (libFuzzer's -set_cover_merge).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1
shift
work=${FUZZ_WORK:-/tmp/autosmime-fuzz}
for target in "$@"; do
	name=${target#fuzz_}
	[ -x "$build/$target" ] || { echo "merge-corpus: $build/$target is not built" >&2; exit 2; }
	[ -d "$work/$name" ] || { echo "merge-corpus: no $work/$name to merge" >&2; exit 2; }
	before=$(ls "$here/corpus/$name" | wc -l)
	"$build/$target" -set_cover_merge=1 -rss_limit_mb=2048 "$here/corpus/$name" "$work/$name" \
	    > "$work/$name.merge.log" 2>&1 || { echo "merge-corpus: $target failed, see $work/$name.merge.log" >&2; exit 1; }
	echo "$target: $before -> $(ls "$here/corpus/$name" | wc -l) inputs"
done
