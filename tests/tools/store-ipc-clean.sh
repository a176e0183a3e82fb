#!/bin/sh
# store-ipc-clean DIR...: remove the System V shared memory that a store under DIR left behind
# when its last process was killed (a clean close removes it itself). Segments still attached
# by a live process are kept. Tests call it before they delete their directories.
for top in "$@"; do
	[ -d "$top" ] || continue
	find "$top" -name store.shmkey -type f 2>/dev/null | while read -r f; do
		read -r key _ < "$f" 2>/dev/null || continue
		case "$key" in '' | *[!0-9]*) continue ;; esac
		keys="" i=0
		while [ $i -lt 64 ]; do
			keys="$keys $(printf '0x%08x' $((key + i)))"
			i=$((i + 1))
		done
		# ipcs -m: key shmid owner perms bytes nattch
		ipcs -m | awk -v ks="$keys" 'BEGIN { n = split(ks, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
			($1 in want) && $6 == 0 { print $2 }' | while read -r id; do
			ipcrm -m "$id" 2>/dev/null
		done
	done
done
exit 0
