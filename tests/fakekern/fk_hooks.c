/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the CARP hook pointers the stack defines (net/if.c,
 * netinet/if_ether.c, netinet6/nd6_nbr.c).  The module fills them at load
 * and must clear them at unload; scenarios call through them the way the
 * stack does (ifioctl, in_arpinput, nd6_ns_input, ether_output...).
 */
#include "fk.h"

int (*carp_ioctl_p)(struct ifreq *, u_long, struct thread *);
int (*carp_attach_p)(struct ifaddr *, int);
void (*carp_detach_p)(struct ifaddr *, bool);
void (*carp_linkstate_p)(struct ifnet *);
void (*carp_demote_adj_p)(int, char *);
int (*carp_master_p)(struct ifaddr *);
int (*carp_forus_p)(struct ifnet *, u_char *);
int (*carp_output_p)(struct ifnet *, struct mbuf *, const struct sockaddr *);
int (*carp_get_vhid_p)(struct ifaddr *);
int (*carp_iamatch_p)(struct ifaddr *, uint8_t **);
struct ifaddr *(*carp_iamatch6_p)(struct ifnet *, struct in6_addr *);
char *(*carp_macmatch6_p)(struct ifnet *, struct mbuf *,
    const struct in6_addr *);

int	fk_hooks_set(void);

/* kern_conf.c's placeholders, part of the kernel's own text. */
int
nullop(void)
{
	return (0);
}

int
eopnotsupp(void)
{
	return (EOPNOTSUPP);
}

/* Set: neither NULL nor one of the kernel's placeholders. */
#define	FK_HOOK_SET(p)	((p) != NULL && (void *)(p) != (void *)nullop && \
    (void *)(p) != (void *)eopnotsupp)

/* How many of the 12 hooks point into a module. */
int
fk_hooks_set(void)
{
	return (FK_HOOK_SET(carp_ioctl_p) + FK_HOOK_SET(carp_attach_p) +
	    FK_HOOK_SET(carp_detach_p) + FK_HOOK_SET(carp_linkstate_p) +
	    FK_HOOK_SET(carp_demote_adj_p) + FK_HOOK_SET(carp_master_p) +
	    FK_HOOK_SET(carp_forus_p) + FK_HOOK_SET(carp_output_p) +
	    FK_HOOK_SET(carp_get_vhid_p) + FK_HOOK_SET(carp_iamatch_p) +
	    FK_HOOK_SET(carp_iamatch6_p) + FK_HOOK_SET(carp_macmatch6_p));
}
