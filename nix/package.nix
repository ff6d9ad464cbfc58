# SPDX-License-Identifier: MIT
#
# package.nix: agentvmm for nixpkgs (`pkgs.callPackage ./nix/package.nix { }`).
# Builds the agentvmm command, libagentvmm (static and shared, with its header
# and pkg-config file) with CMake, as scripts/build.sh does on Debian. The
# dependencies are the top CMakeLists.txt's pkg_check_modules (liburing,
# libcjson, libseccomp, liblzma, libzstd, zlib) and find_program(iasl).
#
# guest-init (the guest's PID 1, embedded in agentvmm) is linked statically:
# guest-init/CMakeLists.txt uses musl-gcc when it finds one, else `cc -static`,
# which here is nixpkgs' gcc against glibc.static.
#
# Never built by this repository's CI (no Nix store there); tests/nix/ only
# evaluates it with a stub callPackage. See docs/microvm-nix.md.
{ lib
, stdenv
, cmake
, pkg-config
, acpica-tools
, liburing
, cjson
, libseccomp
, xz
, zstd
, zlib
, glibc
, cmocka
  # The unit tests (ctest -L unit). Off: tests/CMakeLists.txt also builds the
  # tiny test guests with `cc -m32` and `ld -m elf_i386 --oformat binary`,
  # never tried under nixpkgs' compiler wrappers, and most other tests need
  # /dev/kvm, which the build sandbox does not have.
, withTests ? false
}:

stdenv.mkDerivation {
  pname = "agentvmm";
  version = "0.1.0"; # libagentvmm's VERSION in CMakeLists.txt

  # only what the CMake build reads (not the build*/ trees of a checkout)
  src = lib.fileset.toSource {
    root = ./..;
    fileset = lib.fileset.unions ([
      ../CMakeLists.txt
      ../vmm
      ../boot
      ../devices
      ../guest-init
      ../egress
      ../oci
      ../include
      ../bench
      ../examples
    ] ++ lib.optionals withTests [ ../tests ../scripts ]);
  };

  nativeBuildInputs = [ cmake pkg-config acpica-tools ];
  buildInputs = [ liburing cjson libseccomp xz zstd zlib glibc.static ]
    ++ lib.optional withTests cmocka;

  cmakeFlags = [ "-DAGENTVMM_TESTS=${if withTests then "ON" else "OFF"}" ];

  # CMakeLists.txt defines _FORTIFY_SOURCE=2 itself and builds with -Werror;
  # the wrapper's own definition (3 with fortify3) would be a redefinition
  # warning, hence an error.
  hardeningDisable = [ "fortify" "fortify3" ];

  doCheck = withTests;
  checkPhase = ''
    runHook preCheck
    ctest -L unit --output-on-failure
    runHook postCheck
  '';

  meta = {
    description = "Minimal KVM virtual machine monitor for throwaway VMs (a microvm.nix runner)";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" ];
    mainProgram = "agentvmm";
  };
}
