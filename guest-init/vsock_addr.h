/* SPDX-License-Identifier: MIT */
/*
 * vsock_addr.h: the AF_VSOCK address of <linux/vm_sockets.h>, which musl
 * does not ship (16 bytes, as struct sockaddr); for guest-init's session
 * and egress sockets.
 */
#ifndef AGENTVMM_GUEST_INIT_VSOCK_ADDR_H
#define AGENTVMM_GUEST_INIT_VSOCK_ADDR_H

#include <sys/socket.h>

#define GI_VSOCK_HOST_CID 2 /* VMADDR_CID_HOST */

struct gi_sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};
_Static_assert(sizeof(struct gi_sockaddr_vm) == 16, "struct sockaddr_vm");

#endif
