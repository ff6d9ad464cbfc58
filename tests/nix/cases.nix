# SPDX-License-Identifier: MIT
#
# cases.nix: the runner (contrib/microvm-nix/agentvmm.nix) called the way
# microvm.nix's lib/runner.nix calls it, once per test case. Each attribute is
# the runner's result for one microvm configuration (microvm-config.nix fills
# in every other option at its default). test_runner.sh evaluates them.
{ runner ? ../../contrib/microvm-nix/agentvmm.nix }:

let
  c = import ./microvm-config.nix;
  hostName = "agent";

  call = { overrides ? { }, macvtapFds ? { }, pkgs ? c.pkgs }:
    import runner {
      inherit pkgs macvtapFds;
      microvmConfig = c.microvmConfig { inherit hostName overrides; };
      # the rest of lib/runner.nix's arguments; agentvmm.nix must not need them
      withDriveLetters = throw "stub: withDriveLetters";
      extractOptValues = throw "stub: extractOptValues";
      extractParamValue = throw "stub: extractParamValue";
      linuxTarget = "bzImage";
    };

  share = c.mkShare hostName;
  virtiofs = tag: source: mountPoint: share { inherit tag source mountPoint; proto = "virtiofs"; };
  tap = id: mac: c.mkInterface { type = "tap"; inherit id mac; };

  # The VM of the microvm.nix post: 8 vCPUs, 4 GiB, four virtiofs shares
  # (the host store among them), a writable store overlay, /var on a volume,
  # one tap, a control socket.
  post = {
    vcpu = 8;
    mem = 4096;
    socket = "control.socket";
    writableStoreOverlay = "/nix/.rw-store";
    shares = [
      (virtiofs "ro-store" "/nix/store" "/nix/.ro-store")
      (virtiofs "ssh-keys" "/var/lib/microvms/agent/ssh-keys" "/etc/ssh/keys")
      (virtiofs "claude-credentials" "/home/user/.claude" "/home/user/.claude")
      (virtiofs "workspace" "/home/user/src/project" "/workspace")
    ];
    volumes = [ (c.mkVolume { image = "var.img"; mountPoint = "/var"; size = 8192; fsType = "ext4"; }) ];
    interfaces = [ (tap "microvm4" "02:00:00:00:00:05") ];
  };

  # vsock notify, a credential, a macvtap (two queue pairs: fds 3 4) and a tap,
  # the store on a disk, a read-only O_DIRECT volume, the agentvmm.* options
  notify = {
    vcpu = 2;
    vsock.cid = 4;
    preStart = "echo starting";
    credentialFiles.SOPS_AGE_KEY = "/run/secrets/age key";
    interfaces = [
      (c.mkInterface {
        type = "macvtap";
        id = "vm-mvt";
        mac = "02:00:00:00:00:06";
        macvtap = { link = "eth0"; mode = "bridge"; };
      })
      (tap "vm-tap" "02:00:00:00:00:07")
    ];
    volumes = [
      (c.mkVolume { image = "/var/lib/microvms/agent/data.img"; mountPoint = "/data"; size = 1024; readOnly = true; direct = true; })
    ];
    agentvmm = {
      package = c.fakePkg "agentvmm-dev";
      extraArgs = [ "--console-log" "--shutdown-timeout" "20" ];
      platformOEMStrings = [ "io.systemd.credential:APIKEY=secret value" ];
    };
  };

  refuse = overrides: call { overrides = post // overrides; };
in
{
  post = call { overrides = post; };
  # the post's VM with a real kernel, initrd, init and volume
  # (runner-argv.sh, for tests/e2e/microvm-post.sh)
  postWith = { kernelDev, initrd, init, varImg }: call {
    overrides = post // {
      kernel = { outPath = kernelDev; dev = kernelDev; };
      initrdPath = initrd;
      kernelParams = [ "init=${init}" ];
      volumes = [ (c.mkVolume { image = varImg; mountPoint = "/var"; size = 8192; }) ];
    };
  };
  notify = call { overrides = notify; macvtapFds = { vm-mvt = [ 3 4 ]; nextFreeFd = 5; }; };
  # defaults only: one vCPU, no socket-less surprises, the store disk
  defaults = call { };
  nosocket = call { overrides = { socket = null; }; };
  # microvm.balloon: how it deflates (agentvmm's balloon is always there)
  balloon = call { overrides = { balloon = true; deflateOnOOM = false; }; };
  # more vCPUs than agentvmm's 16 queue pairs: 16 on the tap, the first 16
  # of the 20 fds lib/macvtap.nix opens for the macvtap
  manycpus = call {
    overrides = {
      vcpu = 20;
      interfaces = [
        (c.mkInterface {
          type = "macvtap";
          id = "vm-mvt";
          mac = "02:00:00:00:00:06";
          macvtap = { link = "eth0"; mode = "bridge"; };
        })
        (tap "vm-tap" "02:00:00:00:00:07")
      ];
    };
    macvtapFds = { vm-mvt = builtins.genList (i: 3 + i) 20; nextFreeFd = 23; };
  };

  refuse-system = call {
    overrides = post;
    pkgs = c.pkgs // { stdenv.hostPlatform.system = "aarch64-linux"; };
  };
  refuse-cpu = refuse { cpu = "cortex-a53"; };
  refuse-user = refuse { user = "alice"; };
  refuse-graphics = refuse { graphics.enable = true; };
  refuse-devices = refuse { devices = [ { bus = "pci"; path = "0000:01:00.0"; } ]; };
  refuse-hotplug = refuse { hotplugMem = 1024; };
  refuse-balloon-initial = refuse { balloon = true; initialBalloonMem = 512; };
  refuse-hugepages = refuse { hugepageMem = true; };
  refuse-forwardports = refuse {
    forwardPorts = [ { from = "host"; proto = "tcp"; host = { address = ""; port = 2222; }; guest = { address = ""; port = 22; }; } ];
  };
  refuse-9p = refuse { shares = post.shares ++ [ (share { tag = "data"; source = "/srv"; mountPoint = "/srv"; }) ]; };
  refuse-share-comma = refuse { shares = [ (virtiofs "a,b" "/srv" "/srv") ]; };
  refuse-user-net = refuse { interfaces = [ (c.mkInterface { type = "user"; id = "qemu"; mac = "02:00:00:01:01:01"; }) ]; };
  refuse-bridge = refuse { interfaces = [ (c.mkInterface { type = "bridge"; id = "vm-br"; mac = "02:00:00:01:01:02"; bridge = "br0"; }) ]; };
  refuse-vhost = refuse { interfaces = [ (tap "microvm4" "02:00:00:00:00:05" // { tap.vhost = true; }) ]; };
  refuse-serial = refuse { volumes = [ (c.mkVolume { image = "var.img"; mountPoint = "/var"; size = 8192; serial = "VAR"; }) ]; };
  refuse-qcow2 = refuse { volumes = [ (c.mkVolume { image = "var.qcow2"; mountPoint = "/var"; size = 8192; imageType = "qcow2"; }) ]; };
  refuse-disk-comma = refuse { volumes = [ (c.mkVolume { image = "a,b.img"; mountPoint = "/var"; size = 8192; }) ]; };
  refuse-credential = refuse { credentialFiles."A:B" = "/run/secrets/x"; };
  # two at once: both lines
  refuse-two = refuse { hotplugMem = 1024; hugepageMem = true; };
}
