#!/bin/sh
# SPDX-License-Identifier: MIT
# badinput-nokvm.sh: test_e2e_badinput as on a machine without /dev/kvm: every
# input error must be reported as such, and the missing KVM device only when
# the rest is good (docs/architecture.md, "Start-up order").
here=$(cd "$(dirname "$0")" && pwd)
bin=${AV_BADINPUT:-$(cd "$here/../.." && pwd)/build/tests/e2e/test_e2e_badinput}
AGENTVMM_KVM_DEVICE=/nonexistent/kvm exec "$bin" "$@"
