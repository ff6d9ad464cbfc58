# SPDX-License-Identifier: MIT
#
# microvm-config.nix: a stand-in for what microvm.nix 71beea0 passes a runner
# as `microvmConfig` (config.microvm // { hostName, hypervisor }), without
# nixpkgs: every option of nixos-modules/microvm/options.nix at its default,
# overridden by `overrides` (merged recursively). Submodule values (shares,
# volumes, interfaces) are filled in by mkShare/mkVolume/mkInterface with their
# option defaults; options without a default throw when read, as the module
# system does. Packages are fake store paths (strings). The removed balloonMem
# throws like mkRemovedOptionModule's stub, so a runner that reads it fails.
let
  undefined = name: throw "The option `microvm.${name}' is used but not defined.";

  # nixpkgs' lib.recursiveUpdate, for attribute sets only
  recursiveUpdate = a: b: a // builtins.mapAttrs (n: v:
    if builtins.isAttrs v && builtins.isAttrs (a.${n} or null) && !(v ? outPath)
    then recursiveUpdate a.${n} v
    else v) b;

  fakePkg = name: "/nix/store/00000000000000000000000000000000-${name}";
in
rec {
  inherit fakePkg;

  pkgs = {
    stdenv.hostPlatform.system = "x86_64-linux";
    agentvmm = fakePkg "agentvmm-0.1.0";
    socat = fakePkg "socat-1.8.0.1";
    util-linux = fakePkg "util-linux-2.40.2-bin";
  };

  # microvm.shares.*: the submodule's defaults; socket as microvm.nix names it
  mkShare = hostName: s: {
    securityModel = "none";
    proto = "9p";
    readOnly = false;
    cache = "auto";
    posixAcl = true;
    extraArgs = [ ];
    tag = undefined "shares.*.tag";
    source = undefined "shares.*.source";
    mountPoint = undefined "shares.*.mountPoint";
  } // s // {
    socket = s.socket or (if (s.proto or "9p") == "virtiofs"
      then "${hostName}-virtiofs-${s.tag}.sock" else null);
  };

  mkVolume = v: {
    serial = null;
    direct = false;
    readOnly = false;
    label = null;
    autoCreate = true;
    mkfsExtraArgs = [ ];
    fsType = "ext4";
    imageType = "raw";
    image = undefined "volumes.*.image";
    mountPoint = undefined "volumes.*.mountPoint";
    size = undefined "volumes.*.size";
  } // v;

  mkInterface = i: {
    bridge = null;
    tap.vhost = false;
    macvtap = {
      link = undefined "interfaces.*.macvtap.link";
      mode = undefined "interfaces.*.macvtap.mode";
    };
    type = undefined "interfaces.*.type";
    id = undefined "interfaces.*.id";
    mac = undefined "interfaces.*.mac";
  } // i;

  # kernel, initrd and toplevel of a made-up NixOS guest
  kernel = {
    outPath = fakePkg "linux-6.12.1";
    dev = fakePkg "linux-6.12.1-dev";
  };
  initrdPath = "${fakePkg "initrd-linux-6.12.1"}/initrd";
  kernelParams = [
    "8250.nr_uarts=1"
    "loglevel=4"
    "init=${fakePkg "nixos-system-agent-25.05"}/init"
    "regInfo=${fakePkg "closure-info"}/registration"
  ];

  # config.microvm at the defaults, for hostName, with `overrides` on top
  microvmConfig = { hostName ? "agent", hypervisor ? "agentvmm", overrides ? { } }:
    let
      defaults = {
        inherit hostName hypervisor kernel initrdPath kernelParams;
        guest.enable = true;
        optimize.enable = true;
        cpu = null;
        preStart = "";
        extraArgsScript = null;
        socket = "${hostName}.sock";
        user = null;
        vcpu = 1;
        mem = 512;
        hugepageMem = false;
        hotplugMem = 0;
        hotpluggedMem = 0;
        balloon = false;
        initialBalloonMem = 0;
        deflateOnOOM = true;
        forwardPorts = [ ];
        volumes = [ ];
        interfaces = [ ];
        shares = [ ];
        devices = [ ];
        vsock = { cid = null; ssh.enable = false; };
        registerWithMachined = false;
        machineId = "a67472e5-570e-5c8a-b18c-ae3c77701050";
        storeOnDisk = !builtins.any (s: s.source == "/nix/store") merged.shares;
        storeDisk =
          if merged.storeOnDisk then fakePkg "microvm-store-disk.erofs"
          else undefined "storeDisk";
        storeDiskType = "erofs";
        storeDiskErofsFlags = [ "-zlz4hc" "-Eztailpacking" "-Efragments" ];
        storeDiskSquashfsFlags = [ "-c" "zstd" "-j" "$NIX_BUILD_CORES" ];
        registerClosure = true;
        writableStoreOverlay = null;
        graphics = {
          enable = false;
          crosvmPackage = fakePkg "crosvm";
          backend = "gtk";
          socket = "${hostName}-gpu.sock";
          vulkan = null;
          hostmem = "256M";
        };
        vmHostPackages = pkgs;
        qemu = {
          machine = "microvm";
          machineOpts = null;
          extraArgs = [ ];
          serialConsole = true;
          pcieRootPorts = [ ];
          package = fakePkg "qemu";
        };
        alioth.package = fakePkg "alioth";
        cloud-hypervisor = {
          platformOEMStrings = [ ];
          extraArgs = [ ];
          package = fakePkg "cloud-hypervisor";
        };
        crosvm = { extraArgs = [ ]; pivotRoot = null; package = fakePkg "crosvm"; };
        firecracker = {
          cpu = null;
          driveIoEngine = "Async";
          extraArgs = [ ];
          extraConfig = { };
          package = fakePkg "firecracker";
        };
        kvmtool.package = fakePkg "kvmtool";
        stratovirt.package = fakePkg "stratovirt";
        vfkit = {
          extraArgs = [ ];
          logLevel = "info";
          package = fakePkg "vfkit";
          rosetta = { enable = false; install = false; ignoreIfMissing = false; };
        };
        prettyProcnames = true;
        virtiofsd = {
          inodeFileHandles = "prefer";
          threadPoolSize = "`nproc`";
          group = "kvm";
          extraArgs = [ ];
          package = fakePkg "virtiofsd";
        };
        runner = throw "stub: microvm.runner is not available to a runner";
        declaredRunner = throw "stub: microvm.declaredRunner is not available to a runner";
        binScripts = { };
        systemSymlink = !merged.storeOnDisk;
        credentialFiles = { };
        bootDisk = fakePkg "microvm-bootdisk.img";
        deploy = { installOnHost = fakePkg "microvm-install"; sshSwitch = null; rebuild = null; };
        # mkRemovedOptionModule ["microvm" "balloonMem"]
        balloonMem = throw "The option `microvm.balloonMem' can no longer be used since it's been removed. The balloonMem option has been removed and replaced by the boolean option balloon";
      };
      merged = recursiveUpdate defaults overrides;
    in
    merged;
}
