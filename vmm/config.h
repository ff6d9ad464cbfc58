/* SPDX-License-Identifier: MIT */
/*
 * config.h: struct vm_config, everything a VM is made from; filled by cli.c
 * (flags, avm_config_set) and config_json.c (the --config file).
 */
#ifndef AGENTVMM_VMM_CONFIG_H
#define AGENTVMM_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VM_DEFAULT_CPUS 1
#define VM_DEFAULT_MEM_MIB 512
/* --raw-image: loaded here and entered in real mode at 0000:1000 */
#define VM_RAW_IMAGE_GPA 0x1000
#define VM_RAW_IMAGE_MAX 0x8000
#define VM_DEFAULT_SHUTDOWN_TIMEOUT_S 10
#define VM_MAX_SHUTDOWN_TIMEOUT_S 3600
#define VM_MAX_CPUS 255 /* xAPIC ids in the MADT are 8 bits, 0xff is broadcast */

#define VM_MAX_DISKS 16
#define VM_MAX_SHARES 16
#define VM_MAX_PMEM 8             /* --pmem devices (one memory window each, vmm/vm_devices.h) */
#define VM_PATH_MAX 4096
#define VM_TAG_MAX 36             /* virtio_fs_config.tag (virtio 1.2 §5.11.4) */
#define VM_SOCK_MAX 108           /* sockaddr_un.sun_path */
#define VM_MAX_NETS 8
#define VM_NET_MAX_QUEUES 16      /* queue pairs of one --net (VNET_MAX_PAIRS) */
#define VM_NET_MAX_ALL_QUEUES 32  /* of all --net together: MSI-X vectors, loop watches */
#define VM_IFNAME_MAX 16          /* IFNAMSIZ, NUL included */
#define VM_MAX_API_UIDS 16        /* --api-allow-uid (CTL_MAX_ALLOWED_UIDS) */
#define VM_MAX_ENV 256            /* --env entries */
/* --oem-string, --set-credential, --load-credential together (SMBIOS_OEM_MAX_STRINGS) */
#define VM_MAX_OEM_STRINGS 255
#define VM_INIT_MAX 1024          /* --init path bytes, NUL included (GI_CMDLINE_INIT_MAX) */
/* --console-limit MIB: a console file's size limit (vmm/console.h); 0 in the config = default */
#define VM_CONSOLE_LIMIT_DEFAULT_MIB 64
#define VM_CONSOLE_LIMIT_MAX_MIB (1024 * 1024)
#define VM_CONSOLE_UNLIMITED UINT64_MAX /* --console-limit 0 */

/* --disk PATH[,ro][,direct][,mount=GUESTPATH] */
struct vm_disk {
	char path[VM_PATH_MAX];
	char mount[256];          /* "" = not mounted by guest-init */
	bool readonly;
	bool direct;              /* O_DIRECT */
};

/* --pmem PATH[,ro][,mount=GUESTPATH][,dax] (virtio-pmem, docs/pmem.md) */
struct vm_pmem {
	char path[VM_PATH_MAX];
	char mount[256];          /* "" = not mounted by guest-init */
	bool readonly;            /* mapped read-only on the host, a read-only memory slot */
	bool dax;                 /* guest-init mounts with DAX: no guest page cache copy */
};

/*
 * --share ro|rw:HOST[:GUEST] (agentvmm runs virtiofsd) or --fs
 * tag=T,socket=S[,mount=P] (someone else does: external).
 */
struct vm_share {
	char host[VM_PATH_MAX];   /* canonical directory; "" for --fs */
	char guest[VM_PATH_MAX];  /* where guest-init mounts it; "" = not mounted (--fs) */
	char tag[VM_TAG_MAX + 1]; /* "shareN" for --share, T for --fs */
	char socket[VM_SOCK_MAX]; /* --fs: the back end's socket */
	bool readonly;
	bool external;            /* --fs */
	unsigned wait_s;          /* --fs wait=: how long to wait for the socket to accept */
};

#define VM_FS_WAIT_DEFAULT_S 60   /* --fs wait= default, as cloud-hypervisor's vhost-user retry */
#define VM_FS_WAIT_MAX_S 3600

/*
 * --net tap=NAME|fd=A[:B...]|user[,queues=N][,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]
 *       [,forward=tcp|udp:[ADDR:]HOSTPORT:GUESTPORT]...:
 * a virtio-net device of N queue pairs on tap NAME (opened N times), on
 * tap/macvtap fds inherited from the parent, one per pair, or (user) on a
 * passt process of its own; the addresses are what guest-init configures
 * (kept as the canonical dotted text; "" = not given; user fills defaults).
 */
#define VM_NET_MAX_FORWARDS 16    /* forward= of one --net user */
#define VM_NET_USER_MTU 65520     /* passt's own default: frames up to 64 KiB, no offloads */
struct vm_net_forward {
	bool udp;                 /* else TCP */
	char addr[16];            /* host address to bind, dotted; default 127.0.0.1 */
	uint16_t host, guest;     /* ports, 1..65535 */
};

struct vm_net {
	bool user;                /* --net user: passt, user-mode networking (vmm/net_user.c) */
	unsigned nr_forwards;     /* --net user: forward= items */
	struct vm_net_forward forwards[VM_NET_MAX_FORWARDS];
	char tap[VM_IFNAME_MAX];  /* "" with fd= or user */
	unsigned queues;          /* queue pairs, 1..VM_NET_MAX_QUEUES (fd=: the fd count) */
	unsigned nr_fds;          /* fd=: how many; 0 with tap= */
	int fds[VM_NET_MAX_QUEUES]; /* fd=: the process's descriptors, 3 or more */
	uint8_t mac[6];           /* given, or derived from the tap name (locally administered) */
	char ip[20];              /* "A.B.C.D/N" */
	char gw[16];
	char dns[16];
};

/*
 * --vsock cid=N,socket=PATH: a virtio-vsock device whose host side is the
 * UNIX socket PATH (host -> guest: "CONNECT <port>") and PATH_<port> (guest
 * -> host port); docs/vsock.md. PATH is absolute once parsed.
 */
#define VM_VSOCK_PATH_MAX 96      /* so that PATH_4294967295 fits sun_path (VSOCK_PATH_MAX) */
struct vm_vsock {
	bool enabled;
	uint32_t cid;             /* 3 .. 2^32 - 2 */
	char socket[VM_VSOCK_PATH_MAX + 1];
};

/*
 * --balloon on|off|OPTIONS: a virtio-balloon device (docs/balloon.md), with
 * free page reporting unless reporting=off; OPTIONS are reporting=on|off,
 * reporting-order=N, stats=SECONDS, deflate-on-oom=on|off.
 */
#define VM_BALLOON_STATS_MAX_S 3600 /* VBAL_STATS_MAX_S */
/*
 * reporting-order=N: the guest reports free blocks of 2^N pages and up
 * (Linux's page_reporting.page_reporting_order, put on the kernel command
 * line when it is not Linux's own default, pageblock_order: 9, 2 MiB).
 * Smaller orders lower the VMM's PSS but not what the host has free
 * (docs/balloon.md, the figures).
 */
#define VM_BALLOON_REPORTING_ORDER 9
#define VM_BALLOON_REPORTING_ORDER_MAX 10 /* below Linux's MAX_ORDER (11) */
struct vm_balloon {
	bool enabled;
	bool reporting;           /* VIRTIO_BALLOON_F_REPORTING */
	unsigned reporting_order; /* page_reporting_order the guest is given */
	bool deflate_on_oom;      /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	unsigned stats_s;         /* ask the guest for stats this often; 0 = on request */
};

/*
 * --egress allow=ENTRY[,ENTRY...]|file=PATH|log[=PATH] (repeatable; the
 * items add up): the guest gets no network card, only agentvmm's egress
 * proxy, which lets through the entries (vmm/cli_egress.h; docs/net.md
 * "Egress"). Each item is kept as given, checked by cli_egress().
 */
#define VM_EGRESS_MAX_ITEMS 64    /* --egress flags */
struct vm_egress {
	bool enabled;
	unsigned nr_items;
	const char *items[VM_EGRESS_MAX_ITEMS];
};

/* --stdio vsock|console: how the command's stdio travels (docs/vsock.md "Sessions") */
enum vm_stdio { VM_STDIO_DEFAULT, VM_STDIO_VSOCK, VM_STDIO_CONSOLE };

/* --seccomp=on|log|off, --no-seccomp (docs/security.md); DEFAULT: $AGENTVMM_SECCOMP, else on */
enum vm_seccomp { VM_SECCOMP_DEFAULT, VM_SECCOMP_ON, VM_SECCOMP_LOG, VM_SECCOMP_OFF };

struct vm_config {
	const char *kernel;       /* --kernel, required */
	const char *initrd;       /* --initrd; NULL: build our own initramfs */
	const char *cmdline;      /* --cmdline: appended to agentvmm's parameters */
	const char *modules_dir;  /* --modules-dir: the kernel's lib/modules/<release> */
	const char *init;         /* --init: guest path of a system init to hand PID 1 to */
	unsigned cpus;            /* --cpus */
	uint64_t mem_mib;         /* --mem */
	int verbose;              /* -v: kernel messages and VMM info on the console */
	bool console_log;         /* --console-log: kernel log without VMM chatter */
	const char *raw_image;    /* --raw-image: flat 16-bit code at VM_RAW_IMAGE_GPA, for tests */
	bool template;            /* agentvmm template: boot to the ready mark, for a template (docs/snapshot.md) */
	const char *template_out; /* agentvmm template --out: write it there at the mark (else held for a snapshot) */
	const char *restore;      /* --restore: create the VM from this template instead of booting */
	bool mem_set, cpus_set;   /* --mem, --cpus given (a restore refuses other values) */
	unsigned nr_disks;
	struct vm_disk disks[VM_MAX_DISKS];
	unsigned nr_pmems;
	struct vm_pmem pmems[VM_MAX_PMEM];
	unsigned nr_shares;
	struct vm_share shares[VM_MAX_SHARES];
	unsigned nr_nets;
	struct vm_net nets[VM_MAX_NETS];
	struct vm_vsock vsock;    /* --vsock; .enabled false: none */
	struct vm_balloon balloon; /* --balloon; on by default (config_init) */
	struct vm_egress egress;  /* --egress; .enabled false: none */
	unsigned shutdown_timeout_s; /* --shutdown-timeout: signal -> power button -> force after this; 0 = force at once */
	enum vm_seccomp seccomp;  /* per-thread seccomp filters after setup */
	bool keep_caps;           /* embedding: leave vm_run()'s caller its capabilities */
	bool ksm;                 /* --ksm: guest RAM MADV_MERGEABLE (private RAM only) */
	bool owner_set;           /* --owner given */
	unsigned owner_uid, owner_gid; /* --owner: who owns what the guest creates in rw shares */
	const char *api_socket;   /* --api-socket: control socket path (docs/control-socket.md) */
	unsigned nr_api_uids;
	unsigned api_uids[VM_MAX_API_UIDS]; /* --api-allow-uid: more uids the socket serves */
	const char *console;      /* --console stdio|none|PATH; NULL = stdio */
	uint64_t console_limit_mib; /* --console-limit: 0 = VM_CONSOLE_LIMIT_DEFAULT_MIB */
	int argc;                 /* after --: the workload; 0 = interactive shell */
	bool await_job;           /* no command: the workload's job comes later (avm_start_job()) */
	char **argv;
	enum vm_stdio stdio;      /* --stdio; DEFAULT: vsock */
	unsigned nr_env;
	const char *env[VM_MAX_ENV]; /* --env NAME=VALUE, the command's environment */
	const char *cwd;          /* --cwd: the command's working directory (absolute) */
	const char *user;         /* --user UID[:GID]: the command's ids */
	/* SMBIOS type 11 strings (vmm/oem.h), each list as given */
	unsigned nr_oem_strings;
	const char *oem_strings[VM_MAX_OEM_STRINGS]; /* --oem-string STR */
	unsigned nr_set_creds;
	const char *set_creds[VM_MAX_OEM_STRINGS];   /* --set-credential NAME:VALUE */
	unsigned nr_load_creds;
	const char *load_creds[VM_MAX_OEM_STRINGS];  /* --load-credential NAME:PATH */
	/* strings this config owns (config_keep), freed by config_fini */
	char **owned;
	unsigned nr_owned, cap_owned;
};

/*
 * config_session() - whether the command runs as a session over vsock
 * (guest-init/session_proto.h): a command (or await_job), our own initramfs
 * and guest-init, not --stdio console.
 */
bool config_session(const struct vm_config *cfg);

/* config_init() - (cfg) empty with the defaults (1 vCPU, 512 MiB, console stdio). */
void config_init(struct vm_config *cfg);

/* config_fini() - free the strings (cfg) owns; (cfg) is then empty (config_init). */
void config_fini(struct vm_config *cfg);

/*
 * config_keep() - a copy of (s) that lives as long as (cfg).
 * Return: the copy, or NULL (out of memory).
 */
char *config_keep(struct vm_config *cfg, const char *s);

/*
 * config_set_argv() - the workload becomes a copy of (argc, argv), owned by
 * (cfg); argc 0 = none (interactive). Return: 0 or -ENOMEM.
 */
int config_set_argv(struct vm_config *cfg, int argc, const char *const *argv);

/*
 * config_copy() - (dst) becomes a deep copy of (src): every string and the
 * workload argv owned by (dst). Return: 0 or -ENOMEM ((dst) then empty).
 */
int config_copy(struct vm_config *dst, const struct vm_config *src);

#endif
