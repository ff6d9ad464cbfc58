#!/bin/bash
# SPDX-License-Identifier: MIT
# containerd.sh RUNTIME_BINARY [CMD [ARGS...]]: run CMD (default: an interactive
# bash) next to a private containerd (ctrlib.sh) that has the test image
# (mkimage.sh) imported, for trying an OCI runtime by hand. CMD gets:
#   CTR_SOCK, CTR_NS    for `ctr -a "$CTR_SOCK" -n "$CTR_NS" ...`
#   CTR_IMAGE           the image's name
#   CTR_RUN_FLAGS       the `ctr run` flags selecting RUNTIME_BINARY (no spaces
#                       inside a flag: use it unquoted)
#   CTR_FIFO_FLAGS      the flags for `ctr task exec`/`task start`
#   CTR_DIR             everything's temp dir (removed at the end)
# e.g. tests/oci/containerd.sh build-lead/oci/agentvmm-oci sh -c \
#   'ctr -a $CTR_SOCK -n $CTR_NS run --rm $CTR_RUN_FLAGS $CTR_IMAGE t1 echo hi'
# When CMD ends, everything it started through containerd is removed.
# Exit: CMD's status; 2 on a usage error or a failed set-up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ctrlib.sh
. "$here/ctrlib.sh"

main() {
	local rt rc=0
	if [ $# -lt 1 ]; then
		echo "usage: tests/oci/containerd.sh RUNTIME_BINARY [CMD [ARGS...]]" >&2
		exit 2
	fi
	rt=$(command -v "$1") || { echo "containerd.sh: $1: not found" >&2; exit 2; }
	rt=$(realpath "$rt")
	shift
	[ $# -gt 0 ] || set -- bash -i
	ctr_start || exit 2
	"$here/mkimage.sh" "$CTR_DIR/image.tar" "$CTR_IMAGE" || exit 2
	ctr_import "$CTR_DIR/image.tar" || exit 2
	ctr_rt_flags "$rt"
	export CTR_SOCK CTR_NS CTR_IMAGE CTR_DIR CTR_RUN_FLAGS="${CTR_RT[*]}" \
		CTR_FIFO_FLAGS="${CTR_FIFO[*]}"
	echo "containerd.sh: containerd at $CTR_SOCK, namespace $CTR_NS, image $CTR_IMAGE," \
		"runtime $rt (state in $(ctr_rt_state))" >&2
	"$@" || rc=$?
	exit "$rc"
}

main "$@"
