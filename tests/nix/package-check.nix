# SPDX-License-Identifier: MIT
#
# package-check.nix: nix/package.nix, nix/overlay.nix, default.nix and
# flake.nix evaluated without nixpkgs: a stub callPackage whose
# stdenv.mkDerivation returns its argument, and a stub nixpkgs input for the
# flake. `failures` lists every check that does not hold; test_runner.sh
# passes the pkg-config modules and subdirectories CMakeLists.txt uses.
# Nothing is built and no source is copied.
{ cmakeModules ? "", cmakeSubdirs ? "" }:
let
  root = ../..;
  fake = name: "/nix/store/00000000000000000000000000000000-${name}";

  lib = {
    fileset = {
      toSource = { root, fileset }: { inherit root fileset; };
      unions = xs: xs;
    };
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    licenses.mit = "MIT";
  };
  # the arguments nixpkgs' callPackage would fill in
  deps = {
    inherit lib;
    stdenv.mkDerivation = args: args;
    glibc = { out = fake "glibc"; static = fake "glibc-static"; };
  } // builtins.listToAttrs (map (n: { name = n; value = fake n; }) [
    "cmake" "pkg-config" "acpica-tools" "liburing" "cjson" "libseccomp" "xz" "zstd" "zlib" "cmocka"
  ]);
  callPackage = f: args:
    let fn = import f; in
    fn (builtins.intersectAttrs (builtins.functionArgs fn) deps // args);
  pkgs = deps // { inherit callPackage; };

  pkg = callPackage (root + "/nix/package.nix") { };
  pkgTests = callPackage (root + "/nix/package.nix") { withTests = true; };

  flake = import (root + "/flake.nix");
  outputs = flake.outputs {
    self = outputs;
    nixpkgs.legacyPackages.x86_64-linux = pkgs;
  };

  overlaid = import (root + "/nix/overlay.nix") pkgs pkgs;
  viaDefault = import (root + "/default.nix") { inherit pkgs; };

  words = s: builtins.filter (w: builtins.isString w && w != "") (builtins.split "[ \n]+" s);
  # pkg-config module (CMakeLists.txt) -> nixpkgs attribute
  pcPackage = {
    liburing = "liburing";
    libcjson = "cjson";
    libseccomp = "libseccomp";
    liblzma = "xz";
    libzstd = "zstd";
    zlib = "zlib";
    cmocka = "cmocka";
  };
  check = ok: msg: { inherit ok msg; };
  checks =
    map (m: check (pcPackage ? ${m} && builtins.elem deps.${pcPackage.${m}} pkgTests.buildInputs)
      "pkg_check_modules ${m}: no nixpkgs package for it in nix/package.nix's buildInputs")
      (words cmakeModules)
    ++ map (m: check (m == "cmocka" || builtins.elem (deps.${pcPackage.${m} or "none"} or null) pkg.buildInputs)
      "pkg_check_modules ${m}: missing from buildInputs without tests")
      (words cmakeModules)
    ++ map (d: check (builtins.elem (toString (root + "/${d}")) (map toString pkgTests.src.fileset))
      "add_subdirectory(${d}): not in nix/package.nix's src")
      (words cmakeSubdirs)
    ++ [
      (check (pkg.pname == "agentvmm" && pkg.version == "0.1.0") "pname/version")
      (check (builtins.elem deps.acpica-tools pkg.nativeBuildInputs) "iasl (acpica-tools) not in nativeBuildInputs")
      (check (builtins.elem deps.cmake pkg.nativeBuildInputs && builtins.elem deps.pkg-config pkg.nativeBuildInputs)
        "cmake/pkg-config not in nativeBuildInputs")
      (check (builtins.elem deps.glibc.static pkg.buildInputs) "guest-init's cc -static needs glibc.static")
      (check (pkg.cmakeFlags == [ "-DAGENTVMM_TESTS=OFF" ] && !pkg.doCheck) "tests off by default")
      (check (pkgTests.cmakeFlags == [ "-DAGENTVMM_TESTS=ON" ] && pkgTests.doCheck) "withTests turns them on")
      (check (builtins.elem "fortify" pkg.hardeningDisable) "fortify: CMakeLists.txt sets _FORTIFY_SOURCE itself")
      (check (pkg.meta.platforms == [ "x86_64-linux" ] && pkg.meta.mainProgram == "agentvmm") "meta")
      (check (builtins.attrNames flake.inputs == [ "nixpkgs" ]) "flake inputs: nixpkgs only")
      (check (builtins.attrNames outputs.packages.x86_64-linux == [ "agentvmm" "default" ]
        && outputs.packages.x86_64-linux.default.pname == "agentvmm") "flake packages")
      (check (overlaid.agentvmm.pname == "agentvmm") "overlay")
      (check (viaDefault.pname == "agentvmm") "default.nix")
      (check (outputs.nixosModules.microvm-agentvmm == root + "/nix/microvm-module.nix") "flake nixosModules")
      (check (outputs.lib.runner == root + "/contrib/microvm-nix/agentvmm.nix") "flake lib.runner")
      (check (outputs.lib.microvmPatch == root + "/contrib/microvm-nix/microvm-nix-agentvmm.patch") "flake lib.microvmPatch")
    ];
in
{
  failures = map (c: c.msg) (builtins.filter (c: !c.ok) checks);
  checked = builtins.length checks;
}
