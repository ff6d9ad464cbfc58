# SPDX-License-Identifier: MIT
#
# overlay.nix: adds `agentvmm` to nixpkgs, so microvm.nix's runner finds
# pkgs.agentvmm (nixpkgs.overlays = [ (import ./nix/overlay.nix) ]).
final: _prev: {
  agentvmm = final.callPackage ./package.nix { };
}
