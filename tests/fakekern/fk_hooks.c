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

/* How many of the 12 hooks are non-NULL. */
int
fk_hooks_set(void)
{
	return ((carp_ioctl_p != NULL) + (carp_attach_p != NULL) +
	    (carp_detach_p != NULL) + (carp_linkstate_p != NULL) +
	    (carp_demote_adj_p != NULL) + (carp_master_p != NULL) +
	    (carp_forus_p != NULL) + (carp_output_p != NULL) +
	    (carp_get_vhid_p != NULL) + (carp_iamatch_p != NULL) +
	    (carp_iamatch6_p != NULL) + (carp_macmatch6_p != NULL));
}
