# SPDX-License-Identifier: MIT
#
# agentvmm-runner.nix: a microvm.nix runner (lib/runners/<name>.nix) that runs
# agentvmm in place of cloud-hypervisor. See docs/microvm-nix.md.
#
# UNTESTED: Nix cannot run where agentvmm is developed, so this file has never
# been evaluated. It follows the shape of microvm.nix's
# lib/runners/cloud-hypervisor.nix (the attribute set a runner returns) and
# agentvmm's real flags (`agentvmm --help`, docs/control-socket.md). To use it,
# copy it to microvm.nix's lib/runners/agentvmm.nix and add "agentvmm" to the
# hypervisor list microvm.nix checks (lib/default.nix); provide an `agentvmm`
# package (this repository built with CMake).
{ pkgs
, microvmConfig
, macvtapFds ? {}
, agentvmm ? pkgs.agentvmm
}:

let
  inherit (pkgs) lib;
  inherit (microvmConfig) vcpu mem balloonMem user interfaces volumes shares socket devices
    hugepageMem graphics storeDisk storeOnDisk kernel initrdPath;

  bin = "${agentvmm}/bin/agentvmm";

  # x86_64: the ELF vmlinux, booted through its PVH note (as cloud-hypervisor does).
  kernelPath = {
    x86_64-linux = "${kernel.dev}/vmlinux";
  }.${pkgs.stdenv.system} or (throw "agentvmm runs on x86_64-linux only");

  # agentvmm already passes console=ttyS0 8250.nr_uarts=1 panic=-1; --cmdline is appended.
  # No reboot=t: agentvmm counts a triple fault as a crash (exit 125); the kernel's default
  # reboot goes through the ACPI reset register, which agentvmm reports as a reboot (exit 0).
  cmdline = toString microvmConfig.kernelParams;

  unsupported = what: throw "agentvmm does not support ${what}";

  # --disk PATH[,ro][,direct]: volumes in order become /dev/vda, /dev/vdb, ...
  diskArg = { image, readOnly ? false, direct ? false, serial ? null, ... }:
    if serial != null then unsupported "volume serial numbers (volume ${toString image})"
    else lib.concatStringsSep "," (
      [ (toString image) ]
      ++ lib.optional readOnly "ro"
      ++ lib.optional direct "direct"
    );

  # --fs tag=T,socket=S: microvm.nix starts one virtiofsd per share itself.
  fsArg = { proto, tag, socket, ... }:
    if proto == "virtiofs" then "tag=${tag},socket=${socket}"
    else unsupported "${proto} shares (only virtiofs)";

  # --net tap=NAME,mac=MAC: taps are pre-created by microvm.nix.
  netArg = { type, id, mac, ... }:
    if type == "tap" then "tap=${id},mac=${mac}"
    else unsupported "interface type ${type} (only tap)";

  flag = name: values: lib.concatMap (v: [ name v ]) values;
in
{
  # agentvmm replaces a stale control socket itself (and refuses a live one).
  preStart = microvmConfig.preStart;

  command =
    if user != null then unsupported "changing user (run the service as that user)"
    else if balloonMem > 0 then unsupported "ballooning"
    else if hugepageMem then unsupported "hugepages"
    else if graphics.enable then unsupported "graphics"
    else if devices != [] then unsupported "device passthrough"
    else lib.escapeShellArgs (
      [
        bin
        "--cpus" (toString vcpu)
        "--mem" (toString mem)           # guest RAM is always a shared memfd (virtiofsd can map it)
        "--kernel" kernelPath
        "--initrd" initrdPath            # the NixOS stage-1 initrd, not agentvmm's own
        "--cmdline" cmdline
      ]
      ++ flag "--disk" (
        lib.optional storeOnDisk "${toString storeDisk},ro"
        ++ map diskArg volumes
      )
      ++ flag "--fs" (map fsArg shares)
      ++ flag "--net" (map netArg interfaces)
      ++ lib.optionals (socket != null) [ "--api-socket" socket ]
    );

  canShutdown = socket != null;

  # The ACPI power button, then wait for agentvmm to exit (it exits once the guest powers off,
  # or stops the VM by force after timeout_ms).
  shutdownCommand =
    if socket != null then ''
      ${bin} ctl ${lib.escapeShellArg socket} shutdown --timeout-ms 60000 \
        || ${bin} ctl ${lib.escapeShellArg socket} kill
      ${pkgs.util-linux}/bin/waitpid $MAINPID
    ''
    else throw "Cannot shutdown without socket";

  # No balloon; the console is agentvmm's stdio (the serial port), not a pty.
  setBalloonScript = null;
  getConsoleScript = null;

  supportsNotifySocket = false;
  requiresMacvtapAsFds = false;
  tapMultiQueue = false;
}
