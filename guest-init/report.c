// SPDX-License-Identifier: MIT
/* report.c: console messages, boot-timer marks and the final exit-port write of guest-init. */
#include "guest-init/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#define GI_HAVE_PORTS 1
#else
#define GI_HAVE_PORTS 0
#endif

#define GI_PORTS_SPAN (GI_BOOTMARK_PORT + 4 - GI_EXIT_PORT)

static bool gi_ports_ok;
static bool gi_verbose_on;

void gi_report_init(void)
{
#if GI_HAVE_PORTS
	/* one ioperm range covers both 32-bit ports */
	_Static_assert(GI_BOOTMARK_PORT > GI_EXIT_PORT, "port order");
	gi_ports_ok = ioperm(GI_EXIT_PORT, GI_PORTS_SPAN, 1) == 0;
#endif
}

void gi_report_drop(void)
{
#if GI_HAVE_PORTS
	if (gi_ports_ok && ioperm(GI_EXIT_PORT, GI_PORTS_SPAN, 0) == 0)
		gi_ports_ok = false;
#endif
}

void gi_bootmark(enum gi_bootmark_phase phase)
{
#if GI_HAVE_PORTS
	if (gi_ports_ok)
		outl(GI_BOOTMARK_MAGIC | (unsigned int)phase, GI_BOOTMARK_PORT);
#endif
}

void gi_report_exit(int status)
{
	gi_info("exit status %d", status & 0xff);
#if GI_HAVE_PORTS
	if (gi_ports_ok)
		outl(GI_EXIT_MAGIC | ((unsigned int)status & 0xff), GI_EXIT_PORT);
#endif
	/* Only reached without agentvmm (another VMM, or the port write was ignored). */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

void gi_set_verbose(bool on)
{
	gi_verbose_on = on;
}

bool gi_verbose(void)
{
	return gi_verbose_on;
}

static void vmsg(const char *fmt, va_list ap)
{
	char line[512];
	int n;

	/* One write per line, so it does not interleave with other writers. */
	n = snprintf(line, sizeof(line), "agentvmm-init: ");
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void gi_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void gi_info(const char *fmt, ...)
{
	va_list ap;

	if (!gi_verbose_on)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}
