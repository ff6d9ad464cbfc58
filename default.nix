# SPDX-License-Identifier: MIT
#
# default.nix: agentvmm without flakes (`nix-build`, or
# `import /path/to/agentvmm { inherit pkgs; }`). See docs/microvm-nix.md.
{ pkgs ? import <nixpkgs> { } }:
pkgs.callPackage ./nix/package.nix { }
