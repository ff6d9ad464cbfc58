#!/bin/bash
# SPDX-License-Identifier: MIT
# test_kvm_kind.sh BUILD_DIR: the decisions the scripts take on each kind of
# machine (no KVM device, software KVM, hardware KVM, forced test host), made
# on any machine by pointing AGENTVMM_KVM_DEVICE and AV_CPUINFO elsewhere:
# scripts/kvm-kind.sh, scripts/testhost.sh --need, tests/e2e/guests.sh --plan.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: test_kvm_kind.sh BUILD_DIR}
work=$(mktemp -d "${TMPDIR:-/tmp}/av-kvmkind.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s:\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3"
	fi
}
printf 'processor : 0\nflags : fpu sse2 hypervisor\n' >"$work/cpu-soft"
printf 'processor : 0\nflags : fpu sse2 svm npt\n' >"$work/cpu-hw"
# a character device we may read and write stands in for a KVM device
dev=/dev/null

kind() { env "$@" "$root/scripts/kvm-kind.sh"; }
need() { env "$@" "$root/scripts/testhost.sh" --need; echo $?; }
plan() { env "$@" "$root/tests/e2e/guests.sh" --plan "$build"; }
# where GROUP PROGRAM PLAN: where the plan runs it (one word: here/testhost)
where() { awk -v g="$1" -v p="$2" '$1 == g && $2 == p { print ($3 == "here" ? "here" : "testhost") }' <<<"$3" | sort -u | tr '\n' ' '; }

none=(AGENTVMM_KVM_DEVICE=$work/missing AV_CPUINFO=$work/cpu-hw)
soft=(AGENTVMM_KVM_DEVICE=$dev AV_CPUINFO=$work/cpu-soft)
hw=(AGENTVMM_KVM_DEVICE=$dev AV_CPUINFO=$work/cpu-hw)
forced=(AGENTVMM_KVM_DEVICE=$dev AV_CPUINFO=$work/cpu-hw AV_FORCE_TESTHOST=1)
notchar=(AGENTVMM_KVM_DEVICE=$work AV_CPUINFO=$work/cpu-hw)

check "kind, no device" nokvm "$(kind "${none[@]}")"
check "kind, not a character device" nokvm "$(kind "${notchar[@]}")"
check "kind, software KVM" softkvm "$(kind "${soft[@]}")"
check "kind, hardware KVM" hwkvm "$(kind "${hw[@]}")"
check "kind, forced test host" softkvm "$(kind "${forced[@]}")"
check "describe, no device" "no usable KVM device at $work/missing: every guest runs inside the nested test host (QEMU TCG)" \
	"$(env "${none[@]}" "$root/scripts/kvm-kind.sh" --describe)"
check "testhost --need, no device" 0 "$(need "${none[@]}")"
check "testhost --need, software KVM" 0 "$(need "${soft[@]}")"
check "testhost --need, hardware KVM" 1 "$(need "${hw[@]}")"
check "testhost --need, forced" 0 "$(need "${forced[@]}")"

p=$(plan "${none[@]}") || fail=$((fail + 1))
check "plan kind, no device" "kind nokvm" "$(head -n1 <<<"$p")"
check "no device: nothing runs here" "" "$(awk '$3 == "here"' <<<"$p")"
check "no device: tiny guests in a test host" "testhost " "$(where direct test_tinyguest "$p")"
check "no device: direct tests in a test host" "testhost " "$(where direct test_e2e_direct_ctl "$p")"
check "no device: badinput without KVM in a test host" "testhost " "$(where direct badinput-nokvm.sh "$p")"
check "no device: Linux boots in a test host" "testhost " "$(where linux test_e2e_boot "$p")"
check "no device: two test hosts used" 2 "$(awk '$3 == "test" { print $5 }' <<<"$p" | sort -u | wc -l)"
check "no device, one lane" 1 "$(plan "${none[@]}" AV_LANES=1 | awk '$3 == "test" { print $5 }' | sort -u | wc -l)"

p=$(plan "${soft[@]}")
check "plan kind, software KVM" "kind softkvm" "$(head -n1 <<<"$p")"
check "software KVM: tiny guests here" "here " "$(where direct test_tinyguest "$p")"
check "software KVM: tiny guests again in a test host" "testhost " "$(where linux test_tinyguest "$p")"
check "software KVM: direct tests here" "here " "$(where direct test_e2e_direct_lib "$p")"
check "software KVM: Linux boots in a test host" "testhost " "$(where linux test_e2e_net "$p")"
check "software KVM: compressed modules in a test host" "testhost " "$(where linux compressed-modules.sh "$p")"

p=$(plan "${hw[@]}")
check "plan kind, hardware KVM" "kind hwkvm" "$(head -n1 <<<"$p")"
check "hardware KVM: nothing in a test host" "" "$(awk '$3 == "test"' <<<"$p")"
check "hardware KVM: tiny guests run once" "here " "$(where direct test_tinyguest "$p")"
check "hardware KVM: no tiny guests in the linux group" "" "$(where linux test_tinyguest "$p")"

p=$(plan "${forced[@]}")
check "forced: Linux boots in a test host" "testhost " "$(where linux test_e2e_boot "$p")"
check "forced: direct tests here" "here " "$(where direct test_e2e_direct_ctl "$p")"

# every program of the build is in the plan, in exactly one group per kind
n=$(ls "$build"/tests/e2e/test_e2e_* | wc -l)
check "every e2e program planned" "$n" "$(plan "${hw[@]}" | awk '$2 ~ /^test_e2e_/' | wc -l)"

# a bad lane count is a usage error
env "${none[@]}" AV_LANES=0 "$root/tests/e2e/guests.sh" --plan "$build" >/dev/null 2>&1
check "AV_LANES=0 refused" 2 "$?"
"$root/tests/e2e/guests.sh" --plan "$work/nope" >/dev/null 2>&1
check "missing build dir refused" 2 "$?"

echo "kvm-kind: $pass passed, $fail failed"
[ "$fail" = 0 ]
