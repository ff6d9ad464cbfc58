/* SPDX-License-Identifier: MIT */
/*
 * session.h: the host endpoint of a session (prefix avs_): one command run in
 * the guest over one vsock stream, as guest-init/session_proto.h defines it.
 * Used for `agentvmm exec` (vmm/exec_client.c) and the workload's own job
 * session; this module does not know which: it gets a connected stream.
 *
 * Pieces, each usable alone:
 *  - avs_spec_build(): the job (argv, environment, cwd, user, limits, tty and
 *    the container items: root, hostname, groups, umask, no_new_privs,
 *    capabilities, set-up) as the SPEC payload, refusing everything guest-init would refuse, with a
 *    one-line message naming the bad item;
 *  - avs_frame_check(), avs_payload_check(), avs_rx_seq_next(): pure checks of
 *    what the guest sends (fuzzed: tests/fuzz/fuzz_session_frame.c);
 *  - avs_escape_feed(): the Ctrl-A escape of host keyboard input, shared with
 *    the interactive console (vmm/vm_run.c);
 *  - avs_prepare_output(): a private non-blocking fd for an output the
 *    process shares with others (stdout);
 *  - avs_relay_run(): the session itself.
 * The pure ones (the job, frames, escape) are vmm/session_proto.c, the ones
 * doing I/O vmm/session.c.
 *
 * The relay: one thread (the caller's), one poll(2) loop, no other threads.
 *
 *   in_fd ──read──> [one STDIN frame] ──send──> sock ──> guest
 *   out_fd/err_fd <──write── [one received frame] <──recv── sock <── guest
 *
 * At most one frame per direction is held. While a received STDOUT/STDERR
 * chunk waits for its fd, the sock is not read; while an outgoing frame waits
 * for the sock, neither in_fd nor sig_fd is read. Slow readers therefore push
 * back on the guest (through the stream's own flow control) and a guest that
 * does not read its stdin pushes back on in_fd; nothing is buffered without
 * bound. Output fds are never switched to O_NONBLOCK (their open file may be
 * shared with other processes): the relay writes to what avs_prepare_output()
 * gave, with send(MSG_DONTWAIT) on sockets, and writes at most PIPE_BUF bytes
 * after POLLOUT to a stream it could not make non-blocking. Reads from in_fd
 * follow a POLLIN, so they do not block on pipes and terminals.
 *
 * Order of a session: SPEC (first, exactly once), then stdin, window sizes
 * and signals as they come; the guest's STDOUT and STDERR go to their fds in
 * the order received; ERROR becomes one line "agentvmm: TEXT" on err_fd;
 * EXIT: everything before it has been written (or dropped, see below), then
 * EXIT_ACK is sent and the relay returns the status.
 *
 * A write error on out_fd or err_fd (EPIPE: nobody reads; ENOSPC) drops that
 * fd's further output and the session goes on, so the exit status still comes
 * back and is acknowledged. Signals: the relay blocks SIGPIPE in its thread
 * while it runs, so a closed pipe is EPIPE and never kills the process; when
 * it was not blocked before, the SIGPIPE a write raised is taken back
 * (sigtimedwait) before the old mask returns. A caller that keeps SIGPIPE
 * blocked (agentvmm, the VM's threads) is left one pending, as before.
 */
#ifndef AGENTVMM_VMM_SESSION_H
#define AGENTVMM_VMM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-init/session_proto.h"
#include "vmm/compiler.h"

#define AVS_ESCAPE 0x01            /* Ctrl-A: then x quits, Ctrl-A sends one Ctrl-A */
#define AVS_ID_MAX 4294967294ULL   /* u: ids; 4294967295 is (uid_t)-1, "no change" */
#define AVS_STOP_DRAIN_FRAMES 16   /* guest frames read after stop_fd, at most */

/* ---- the job ------------------------------------------------------------- */

struct avs_spec_in {
	int argc;
	const char *const *argv;      /* argv[0] is looked up in the guest's PATH */
	int envc;
	const char *const *env;       /* "NAME=VALUE", over the guest's base environment */
	const char *cwd;              /* absolute; NULL: the guest's default */
	const char *user;             /* "UID[:GID]"; NULL: 0:0 */
	int nr_rlimits;
	const char *const *rlimits;   /* "NAME:SOFT:HARD" */
	bool tty;                     /* a pseudo-terminal of rows x cols */
	unsigned short rows, cols;
	/* container items (session_proto.h "Container items"); zero: none */
	const char *root;              /* R: absolute guest dir; NULL none */
	const char *hostname;          /* h: NULL none */
	int nr_groups;
	const char *const *groups;     /* g: decimal ids */
	const char *umask;             /* m: octal text; NULL none */
	bool no_new_privs;             /* n:1 */
	const char *caps;              /* k: "BND:EFF:PRM:INH:AMB" hex; NULL none */
	int nr_setup;
	const char *const *setup;      /* set-up items verbatim with their key: "s:..",
	                                * "M:..", "D:1", "P:..", "O:..", "Y:1"; need root */
};

/*
 * avs_spec_build() - the SPEC payload (not the frame header) for (in): items
 * a e c u g t r R h m n k, then the set-up items in the key order s M D P O Y
 * (items of one key in (setup)'s order), as session_proto.h defines them,
 * each checked as the guest checks it: argc >= 1, at most AVS_MAX_ARGS
 * arguments and AVS_MAX_ENV environment entries, each item at most
 * AVS_ITEM_MAX bytes with "K:" and its NUL, env NAME non-empty and without
 * '=', cwd absolute, user decimal ids up to AVS_ID_MAX, rlimit NAME one of
 * core cpu data fsize memlock nofile nproc stack as, each at most once, with
 * SOFT and HARD decimal (below 2^64 - 1) or "unlimited" and SOFT <= HARD,
 * rows and cols 1..65535 when (tty); the container items: root absolute;
 * hostname 1..AVS_HOSTNAME_MAX letters, digits, '-', '.'; at most
 * AVS_MAX_GROUPS groups, decimal ids as user's; umask 1..4 octal digits up to
 * 0777; caps five hex masks of 1..16 digits with EFF within PRM, INH within
 * BND and AMB within PRM and INH; at most AVS_MAX_SETUP set-up items, each
 * "K:..." with K one of s M D P O Y and its value as session_proto.h says, D:1
 * and Y:1 at most once, and none without (root). (*out) is malloc()ed, the
 * caller frees it; on failure it is NULL and (err) holds one line naming the
 * bad item (user text quoted, cut to 40 printable bytes).
 * Return: 0; -EINVAL a bad item; -E2BIG the job is over AVS_SPEC_MAX bytes;
 * -ENOMEM.
 * Context: any thread; pure but for malloc().
 */
int avs_spec_build(const struct avs_spec_in *in, uint8_t **out, size_t *len, char *err,
		   size_t errlen) __must_check;

/* ---- frames -------------------------------------------------------------- */

/*
 * avs_frame_check() - is header (h), as read off the stream (len
 * little-endian), a frame the receiver may accept from that side: guest to
 * host when (from_guest) (STDOUT, STDERR, ERROR, EXIT), host to guest
 * otherwise (SPEC, STDIN, WINSIZE, SIGNAL, EXIT_ACK)? flags and zero must be 0
 * and the length within its type's limit: AVS_DATA_MAX for data, AVS_SPEC_MAX
 * for SPEC, AVS_ERROR_MAX for ERROR, exactly 4 for EXIT,
 * WINSIZE and SIGNAL, 0 for EXIT_ACK.
 * Return: 0, or -EPROTO.
 * Context: pure. Guest: all of (h) when (from_guest).
 */
int avs_frame_check(const struct avs_hdr *h, bool from_guest);

/*
 * avs_payload_check() - the payload (p, len) of a frame of type (type) whose
 * header avs_frame_check() accepted: EXIT status 0..255, SIGNAL 1..64,
 * WINSIZE rows and cols not 0, ERROR without a NUL byte; other types carry
 * any bytes.
 * Return: 0, or -EPROTO.
 * Context: pure. Guest: (p) for guest frames.
 */
int avs_payload_check(uint8_t type, const uint8_t *p, uint32_t len);

/* What the host has seen from the guest so far (avs_rx_seq_next()). */
struct avs_rx_seq {
	bool out_eof, err_eof;  /* STDOUT / STDERR with len 0 came */
	bool exited;            /* EXIT came: nothing may follow */
};

/*
 * avs_rx_seq_next() - the order rules for the next guest frame (h) (already
 * accepted by avs_frame_check()): nothing after EXIT, no STDOUT after STDOUT's
 * end of file, no STDERR after STDERR's. Updates (s) when accepted.
 * Return: 0, or -EPROTO.
 * Context: pure. Guest: (h).
 */
int avs_rx_seq_next(struct avs_rx_seq *s, const struct avs_hdr *h);

/* ---- host input ---------------------------------------------------------- */

/*
 * avs_escape_feed() - take the escapes out of (len) bytes of keyboard input
 * at (in), writing the rest to (out) ((out) may be (in): it never gets ahead).
 * AVS_ESCAPE (Ctrl-A) then 'x' or 'X': quit; Ctrl-A Ctrl-A: one Ctrl-A;
 * Ctrl-A and any other byte: both dropped. (*pending) carries a Ctrl-A from
 * the end of one call to the next (start with false).
 * Return: the bytes in (out). (*quit): true when Ctrl-A x came (the bytes
 * before it are in (out), the ones after the x are not looked at), else false.
 * Context: pure.
 */
size_t avs_escape_feed(bool *pending, const uint8_t *in, size_t len, uint8_t *out, bool *quit);

/*
 * avs_prepare_output() - an fd of its own for writing to (fd), for the relay:
 * a pipe, FIFO, terminal or other character device is reopened through
 * /proc/self/fd as a private non-blocking open file (con_reopen_nonblocking());
 * where that fails, and for regular files, block devices and sockets, a dup.
 * The flags of (fd)'s open file are never changed. Close it after the relay.
 * Return: the new fd (close-on-exec), or -errno (fstat, dup).
 * Context: setup.
 */
int avs_prepare_output(int fd) __must_check;

/* ---- the relay ----------------------------------------------------------- */

struct avs_relay {
	int sock;               /* connected stream to guest-init; made non-blocking */
	int in_fd;              /* host stdin; -1: end of file at once */
	int out_fd, err_fd;     /* from avs_prepare_output(); -1: discard */
	const uint8_t *spec;    /* avs_spec_build()'s payload, sent first */
	size_t spec_len;
	int stop_fd;            /* -1, or readable = stop (eventfd, pipe) */
	int sig_fd;             /* -1, or a signalfd of the signals to forward */
	bool tty;               /* a tty session: raw in_fd, WINSIZE on SIGWINCH */
	bool escape;            /* Ctrl-A x on in_fd quits (avs_escape_feed()) */
	void (*on_quit)(void *opaque); /* called at Ctrl-A x; NULL: none */
	void *opaque;
};

/*
 * avs_relay_run() - run the session on (r->sock) until the guest's exit
 * status is in and acknowledged. First SPEC (r->spec); then:
 *  - in_fd: STDIN frames of at most AVS_DATA_MAX bytes; at its end of file
 *    (or a read error) one STDIN of length 0;
 *  - STDOUT / STDERR: written to out_fd / err_fd; their ends are noted;
 *  - ERROR: "agentvmm: TEXT" as one line on err_fd (control bytes shown as '?');
 *  - EXIT: once everything before it is written (or dropped), EXIT_ACK;
 *  - sig_fd: SIGWINCH in a tty session: the size of in_fd's (else out_fd's)
 *    terminal in a WINSIZE frame (none when unknown or 0); in others nothing;
 *    any other signal: a SIGNAL frame with its number;
 *  - stop_fd readable: what the sock holds now is read and written out as far
 *    as that goes without blocking (at most AVS_STOP_DRAIN_FRAMES frames), then
 *    the relay returns;
 *  - (tty) and in_fd a terminal: it is in raw mode (cfmakeraw) while the
 *    relay runs, restored on every return;
 *  - (escape): Ctrl-A x on in_fd calls (on_quit)(opaque) and the relay returns.
 * No fd of (r) is closed.
 * Return: 0 and (*status) (0..255) the guest's EXIT status;
 * -EPIPE the stream ended before EXIT (guest gone, session refused);
 * -EPROTO the guest sent a frame avs_frame_check(), avs_payload_check() or
 * avs_rx_seq_next() refuses, or bytes after EXIT;
 * -ECANCELED stop_fd; -EINTR Ctrl-A x; -EINVAL spec_len over AVS_SPEC_MAX;
 * -ENOMEM; another -errno: a poll(2) or sock failure. Write errors on out_fd
 * and err_fd are not returned (see the top of this file).
 * Context: the calling thread, for as long as the session lasts; it must not
 * share in_fd's terminal settings with another thread meanwhile.
 * Guest: every byte read from (sock).
 */
int avs_relay_run(struct avs_relay *r, int *status) __must_check;

#endif
