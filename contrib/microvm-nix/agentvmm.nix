# SPDX-License-Identifier: MIT
#
# agentvmm.nix: the microvm.nix runner for agentvmm, a small KVM virtual
# machine monitor in C (x86_64-linux). It takes cloud-hypervisor's place with
# the same host units (virtiofsd, taps, macvtaps), boots the guest's own NixOS
# kernel and initrd, and throws "agentvmm does not support ..." for every
# option it cannot honour instead of ignoring it. The same file is agentvmm's
# contrib/microvm-nix/agentvmm.nix and microvm.nix's lib/runners/agentvmm.nix.
#
# Written against microvm.nix 71beea0: lib/runner.nix imports it with
# { pkgs microvmConfig macvtapFds withDriveLetters extractOptValues
# extractParamValue linuxTarget } and reads command, canShutdown,
# shutdownCommand, supportsNotifySocket, preStart, tapMultiQueue,
# setBalloonScript and requiresMacvtapAsFds. Only builtins are used (pkgs
# just for agentvmm, socat and util-linux), so it can be evaluated without
# nixpkgs. The removed balloonMem is never read.
{ pkgs
, microvmConfig
, macvtapFds ? { }
, ...
}:

let
  cfg = microvmConfig;
  inherit (cfg) vcpu mem socket shares volumes interfaces kernel initrdPath storeOnDisk
    credentialFiles vsock;

  # microvm.agentvmm.{package,extraArgs,platformOEMStrings}, read defensively:
  # a microvm.nix that does not declare them gets pkgs.agentvmm and no extras.
  avCfg = cfg.agentvmm or { };
  agentvmmPkg = avCfg.package or pkgs.agentvmm or (throw
    "agentvmm: no package: set microvm.agentvmm.package or add agentvmm's overlay to nixpkgs");
  extraArgs = avCfg.extraArgs or [ ];
  oemStrings = avCfg.platformOEMStrings or [ ];
  bin = "${agentvmmPkg}/bin/agentvmm";

  system = pkgs.stdenv.hostPlatform.system;

  # --- builtins-only helpers (nixpkgs' lib.escapeShellArg and friends) ---
  escape = arg:
    let s = toString arg; in
    if builtins.match "[[:alnum:],._+:@%/-]+" s != null then s
    else "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  escapeArgs = args: builtins.concatStringsSep " " (map escape args);
  optional = c: x: if c then [ x ] else [ ];
  optionals = c: xs: if c then xs else [ ];
  joinComma = builtins.concatStringsSep ",";
  hasChar = c: s: builtins.match ".*[${c}].*" s != null;
  flag = name: values: builtins.concatMap (v: [ name v ]) values;

  virtiofsShares = builtins.filter (s: s.proto == "virtiofs") shares;
  useVirtiofs = virtiofsShares != [ ];

  # cloud-hypervisor's rule: one queue pair per vCPU on a multi_queue tap,
  # up to agentvmm's limit (--net queues=1-16); lib/macvtap.nix opens vcpu
  # fds per macvtap, of which the first queuePairs are passed
  tapMultiQueue = vcpu > 1;
  maxQueuePairs = 16;
  queuePairs = if vcpu > maxQueuePairs then maxQueuePairs else vcpu;
  take = n: xs: builtins.genList (builtins.elemAt xs)
    (if builtins.length xs < n then builtins.length xs else n);
  supportsNotifySocket = vsock.cid != null;
  vsockPath = "notify.vsock";

  # --- what agentvmm cannot do: each entry is { bad; msg; } ---
  ifaceLabel = i: "interface ${i.id or "?"}";
  refusals =
    [
      { bad = system != "x86_64-linux";
        msg = "agentvmm does not support ${system}; it runs on x86_64-linux only"; }
      { bad = cfg.cpu != null;
        msg = "agentvmm does not support microvm.cpu (CPU emulation); it runs the host's CPU under KVM: leave microvm.cpu = null"; }
      { bad = cfg.user != null;
        msg = "agentvmm does not support microvm.user (changing user); run the microvm@ service as that user instead"; }
      { bad = cfg.graphics.enable;
        msg = "agentvmm does not support microvm.graphics (no GPU or display device); set microvm.graphics.enable = false"; }
      { bad = cfg.devices != [ ];
        msg = "agentvmm does not support microvm.devices (PCI/USB passthrough); remove them"; }
      { bad = cfg.hotplugMem > 0;
        msg = "agentvmm does not support microvm.hotplugMem (no virtio-mem); set it to 0 and size microvm.mem instead"; }
      { bad = cfg.balloon && (cfg.initialBalloonMem or 0) > 0;
        msg = "agentvmm does not support microvm.initialBalloonMem (its balloon starts empty); set it to 0 and size the balloon with microvm-balloon once the VM runs"; }
      { bad = cfg.hugepageMem;
        msg = "agentvmm does not support microvm.hugepageMem (hugetlbfs RAM; agentvmm asks for transparent huge pages instead); set it to false"; }
      { bad = cfg.forwardPorts != [ ];
        msg = "agentvmm does not support microvm.forwardPorts (it needs user networking); use a tap interface"; }
    ]
    ++ map (s: {
      bad = s.proto != "virtiofs";
      msg = "agentvmm does not support ${s.proto} shares (share ${s.tag}); set proto = \"virtiofs\"";
    }) shares
    ++ map (s: {
      bad = s.socket == null;
      msg = "agentvmm does not support a virtiofs share without a socket (share ${s.tag}); set its socket";
    }) virtiofsShares
    ++ map (s: {
      bad = s.socket != null && (hasChar "," s.socket || hasChar "," s.tag);
      msg = "agentvmm does not support a comma in a share's tag or socket (share ${s.tag}; --fs tag=T,socket=S); rename it";
    }) virtiofsShares
    ++ map (i: {
      bad = i.type != "tap" && i.type != "macvtap";
      msg = "agentvmm does not support interface type ${i.type} (${ifaceLabel i}); use type = \"tap\" or \"macvtap\"";
    }) interfaces
    ++ map (i: {
      bad = i.tap.vhost or false;
      msg = "agentvmm does not support tap.vhost (vhost-net) (${ifaceLabel i}); set it to false";
    }) interfaces
    ++ map (v: {
      bad = v.serial != null;
      msg = "agentvmm does not support volume serial numbers (volume ${v.image}); set serial = null and mount by label or /dev/vdX";
    }) volumes
    ++ map (v: {
      bad = (v.imageType or "raw") != "raw";
      msg = "agentvmm does not support imageType = \"${v.imageType or "raw"}\" (volume ${v.image}); only raw images";
    }) volumes
    ++ map (v: {
      bad = hasChar "," v.image;
      msg = "agentvmm does not support a comma in a --disk path (volume ${v.image}); rename the image";
    }) volumes
    ++ map (name: {
      bad = name == "" || name == "." || name == ".." || hasChar ":=/" name;
      msg = "agentvmm does not support credential name \"${name}\" (--load-credential NAME:PATH; not . or .., no ':', '=' or '/')";
    }) (builtins.attrNames credentialFiles);
  refused = builtins.filter (r: r.bad) refusals;
  checked = x:
    if refused == [ ] then x
    else throw (builtins.concatStringsSep "\n" (map (r: r.msg) refused));

  # --- the command line ---
  kernelPath = "${kernel.dev}/vmlinux"; # ELF vmlinux, booted through its PVH note
  # reboot=a, not cloud-hypervisor's reboot=t: agentvmm ends on a guest reboot
  # (exit 0 through the ACPI reset register) and counts a triple fault as a
  # crash (exit 125); microvm@'s Restart=always starts the VM again either way.
  kernelCmdLine = "earlyprintk=ttyS0 console=ttyS0 reboot=a panic=-1 ${toString cfg.kernelParams}";

  diskArg = v: joinComma ([ (toString v.image) ]
    ++ optional v.readOnly "ro"
    ++ optional v.direct "direct");

  netArg = i:
    if i.type == "tap" then
      joinComma ([ "tap=${i.id}" "mac=${i.mac}" ]
        ++ optional tapMultiQueue "queues=${toString queuePairs}")
    else # macvtap: the fds lib/macvtap.nix opened in microvm-run, one per queue pair
      joinComma [
        "fd=${builtins.concatStringsSep ":" (map toString (take queuePairs (macvtapFds.${i.id} or (throw
          "agentvmm: no macvtap fds for interface ${i.id} (requiresMacvtapAsFds)"))))}"
        "mac=${i.mac}"
      ];

  notifyOemString = "io.systemd.credential:vmm.notify_socket=vsock-stream:2:8888";

  argv =
    [
      bin
      "--cpus" (toString vcpu)
      "--mem" (toString mem)
      "--kernel" kernelPath
      "--initrd" initrdPath # NixOS's own stage 1; agentvmm's guest-init is not used
      "--cmdline" kernelCmdLine
    ]
    # cloud-hypervisor's mergeable=on: KSM only where RAM is not shared with virtiofsd
    ++ optional (!useVirtiofs) "--ksm"
    ++ optionals supportsNotifySocket [ "--vsock" "cid=${toString vsock.cid},socket=${vsockPath}" ]
    ++ flag "--oem-string" (oemStrings ++ optional supportsNotifySocket notifyOemString)
    ++ flag "--load-credential"
      (map (name: "${name}:${toString credentialFiles.${name}}") (builtins.attrNames credentialFiles))
    ++ flag "--disk" (optional storeOnDisk "${toString cfg.storeDisk},ro" ++ map diskArg volumes)
    ++ flag "--fs" (map (s: "tag=${s.tag},socket=${s.socket}") virtiofsShares)
    # agentvmm always has a balloon with free page reporting; microvm.balloon
    # says how it deflates (cloud-hypervisor's deflate_on_oom)
    ++ optionals cfg.balloon [ "--balloon"
      "reporting=on,deflate-on-oom=${if cfg.deflateOnOOM or true then "on" else "off"}" ]
    ++ optionals (socket != null) [ "--api-socket" socket ]
    ++ flag "--net" (map netArg interfaces)
    ++ extraArgs;
in
{
  inherit tapMultiQueue supportsNotifySocket;

  # agentvmm replaces a stale --api-socket itself (and refuses a live one), so
  # unlike cloud-hypervisor's runner there is no rm -f of it here.
  preStart = ''
    ${cfg.preStart}
  '' + (if supportsNotifySocket then ''
    # notify sockets left by an agentvmm that did not exit cleanly
    rm -f ${vsockPath} ${vsockPath}_8888

    # The guest's systemd connects to host port 8888, which agentvmm's hybrid
    # vsock connects to ${vsockPath}_8888 (agentvmm's docs/vsock.md); forward it to
    # systemd's NOTIFY_SOCKET. -t0 -T0.2 as in the cloud-hypervisor runner:
    # agentvmm propagates the guest's half-close, so socat ends at once.
    if [ -n "''${NOTIFY_SOCKET:-}" ]; then
      ${pkgs.socat}/bin/socat -t0 -T0.2 UNIX-LISTEN:${vsockPath}_8888,fork UNIX-SENDTO:$NOTIFY_SOCKET &
    fi
  '' else "");

  command = checked (escapeArgs argv);

  canShutdown = socket != null;

  # The ACPI power button; after 120 s (inside microvm@.service's 150 s stop
  # timeout) agentvmm stops the guest by force (exit 137). `shutdown`
  # returns at once, so wait for agentvmm itself to exit.
  shutdownCommand =
    if socket != null then ''
      ${bin} ctl ${escape socket} shutdown --timeout-ms 120000 || ${bin} ctl ${escape socket} kill
      ${pkgs.util-linux}/bin/waitpid $MAINPID
    ''
    else throw "Cannot shutdown without socket";

  # microvm-balloon SIZE: the balloon's size in MiB, through the control
  # socket (as cloud-hypervisor's runner does with ch-remote). The console is
  # agentvmm's stdin/stdout (the 8250 UART), not a pty.
  setBalloonScript =
    if socket != null then ''
      ${bin} ctl ${escape socket} balloon "$SIZE"
    ''
    else null;
  getConsoleScript = null;

  # lib/runner.nix opens the macvtap fds (lib/macvtap.nix) before exec
  requiresMacvtapAsFds = true;
}
