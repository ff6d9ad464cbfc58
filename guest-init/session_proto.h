/* SPDX-License-Identifier: MIT */
/*
 * session_proto.h: the session protocol between a host endpoint and
 * guest-init over one virtio-vsock stream (docs/vsock.md "Sessions").
 *
 * A session runs one command in the guest: the host sends the job (SPEC),
 * then the command's stdin, window sizes and signals; the guest sends the
 * command's stdout and stderr as separate streams and finally its exit
 * status. The agentvmm command's own workload and every `agentvmm exec` are
 * sessions; only who opens the stream differs:
 *
 *   the workload  guest-init connects to the host, CID 2 port AVS_PORT_JOB;
 *                 agentvmm answers it itself (never a PATH_P socket), once.
 *   exec          agentvmm connects to the guest's port AVS_PORT_EXEC, where
 *                 guest-init listens (port < 1024: only root in the guest may
 *                 bind it) and accepts only CID 2. The host end is the exec
 *                 client's control-socket connection; a host CONNECT line on
 *                 PATH may not name this port.
 *
 * This header is shared by guest-init (which may include only guest-init/)
 * and the VMM (vmm/session.c): it is the one definition of the protocol.
 *
 * Framing: every message is an 8-byte header and (len) payload bytes:
 *
 *   le32 len   payload bytes: <= AVS_DATA_MAX, SPEC <= AVS_SPEC_MAX
 *   u8   type  enum avs_type
 *   u8   flags 0
 *   le16 zero  0
 *
 * Host -> guest:
 *   SPEC      first frame, exactly once: the job (below).
 *   STDIN     command's stdin bytes; len 0: end of file (no STDIN after it).
 *   WINSIZE   4 bytes: le16 rows, le16 cols (tty sessions; others ignore it).
 *   SIGNAL    4 bytes: le32 signal number 1..64, sent to the command's
 *             process group.
 *   EXIT_ACK  0 bytes: the host has written out everything before EXIT; the
 *             guest may close (the workload's session: and end the VM).
 * Guest -> host:
 *   STDOUT    command's stdout bytes; len 0: end of file.
 *   STDERR    command's stderr bytes; len 0: end of file. A tty session has
 *             no STDERR (the terminal carries both).
 *   ERROR     text, <= AVS_ERROR_MAX bytes, no NUL: why the command could not
 *             be started ("bad job: ...", "CMD: No such file or directory");
 *             an EXIT follows.
 *   EXIT      4 bytes: le32 status 0..255 (128+N: killed by signal N). Last
 *             frame; every STDOUT/STDERR byte came before it.
 *
 * Either side receiving a frame it does not expect (unknown type, flags or
 * zero not 0, a length over the limit or not what the type needs, a second
 * SPEC, STDIN after its EOF) ends the session: it closes the stream. The
 * guest kills the command's process group (SIGKILL) whenever the stream ends
 * before EXIT_ACK, so a client that dies takes its command with it.
 *
 * SPEC payload: a sequence of NUL-terminated items "K:VALUE", in this order
 * of meaning (items of one key keep their order):
 *
 *   a:ARG          argv, one item per argument, at least one (argv[0] is
 *                  looked up in PATH as execvp() does)
 *   e:NAME=VALUE   environment, over guest-init's base (PATH, HOME, TERM);
 *                  NAME non-empty without '='
 *   c:DIR          working directory, absolute (default: the first rw share,
 *                  else /)
 *   u:UID[:GID]    decimal ids (default 0:0); GID defaults to UID;
 *                  supplementary groups are cleared (unless g:)
 *   g:GID          a supplementary group, decimal (as u:), at most
 *                  AVS_MAX_GROUPS items: the command gets exactly these
 *                  (without g:, a u: item clears them)
 *   t:ROWS:COLS    run on a new pseudo-terminal of that size (1..65535 each)
 *                  as its controlling tty; without it stdin/stdout/stderr
 *                  are pipes
 *   r:NAME:SOFT:HARD  a resource limit: NAME one of core cpu data fsize
 *                  memlock nofile nproc stack as; SOFT/HARD decimal or
 *                  "unlimited"; SOFT <= HARD
 *
 * Container items (a container's process, or an exec into it: the OCI
 * process settings; docs/vsock.md "Container items"). Process items, for
 * the command's process only:
 *
 *   R:DIR          the root, absolute: the command does chroot(DIR) and
 *                  chdir("/"); c: is then inside it
 *   h:NAME         sethostname(): 1..AVS_HOSTNAME_MAX bytes of letters,
 *                  digits, '-' and '.'
 *   m:OCT          umask: 1..4 octal digits, at most 0777
 *   n:1            PR_SET_NO_NEW_PRIVS
 *   k:BND:EFF:PRM:INH:AMB  capability sets, five hex masks of 1..16 digits
 *                  (bit N: capability N), with EFF within PRM, INH within
 *                  BND, AMB within both PRM and INH: the bounding set is cut
 *                  to BND, the ids change keeping capabilities, then
 *                  capset(EFF, PRM, INH) and the ambient set AMB (bits the
 *                  guest kernel does not know are skipped); without k:, the
 *                  ids change drops them as before
 *
 * Set-up items, which need an R: item; the host sends them with the
 * container's first session only. The handler applies them, before it forks
 * the command, in guest-init's mount namespace (they last for every later
 * session), in the order s, M, D, P, O, Y (items of one key in their order);
 * a PATH, DST or bind source is absolute as seen inside R:, without a ".."
 * component, and is resolved inside R: (openat2 RESOLVE_IN_ROOT, Linux 5.6:
 * a symbolic link never leads out of it):
 *
 *   s:KEY=VALUE    write VALUE to /proc/sys/KEY, '.' read as '/'; KEY of
 *                  [A-Za-z0-9_.-], not starting or ending in '.', no ".."
 *   M:TYPE:FLAGS:DATA:DST  mount TYPE (proc sysfs tmpfs devpts mqueue
 *                  cgroup2 bind) on DST, created if missing (a directory; a
 *                  file for a bind whose source is not a directory); FLAGS
 *                  hex mount(2) MS_* bits out of AVS_MOUNT_FLAGS (1..8
 *                  digits); DATA the mount data, "-" for none, no ':'; for
 *                  bind DATA is the source (a path as above) and flags other
 *                  than MS_REC are applied by a remount of the bind
 *   D:1            fill the root's /dev (a fresh tmpfs an M: item mounted):
 *                  nodes null zero full random urandom tty (mode 0666), links
 *                  fd stdin stdout stderr ptmx core, directories pts and shm;
 *                  what exists already is left as it is
 *   P:PATH         masked: a directory gets an empty read-only tmpfs, a file
 *                  /dev/null bound over it; a missing PATH is left alone
 *   O:PATH         read-only: bound onto itself (recursively) and remounted
 *                  read-only; a missing PATH is left alone
 *   Y:1            the root read-only, last: bound onto itself (recursively)
 *                  unless it is a mount point, then remounted read-only
 *
 * The command's process applies its items in this order: r:, h:, R:, c:,
 * g: and u: (capabilities kept across with k:), k:, m:, n:, e:, then exec; a
 * c: refused before the ids change (EACCES, EPERM) is tried once more after.
 * The host sends the items in the order a e c u g t r R h m n k s M D P O Y.
 * A set-up item that fails ends the session with ERROR "set-up ITEM: what:
 * strerror" and EXIT 125, before the command exists.
 *
 * An unknown key, an empty or over-long item (AVS_ITEM_MAX), more than
 * AVS_MAX_ARGS a:, AVS_MAX_ENV e:, AVS_MAX_GROUPS g: or AVS_MAX_SETUP set-up
 * items, a key other than a e g r s M P O given twice, a set-up item without
 * R:, or a missing NUL at the end make the job bad: the guest answers ERROR
 * "bad job: <why>" and EXIT 2.
 *
 * Status of a session the guest could not start: 2 bad job, 125 the guest
 * could not set it up (fork, pty, pipes; a set-up item, the root, hostname,
 * working directory, user, groups, capabilities or a limit could not be
 * applied), 126 found but not executable, 127 not found.
 */
#ifndef AGENTVMM_GUEST_INIT_SESSION_PROTO_H
#define AGENTVMM_GUEST_INIT_SESSION_PROTO_H

#include <stdint.h>

#define AVS_PORT_JOB 1000       /* host port guest-init connects to for the workload's job */
#define AVS_PORT_EXEC 1001      /* guest port guest-init serves exec sessions on */
#define AVS_PORT_EGRESS 1002    /* host port guest-init's egress forwarder connects to; agentvmm
                                 * hands the stream to its egress proxy (docs/net.md) */

#define AVS_HDR_LEN 8
#define AVS_DATA_MAX 65536      /* STDIN/STDOUT/STDERR payload per frame */
#define AVS_SPEC_MAX (1U << 20) /* the whole job */
#define AVS_ERROR_MAX 4096
#define AVS_ITEM_MAX (256U * 1024) /* one SPEC item, "K:" and NUL included */
#define AVS_MAX_ARGS 65536
#define AVS_MAX_ENV 65536
#define AVS_MAX_GROUPS 256         /* g: items */
#define AVS_MAX_SETUP 1024         /* s: M: D: P: O: Y: items together */
#define AVS_HOSTNAME_MAX 64        /* h: bytes (Linux's __NEW_UTS_LEN) */
/*
 * M: FLAGS that may be set, as mount(2) numbers them (<sys/mount.h>):
 * MS_RDONLY 0x1, MS_NOSUID 0x2, MS_NODEV 0x4, MS_NOEXEC 0x8, MS_SYNCHRONOUS
 * 0x10, MS_NOATIME 0x400, MS_NODIRATIME 0x800, MS_REC 0x4000, MS_RELATIME
 * 0x200000, MS_STRICTATIME 0x1000000.
 */
#define AVS_MOUNT_FLAGS 0x1204c1fUL

enum avs_type {
	AVS_SPEC = 1,
	AVS_STDIN = 2,
	AVS_WINSIZE = 3,
	AVS_SIGNAL = 4,
	AVS_EXIT_ACK = 5,
	AVS_STDOUT = 16,
	AVS_STDERR = 17,
	AVS_ERROR = 18,
	AVS_EXIT = 19,
};

/* Exit statuses of sessions that did not run their command (see above). */
#define AVS_STATUS_BAD_JOB 2
#define AVS_STATUS_GUEST_FAIL 125
#define AVS_STATUS_NOEXEC 126
#define AVS_STATUS_NOTFOUND 127

struct avs_hdr {
	uint32_t len;   /* little-endian on the wire */
	uint8_t type;
	uint8_t flags;
	uint16_t zero;
};
_Static_assert(sizeof(struct avs_hdr) == AVS_HDR_LEN, "session frame header");

#endif
