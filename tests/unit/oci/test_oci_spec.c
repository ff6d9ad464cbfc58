// SPDX-License-Identifier: MIT
/*
 * test_oci_spec.c: oci/spec.h on a real `ctr run` default config.json
 * (containerd 1.6) field by field and item by item; every refusal's
 * message; every limit at its edge; what is noted as ignored; host binds
 * against binds inside the rootfs; set-up item order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "oci/spec.h"

/* containerd 1.6.20 `ctr run docker.io/library/busybox:latest ID sh`, as written to the bundle */
static const char ctr_default[] =
	"{\n"
	"  \"ociVersion\": \"1.0.2-dev\",\n"
	"  \"process\": {\n"
	"    \"user\": { \"uid\": 0, \"gid\": 0, \"additionalGids\": [10] },\n"
	"    \"args\": [ \"sh\" ],\n"
	"    \"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\" ],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\n"
	"      \"bounding\": [ \"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", "
	"\"CAP_FOWNER\",\n"
	"        \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\",\n"
	"        \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\",\n"
	"        \"CAP_AUDIT_WRITE\" ],\n"
	"      \"effective\": [ \"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", "
	"\"CAP_FOWNER\",\n"
	"        \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\",\n"
	"        \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\",\n"
	"        \"CAP_AUDIT_WRITE\" ],\n"
	"      \"permitted\": [ \"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", "
	"\"CAP_FOWNER\",\n"
	"        \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\",\n"
	"        \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\",\n"
	"        \"CAP_AUDIT_WRITE\" ]\n"
	"    },\n"
	"    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
	"    \"noNewPrivileges\": true\n"
	"  },\n"
	"  \"root\": { \"path\": \"rootfs\" },\n"
	"  \"mounts\": [\n"
	"    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
	"    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
	"    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", "
	"\"mode=0620\",\n"
	"        \"gid=5\" ] },\n"
	"    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", "
	"\"size=65536k\" ] },\n"
	"    { \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
	"    { \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] },\n"
	"    { \"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] }\n"
	"  ],\n"
	"  \"linux\": {\n"
	"    \"resources\": { \"devices\": [ { \"allow\": false, \"access\": \"rwm\" } ] },\n"
	"    \"cgroupsPath\": \"/default/ctr1\",\n"
	"    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"ipc\" }, "
	"{ \"type\": \"uts\" },\n"
	"      { \"type\": \"mount\" }, { \"type\": \"network\" } ],\n"
	"    \"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", "
	"\"/proc/keys\",\n"
	"      \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\",\n"
	"      \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\" ],\n"
	"    \"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\",\n"
	"      \"/proc/sysrq-trigger\" ]\n"
	"  }\n"
	"}\n";

static char err[512];

static int parse(const char *text, struct oci_spec *s)
{
	memset(err, 'X', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return oci_spec_parse(text, strlen(text), s, err, sizeof(err));
}

/* A minimal valid spec with (top) members added, (proc) as the process body
 * (NULL: args and cwd only) and (lx) as the linux body. */
static char *spec_text(const char *top, const char *proc, const char *lx)
{
	static char buf[1 << 16];

	snprintf(buf, sizeof(buf),
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{%s},\"linux\":{%s}%s%s}",
		 proc ? proc : "\"args\":[\"sh\"],\"cwd\":\"/\"", lx ? lx : "", top ? "," : "",
		 top ? top : "");
	return buf;
}

static void assert_parse_fails(const char *text, const char *msg)
{
	struct oci_spec s;
	static const struct oci_spec zero;

	assert_int_equal(parse(text, &s), -EINVAL);
	assert_string_equal(err, msg);
	assert_memory_equal(&s, &zero, sizeof(s)); /* freed and zeroed */
}

static void assert_items(const struct oci_spec *s, const char *const *want, int nwant)
{
	char **items;
	int n, *binds, nb;

	assert_int_equal(oci_spec_setup_items(s, &items, &n, &binds, &nb, err, sizeof(err)), 0);
	for (int i = 0; i < n && i < nwant; i++)
		assert_string_equal(items[i], want[i]);
	assert_int_equal(n, nwant);
	assert_null(items[n]);
	assert_int_equal(nb, 0);
	oci_items_free(items);
	free(binds);
}

static void test_oci_ctr_default_parses_every_field(void **state)
{
	/* CAP_CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
	const uint64_t caps = 0xa80425fbULL;
	struct oci_spec s;

	assert_int_equal(parse(ctr_default, &s), 0);
	assert_string_equal(err, "");
	assert_string_equal(s.oci_version, "1.0.2-dev");
	assert_string_equal(s.root_path, "rootfs");
	assert_false(s.root_readonly);
	assert_false(s.terminal);
	assert_int_equal(s.console_rows, 0);
	assert_int_equal(s.nargs, 1);
	assert_string_equal(s.args[0], "sh");
	assert_null(s.args[1]);
	assert_int_equal(s.nenv, 1);
	assert_string_equal(s.env[0],
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(s.cwd, "/");
	assert_int_equal(s.uid, 0);
	assert_int_equal(s.gid, 0);
	assert_int_equal(s.ngroups, 1);
	assert_int_equal(s.groups[0], 10);
	assert_int_equal(s.umask, -1);
	assert_true(s.no_new_privs);
	assert_true(s.has_caps);
	assert_int_equal(s.cap_bounding, caps);
	assert_int_equal(s.cap_effective, caps);
	assert_int_equal(s.cap_permitted, caps);
	assert_int_equal(s.cap_inheritable, 0);
	assert_int_equal(s.cap_ambient, 0);
	assert_int_equal(s.nrlimits, 1);
	assert_string_equal(s.rlimits[0], "nofile:1024:1024");
	assert_false(s.has_oom_score_adj);
	assert_null(s.hostname);
	assert_int_equal(s.nmounts, 7);
	assert_string_equal(s.mounts[2].dest, "/dev/pts");
	assert_string_equal(s.mounts[2].type, "devpts");
	assert_string_equal(s.mounts[2].source, "devpts");
	assert_int_equal(s.mounts[2].nopts, 6);
	assert_string_equal(s.mounts[2].options[5], "gid=5");
	assert_int_equal(s.nmasked, 10);
	assert_string_equal(s.masked[9], "/proc/scsi");
	assert_int_equal(s.nreadonly, 5);
	assert_string_equal(s.readonly[3], "/proc/sys");
	assert_int_equal(s.nsysctl, 0);
	assert_null(s.netns_path);
	assert_true(s.new_netns);
	assert_string_equal(s.cgroups_path, "/default/ctr1");
	assert_int_equal(s.mem_limit, -1);
	assert_int_equal(s.cpu_quota, -1);
	assert_int_equal(s.cpu_period, 0);
	for (int k = 0; k < OCI_HOOK_KINDS; k++)
		assert_int_equal(s.nhooks[k], 0);
	assert_int_equal(s.nannotations, 0);
	/* the device allowlist is the one thing of this spec a VM does not need */
	assert_int_equal(s.nignored, 1);
	assert_string_equal(s.ignored[0], "linux.resources.devices");
	oci_spec_free(&s);
	oci_spec_free(&s); /* idempotent */
}

static void test_oci_ctr_default_items_exact(void **state)
{
	static const char *const want[] = {
		"M:proc:e:-:/proc",
		"M:tmpfs:1000002:mode=755,size=65536k:/dev",
		"M:devpts:a:newinstance,ptmxmode=0666,mode=0620,gid=5:/dev/pts",
		"M:tmpfs:e:mode=1777,size=65536k:/dev/shm",
		"M:mqueue:e:-:/dev/mqueue",
		"M:sysfs:f:-:/sys",
		"M:tmpfs:1000002:mode=755,size=65536k:/run",
		"D:1",
		"P:/proc/acpi",
		"P:/proc/asound",
		"P:/proc/kcore",
		"P:/proc/keys",
		"P:/proc/latency_stats",
		"P:/proc/timer_list",
		"P:/proc/timer_stats",
		"P:/proc/sched_debug",
		"P:/sys/firmware",
		"P:/proc/scsi",
		"O:/proc/bus",
		"O:/proc/fs",
		"O:/proc/irq",
		"O:/proc/sys",
		"O:/proc/sysrq-trigger",
	};
	struct oci_spec s;

	assert_int_equal(parse(ctr_default, &s), 0);
	assert_items(&s, want, (int)ARRAY_SIZE(want));
	oci_spec_free(&s);
}

/* guest-init's order s M D P O Y, whatever the spec's order */
static void test_oci_items_order_is_guest_inits(void **state)
{
	static const char *const want[] = {
		"s:net.ipv4.ip_forward=1",
		"s:kernel.msgmax=65536",
		"M:cgroup2:f:-:/sys/fs/cgroup",   /* "cgroup" v1, its controller option dropped */
		"M:tmpfs:0:-:/tmp",               /* "rw" clears, propagation ignored */
		"M:proc:1:-:/p2",                 /* "rro": the plain flag */
		"P:/proc/kcore",
		"O:/proc/sys",
		"Y:1",
	};
	struct oci_spec s;
	const char *t;

	t = "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"/b/rootfs\",\"readonly\":true},"
	    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
	    "\"mounts\":[{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\","
	    "\"source\":\"cgroup\",\"options\":[\"ro\",\"nosuid\",\"noexec\",\"nodev\",\"cpu\"]},"
	    "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"options\":[\"ro\",\"rw\",\"rprivate\","
	    "\"\",\"defaults\",\"slave\"]},"
	    "{\"destination\":\"/p2\",\"type\":\"proc\",\"options\":[\"rro\"]}],"
	    "\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.msgmax\":\"65536\"},"
	    "\"readonlyPaths\":[\"/proc/sys\"],\"maskedPaths\":[\"/proc/kcore\"]}}";
	assert_int_equal(parse(t, &s), 0);
	assert_items(&s, want, (int)ARRAY_SIZE(want));
	oci_spec_free(&s);
}

/* Host binds are left to the runtime; binds inside the rootfs become M: items. */
static void test_oci_items_host_binds_and_inside_binds(void **state)
{
	struct oci_spec s;
	char **items;
	int n, *binds, nb;
	const char *t =
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/b/rootfs/\"},"
		"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":["
		/* 0 host, 1 host (a bind option on type none), 2 inside */
		"{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/var/lib/data\","
		"\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"/etc/hosts\",\"type\":\"none\",\"source\":\"/h/hosts\","
		"\"options\":[\"bind\",\"rprivate\"]},"
		"{\"destination\":\"/alias\",\"type\":\"bind\",\"source\":\"/b/rootfs/srv/a\","
		"\"options\":[\"rbind\",\"ro\",\"nosuid\"]},"
		/* 3 host (".."), 4 host (a sibling of the root), 5 inside (the root itself) */
		"{\"destination\":\"/up\",\"type\":\"bind\",\"source\":\"/b/rootfs/../x\"},"
		"{\"destination\":\"/sib\",\"type\":\"bind\",\"source\":\"/b/rootfsx/y\"},"
		"{\"destination\":\"/whole\",\"type\":\"bind\",\"source\":\"/b/rootfs\"},"
		/* 6 host (':' cannot be DATA), 7 host (".") */
		"{\"destination\":\"/colon\",\"type\":\"bind\",\"source\":\"/b/rootfs/a:b\"},"
		"{\"destination\":\"/dot\",\"type\":\"bind\",\"source\":\"/b/rootfs/./a\"}"
		"]}";

	assert_int_equal(parse(t, &s), 0);
	assert_int_equal(oci_spec_setup_items(&s, &items, &n, &binds, &nb, err, sizeof(err)), 0);
	/* every mount in the spec's order; host binds from their staging place */
	assert_int_equal(n, 9);
	assert_string_equal(items[0], "M:bind:4001:/.agentvmm-binds/0:/data"); /* MS_REC|MS_RDONLY */
	assert_string_equal(items[1], "M:bind:0:/.agentvmm-binds/1:/etc/hosts");
	assert_string_equal(items[2], "M:bind:4003:/srv/a:/alias"); /* MS_REC|MS_NOSUID|MS_RDONLY */
	assert_string_equal(items[3], "M:bind:0:/.agentvmm-binds/3:/up");
	assert_string_equal(items[4], "M:bind:0:/.agentvmm-binds/4:/sib");
	assert_string_equal(items[5], "M:bind:0:/:/whole");
	assert_string_equal(items[6], "M:bind:0:/.agentvmm-binds/6:/colon");
	assert_string_equal(items[7], "M:bind:0:/.agentvmm-binds/7:/dot");
	assert_string_equal(items[8], "P:/.agentvmm-binds"); /* the staging place hidden */
	assert_null(items[9]);
	assert_int_equal(nb, 6);
	assert_int_equal(binds[0], 0);
	assert_int_equal(binds[1], 1);
	assert_int_equal(binds[2], 3);
	assert_int_equal(binds[3], 4);
	assert_int_equal(binds[4], 6);
	assert_int_equal(binds[5], 7);
	oci_items_free(items);
	free(binds);
	oci_spec_free(&s);

	/* a relative root: sources relative to the bundle, the same way */
	t = "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
	    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":["
	    "{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"rootfs/data\"},"
	    "{\"destination\":\"/e\",\"type\":\"bind\",\"source\":\"/rootfs/data\"}]}";
	assert_int_equal(parse(t, &s), 0);
	assert_int_equal(oci_spec_setup_items(&s, &items, &n, &binds, &nb, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0], "M:bind:0:/data:/d");
	assert_string_equal(items[1], "M:bind:0:/.agentvmm-binds/1:/e");
	assert_string_equal(items[2], "P:/.agentvmm-binds");
	assert_int_equal(nb, 1);
	assert_int_equal(binds[0], 1);
	oci_items_free(items);
	free(binds);
	oci_spec_free(&s);
}

static void assert_items_fail(const char *mounts, const char *msg)
{
	char text[2048];
	struct oci_spec s;
	char **items = (char **)(uintptr_t)1;
	int n = 1, *binds = (int *)(uintptr_t)1, nb = 1;

	snprintf(text, sizeof(text),
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":[%s]}",
		 mounts);
	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(oci_spec_setup_items(&s, &items, &n, &binds, &nb, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, msg);
	assert_null(items);
	assert_null(binds);
	assert_int_equal(n, 0);
	assert_int_equal(nb, 0);
	oci_spec_free(&s);
}

static void test_oci_items_refusals_name_the_mount(void **state)
{
	assert_items_fail("{\"destination\":\"/a\",\"type\":\"proc\"},"
			  "{\"destination\":\"/b\",\"type\":\"tmpfs\"},"
			  "{\"destination\":\"/c\",\"type\":\"sysfs\"},"
			  "{\"destination\":\"/foo\",\"type\":\"xyz\"}",
			  "mounts[3] (/foo): mount type \"xyz\" is not supported");
	assert_items_fail("{\"destination\":\"/x\"}",
			  "mounts[0] (/x): mount type \"\" is not supported");
	assert_items_fail("{\"destination\":\"/x\",\"type\":\"overlay\",\"source\":\"o\"}",
			  "mounts[0] (/x): mount type \"overlay\" is not supported");
	assert_items_fail("{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"idmap\"]}",
			  "mounts[0] (/x): idmapped mounts are not supported in a VM");
	assert_items_fail("{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\","
			  "\"options\":[\"ridmap\"]}",
			  "mounts[0] (/x): idmapped mounts are not supported in a VM");
	assert_items_fail("{\"destination\":\"/x\",\"type\":\"tmpfs\","
			  "\"options\":[\"context=a:b\"]}",
			  "mounts[0] (/x): mount option \"context=a:b\" holds ':'");
	assert_items_fail("{\"destination\":\"/x\",\"type\":\"bind\"}",
			  "mounts[0] (/x): a bind mount needs a source");
}

/*
 * A destination may hold ':' (the item's last field); a tmpfs at /dev/ is
 * still /dev; D: is a single key, so one "D:1" for two of them.
 */
static void test_oci_items_colon_in_destination_and_dev_slash(void **state)
{
	static const char *const want[] = { "M:tmpfs:0:-:/a:b", "M:tmpfs:0:-:/dev/",
					    "M:tmpfs:2:-:/dev", "D:1" };
	struct oci_spec s;

	assert_int_equal(parse("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
			       "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":["
			       "{\"destination\":\"/a:b\",\"type\":\"tmpfs\"},"
			       "{\"destination\":\"/dev/\",\"type\":\"tmpfs\"},"
			       "{\"destination\":\"/dev\",\"type\":\"tmpfs\","
			       "\"options\":[\"nosuid\"]}]}",
			       &s),
			 0);
	assert_items(&s, want, (int)ARRAY_SIZE(want));
	oci_spec_free(&s);
}

#define SYSCTL_NAME "not a sysctl name (letters, digits, '_', '-' and single inner '.')"

static const struct {
	const char *top, *proc, *lx, *msg;
} refusals[] = {
	/* cannot be honoured in a VM */
	{ NULL, NULL, "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]",
	  "linux.uidMappings: user namespace mappings are not supported in a VM" },
	{ NULL, NULL, "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]",
	  "linux.gidMappings: user namespace mappings are not supported in a VM" },
	{ NULL, NULL, "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"user\"}]",
	  "linux.namespaces[1]: user namespaces are not supported in a VM" },
	{ NULL, NULL,
	  "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}]",
	  "linux.devices: extra devices are not supported in a VM" },
	{ NULL, NULL, "\"intelRdt\":{\"closID\":\"x\"}",
	  "linux.intelRdt: Intel RDT is not supported in a VM" },
	{ NULL, NULL, "\"netDevices\":{\"eth1\":{}}",
	  "linux.netDevices: moving host network devices into a VM is not supported" },
	{ "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/s\","
	  "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]",
	  NULL, NULL, "mounts[0].uidMappings: idmapped mounts are not supported in a VM" },
	/* namespaces */
	{ NULL, NULL, "\"namespaces\":[{\"type\":\"foo\"}]",
	  "linux.namespaces[0]: unknown namespace type \"foo\"" },
	{ NULL, NULL, "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]",
	  "linux.namespaces[1]: namespace type \"pid\" given twice" },
	{ NULL, NULL, "\"namespaces\":[{\"type\":\"network\",\"path\":\"netns/x\"}]",
	  "linux.namespaces[0].path: expected an absolute path" },
	{ NULL, NULL, "\"namespaces\":[{\"path\":\"/x\"}]", "linux.namespaces[0].type: required" },
	{ NULL, NULL, "\"namespaces\":{}", "linux.namespaces: expected an array of objects" },
	/* process */
	{ NULL, "\"cwd\":\"/\"", NULL, "process.args: required" },
	{ NULL, "\"args\":[],\"cwd\":\"/\"", NULL, "process.args: must not be empty" },
	{ NULL, "\"args\":[\"sh\",1],\"cwd\":\"/\"", NULL, "process.args[1]: expected a string" },
	{ NULL, "\"args\":\"sh\",\"cwd\":\"/\"", NULL,
	  "process.args: expected an array of strings" },
	{ NULL, "\"args\":[\"sh\"]", NULL, "process.cwd: required" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"home\"", NULL,
	  "process.cwd: expected an absolute path" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"A=1\",\"B\"]", NULL,
	  "process.env[1]: expected NAME=VALUE" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"=1\"]", NULL,
	  "process.env[0]: expected NAME=VALUE" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":\"0\"}", NULL,
	  "process.user.uid: expected a number" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":4294967295}", NULL,
	  "process.user.uid: expected a whole number from 0 to 4294967294" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"gid\":-1}", NULL,
	  "process.user.gid: expected a whole number from 0 to 4294967294" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":1.5}", NULL,
	  "process.user.uid: expected a whole number from 0 to 4294967294" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"additionalGids\":[1,1e10]}", NULL,
	  "process.user.additionalGids[1]: expected a whole number from 0 to 4294967294" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"umask\":512}", NULL,
	  "process.user.umask: expected a whole number from 0 to 511" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":[]", NULL,
	  "process.user: expected an object" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"oomScoreAdj\":-1001", NULL,
	  "process.oomScoreAdj: expected a whole number from -1000 to 1000" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"consoleSize\":{\"height\":65536}", NULL,
	  "process.consoleSize.height: expected a whole number from 0 to 65535" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"terminal\":1", NULL,
	  "process.terminal: expected true or false" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"args\":[\"x\"]", NULL,
	  "process.args: given twice" },
	/* capabilities */
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\","
	  "\"CAP_FOO\"]}", NULL,
	  "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"ambient\":[\"cap_kill\"]}",
	  NULL, "process.capabilities.ambient[0]: unknown capability \"cap_kill\"" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"effective\":[41]}", NULL,
	  "process.capabilities.effective[0]: expected a string" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"effective\":[\"CAP_KILL\"],"
	  "\"permitted\":[\"CAP_CHOWN\"]}", NULL,
	  "process.capabilities: effective capabilities not all permitted" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"inheritable\":[\"CAP_KILL\"]}",
	  NULL, "process.capabilities: inheritable capabilities outside the bounding set" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],"
	  "\"permitted\":[\"CAP_KILL\"],\"inheritable\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\","
	  "\"CAP_BPF\"]}", NULL,
	  "process.capabilities: ambient capabilities not both permitted and inheritable" },
	/* rlimits */
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\","
	  "\"soft\":1,\"hard\":1}]", NULL,
	  "process.rlimits[0]: unknown rlimit type \"RLIMIT_FOO\"" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
	  "\"soft\":1,\"hard\":1},{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":2}]", NULL,
	  "process.rlimits[1]: RLIMIT_NOFILE given twice" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\","
	  "\"soft\":2,\"hard\":1}]", NULL, "process.rlimits[0]: soft limit above the hard limit" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\","
	  "\"soft\":2}]", NULL, "process.rlimits[0].hard: required" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"soft\":2,\"hard\":2}]", NULL,
	  "process.rlimits[0].type: required" },
	{ NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_AS\","
	  "\"soft\":-1,\"hard\":1}]", NULL,
	  "process.rlimits[0].soft: expected a whole number from 0 to 18446744073709551615" },
	/* hooks */
	{ "\"hooks\":{\"prestart\":[{\"path\":\"hook\"}]}", NULL, NULL,
	  "hooks.prestart[0].path: expected an absolute path" },
	{ "\"hooks\":{\"poststop\":[{\"path\":\"/h\"},{\"path\":\"/h\",\"timeout\":0}]}", NULL,
	  NULL, "hooks.poststop[1].timeout: expected a whole number from 1 to 2147483647" },
	{ "\"hooks\":{\"createRuntime\":[{\"args\":[\"x\"]}]}", NULL, NULL,
	  "hooks.createRuntime[0].path: required" },
	{ "\"hooks\":{\"poststart\":[{\"path\":\"/h\",\"env\":[\"X\"]}]}", NULL, NULL,
	  "hooks.poststart[0].env[0]: expected NAME=VALUE" },
	/* mounts and paths */
	{ "\"mounts\":[{\"destination\":\"proc\",\"type\":\"proc\"}]", NULL, NULL,
	  "mounts[0].destination: expected an absolute path" },
	{ "\"mounts\":[{\"destination\":\"/a/../../etc\",\"type\":\"proc\"}]", NULL, NULL,
	  "mounts[0].destination: a \"..\" component is not allowed" },
	{ "\"mounts\":[{\"type\":\"proc\"}]", NULL, NULL, "mounts[0].destination: required" },
	{ "\"mounts\":[{\"destination\":\"/p\",\"options\":\"ro\"}]", NULL, NULL,
	  "mounts[0].options: expected an array of strings" },
	{ NULL, NULL, "\"maskedPaths\":[\"proc/kcore\"]",
	  "linux.maskedPaths[0]: expected an absolute path" },
	{ NULL, NULL, "\"readonlyPaths\":[\"/proc/..\"]",
	  "linux.readonlyPaths[0]: a \"..\" component is not allowed" },
	/* sysctl, annotations, resources */
	{ NULL, NULL, "\"sysctl\":{\"../../etc/x\":\"1\"}",
	  "linux.sysctl[\"../../etc/x\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\"a=b\":\"1\"}", "linux.sysctl[\"a=b\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\"net/ipv4/ip_forward\":\"1\"}",
	  "linux.sysctl[\"net/ipv4/ip_forward\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\"net.\":\"1\"}", "linux.sysctl[\"net.\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\".net\":\"1\"}", "linux.sysctl[\".net\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\"\":\"1\"}", "linux.sysctl[\"\"]: " SYSCTL_NAME },
	{ NULL, NULL, "\"sysctl\":{\"net.ipv4.ip_forward\":1}",
	  "linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string" },
	{ NULL, NULL, "\"sysctl\":[]", "linux.sysctl: expected an object of strings" },
	{ "\"annotations\":{\"\":\"x\"}", NULL, NULL,
	  "annotations[\"\"]: a key must be non-empty without '='" },
	{ "\"annotations\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}", NULL, NULL,
	  "annotations[\"a\"]: given twice" },
	{ "\"annotations\":{\"a\\nb\":\"1\",\"a\\nb\":\"2\"}", NULL, NULL,
	  "annotations[\"a?b\"]: given twice" }, /* one printable line */
	{ NULL, NULL, "\"resources\":{\"memory\":{\"limit\":-2}}",
	  "linux.resources.memory.limit: expected a whole number from -1 to 9223372036854775807" },
	{ NULL, NULL, "\"resources\":{\"cpu\":{\"quota\":\"1\"}}",
	  "linux.resources.cpu.quota: expected a number" },
	{ NULL, NULL, "\"resources\":{\"cpu\":{\"period\":1e30}}",
	  "linux.resources.cpu.period: expected a whole number from 0 to 18446744073709551615" },
	{ NULL, NULL, "\"resources\":[]", "linux.resources: expected an object" },
	/* top level */
	{ "\"hostname\":\"0123456789012345678901234567890123456789012345678901234567890123x\"",
	  NULL, NULL, "hostname: longer than 64 bytes" },
	{ "\"hostname\":\"a\",\"hostname\":\"b\"", NULL, NULL, "hostname: given twice" },
	{ "\"hostname\":\"my_host\"", NULL, NULL,
	  "hostname: expected letters, digits, '-' and '.'" },
	{ "\"ociVersion\":\"1.0.0\"", NULL, NULL, "ociVersion: given twice" },
	{ "\"linux\":null", NULL, NULL, "linux: given twice" },
};

static void test_oci_refusals_name_the_json_path(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		print_message("refusal %zu: %s\n", i, refusals[i].msg);
		assert_parse_fails(spec_text(refusals[i].top, refusals[i].proc, refusals[i].lx),
				   refusals[i].msg);
	}
}

static void test_oci_document_errors(void **state)
{
	struct oci_spec s;
	char *big;

	assert_parse_fails("", "config.json: not valid JSON (line 1)");
	assert_parse_fails("{\n\"a\":\n}", "config.json: not valid JSON (line 3)");
	assert_parse_fails("{} x", "config.json: not valid JSON (line 1)");
	assert_parse_fails("[]", "config.json: expected an object");
	assert_parse_fails("{}", "ociVersion: required");
	assert_parse_fails("{\"ociVersion\":\"2.0.0\"}",
			   "ociVersion: this version is not supported (1.x only)");
	assert_parse_fails("{\"ociVersion\":\"1.0.2\"}", "root: required");
	assert_parse_fails("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"\"}}",
			   "root.path: must not be empty");
	assert_parse_fails("{\"ociVersion\":\"1.0.2\",\"root\":{\"readonly\":true}}",
			   "root.path: required");
	assert_parse_fails("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"}}",
			   "process: required");
	assert_parse_fails("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":null}",
			   "process: required");
	/* a NUL, raw or escaped, would cut a string short in C */
	assert_parse_fails(spec_text("\"hostname\":\"a\\u0000b\"", NULL, NULL),
			   "config.json: a NUL byte or \\u0000 escape");
	assert_int_equal(oci_spec_parse("{\"a\":\"\0\"}", sizeof("{\"a\":\"\0\"}") - 1, &s, err,
					sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "config.json: a NUL byte or \\u0000 escape");
	/* an escaped backslash before "u0000" is text, not an escape */
	assert_int_equal(
		parse(spec_text(NULL, "\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"A=a\\\\u0000b\"]",
				NULL),
		      &s),
		0);
	assert_string_equal(s.env[0], "A=a\\u0000b");
	oci_spec_free(&s);
	/* the length given is what is read: no NUL needed, none read past */
	big = strdup(spec_text(NULL, NULL, NULL));
	assert_int_equal(oci_spec_parse(big, strlen(big) - 1, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config.json: not valid JSON (line 1)");
	free(big);
	/* whole file at most 4 MiB */
	big = malloc(OCI_MAX_FILE + 1);
	memset(big, ' ', OCI_MAX_FILE + 1);
	memcpy(big, "{}", 2);
	assert_int_equal(oci_spec_parse(big, OCI_MAX_FILE + 1, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config.json: larger than 4194304 bytes");
	assert_int_equal(oci_spec_parse(big, OCI_MAX_FILE, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ociVersion: required"); /* 4 MiB exactly is read */
	free(big);
	/* a tiny message buffer is cut, never overrun */
	assert_int_equal(oci_spec_parse("{}", 2, &s, err, 5), -EINVAL);
	assert_string_equal(err, "ociV");
	assert_int_equal(oci_spec_parse("{}", 2, &s, NULL, 0), -EINVAL);
}

/* A growing JSON text for the count limits. */
struct jbuf {
	char *p;
	size_t len, cap;
};

static void __printf(2, 3) jb_add(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	while (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* (tmpl) with each '@' replaced by (val), appended to (b) */
static void jb_subst(struct jbuf *b, const char *tmpl, const char *val)
{
	for (const char *p = tmpl; *p; p++)
		if (*p == '@')
			jb_add(b, "%s", val);
		else
			jb_add(b, "%c", *p);
}

/* (n) entries made by (tmpl) ('@' the index) joined by commas, inside (wrap) at its '@' */
static char *entries(const char *wrap, const char *tmpl, int n)
{
	struct jbuf list = { NULL, 0, 0 }, out = { NULL, 0, 0 };

	jb_add(&list, "%s", "");
	for (int i = 0; i < n; i++) {
		char num[16];

		snprintf(num, sizeof(num), "%d", i);
		if (i)
			jb_add(&list, ",");
		jb_subst(&list, tmpl, num);
	}
	jb_add(&out, "%s", "");
	jb_subst(&out, wrap, list.p);
	free(list.p);
	return out.p;
}

static const struct {
	const char *where; /* "t" top, "p" process, "l" linux */
	const char *wrap, *entry, *msg; /* '@': the entries, the index */
	int max;
} limits[] = {
	{ "p", "\"cwd\":\"/\",\"args\":[@]", "\"a@\"", "process.args: more than 4096 entries",
	  OCI_MAX_ARGS },
	{ "p", "\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[@]", "\"A@=1\"",
	  "process.env: more than 4096 entries", OCI_MAX_ENV },
	{ "p", "\"cwd\":\"/\",\"args\":[\"sh\"],\"user\":{\"additionalGids\":[@]}", "@",
	  "process.user.additionalGids: more than 256 entries", OCI_MAX_GROUPS },
	{ "t", "\"mounts\":[@]", "{\"destination\":\"/m@\",\"type\":\"tmpfs\"}",
	  "mounts: more than 128 entries", OCI_MAX_MOUNTS },
	{ "t", "\"mounts\":[{\"destination\":\"/m\",\"options\":[@]}]", "\"o@\"",
	  "mounts[0].options: more than 64 entries", OCI_MAX_MOUNT_OPTS },
	{ "l", "\"maskedPaths\":[@]", "\"/m@\"", "linux.maskedPaths: more than 128 entries",
	  OCI_MAX_PATHS },
	{ "l", "\"readonlyPaths\":[@]", "\"/r@\"", "linux.readonlyPaths: more than 128 entries",
	  OCI_MAX_PATHS },
	{ "l", "\"sysctl\":{@}", "\"k.@\":\"1\"", "linux.sysctl: more than 128 entries",
	  OCI_MAX_SYSCTL },
	{ "t", "\"hooks\":{\"poststop\":[@]}", "{\"path\":\"/h@\"}",
	  "hooks.poststop: more than 32 entries", OCI_MAX_HOOKS },
	{ "t", "\"annotations\":{@}", "\"k@\":\"v\"", "annotations: more than 1024 entries",
	  OCI_MAX_ANNOTATIONS },
	{ "t", "\"hooks\":{\"prestart\":[{\"path\":\"/h\",\"args\":[@]}]}", "\"a@\"",
	  "hooks.prestart[0].args: more than 4096 entries", OCI_MAX_ARGS },
};

static void test_oci_limits_at_the_edge(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		for (int extra = 0; extra < 2; extra++) {
			int cnt = limits[i].max + extra;
			char *body = entries(limits[i].wrap, limits[i].entry, cnt);
			const char *w = limits[i].where;
			struct oci_spec s;
			char *text = strdup(spec_text(w[0] == 't' ? body : NULL,
						      w[0] == 'p' ? body : NULL,
						w[0] == 'l' ? body : NULL));
			print_message("limit %zu +%d\n", i, extra);
			if (extra) {
				assert_parse_fails(text, limits[i].msg);
			} else {
				assert_int_equal(parse(text, &s), 0);
				oci_spec_free(&s);
			}
			free(text);
			free(body);
		}
	}
}

static void test_oci_string_limit_and_rlimit_count(void **state)
{
	struct jbuf b = { NULL, 0, 0 };
	char *big = malloc(OCI_MAX_STRING + 2);
	struct oci_spec s;

	/* 64 KiB exactly is taken, one byte more is not */
	memset(big, 'a', OCI_MAX_STRING + 1);
	big[OCI_MAX_STRING] = '\0';
	jb_add(&b, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
		   "\"process\":{\"args\":[\"%s\"],\"cwd\":\"/\"}}", big);
	assert_int_equal(parse(b.p, &s), 0);
	assert_int_equal(strlen(s.args[0]), OCI_MAX_STRING);
	oci_spec_free(&s);
	free(b.p);
	b = (struct jbuf){ NULL, 0, 0 };
	big[OCI_MAX_STRING] = 'a';
	big[OCI_MAX_STRING + 1] = '\0';
	jb_add(&b, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
		   "\"process\":{\"args\":[\"%s\"],\"cwd\":\"/\"}}", big);
	assert_parse_fails(b.p, "process.args[0]: longer than 65536 bytes");
	free(b.p);
	free(big);
	/* sixteen types at most (there are sixteen, each once) */
	b = (struct jbuf){ NULL, 0, 0 };
	jb_add(&b, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
		   "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[");
	for (int i = 0; i < 17; i++)
		jb_add(&b, "%s{\"type\":\"RLIMIT_CORE\",\"soft\":1,\"hard\":1}", i ? "," : "");
	jb_add(&b, "]}}");
	assert_parse_fails(b.p, "process.rlimits: more than 16 entries");
	free(b.p);
}

static void test_oci_numbers_and_limits_read(void **state)
{
	struct oci_spec s;

	assert_int_equal(
		parse(spec_text("\"hostname\":\"01234567890123456789012345678901"
				"23456789012345678901234567890123\"",
				"\"args\":[\"sh\"],\"cwd\":\"/w\",\"terminal\":true,"
				"\"consoleSize\":{\"height\":50,\"width\":132},"
				"\"user\":{\"uid\":4294967294,\"gid\":1000,\"umask\":18},"
				"\"oomScoreAdj\":-1000,\"rlimits\":["
				"{\"type\":\"RLIMIT_CORE\",\"soft\":0,"
				"\"hard\":18446744073709551615},"
				"{\"type\":\"RLIMIT_STACK\",\"soft\":8388608,\"hard\":8388608.0},"
				"{\"type\":\"RLIMIT_AS\",\"soft\":9007199254740993,"
				"\"hard\":18446744073709551615}]",
				"\"resources\":{\"memory\":{\"limit\":1073741824},"
				"\"cpu\":{\"quota\":50000,\"period\":100000}}"),
		      &s),
		0);
	assert_string_equal(s.hostname,
			    "0123456789012345678901234567890123456789012345678901234567890123");
	assert_true(s.terminal);
	assert_int_equal(s.console_rows, 50);
	assert_int_equal(s.console_cols, 132);
	assert_int_equal(s.uid, 4294967294U);
	assert_int_equal(s.gid, 1000);
	assert_int_equal(s.umask, 022);
	assert_true(s.has_oom_score_adj);
	assert_int_equal(s.oom_score_adj, -1000);
	assert_int_equal(s.nrlimits, 3);
	assert_string_equal(s.rlimits[0], "core:0:unlimited");
	assert_string_equal(s.rlimits[1], "stack:8388608:8388608");
	/* above 2^53 a double rounds (documented) */
	assert_string_equal(s.rlimits[2], "as:9007199254740992:unlimited");
	assert_null(s.rlimits[3]);
	assert_int_equal(s.mem_limit, 1073741824);
	assert_int_equal(s.cpu_quota, 50000);
	assert_int_equal(s.cpu_period, 100000);
	oci_spec_free(&s);

	/* -1 and 0 mean no limit (runc's reading) */
	assert_int_equal(parse(spec_text(NULL, NULL,
					 "\"resources\":{\"memory\":{\"limit\":-1},"
					 "\"cpu\":{\"quota\":0,\"period\":0}}"),
			       &s),
			 0);
	assert_int_equal(s.mem_limit, -1);
	assert_int_equal(s.cpu_quota, -1);
	assert_int_equal(s.cpu_period, 0);
	oci_spec_free(&s);
	assert_int_equal(parse(spec_text(NULL, NULL,
					 "\"resources\":{\"memory\":{\"limit\":0},"
					 "\"cpu\":{\"quota\":-1}}"),
			       &s),
			 0);
	assert_int_equal(s.mem_limit, -1);
	assert_int_equal(s.cpu_quota, -1);
	oci_spec_free(&s);
}

static void test_oci_ignored_settings_are_noted(void **state)
{
	static const char *const want[] = {
		"process.rlimits[1] (RLIMIT_RTPRIO)",
		"process.apparmorProfile",
		"process.selinuxLabel",
		"domainname",
		"linux.namespaces[1] (ipc namespace path)",
		"linux.namespaces (no mount namespace: the VM has its own)",
		"linux.namespaces (no uts namespace: the VM has its own)",
		"linux.resources.memory.swap",
		"linux.resources.cpu.shares",
		"linux.resources.pids",
		"linux.seccomp",
		"linux.personality",
	};
	struct oci_spec s;

	assert_int_equal(
		parse(spec_text("\"domainname\":\"example.org\",\"vm\":{\"hypervisor\":{}},"
				"\"x-unknown\":1",
				"\"args\":[\"sh\"],\"cwd\":\"/\","
				"\"apparmorProfile\":\"docker-default\","
				"\"selinuxLabel\":\"system_u:system_r:container_t:s0\","
				"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},"
				"{\"type\":\"RLIMIT_RTPRIO\",\"soft\":0,\"hard\":0}]",
				"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\","
				"\"path\":\"/proc/1/ns/ipc\"},{\"type\":\"network\","
				"\"path\":\"/var/run/netns/cni-1\"},{\"type\":\"cgroup\"}],"
				"\"resources\":{\"memory\":{\"limit\":1048576,\"swap\":2097152},"
				"\"cpu\":{\"shares\":1024,\"period\":100000},"
				"\"pids\":{\"limit\":10},"
				"\"blockIO\":null},"
				"\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"},"
				"\"mountLabel\":\"\",\"personality\":{\"domain\":\"LINUX\"},"
				"\"x-unknown\":1"),
		      &s),
		0);
	assert_int_equal(s.nrlimits, 1);
	assert_string_equal(s.rlimits[0], "nofile:1:2");
	assert_string_equal(s.netns_path, "/var/run/netns/cni-1");
	assert_false(s.new_netns);
	for (int i = 0; i < s.nignored && i < (int)ARRAY_SIZE(want); i++)
		assert_string_equal(s.ignored[i], want[i]);
	assert_int_equal(s.nignored, ARRAY_SIZE(want));
	assert_null(s.ignored[s.nignored]);
	oci_spec_free(&s);

	/* no linux object at all: host namespaces, which a VM cannot give */
	assert_int_equal(parse("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
			       "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}}",
			       &s),
			 0);
	assert_int_equal(s.nignored, 1);
	assert_string_equal(s.ignored[0], "linux (no namespaces: the VM has its own)");
	assert_false(s.new_netns);
	assert_null(s.netns_path);
	oci_spec_free(&s);
}

static void test_oci_hooks_and_annotations(void **state)
{
	struct oci_spec s;

	assert_int_equal(
		parse(spec_text("\"hooks\":{\"prestart\":[{\"path\":\"/p\"}],"
				"\"createRuntime\":[{\"path\":\"/cr\",\"args\":[\"cr\",\"-x\"],"
				"\"env\":[\"A=1\"],\"timeout\":5},{\"path\":\"/cr2\"}],"
				"\"createContainer\":[{\"path\":\"/cc\"}],"
				"\"startContainer\":[{\"path\":\"/sc\"}],"
				"\"poststart\":[{\"path\":\"/ps\"}],"
				"\"poststop\":[{\"path\":\"/pst\"}],"
				/* unknown kinds are ignored, relative path and all */
				"\"future\":[{\"path\":\"relative\"}]},"
				"\"hostname\":\"\",\"annotations\":{"
				"\"io.kubernetes.cri.container-type\":\"sandbox\","
				"\"io.kubernetes.cri.sandbox-id\":\"abc=def\",\"empty\":\"\"}",
				NULL, NULL),
		      &s),
		0);
	assert_null(s.hostname); /* "" is none */
	assert_int_equal(s.nhooks[OCI_HOOK_PRESTART], 1);
	assert_string_equal(s.hooks[OCI_HOOK_PRESTART][0].path, "/p");
	assert_int_equal(s.hooks[OCI_HOOK_PRESTART][0].nargs, 0);
	assert_null(s.hooks[OCI_HOOK_PRESTART][0].args);
	assert_int_equal(s.hooks[OCI_HOOK_PRESTART][0].timeout, 0);
	assert_int_equal(s.nhooks[OCI_HOOK_CREATE_RUNTIME], 2);
	assert_string_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].path, "/cr");
	assert_int_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].nargs, 2);
	assert_string_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].args[1], "-x");
	assert_null(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].args[2]);
	assert_int_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].nenv, 1);
	assert_string_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].env[0], "A=1");
	assert_int_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][0].timeout, 5);
	assert_string_equal(s.hooks[OCI_HOOK_CREATE_RUNTIME][1].path, "/cr2");
	assert_string_equal(s.hooks[OCI_HOOK_CREATE_CONTAINER][0].path, "/cc");
	assert_string_equal(s.hooks[OCI_HOOK_START_CONTAINER][0].path, "/sc");
	assert_string_equal(s.hooks[OCI_HOOK_POSTSTART][0].path, "/ps");
	assert_string_equal(s.hooks[OCI_HOOK_POSTSTOP][0].path, "/pst");
	assert_int_equal(s.nannotations, 3);
	assert_string_equal(oci_spec_annotation(&s, "io.kubernetes.cri.container-type"),
			    "sandbox");
	assert_string_equal(oci_spec_annotation(&s, "io.kubernetes.cri.sandbox-id"), "abc=def");
	assert_string_equal(oci_spec_annotation(&s, "empty"), "");
	assert_null(oci_spec_annotation(&s, "io.kubernetes.cri"));   /* a prefix is no key */
	assert_null(oci_spec_annotation(&s, "io.kubernetes.cri.container-type=sandbox"));
	assert_null(oci_spec_annotation(&s, "absent"));
	oci_spec_free(&s);
}

/* null counts as absent everywhere, as Go's encoding/json reads it */
static void test_oci_null_is_absent(void **state)
{
	struct oci_spec s;

	assert_int_equal(parse(spec_text("\"hostname\":null,\"mounts\":null,\"hooks\":null,"
					 "\"annotations\":null",
					 "\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":null,"
					 "\"capabilities\":null,\"rlimits\":null,\"env\":null",
					 "\"uidMappings\":null,\"devices\":[],\"intelRdt\":null,"
					 "\"namespaces\":[{\"type\":\"network\",\"path\":null},"
					 "{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
					 "{\"type\":\"mount\"}],\"seccomp\":null"),
			       &s),
			 0);
	assert_null(s.hostname);
	assert_false(s.has_caps);
	assert_int_equal(s.nenv, 0);
	assert_true(s.new_netns);
	assert_int_equal(s.nignored, 0);
	oci_spec_free(&s);
	oci_spec_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_ctr_default_parses_every_field),
		cmocka_unit_test(test_oci_ctr_default_items_exact),
		cmocka_unit_test(test_oci_items_order_is_guest_inits),
		cmocka_unit_test(test_oci_items_host_binds_and_inside_binds),
		cmocka_unit_test(test_oci_items_refusals_name_the_mount),
		cmocka_unit_test(test_oci_items_colon_in_destination_and_dev_slash),
		cmocka_unit_test(test_oci_refusals_name_the_json_path),
		cmocka_unit_test(test_oci_document_errors),
		cmocka_unit_test(test_oci_limits_at_the_edge),
		cmocka_unit_test(test_oci_string_limit_and_rlimit_count),
		cmocka_unit_test(test_oci_numbers_and_limits_read),
		cmocka_unit_test(test_oci_ignored_settings_are_noted),
		cmocka_unit_test(test_oci_hooks_and_annotations),
		cmocka_unit_test(test_oci_null_is_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
