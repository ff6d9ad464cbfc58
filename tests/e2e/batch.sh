#!/bin/sh
# SPDX-License-Identifier: MIT
# batch.sh PROGRAM...: run each test program in turn (all of them, even after a
# failure), say which failed, and exit 1 if any did (0 if all passed or skipped).
failed=
for p in "$@"; do
	echo "=== $(basename "$p")"
	"$p" </dev/null
	rc=$?
	case $rc in
	0) ;;
	77) echo "=== $(basename "$p"): skipped" ;;
	*) echo "=== $(basename "$p"): FAILED (status $rc)"; failed="$failed $(basename "$p")" ;;
	esac
done
[ -z "$failed" ] && exit 0
echo "=== failed:$failed"
exit 1
