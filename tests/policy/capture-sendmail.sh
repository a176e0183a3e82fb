#!/bin/sh
# capture-sendmail: a sendmail-compatible sink for the enrolment tests.
#   capture-sendmail.sh OUTDIR [sendmail options such as -i -t -f ADDR]
# Stores the message read from standard input as OUTDIR/<time in ns>.<pid>.eml (written to a
# .tmp name first, then renamed, so a reader never sees half a message) and the options in
# a .args file beside it. When OUTDIR/FAIL exists it reads the message and exits 75
# (EX_TEMPFAIL), like a sendmail that cannot queue.
out=$1
shift
[ -d "$out" ] || exit 78
if [ -e "$out/FAIL" ]; then
	cat >/dev/null
	exit 75
fi
name=$(date +%s%N).$$
cat > "$out/$name.tmp" || exit 75
printf '%s\n' "$@" > "$out/$name.args"
mv "$out/$name.tmp" "$out/$name.eml"
