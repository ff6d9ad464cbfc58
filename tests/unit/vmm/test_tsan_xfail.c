// SPDX-License-Identifier: MIT
/*
 * test_tsan_xfail.c: a data race that ThreadSanitizer must catch. Built only in
 * ThreadSanitizer builds and registered WILL_FAIL, so a build that is silently
 * not instrumented exits 0 here and fails the TSan run (liburing's xfail_*,
 * as test_asan_xfail.c does for ASan).
 */
#include <pthread.h>
#include <stdio.h>

static int counter; /* written by both threads with no lock: the race */

static void *bump(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		counter++;
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, bump, NULL))
		return 0; /* must not "fail" for the wrong reason */
	bump(NULL);
	pthread_join(t, NULL);
	printf("unsynchronised writes went undetected (%d): not a TSan build\n", counter);
	return 0;
}
