# SPDX-License-Identifier: MIT
#
# dev-check.nix: the runner inside the real microvm.nix, evaluated with
# nixpkgs' lib and stub packages (no nixpkgs, nothing is built). Not in CI:
# it needs a microvm.nix tree and nixpkgs.lib, which dev-check.sh fetches.
#
# lib.evalModules over microvm.nix's own guest modules (options.nix with its
# mkRemovedOptionModule for balloonMem, asserts.nix, interfaces.nix,
# virtiofsd/) plus a stub of the few NixOS options they read, then
# config.microvm.declaredRunner, whose build script and bin/ scripts come
# from microvm.nix's lib/runner.nix:
#   nofork.*   unpatched microvm.nix + nix/microvm-module.nix,
#              hypervisor = "cloud-hypervisor"
#   patched.*  microvm.nix with the upstream patch, hypervisor = "agentvmm"
#              (microvm.runner built as nixos-modules/microvm/default.nix does)
# Every bin/ script text is printed with builtins.trace (stderr).
{ microvm, patched, nixpkgsLib
  # the no-fork module, and what to give its microvmSource (flake-check: the
  # module from agentvmm's flake outputs, microvm.nix as a flake input)
, agentvmmModule ? ../../nix/microvm-module.nix
, microvmSource ? microvm
}:

let
  lib = import nixpkgsLib;

  fake = name: let self = {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    out = self;
    meta.mainProgram = builtins.head (lib.splitString "-" name);
  }; in self;
  pkgs = rec {
    _type = "pkgs";
    inherit lib;
    stdenv = {
      hostPlatform = { system = "x86_64-linux"; isDarwin = false; isLinux = true; linux-kernel.target = "bzImage"; };
      targetPlatform.system = "x86_64-linux";
    };
    buildPackages = pkgs;
    linux = fake "linux" // { target = "bzImage"; };
    runCommand = name: env: script: fake name // {
      passthru = env.passthru or { };
      buildScript = script;
    };
    runCommandLocal = runCommand;
    writeShellScript = name: text: builtins.trace "--- ${name}\n${text}--- end" (fake name);
    writeText = name: _: fake name;
    writers.writePython3 = name: _: _: fake name;
    replaceVars = _: _: fake "replaced";
    python3Packages.supervisor = fake "supervisor";
    callPackage = _: _: fake "agentvmm-from-callPackage";
  } // lib.genAttrs [
    "python3" "systemd" "gnused" "gawk" "coreutils" "coreutils-full" "iproute2"
    "e2fsprogs" "xfsprogs" "btrfs-progs" "dosfstools" "socat" "util-linux" "virtiofsd"
    "cloud-hypervisor" "cloud-hypervisor-graphics" "qemu" "qemu_kvm" "crosvm" "firecracker"
    "kvmtool" "stratovirt" "alioth" "vfkit" "agentvmm"
  ] fake;

  # the NixOS options microvm.nix's modules read, and the rest of a guest
  nixosStub = { config, ... }: {
    options = with lib; {
      networking.hostName = mkOption { type = types.str; };
      boot.kernelPackages = mkOption { type = types.raw; };
      system.build = mkOption { type = types.lazyAttrsOf types.unspecified; default = { }; };
      system.boot.loader = {
        initrdFile = mkOption { type = types.str; };
        kernelFile = mkOption { type = types.str; };
      };
      nix.optimise.automatic = mkOption { type = types.bool; default = false; };
      assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      warnings = mkOption { type = types.listOf types.str; default = [ ]; };
      # declared by store-disk.nix, which is not imported (storeOnDisk is false)
      microvm.storeDisk = mkOption { type = types.path; };
    };
    config = {
      _module.args.pkgs = pkgs;
      networking.hostName = "agent";
      boot.kernelPackages.kernel = fake "linux-6.12.1" // {
        version = "6.12.1";
        dev = fake "linux-6.12.1-dev";
      };
      system.build.initialRamdisk = fake "initrd-linux-6.12.1";
      system.build.toplevel = fake "nixos-system-agent-25.05";
      system.boot.loader = { initrdFile = "initrd"; kernelFile = "bzImage"; };
      # system.nix and optimization.nix would add these
      microvm.kernelParams = [ "8250.nr_uarts=1" "init=${config.system.build.toplevel}/init" ];
    };
  };

  guestModules = src: [
    "${src}/nixos-modules/microvm/options.nix"
    "${src}/nixos-modules/microvm/asserts.nix"
    "${src}/nixos-modules/microvm/interfaces.nix"
    "${src}/nixos-modules/microvm/virtiofsd"
    nixosStub
  ];

  # The post's VM (tests/nix/cases.nix "post")
  postVm = hypervisor: {
    microvm = {
      inherit hypervisor;
      vcpu = 8;
      mem = 4096;
      socket = "control.socket";
      writableStoreOverlay = "/nix/.rw-store";
      shares = map (s: s // { proto = "virtiofs"; }) [
        { tag = "ro-store"; source = "/nix/store"; mountPoint = "/nix/.ro-store"; }
        { tag = "ssh-keys"; source = "/var/lib/microvms/agent/ssh-keys"; mountPoint = "/etc/ssh/keys"; }
        { tag = "claude-credentials"; source = "/home/user/.claude"; mountPoint = "/home/user/.claude"; }
        { tag = "workspace"; source = "/home/user/src/project"; mountPoint = "/workspace"; }
      ];
      volumes = [ { image = "var.img"; mountPoint = "/var"; size = 8192; } ];
      interfaces = [ { type = "tap"; id = "microvm4"; mac = "02:00:00:00:00:05"; } ];
    };
  };
  # vsock notify, a credential, a macvtap with two queue pairs
  notifyVm = hypervisor: lib.recursiveUpdate (postVm hypervisor) {
    microvm = {
      vcpu = 2;
      vsock.cid = 4;
      credentialFiles.SOPS_AGE_KEY = "/run/secrets/age-key";
      interfaces = [ {
        type = "macvtap";
        id = "vm-mvt";
        mac = "02:00:00:00:00:06";
        macvtap = { link = "eth0"; mode = "bridge"; };
      } ];
    };
  };

  summary = eval:
    let
      inherit (eval) config;
      r = config.microvm.declaredRunner;
    in {
      inherit (r) name passthru buildScript;
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
      tapFlags = config.microvm.binScripts.tap-up or null;
    };

  noforkEval = vm: lib.evalModules {
    modules = guestModules microvm ++ [
      agentvmmModule
      vm
      { microvm.agentvmm = { enable = true; inherit microvmSource; }; }
    ];
  };

  patchedLib = import "${patched}/lib" { inherit lib; };
  patchedEval = vm: lib.evalModules {
    modules = guestModules patched ++ [
      vm
      # nixos-modules/microvm/default.nix's config
      ({ config, pkgs, ... }: {
        microvm.runner = lib.genAttrs patchedLib.hypervisors (hypervisor:
          patchedLib.buildRunner {
            inherit pkgs;
            microvmConfig = config.microvm // {
              inherit (config.networking) hostName;
              inherit hypervisor;
            };
            inherit (config.system.build) toplevel;
          });
      })
    ];
  };
  # microvm.nix's whole guest module (nixos-modules/microvm: mounts, store
  # disk, system, optimization, ...), the rest of NixOS as freeform stubs
  # freeform values for the NixOS options nobody declared here: lists
  # concatenate and attribute sets merge per attribute (with priorities), as
  # NixOS's listOf/attrsOf options do; anything else must be equal
  loose = lib.mkOptionType {
    name = "loose";
    merge = loc: defs:
      let vals = map (d: d.value) defs; in
      if builtins.all builtins.isList vals then builtins.concatLists vals
      else if builtins.all (v: builtins.isAttrs v && !lib.isDerivation v) vals
      then (lib.types.lazyAttrsOf loose).merge loc defs
      else lib.mergeEqualOption loc defs;
  };
  freeNs = options: lib.mkOption {
    type = lib.types.submodule { freeformType = lib.types.lazyAttrsOf loose; inherit options; };
    default = { };
  };

  fullEval = src: hypervisor: extra: lib.evalModules {
    modules = [
      "${src}/nixos-modules/microvm"
      (postVm hypervisor)
      extra
      ({ config, ... }: {
        freeformType = lib.types.lazyAttrsOf loose;
        # namespaces whose options depend on each other: real options in a
        # freeform submodule, so that reading one does not merge the others
        options.networking = freeNs {
          hostName = lib.mkOption { type = lib.types.str; };
          hostId = lib.mkOption { type = with lib.types; nullOr str; default = null; };
        };
        options.system = freeNs {
          build = lib.mkOption { type = with lib.types; lazyAttrsOf unspecified; default = { }; };
        };
        config = {
          _module.args.pkgs = pkgs // {
            closureInfo = _: fake "closure-info";
            writeClosure = _: fake "store-paths";
            erofs-utils = fake "erofs-utils" // { overrideAttrs = _: fake "erofs-utils-mt"; };
          };
          networking.hostName = "agent";
          boot.kernelPackages.kernel = fake "linux-6.12.1" // {
            version = "6.12.1";
            dev = fake "linux-6.12.1-dev";
          };
          boot.kernelParams = [ "loglevel=4" ];
          system.build.initialRamdisk = fake "initrd-linux-6.12.1";
          system.build.toplevel = fake "nixos-system-agent-25.05";
          system.boot.loader = { initrdFile = "initrd"; kernelFile = "bzImage"; };
          nix.enable = true;
          nix.optimise.automatic = false;
          nix.settings.auto-optimise-store = false;
          nix.package = fake "nix";
          security.virtualisation.flushL1DataCache = null;
          services.openssh.enable = false;
        };
      })
    ];
  };
in
{
  full = let
    fullSummary = eval: summary eval // {
      kernelParams = eval.config.microvm.kernelParams;
      initrdSystemd = eval.config.boot.initrd.systemd.enable;
      fileSystems = builtins.attrNames eval.config.fileSystems;
    };
  in {
    nofork = fullSummary (fullEval microvm "cloud-hypervisor" {
      imports = [ agentvmmModule ];
      microvm.agentvmm = { enable = true; inherit microvmSource; };
    });
    patched = fullSummary (fullEval patched "agentvmm" { });
  };
  nofork = {
    post = summary (noforkEval (postVm "cloud-hypervisor"));
    notify = summary (noforkEval (notifyVm "cloud-hypervisor"));
    # the module refuses another hypervisor
    qemu = (noforkEval (postVm "qemu")).config.microvm.declaredRunner.name;
  };
  patched = {
    post = summary (patchedEval (postVm "agentvmm"));
    notify = summary (patchedEval (notifyVm "agentvmm"));
    hypervisors = patchedLib.hypervisors;
  };
}
