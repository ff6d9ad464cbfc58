# SPDX-License-Identifier: MIT
#
# microvm-module.nix: run a microvm.nix guest under agentvmm without patching
# microvm.nix (flake output nixosModules.microvm-agentvmm; docs/microvm-nix.md,
# "Without a fork"). Import it next to microvm.nix's guest module, keep
# microvm.hypervisor = "cloud-hypervisor" (its guest settings: virtiofs
# shares, systemd initrd, hybrid vsock) and set microvm.agentvmm.enable and
# microvm.agentvmm.microvmSource.
#
# How: microvm.declaredRunner (what the host's microvm@ units and `nix run`
# use) is replaced by a runner package built by microvm.nix's own
# lib/runner.nix, loaded with builtins.scopedImport so that its one import of
# ./runners/cloud-hypervisor.nix yields ../contrib/microvm-nix/agentvmm.nix;
# every other import (lib/default.nix, volumes.nix, macvtap.nix) is the real
# one. So bin/microvm-run, bin/microvm-shutdown and the tap, macvtap and
# virtiofsd scripts and share/microvm files are microvm.nix's, for
# agentvmm's command line. scopedImport is an undocumented builtin (present
# in Nix 2.8 through today, its future discussed in NixOS/nix#8024); the
# upstream patch (contrib/microvm-nix/) needs no such trick.
#
# Do not import it into a microvm.nix that already has the agentvmm
# hypervisor (the patch): both declare microvm.agentvmm.{package,extraArgs,
# platformOEMStrings}.
{ config, lib, pkgs, ... }:

let
  cfg = config.microvm.agentvmm;
  mcfg = config.microvm;
  runnerFile = ../contrib/microvm-nix/agentvmm.nix;

  # lib/runner.nix: hypervisorConfig = import (./runners + "/${hypervisor}.nix") {...}
  isHypervisorRunner = p:
    let s = toString p; in
    builtins.isPath p && baseNameOf (dirOf s) == "runners" && baseNameOf s == "${mcfg.hypervisor}.nix";
  buildRunner = builtins.scopedImport {
    import = p: if isHypervisorRunner p then import runnerFile else import p;
  } "${cfg.microvmSource}/lib/runner.nix";

  refusals =
    lib.optional (mcfg.hypervisor != "cloud-hypervisor")
      "microvm.agentvmm.enable: set microvm.hypervisor = \"cloud-hypervisor\"; agentvmm takes the place of its runner (got \"${mcfg.hypervisor}\")"
    ++ lib.optional (mcfg.cloud-hypervisor.extraArgs != [ ])
      "microvm.agentvmm.enable: microvm.cloud-hypervisor.extraArgs are cloud-hypervisor flags and are not passed to agentvmm; put agentvmm's in microvm.agentvmm.extraArgs";

  runner =
    if refusals != [ ] then throw (lib.concatStringsSep "\n" refusals)
    else buildRunner {
      # what nixos-modules/microvm/default.nix passes for microvm.runner.<hypervisor>
      inherit pkgs;
      microvmConfig = mcfg // {
        inherit (config.networking) hostName;
        inherit (mcfg) hypervisor;
      };
      inherit (config.system.build) toplevel;
    };
in
{
  options.microvm.agentvmm = {
    enable = lib.mkEnableOption "agentvmm in place of cloud-hypervisor as microvm.declaredRunner";

    microvmSource = lib.mkOption {
      type = lib.types.path;
      example = lib.literalExpression "inputs.microvm";
      description = ''
        The microvm.nix source tree whose nixosModules.microvm this guest
        imports (its lib/runner.nix builds the runner package).
      '';
    };

    package = lib.mkOption {
      type = lib.types.package;
      default = mcfg.vmHostPackages.agentvmm
        or (mcfg.vmHostPackages.callPackage ./package.nix { });
      defaultText = lib.literalExpression
        "pkgs.agentvmm, or agentvmm's nix/package.nix built with microvm.vmHostPackages";
      description = "The agentvmm package to use.";
    };

    extraArgs = lib.mkOption {
      type = with lib.types; listOf str;
      default = [ ];
      description = "Extra arguments to pass to agentvmm (after the runner's own).";
    };

    platformOEMStrings = lib.mkOption {
      type = with lib.types; listOf str;
      default = mcfg.cloud-hypervisor.platformOEMStrings;
      defaultText = lib.literalExpression "config.microvm.cloud-hypervisor.platformOEMStrings";
      example = [ "io.systemd.credential:APIKEY=supersecret" ];
      description = "SMBIOS OEM strings, one `--oem-string` each.";
    };
  };

  config = lib.mkIf cfg.enable {
    microvm.declaredRunner = runner;
  };
}
