// SPDX-License-Identifier: MIT
/*
 * vm_input.c: what vm_create() checks about its input before it opens
 * /dev/kvm (the boot files, the console, then the devices through
 * vm_devices_open()), and the console file, created only after every check.
 */
#include "vmm/vm_input.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "vmm/console.h"
#include "vmm/share.h"
#include "vmm/vm.h"
#include "vmm/vm_devices.h"

/* --raw-image, before /dev/kvm: 1 to VM_RAW_IMAGE_MAX bytes, read into vm->raw_image. */
static int vm_read_raw(struct vm *vm, char *err, size_t errlen)
{
	const char *path = vm->cfg->raw_image;
	bool too_big;
	FILE *f;

	vm->raw_image = malloc(VM_RAW_IMAGE_MAX);
	if (!vm->raw_image)
		return -ENOMEM;
	f = fopen(path, "rbe");
	if (!f) {
		int r = -errno;

		snprintf(err, errlen, "--raw-image %s: %s", path, strerror(-r));
		return r;
	}
	vm->raw_len = fread(vm->raw_image, 1, VM_RAW_IMAGE_MAX, f);
	too_big = fgetc(f) != EOF;
	fclose(f);
	if (vm->raw_len == 0 || too_big) {
		snprintf(err, errlen, "--raw-image %s: must be 1 to %u bytes", path,
			 VM_RAW_IMAGE_MAX);
		return -EINVAL;
	}
	return 0;
}

/*
 * The process has one stdin: the one VM with console "stdio" and no command
 * reads it (and puts the tty in raw mode). Process-wide by nature.
 */
static int stdin_owner_claimed;

static const char *vm_console_arg(const struct vm *vm)
{
	return vm->cfg->console ? vm->cfg->console : "stdio";
}

/* 0 if a file may be created at (path): its directory is writable and searchable; else errno. */
static int vm_may_create(const char *path)
{
	char *dir = strdup(path);
	int e = ENOMEM;

	if (dir)
		e = faccessat(AT_FDCWD, dirname(dir), W_OK | X_OK, AT_EACCESS) < 0 ? errno : 0;
	free(dir);
	return e;
}

/* A console file's size limit in bytes (0: none), from --console-limit. */
static uint64_t vm_console_limit(const struct vm *vm)
{
	uint64_t mib = vm->cfg->console_limit_mib;

	if (mib == VM_CONSOLE_UNLIMITED)
		return 0;
	return (mib ? mib : VM_CONSOLE_LIMIT_DEFAULT_MIB) << 20;
}

/*
 * Hand the opened console_fd to its sink (vmm/console.h), which owns it from
 * now on: non-blocking, limited, filtered in front of a terminal. Setup
 * thread: a stdout pipe or terminal is reopened through /proc here.
 */
static int vm_console_attach(struct vm *vm, const char *name, char *err, size_t errlen)
{
	vm->con = con_out_create(vm->console_fd, vm->console_own, name, vm_console_limit(vm));
	vm->console_own = false;
	if (!vm->con) {
		vm->console_fd = -1;
		snprintf(err, errlen, "--console %s: out of memory", name);
		return -ENOMEM;
	}
	return 0;
}

/*
 * --console stdio|none|PATH, before /dev/kvm. An existing file is opened (for
 * appending) now; a new one is only checked here and created after /dev/kvm
 * (vm_console_create()), so a VM that fails to start leaves no file behind.
 */
static int vm_check_console(struct vm *vm, char *err, size_t errlen)
{
	const char *c = vm_console_arg(vm);
	int e, r;

	if (!strcmp(c, "none"))
		return 0;
	if (strcmp(c, "stdio")) {
		vm->console_fd = open(c, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
		if (vm->console_fd >= 0) {
			vm->console_own = true;
			return vm_console_attach(vm, c, err, errlen);
		}
		e = errno == ENOENT ? vm_may_create(c) : errno;
		if (e) {
			snprintf(err, errlen, "--console %s: %s", c, strerror(e));
			return -EINVAL;
		}
		return 0;
	}
	/* a session's stdout is the command's: kernel messages go to stderr */
	vm->console_fd = config_session(vm->cfg) ? STDERR_FILENO : STDOUT_FILENO;
	r = vm_console_attach(vm, vm->console_fd == STDERR_FILENO ? "stderr" : "stdout", err,
			      errlen);
	if (r)
		return r;
	if (vm->cfg->argc == 0 && !vm->cfg->await_job) {
		int expected = 0;

		if (!__atomic_compare_exchange_n(&stdin_owner_claimed, &expected, 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			snprintf(err, errlen, "--console stdio: another VM in this process already "
				 "reads stdin (give this one a command, a console file or none)");
			return -EBUSY;
		}
		vm->interactive = true;
	}
	return 0;
}

int vm_console_create(struct vm *vm, char *err, size_t errlen)
{
	const char *c = vm_console_arg(vm);

	if (!strcmp(c, "none") || vm->console_fd >= 0)
		return 0;
	vm->console_fd = open(c, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (vm->console_fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "--console %s: %s", c, strerror(-r));
		return -EINVAL;
	}
	vm->console_own = true;
	return vm_console_attach(vm, c, err, errlen);
}

/*
 * --initrd, before /dev/kvm: what initrd_load() checks without guest RAM (a
 * readable, non-empty regular file), in its words. Whether it fits below the
 * kernel's limit is known only when it is loaded.
 */
static int vm_check_initrd(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	struct stat st;
	int r = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: initrd is %s", path,
			 S_ISREG(st.st_mode) ? "empty" : "not a regular file");
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Before /dev/kvm: the files the guest boots from. */
static int vm_check_boot_files(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	enum boot_kernel_kind kind;
	struct stat st;
	int r;

	if (cfg->raw_image)
		return vm_read_raw(vm, err, errlen);
	if (!cfg->kernel)
		return 0; /* --restore without the image: the template has it in RAM */
	r = boot_probe(cfg->kernel, &kind, err, errlen);
	if (r)
		return r;
	if (cfg->initrd)
		return vm_check_initrd(cfg->initrd, err, errlen);
	/* vm_default_initramfs() checks it again, but it builds the cache file after /dev/kvm */
	if (cfg->modules_dir && (stat(cfg->modules_dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "--modules-dir %s: not a directory", cfg->modules_dir);
		return -EINVAL;
	}
	return 0;
}

int vm_check_input(struct vm *vm, char *err, size_t errlen)
{
	int r = vm_check_boot_files(vm, err, errlen);

	if (!r)
		r = oem_strings_build(vm->cfg, &vm->oem, err, errlen);
	if (!r)
		r = share_check(vm->cfg, err, errlen);
	if (!r)
		r = vm_check_console(vm, err, errlen);
	if (!r)
		r = vm_session_prepare(vm, err, errlen);
	if (!r)
		r = vm_devices_open(vm, err, errlen);
	return r;
}

void vm_console_release(struct vm *vm)
{
	con_out_destroy(vm->con); /* closes the fd it owns */
	vm->con = NULL;
	if (vm->console_own)
		close(vm->console_fd);
	vm->console_own = false;
	vm->console_fd = -1;
	if (vm->interactive)
		__atomic_store_n(&stdin_owner_claimed, 0, __ATOMIC_RELEASE);
	vm->interactive = false;
}
