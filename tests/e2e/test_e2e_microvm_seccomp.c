// SPDX-License-Identifier: MIT
/*
 * test_e2e_microvm_seccomp.c: test_e2e_microvm.c's post VM once more with
 * --seccomp=log appended (as microvm.agentvmm.extraArgs would): no forbidden
 * system call is reported. A program of its own, so that a test host that
 * stalls (docs/testhost.md "Stalls") reruns one boot.
 */
#define MICROVM_SECCOMP_LOG 1
#include "test_e2e_microvm.c"
