/* SPDX-License-Identifier: MIT */
/*
 * egress.h: --egress, agentvmm's side of the egress proxy (prefix egress_):
 * start and stop one agentvmm-egress process per VM (egress/proxy.h has its
 * interface), from the copy embedded in libagentvmm (egress/blob.h) or from
 * $AGENTVMM_EGRESS. The vsock device hands it each guest connection over
 * (ctl_fd): one byte with one fd (SCM_RIGHTS), MSG_DONTWAIT | MSG_NOSIGNAL.
 * docs/net.md "Egress proxy".
 */
#ifndef AGENTVMM_VMM_EGRESS_H
#define AGENTVMM_VMM_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/compiler.h"

#define EGRESS_READY_MS 5000 /* from fork to the proxy's "ok" */
#define EGRESS_STOP_MS 1000  /* from closing ctl_fd to SIGKILL */

struct egress {
	bool live;   /* started and not yet stopped (a zeroed struct is not) */
	pid_t pid;   /* the proxy */
	int ctl_fd;  /* agentvmm's end of the control socket: SOCK_SEQPACKET, non-blocking, close-on-exec */
};

/*
 * egress_start() - start the proxy with the rules (rules_text, len) (allow-file
 * format, CLI entries and files already merged), in log mode if (log), and
 * with --list-fd if (list_fd) >= 0 (the child gets a copy; the caller keeps
 * its own). The rules are checked here first: nothing starts on a bad entry.
 * The proxy's stderr is this process's fd 2 at the time of the call; its
 * environment holds only AGENTVMM_EGRESS_*_TIMEOUT_MS, if set here (tests).
 * Waits up to EGRESS_READY_MS for the proxy's "ok".
 * Return: 0 with (e) live; -EINVAL with the parser's line, or the proxy's
 * own "error: ..." line, in (err); -EIO (could not start it, it died or did
 * not answer in time) / -ENOMEM with one line in (err). On failure nothing
 * is left running or open and (e) is not live.
 * Context: setup thread. The proxy has PR_SET_PDEATHSIG: it is killed when
 * the calling thread ends, so call this from a thread that lives as long as
 * the VM.
 */
int egress_start(struct egress *e, const char *rules_text, size_t len, bool log, int list_fd,
		 char *err, size_t errlen) __must_check;

/*
 * egress_stop() - close ctl_fd (the proxy exits by itself on EOF), reap it
 * within EGRESS_STOP_MS, else SIGKILL; log a warning if it had died on its
 * own or failed. Idempotent; a zeroed or failed (e) is fine.
 * Context: teardown, after the vsock device stopped sending on ctl_fd.
 */
void egress_stop(struct egress *e);

#endif
