#!/bin/sh
# SPDX-License-Identifier: MIT
# batch.sh PROGRAM...: run each test program in turn (all of them, even after a
# failure), say which failed, and exit 1 if any did (0 if all passed or skipped).
# Output streams as it comes; the whole output of each failed program is printed
# again at the end, so a log cut in the middle still shows why it failed.
logs=$(mktemp -d "${TMPDIR:-/tmp}/av-batch-XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT TERM
failed=
for p in "$@"; do
	name=$(basename "$p")
	echo "=== $name"
	# status of the program, not of tee: run it in a group that records it
	{ "$p" </dev/null 2>&1; echo $? >"$logs/$name.rc"; } | tee "$logs/$name.log"
	rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
	case $rc in
	0) ;;
	77) echo "=== $name: skipped" ;;
	*) echo "=== $name: FAILED (status $rc)"; failed="$failed $name" ;;
	esac
done
[ -z "$failed" ] && exit 0
for name in $failed; do
	echo "=== again, the output of failed $name:"
	cat "$logs/$name.log"
done
echo "=== failed:$failed"
exit 1
