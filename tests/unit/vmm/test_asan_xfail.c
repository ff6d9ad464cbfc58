// SPDX-License-Identifier: MIT
/*
 * test_asan_xfail.c: a heap-buffer-overflow read that ASan must catch. Built
 * only in AddressSanitizer builds and registered WILL_FAIL, so a build that is
 * silently not instrumented exits 0 here and fails CI (liburing's xfail_*).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	/* sizes unknown at compile time, so only ASan (not UBSan object-size) can see it */
	volatile size_t len = 16, idx = 16;
	char *mem = malloc(len);
	volatile char *buf = mem; /* volatile: the read below must happen */

	if (!mem)
		return 0; /* must not "fail" for the wrong reason */
	char c = buf[idx];

	printf("read past the end went undetected (0x%02x): not an ASan build\n",
	       (unsigned char)c);
	free(mem);
	return 0;
}
