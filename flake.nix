# SPDX-License-Identifier: MIT
#
# flake.nix: agentvmm as a package, an overlay, and its microvm.nix runner
# (docs/microvm-nix.md). x86_64-linux only: agentvmm is an x86-64 KVM monitor.
{
  description = "agentvmm: a minimal KVM virtual machine monitor, with a microvm.nix runner";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      packages.${system} = {
        agentvmm = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${system}.agentvmm;
      };

      # pkgs.agentvmm, which the runner uses unless microvm.agentvmm.package is set
      overlays.default = import ./nix/overlay.nix;

      # No fork of microvm.nix: agentvmm as microvm.declaredRunner of a guest
      # with microvm.hypervisor = "cloud-hypervisor"
      nixosModules.microvm-agentvmm = ./nix/microvm-module.nix;

      lib = {
        # the runner file, as microvm.nix's lib/runners/agentvmm.nix
        runner = ./contrib/microvm-nix/agentvmm.nix;
        # the upstream patch that adds microvm.hypervisor = "agentvmm"
        microvmPatch = ./contrib/microvm-nix/microvm-nix-agentvmm.patch;
      };
    };
}
