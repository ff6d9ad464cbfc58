// SPDX-License-Identifier: MIT
/*
 * test_e2e_vsock.c: --vsock against the real Debian cloud kernel's
 * virtio-vsock driver, with the host's python3 in the guest (through
 * --share ro:/usr; its socket module has AF_VSOCK). One boot covers the
 * streams: a guest connect to a host port nobody listens on fails at once
 * (ECONNRESET/ECONNREFUSED, no hang); a guest connect to CID 2 port 1234
 * reaches the host listener at PATH_1234 (echo); a host "CONNECT 5001" to a
 * port nobody listens on is closed without "OK"; a host "CONNECT 5000" gets
 * "OK <port>" and an 8 MiB round trip comes back intact (SHA-256 on both
 * sides); a host peer that stops reading while the guest sends 8 MiB blocks
 * the guest (credit: its non-blocking send stalls with at most STALL_MAX
 * bytes out) with agentvmm's anonymous memory bounded, and once it reads, all
 * of it arrives intact. Then: PATH is gone after exit. A second boot: a stale
 * socket at PATH is replaced, and SIGTERM leaves nothing behind. A third:
 * SOCK_SEQPACKET as systemd's sd_notify() uses it for a plain
 * "vsock:2:8888" NOTIFY_SOCKET (no vsock datagrams, so a SEQPACKET connect
 * from a privileged port, one sendmsg, SHUT_WR, wait for EOF) reaches a host
 * SOCK_SEQPACKET listener at PATH_8888 as exactly one "READY=1" message; a
 * SEQPACKET connect to a stream listener fails at once; messages of 5 B, 100
 * KiB and 4 B are echoed whole both ways. Without a boot: a live listener at
 * PATH is refused with exit 2 and one line.
 *
 * Nested TCG test hosts are slow and uneven: every wait has its own bound
 * (the *_S below, all within STREAM_TIMEOUT_S) and says what it saw when it
 * fails; nothing is judged by how long the guest took.
 *
 * Over 600 lines: one boot carries the whole stream scenario, so the guest's
 * program, the host peers it talks to and the checks of each step read best
 * side by side; split, each file would repeat the VM plumbing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_vm.h"
#include "tests/helpers/th.h"

#define PYTHON "/usr/bin/python3"
#define STR_(x) #x
#define STR(x) STR_(x)
#define BIG (8u << 20)              /* bytes each way */
#define STREAM_TIMEOUT_S 900        /* the whole streaming boot (nested TCG test hosts are slow) */
#define BOOT_S 600                  /* boot, python3 up, its first connects, listening */
#define CONNECT_S 60                /* a host CONNECT answered, retries included (docs/vsock.md) */
#define BULK_S 300                  /* 8 MiB through, either way */
#define STEP_S 120                  /* anything else the guest does between two checks */
#define STALL_S 3                   /* no credit for this long: the guest's send is blocked */
#define STALL_MAX (2u << 20)        /* a blocked guest's bytes out: 256 KiB credit + buffers */
#define ANON_BOUND_KB (2 * 1024)    /* agentvmm's RssAnon growth while the guest is blocked */
#define RETRY_MS 500                /* between CONNECT attempts */

static char dir[] = "/tmp/av-e2e-vsock-XXXXXX";
static char rundir[600];
static char vpath[700];             /* the --vsock PATH */

static int setup(void **state)
{
	if (e2e_make_dirs(dir, rundir, sizeof(rundir)))
		return -1;
	snprintf(vpath, sizeof(vpath), "%s/v.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

/* (s) seconds from now, but never past the whole test's (deadline). */
static uint64_t step(unsigned s, uint64_t deadline)
{
	return MIN(e2e_now_ms() + s * 1000ULL, deadline);
}

static void sun_of(struct sockaddr_un *sa, const char *p)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	assert_true(strlen(p) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, p, strlen(p) + 1);
}

static int listen_type_at(const char *p, int type)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	sun_of(&sa, p);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int listen_at(const char *p)
{
	return listen_type_at(p, SOCK_STREAM);
}

static int connect_to(const char *p)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sun_of(&sa, p);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* agentvmm (args...) in the background, its stderr in (dir)/stderr. */
static void vm_spawn(struct e2e_vm *v, const char *const *args)
{
	char errf[800];

	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	e2e_vm_spawn(v, args, errf);
}

/* Wait up to (ms) for (fd) to have (events); false on timeout. */
static bool wait_fd(int fd, short events, int ms)
{
	struct pollfd pf = { .fd = fd, .events = events };

	return poll(&pf, 1, ms) > 0;
}

/* The first line of sha256sum over (len) bytes at (p), via a file. */
static const char *sha256_of(const void *p, size_t len)
{
	static char hex[65];
	char f[800], cmd[900];
	FILE *o;

	snprintf(f, sizeof(f), "%s/sha.bin", dir);
	o = fopen(f, "wb");
	assert_non_null(o);
	assert_int_equal(fwrite(p, 1, len, o), len);
	fclose(o);
	snprintf(cmd, sizeof(cmd), "sha256sum %s | cut -c1-64", f);
	snprintf(hex, sizeof(hex), "%s", e2e_host_line(cmd));
	unlink(f);
	return hex;
}

/* ---- agentvmm in the background ----------------------------------------------------- */

/* Take what the guest printed so far without waiting for more. */
static void vm_drain(struct e2e_vm *v)
{
	e2e_vm_wait_for(v, "\x01never", e2e_now_ms() + 300);
}

/* The guest's first whole line starting with (prefix); NULL at the deadline or its end. */
static const char *vm_wait_line(struct e2e_vm *v, const char *prefix, uint64_t deadline)
{
	for (;;) {
		const char *p = strstr(v->buf, prefix);

		if (p && strchr(p, '\n'))
			return p;
		if (e2e_now_ms() >= deadline || v->out < 0)
			return NULL;
		e2e_vm_wait_for(v, "\x01never", MIN(deadline, e2e_now_ms() + 200));
	}
}

/* Fail the test with (fmt), the guest's output and agentvmm's stderr; kill it if still there. */
static void __printf(2, 3) vm_fail(struct e2e_vm *v, const char *fmt, ...)
{
	char errf[800], what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	vm_drain(v);
	if (!v->reaped) {
		kill(-v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
	}
	fail_msg("%s\n--- guest output:\n%s\n--- agentvmm stderr:\n%s", what, v->buf,
		 e2e_slurp(errf));
}

/* VmRSS and RssAnon of (pid), KiB. */
static void rss_of(pid_t pid, long *rss, long *anon)
{
	char p[64], *s;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	s = e2e_slurp(p);
	*rss = *anon = -1;
	if (strstr(s, "VmRSS:"))
		*rss = strtol(strstr(s, "VmRSS:") + 6, NULL, 10);
	if (strstr(s, "RssAnon:"))
		*anon = strtol(strstr(s, "RssAnon:") + 8, NULL, 10);
}

/* ---- host peers -------------------------------------------------------------------------- */

/* PATH_1234: echo one connection until EOF (or the guest is silent for STEP_S). */
static void *echo_thread(void *arg)
{
	int lfd = *(int *)arg, fd;
	char b[4096];
	ssize_t n;

	if (!wait_fd(lfd, POLLIN, STREAM_TIMEOUT_S * 1000))
		return NULL;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd >= 0 && wait_fd(fd, POLLIN, STEP_S * 1000) && (n = read(fd, b, sizeof(b))) > 0)
		if (write(fd, b, (size_t)n) != n)
			break;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* PATH_2345: the peer that stops reading. */
struct slow {
	int lfd, fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;                  /* 1 accepted, 2 go (send "G"), 3 read, 4 done */
	uint8_t *got;
	size_t len;
	int err;                    /* why reading stopped before EOF: errno, or ETIMEDOUT */
};

static void slow_set(struct slow *s, int stage)
{
	pthread_mutex_lock(&s->lock);
	s->stage = stage;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static bool slow_wait(struct slow *s, int stage, uint64_t deadline)
{
	pthread_mutex_lock(&s->lock);
	while (s->stage < stage && e2e_now_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	bool ok = s->stage >= stage;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void *slow_thread(void *arg)
{
	struct slow *s = arg;
	uint64_t deadline = e2e_now_ms() + STREAM_TIMEOUT_S * 1000ULL;
	ssize_t n;

	if (!wait_fd(s->lfd, POLLIN, STREAM_TIMEOUT_S * 1000))
		return NULL;
	s->fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	slow_set(s, 1);
	if (!slow_wait(s, 2, deadline) || write(s->fd, "G", 1) != 1)
		return NULL;
	if (!slow_wait(s, 3, deadline))
		return NULL;
	while (s->len < BIG + 1) {
		if (!wait_fd(s->fd, POLLIN, BULK_S * 1000)) {
			s->err = ETIMEDOUT;
			break;
		}
		n = read(s->fd, s->got + s->len, BIG + 1 - s->len);
		if (n <= 0) {
			s->err = n < 0 ? errno : 0;
			break;
		}
		s->len += (size_t)n;
	}
	close(s->fd); /* the guest's recv() then sees EOF */
	slow_set(s, 4);
	return NULL;
}

/* ---- the guest's side ---------------------------------------------------------------------- */

static const char guest_py[] =
	"import hashlib, os, select, socket, time\n"
	"V = socket.AF_VSOCK\n"
	"def say(*a):\n"
	"    print(*a, flush=True)\n"
	"s = socket.socket(V, socket.SOCK_STREAM)\n"
	"t = time.monotonic()\n"
	"try:\n"
	"    s.connect((2, 9))\n"
	"    say('NOLISTEN connected')\n"
	"except OSError as e:\n"
	"    say('NOLISTEN errno=%d t=%.2f' % (e.errno, time.monotonic() - t))\n"
	"s.close()\n"
	"s = socket.socket(V, socket.SOCK_STREAM)\n"
	"s.connect((2, 1234))\n"
	"s.sendall(b'ping from the guest')\n"
	"s.shutdown(socket.SHUT_WR)\n"
	"got = b''\n"
	"while True:\n"
	"    b = s.recv(4096)\n"
	"    if not b:\n"
	"        break\n"
	"    got += b\n"
	"s.close()\n"
	"say('ECHO ' + got.decode())\n"
	"l = socket.socket(V, socket.SOCK_STREAM)\n"
	"l.bind((socket.VMADDR_CID_ANY, 5000))\n"
	"l.listen(4)\n"
	"say('LISTENING')\n"
	/* the host retries CONNECT: a connection it gave up on ends empty or reset */
	"n = 0\n"
	"while not n:\n"
	"    h = hashlib.sha256()\n"
	"    try:\n"
	"        c, _ = l.accept()\n"
	"        while True:\n"
	"            b = c.recv(262144)\n"
	"            if not b:\n"
	"                break\n"
	"            h.update(b)\n"
	"            n += len(b)\n"
	"            c.sendall(b)\n"
	"        c.close()\n"
	"    except OSError as e:\n"
	"        say('ACCEPTED CONNECTION FAILED errno=%d after %d bytes' % (e.errno, n))\n"
	"        n = 0\n"
	"say('ROUNDTRIP %d %s' % (n, h.hexdigest()))\n"
	"data = os.urandom(8 << 20)\n"
	"say('SHA ' + hashlib.sha256(data).hexdigest())\n"
	"s = socket.socket(V, socket.SOCK_STREAM)\n"
	"s.connect((2, 2345))\n"
	"s.recv(1)\n"
	/* send without blocking until no credit comes for STALL_S: how far did it get? */
	"m = memoryview(data)\n"
	"s.setblocking(False)\n"
	"n = 0\n"
	"while n < len(data):\n"
	"    try:\n"
	"        n += s.send(m[n:n + 65536])\n"
	"    except BlockingIOError:\n"
	"        if not select.select([], [s], [], " STR(STALL_S) ")[1]:\n"
	"            break\n"
	"say('STALLED %d' % n)\n"
	"s.setblocking(True)\n"
	"t = time.monotonic()\n"
	"s.sendall(m[n:])\n"
	"s.shutdown(socket.SHUT_WR)\n"
	"s.recv(1)\n"
	"say('SENT %.1f' % (time.monotonic() - t))\n"
	"s.close()\n"
	"say('DONE')\n";

/*
 * "CONNECT (port)\n" on a new connection to PATH; the reply line (without
 * '\n') into (line), "" if closed, "(no answer)" at the deadline.
 */
static void host_connect(int *fdp, uint32_t port, char *line, size_t size, uint64_t deadline)
{
	char req[32];
	size_t n = 0;
	int fd = connect_to(vpath);

	assert_true(fd >= 0);
	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	line[0] = 0;
	for (;;) {
		if (e2e_now_ms() >= deadline) {
			snprintf(line, size, "(no answer)");
			break;
		}
		if (!wait_fd(fd, POLLIN, 200))
			continue;
		if (read(fd, line + n, 1) != 1 || line[n] == '\n' || n + 2 >= size) {
			line[n] = 0; /* closed (EOF or ECONNRESET), or the whole line */
			break;
		}
		line[++n] = 0;
	}
	*fdp = fd;
}

/*
 * CONNECT (port) until the guest's listener answers "OK", as docs/vsock.md
 * tells host programs to (the guest may be slow to answer); its last reply.
 */
static int host_connect_retry(int *fdp, uint32_t port, char *line, size_t size, uint64_t deadline,
			      unsigned *tries)
{
	for (*tries = 1;; ++*tries) {
		host_connect(fdp, port, line, size, deadline);
		if (!strncmp(line, "OK ", 3) || e2e_now_ms() + RETRY_MS >= deadline)
			return !strncmp(line, "OK ", 3);
		close(*fdp);
		usleep(RETRY_MS * 1000);
	}
}

/* Send (src) and read its echo into (back) at the same time, on a non-blocking socket. */
static size_t round_trip(int fd, const uint8_t *src, uint8_t *back, size_t *sentp,
			 uint64_t deadline)
{
	size_t sent = 0, got = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (e2e_now_ms() < deadline) {
		struct pollfd pf = { .fd = fd, .events = POLLIN | (sent < BIG ? POLLOUT : 0) };

		if (poll(&pf, 1, 500) <= 0)
			continue;
		if ((pf.revents & POLLOUT) && sent < BIG) {
			ssize_t n = send(fd, src + sent, MIN(BIG - sent, 65536u), MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
			if (sent == BIG)
				shutdown(fd, SHUT_WR);
		}
		if (pf.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(fd, back + got, BIG + 1 - got, 0);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	*sentp = sent;
	return got;
}

/* The guest side first: a connect nobody takes fails fast, PATH_1234 echoes. */
static void check_guest_to_host(struct e2e_vm *v, uint64_t t0, uint64_t deadline)
{
	const char *nl;
	double secs;
	int e;

	if (!e2e_vm_wait_for(v, "LISTENING", step(BOOT_S, deadline)))
		vm_fail(v, "the guest did not listen on port 5000 within %d s", BOOT_S);
	printf("  guest listening after %.1f s\n", (e2e_now_ms() - t0) / 1000.0);
	nl = strstr(v->buf, "NOLISTEN errno=");
	if (!nl)
		vm_fail(v, "guest connect to a port nobody listens on did not fail");
	e = atoi(nl + strlen("NOLISTEN errno="));
	secs = atof(strstr(nl, "t=") + 2);
	printf("  guest connect to nobody: errno %d after %.2f s\n", e, secs);
	if (e != ECONNRESET && e != ECONNREFUSED)
		vm_fail(v, "guest connect to nobody: errno %d, not ECONNRESET/ECONNREFUSED", e);
	/* an RST at once, not a timeout (Linux's own is 2 s): slow TCG gets a wide margin */
	if (secs >= 10.0)
		vm_fail(v, "guest connect to nobody took %.2f s", secs);
	if (!strstr(v->buf, "ECHO ping from the guest\n"))
		vm_fail(v, "the guest's echo through PATH_1234 did not come back");
}

/* Host to guest: nobody on 5001 (closed, no OK), then 5000 and 8 MiB both ways. */
static void check_host_to_guest(struct e2e_vm *v, const uint8_t *src, uint8_t *back,
				uint64_t deadline)
{
	char line[64], want[200];
	size_t got, sent;
	unsigned tries;
	uint64_t t1;
	int fd;

	host_connect(&fd, 5001, line, sizeof(line), step(CONNECT_S, deadline));
	close(fd);
	if (line[0])
		vm_fail(v, "CONNECT 5001 (nobody listens): got \"%s\", not a close", line);
	t1 = e2e_now_ms();
	if (!host_connect_retry(&fd, 5000, line, sizeof(line), step(CONNECT_S, deadline), &tries))
		vm_fail(v, "CONNECT 5000: no OK in %u tries over %.1f s, last reply \"%s\"", tries,
			(e2e_now_ms() - t1) / 1000.0, line);
	printf("  CONNECT 5000: \"%s\" after %u tries, %.1f s\n", line, tries,
	       (e2e_now_ms() - t1) / 1000.0);
	if (strtoul(line + 3, NULL, 10) < 1UL << 30)
		vm_fail(v, "CONNECT 5000: host port in \"%s\" below 2^30", line);
	t1 = e2e_now_ms();
	got = round_trip(fd, src, back, &sent, step(BULK_S, deadline));
	close(fd);
	printf("  8 MiB round trip in %.1f s\n", (e2e_now_ms() - t1) / 1000.0);
	if (got != BIG || memcmp(back, src, BIG))
		vm_fail(v, "8 MiB round trip: sent %zu, got %zu back (%s)", sent, got,
			got == BIG ? "different bytes" : "short");
	snprintf(want, sizeof(want), "ROUNDTRIP %u %s\n", BIG, sha256_of(src, BIG));
	if (!e2e_vm_wait_for(v, want, step(STEP_S, deadline)))
		vm_fail(v, "the guest did not report the same 8 MiB (want \"%.*s\")",
			(int)strlen(want) - 1, want);
}

/* A host peer that does not read: the guest blocks, agentvmm stays small, then all arrives. */
static void check_stalled_peer(struct e2e_vm *v, struct slow *slow, uint64_t deadline)
{
	long rss0, anon0, rss1, anon1;
	char want[200];
	const char *p;
	size_t out;

	if (!slow_wait(slow, 1, step(STEP_S, deadline)))
		vm_fail(v, "the guest did not connect to port 2345 within %d s", STEP_S);
	rss_of(v->pid, &rss0, &anon0);
	slow_set(slow, 2);
	/* the guest's own proof: no credit for STALL_S while the peer does not read */
	p = vm_wait_line(v, "STALLED ", step(STEP_S, deadline));
	if (!p)
		vm_fail(v, "the guest's send never stalled within %d s", STEP_S);
	out = strtoul(p + strlen("STALLED "), NULL, 10);
	rss_of(v->pid, &rss1, &anon1);
	printf("  host peer not reading: the guest stalled with %zu bytes out; VmRSS %ld -> %ld "
	       "KiB, RssAnon %ld -> %ld KiB\n", out, rss0, rss1, anon0, anon1);
	if (out == 0 || out > STALL_MAX)
		vm_fail(v, "the guest had %zu bytes out when it stalled, not 1..%u", out,
			STALL_MAX);
	/* VmRSS also counts the guest RAM the guest touches (shared memfd): anonymous only */
	if (anon0 < 0 || anon1 - anon0 >= ANON_BOUND_KB)
		vm_fail(v, "agentvmm's RssAnon grew %ld -> %ld KiB while the guest was blocked",
			anon0, anon1);
	slow_set(slow, 3);
	if (!slow_wait(slow, 4, step(BULK_S, deadline)))
		vm_fail(v, "the host peer got %zu of %u bytes within %d s", slow->len, BIG, BULK_S);
	if (slow->len != BIG)
		vm_fail(v, "the host peer got %zu of %u bytes (%s)", slow->len, BIG,
			slow->err ? strerror(slow->err) : "EOF");
	if (!e2e_vm_wait_for(v, "DONE", step(STEP_S, deadline)))
		vm_fail(v, "the guest did not finish after the host peer read everything");
	snprintf(want, sizeof(want), "SHA %s\n", sha256_of(slow->got, slow->len));
	if (!strstr(v->buf, want))
		vm_fail(v, "the host peer's 8 MiB differ from the guest's (%.*s)",
			(int)strlen(want) - 1, want);
	p = strstr(v->buf, "SENT ");
	printf("  the rest of the guest's 8 MiB took %.1f s once the peer read\n",
	       p ? atof(p + 5) : -1.0);
}

static void test_e2e_vsock_streams_credit_and_cleanup(void **state)
{
	uint64_t deadline = e2e_now_ms() + STREAM_TIMEOUT_S * 1000ULL, t0 = e2e_now_ms();
	char p1234[800], p2345[800], gdir[800], share[900], vs[900];
	uint8_t *src = malloc(BIG), *back = malloc(BIG + 1);
	struct slow slow = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER, .got = malloc(BIG + 1) };
	pthread_t echo_t, slow_t;
	struct e2e_vm v;
	int echo_l, r;

	/* the guest's program, and the host listeners the guest connects to */
	snprintf(gdir, sizeof(gdir), "%s/g", dir);
	assert_int_equal(mkdir(gdir, 0755), 0);
	snprintf(share, sizeof(share), "%s/guest.py", gdir);
	FILE *f = fopen(share, "w");
	assert_non_null(f);
	fputs(guest_py, f);
	fclose(f);
	snprintf(p1234, sizeof(p1234), "%s_1234", vpath);
	snprintf(p2345, sizeof(p2345), "%s_2345", vpath);
	echo_l = listen_at(p1234);
	slow.lfd = listen_at(p2345);
	pthread_create(&echo_t, NULL, echo_thread, &echo_l);
	pthread_create(&slow_t, NULL, slow_thread, &slow);
	f = fopen("/dev/urandom", "rb");
	assert_int_equal(fread(src, 1, BIG, f), BIG);
	fclose(f);

	snprintf(share, sizeof(share), "ro:%s:/t", gdir);
	snprintf(vs, sizeof(vs), "cid=3,socket=%s", vpath);
	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--mem", "512", "--share",
			      "ro:/usr", "--share", share, "--vsock", vs, "--", PYTHON,
			      "/t/guest.py"));
	check_guest_to_host(&v, t0, deadline);
	check_host_to_guest(&v, src, back, deadline);
	check_stalled_peer(&v, &slow, deadline);

	r = e2e_vm_reap(&v, step(STEP_S, deadline));
	printf("  whole run %.1f s, status %d\n", (e2e_now_ms() - t0) / 1000.0, r);
	if (r != 0)
		vm_fail(&v, "agentvmm ended with status %d (-1: killed after %d s)", r, STEP_S);
	pthread_join(echo_t, NULL);
	pthread_join(slow_t, NULL);
	close(echo_l);
	close(slow.lfd);
	/* nothing left behind: PATH unlinked (PATH_P are the host's own), no socket dirs */
	assert_int_equal(access(vpath, F_OK), -1);
	assert_int_equal(e2e_count_entries(rundir), 0);
	unlink(p1234);
	unlink(p2345);
	free(src);
	free(back);
	free(slow.got);
}

static void test_e2e_vsock_stale_replaced_sigterm_leaves_nothing(void **state)
{
	uint64_t deadline = e2e_now_ms() + E2E_BOOT_TIMEOUT_S * 1000ULL;
	struct sockaddr_un sa;
	char vs[900];
	struct e2e_vm v;
	int fd, r;

	/* a socket file nobody listens on (an agentvmm killed with SIGKILL leaves one) */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sun_of(&sa, vpath);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(vs, sizeof(vs), "cid=42,socket=%s", vpath);
	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--vsock", vs, "--", "sh", "-c",
			      "echo READY; sleep 1000"));
	if (!e2e_vm_wait_for(&v, "READY", deadline))
		vm_fail(&v, "the guest did not say READY within %d s", E2E_BOOT_TIMEOUT_S);
	fd = connect_to(vpath);
	assert_true(fd >= 0); /* agentvmm's own listener now */
	close(fd);
	kill(v.pid, SIGTERM);
	r = e2e_vm_reap(&v, deadline);
	assert_int_equal(r, 128 + SIGTERM);
	assert_int_equal(access(vpath, F_OK), -1);
	assert_int_equal(e2e_count_entries(rundir), 0);
}

/* ---- SOCK_SEQPACKET: systemd's plain "vsock:" notify socket -------------------------------- */

#define SEQ_TIMEOUT_S 600           /* the whole SEQPACKET boot */
#define SEQ_BUF (1u << 20)          /* a host peer's receive buffer: more than any message */
#define SEQ_MSGS 4                  /* messages a host peer records */

/*
 * The guest does what sd_notify(0, "READY=1") does with NOTIFY_SOCKET=vsock:2:8888
 * (systemd 254+, src/libsystemd/sd-daemon/sd-daemon.c, pid_notify_with_fds_internal()).
 */
static const char seq_py[] =
	"import socket, time\n"
	"V = socket.AF_VSOCK\n"
	"def say(*a):\n"
	"    print(*a, flush=True)\n"
	/* SOCK_DGRAM first: no vsock datagram transport (ENODEV), so SEQPACKET */
	"try:\n"
	"    socket.socket(V, socket.SOCK_DGRAM).close()\n"
	"    say('DGRAM created')\n"
	"except OSError as e:\n"
	"    say('DGRAM errno=%d' % e.errno)\n"
	"s = socket.socket(V, socket.SOCK_SEQPACKET)\n"
	"try:\n"
	"    s.bind((socket.VMADDR_CID_ANY, 1023))\n" /* vsock_bind_privileged_port() */
	"except OSError as e:\n"
	"    say('BIND errno=%d' % e.errno)\n"
	"s.connect((2, 8888))\n"
	"n = s.sendmsg([b'READY=1'])\n"
	"s.shutdown(socket.SHUT_WR)\n"
	"b = s.recv(1)\n"
	"s.close()\n"
	"say('NOTIFY sent=%d eof=%d' % (n, b == b''))\n"
	/* a stream listener at PATH_8889: refused at once, no hang */
	"s = socket.socket(V, socket.SOCK_SEQPACKET)\n"
	"t = time.monotonic()\n"
	"try:\n"
	"    s.connect((2, 8889))\n"
	"    say('WRONGTYPE connected')\n"
	"except OSError as e:\n"
	"    say('WRONGTYPE errno=%d t=%.2f' % (e.errno, time.monotonic() - t))\n"
	"s.close()\n"
	/* messages both ways, the middle one over many packets each way */
	"s = socket.socket(V, socket.SOCK_SEQPACKET)\n"
	"s.connect((2, 8890))\n"
	"msgs = [b'first', bytes(range(256)) * 400, b'last']\n"
	"for m in msgs:\n"
	"    s.send(m)\n"
	"got = [s.recv(1 << 18) for m in msgs]\n"
	"s.shutdown(socket.SHUT_WR)\n"
	"s.recv(1)\n"
	"s.close()\n"
	"say('ECHO %s %s' % (' '.join(str(len(g)) for g in got),\n"
	"                    'same' if got == msgs else 'DIFFERENT'))\n"
	"say('DONE')\n";

/* A SOCK_SEQPACKET host peer: one connection, each recvmsg() recorded, (echo) sent back. */
struct seq_peer {
	int lfd;
	bool echo;
	uint8_t *buf;               /* SEQ_BUF */
	ssize_t len[SEQ_MSGS];      /* what each recvmsg() returned */
	int nr;
	bool trunc, eof;            /* a message cut short; EOF after the messages */
	char first[16];             /* the first message, as a string */
};

static void *seq_peer_thread(void *arg)
{
	struct seq_peer *p = arg;
	int fd;

	if (!wait_fd(p->lfd, POLLIN, SEQ_TIMEOUT_S * 1000))
		return NULL;
	fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd >= 0 && p->nr < SEQ_MSGS && wait_fd(fd, POLLIN, STEP_S * 1000)) {
		struct iovec iov = { p->buf, SEQ_BUF };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &m, 0);

		if (n <= 0) {
			p->eof = n == 0;
			break;
		}
		p->trunc |= (m.msg_flags & MSG_TRUNC) != 0;
		if (!p->nr)
			snprintf(p->first, sizeof(p->first), "%.*s", (int)MIN(n, 15),
				 (char *)p->buf);
		p->len[p->nr++] = n;
		if (p->echo && send(fd, p->buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void check_notify(struct e2e_vm *v, const struct seq_peer *notify, int wrong_l,
			 uint64_t deadline)
{
	const char *p;
	double secs;
	int e;

	if (!e2e_vm_wait_for(v, "NOTIFY ", deadline) || !vm_wait_line(v, "NOTIFY ", deadline))
		vm_fail(v, "the guest's sd_notify() did not finish within %d s", SEQ_TIMEOUT_S);
	if (!strstr(v->buf, "DGRAM errno=19\n"))
		vm_fail(v, "a vsock SOCK_DGRAM socket did not fail with ENODEV: sd_notify() would "
			"not fall back to SOCK_SEQPACKET");
	if (!strstr(v->buf, "NOTIFY sent=7 eof=1\n"))
		vm_fail(v, "sd_notify() over SOCK_SEQPACKET did not send 7 bytes and see EOF");
	printf("  sd_notify over SOCK_SEQPACKET: the host listener got %d message(s), first "
	       "\"%s\" (%zd bytes), EOF %d\n", notify->nr, notify->first,
	       notify->nr ? notify->len[0] : -1, notify->eof);
	if (notify->nr != 1 || notify->len[0] != 7 || strcmp(notify->first, "READY=1") ||
	    notify->trunc || !notify->eof)
		vm_fail(v, "PATH_8888 got %d message(s) (first \"%s\", %zd bytes, cut %d, EOF %d), "
			"not exactly \"READY=1\" and EOF", notify->nr, notify->first,
			notify->nr ? notify->len[0] : -1, notify->trunc, notify->eof);
	p = vm_wait_line(v, "WRONGTYPE ", step(STEP_S, deadline));
	if (!p || strncmp(p, "WRONGTYPE errno=", 16))
		vm_fail(v, "a SEQPACKET connect to a stream listener did not fail");
	e = atoi(p + 16);
	secs = atof(strstr(p, "t=") + 2);
	printf("  SEQPACKET connect to a stream listener: errno %d after %.2f s\n", e, secs);
	if (e != ECONNRESET || secs >= 10.0)
		vm_fail(v, "SEQPACKET connect to a stream listener: errno %d after %.2f s, not "
			"ECONNRESET at once", e, secs);
	if (wait_fd(wrong_l, POLLIN, 0))
		vm_fail(v, "the stream listener at PATH_8889 got a connection");
}

static void test_e2e_vsock_seqpacket_sd_notify(void **state)
{
	uint64_t deadline = e2e_now_ms() + SEQ_TIMEOUT_S * 1000ULL, t0 = e2e_now_ms();
	char p8888[800], p8889[800], p8890[800], gdir[800], share[900], vs[900];
	struct seq_peer notify = { .buf = malloc(SEQ_BUF) };
	struct seq_peer echo = { .buf = malloc(SEQ_BUF), .echo = true };
	pthread_t notify_t, echo_t;
	int wrong_l, r;
	struct e2e_vm v;

	snprintf(gdir, sizeof(gdir), "%s/gs", dir);
	assert_int_equal(mkdir(gdir, 0755), 0);
	snprintf(share, sizeof(share), "%s/seq.py", gdir);
	FILE *f = fopen(share, "w");
	assert_non_null(f);
	fputs(seq_py, f);
	fclose(f);
	snprintf(p8888, sizeof(p8888), "%s_8888", vpath);
	snprintf(p8889, sizeof(p8889), "%s_8889", vpath);
	snprintf(p8890, sizeof(p8890), "%s_8890", vpath);
	/* what a VMM's notify listener is: socat UNIX-LISTEN:PATH_8888,type=5 or the like */
	notify.lfd = listen_type_at(p8888, SOCK_SEQPACKET);
	wrong_l = listen_at(p8889);
	echo.lfd = listen_type_at(p8890, SOCK_SEQPACKET);
	pthread_create(&notify_t, NULL, seq_peer_thread, &notify);
	pthread_create(&echo_t, NULL, seq_peer_thread, &echo);

	snprintf(share, sizeof(share), "ro:%s:/t", gdir);
	snprintf(vs, sizeof(vs), "cid=3,socket=%s", vpath);
	vm_spawn(&v, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--mem", "512", "--share",
			      "ro:/usr", "--share", share, "--vsock", vs, "--", PYTHON,
			      "/t/seq.py"));
	if (!e2e_vm_wait_for(&v, "NOTIFY ", deadline))
		vm_fail(&v, "the guest did not get to sd_notify() within %d s", SEQ_TIMEOUT_S);
	printf("  guest notified after %.1f s\n", (e2e_now_ms() - t0) / 1000.0);
	pthread_join(notify_t, NULL); /* the guest saw EOF: the listener is done */
	check_notify(&v, &notify, wrong_l, deadline);
	if (!e2e_vm_wait_for(&v, "DONE", step(STEP_S, deadline)))
		vm_fail(&v, "the guest's SEQPACKET echo did not finish within %d s", STEP_S);
	pthread_join(echo_t, NULL);
	printf("  echo: the host got %d message(s): %zd %zd %zd, EOF %d\n", echo.nr, echo.len[0],
	       echo.len[1], echo.len[2], echo.eof);
	if (!strstr(v.buf, "ECHO 5 102400 4 same\n") || echo.nr != 3 || echo.len[0] != 5 ||
	    echo.len[1] != 102400 || echo.len[2] != 4 || echo.trunc || !echo.eof)
		vm_fail(&v, "SEQPACKET echo: the host got %d message(s) (%zd %zd %zd, cut %d, "
			"EOF %d), not 5, 102400 and 4 bytes whole", echo.nr, echo.len[0],
			echo.len[1], echo.len[2], echo.trunc, echo.eof);
	r = e2e_vm_reap(&v, step(STEP_S, deadline));
	printf("  whole run %.1f s, status %d\n", (e2e_now_ms() - t0) / 1000.0, r);
	if (r != 0)
		vm_fail(&v, "agentvmm ended with status %d (-1: killed after %d s)", r, STEP_S);
	close(notify.lfd);
	close(wrong_l);
	close(echo.lfd);
	assert_int_equal(access(vpath, F_OK), -1);
	unlink(p8888);
	unlink(p8889);
	unlink(p8890);
	free(notify.buf);
	free(echo.buf);
}

static void test_e2e_vsock_live_socket_refused(void **state)
{
	struct th_result res;
	char vs[900], want[1000];
	int lfd = listen_at(vpath);

	snprintf(vs, sizeof(vs), "cid=3,socket=%s", vpath);
	e2e_run(&res, 60, E2E_ARGS("--kernel", e2e_kernel("bzImage"), "--vsock", vs, "--", "true"));
	snprintf(want, sizeof(want), "agentvmm: --vsock socket=%s: another process is listening on "
		 "it\n", vpath);
	assert_int_equal(res.status, 2);
	assert_string_equal(res.err, want);
	close(lfd);
	unlink(vpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_vsock_live_socket_refused),
		cmocka_unit_test(test_e2e_vsock_stale_replaced_sigterm_leaves_nothing),
		cmocka_unit_test(test_e2e_vsock_streams_credit_and_cleanup),
		cmocka_unit_test(test_e2e_vsock_seqpacket_sd_notify),
	};
	int ret;

	if ((ret = e2e_check_host()) || (ret = e2e_check_virtiofsd()))
		return ret;
	if (access(PYTHON, X_OK)) {
		fprintf(stderr, "skip: %s missing (the guest runs the host's python3)\n", PYTHON);
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
