/* SPDX-License-Identifier: MIT */
/* l3init.c: static /init for the test host selftest's L3 guest: load virtio-pci
 * and virtiofs from /m, print, read myfs:/f when a virtio-fs device exists. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *mods[] = {
    "virtio_ring", "virtio",  "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
    "fuse",	   "virtiofs"};
int main(void)
{
	char p[256], buf[64];
	int i, fd;
	ssize_t n;
	for (i = 0; i < 7; i++) {
		snprintf(p, sizeof p, "/m/%s.ko", mods[i]);
		fd = open(p, O_RDONLY);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
			perror(p);
		}
		close(fd);
	}
	printf("L3 init running\n");
	fflush(stdout);
	mkdir("/mnt", 0755);
	for (i = 0; i < 5; i++) {
		if (!mount("myfs", "/mnt", "virtiofs", 0, NULL))
			break;
		usleep(100000);
	}
	if (i == 5)
		perror("mount virtiofs");
	fd = open("/mnt/f", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (n > 0) {
		buf[n] = 0;
		printf("L3 read via virtiofs: %s", buf);
	} else
		perror("/mnt/f");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
