/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the FreeBSD 9 style carpN front-end (spec §8.3).  A "carp"
 * cloner makes IFT_CARP loopback-like interfaces; SIOCSVH/SIOCGVH on them
 * configure their one vhid; their addresses bind it to the parent the
 * legacy subnet rule picks (ctl/legacy.rs decides, with the candidates
 * this file collects); the vhid then runs on that parent like any other.
 * Its ARP is answered through a published entry on the parent while
 * MASTER, and carpN's link state follows the vhid's state.  Removing a
 * carpN address is carp_rs_detach()'s (carp_rs_if.c).  Each entry point
 * counts itself in flight.
 */

#include "carp_rs_var.h"

#include <sys/sockio.h>
#include <net/bpf.h>
#include <net/if_clone.h>
#include <net/if_types.h>
#include <netinet6/nd6.h>

/*
 * Gone from net/if_types.h since FreeBSD 10.  FreeBSD 9's 0xf8 is now
 * IFT_WIREGUARD (and 0xf9 IFT_MBIM): carpN takes the next number that
 * neither 14.x nor 15.x assigns.  Keep in sync with ctl::IFT_CARP.
 */
#define	CARP_RS_IFT_CARP	0xfa
_Static_assert(CARP_RS_IFT_CARP != IFT_WIREGUARD &&
    CARP_RS_IFT_CARP != IFT_PFSYNC &&
    CARP_RS_IFT_CARP != IFT_PFLOG && CARP_RS_IFT_CARP != IFT_ENC &&
    CARP_RS_IFT_CARP != IFT_GIF, "carpN's interface type is taken");

static const char carp_rs_clone_name[] = "carp";
/* Every VNET has its own cloner (carp_rs_vnet_init). */
VNET_DEFINE_STATIC(struct if_clone *, carp_rs_cloner);
#define	V_carp_rs_cloner	VNET(carp_rs_cloner)

#define	CARP_RS_MAXCANDS	64

bool
carp_rs_is_clone(struct ifnet *ifp)
{

	return (ifp->if_type == CARP_RS_IFT_CARP &&
	    ifp->if_output != NULL && ifp->if_dname != NULL &&
	    strcmp(ifp->if_dname, carp_rs_clone_name) == 0);
}

/* carpN's output loops back, as lo(4) does. */
static int
carp_rs_looutput(struct ifnet *ifp, struct mbuf *m, const struct sockaddr *dst,
    struct route *ro __unused)
{
	int af;

	M_ASSERTPKTHDR(m);
	if ((ifp->if_flags & IFF_UP) == 0) {
		m_freem(m);
		return (ENETDOWN);
	}
	af = dst->sa_family == AF_UNSPEC ? AF_INET : dst->sa_family;
	if_inc_counter(ifp, IFCOUNTER_OPACKETS, 1);
	if_inc_counter(ifp, IFCOUNTER_OBYTES, m->m_pkthdr.len);
	return (if_simloop(ifp, m, af, 0));
}

/*
 * Every address of the family on other interfaces, in interface order,
 * with its netmask: ctl/legacy.rs picks the parent among them.
 */
static size_t
carp_rs_cands(struct ifnet *self, int family, struct carp_rs_cand *c,
    size_t max)
{
	struct epoch_tracker et;
	struct ifnet *ifp;
	struct ifaddr *ifa;
	struct sockaddr *nm;
	size_t n = 0;

	NET_EPOCH_ENTER(et);
	CK_STAILQ_FOREACH(ifp, &V_ifnet, if_link) {
		if (ifp == self)
			continue;
		CK_STAILQ_FOREACH(ifa, &ifp->if_addrhead, ifa_link) {
			if (n >= max || ifa->ifa_addr->sa_family != family ||
			    ifa->ifa_carp != NULL)
				continue;
			memset(&c[n], 0, sizeof(c[n]));
			c[n].ifindex = if_getindex(ifp);
			c[n].flags = if_getflags(ifp);
			c[n].if_type = ifp->if_type;
			c[n].af = carp_rs_ifa_af(ifa, c[n].addr);
			nm = ifa->ifa_netmask;
			memset(c[n].mask, 0xff, sizeof(c[n].mask));
			if (nm != NULL && family == AF_INET)
				memcpy(c[n].mask, &satosin(nm)->sin_addr, 4);
			else if (nm != NULL)
				memcpy(c[n].mask, &satosin6(nm)->sin6_addr, 16);
			n++;
		}
	}
	NET_EPOCH_EXIT(et);
	return (n);
}

/*
 * An address put on carpN, naming vhid (0: SIOCSIFADDR without one).
 * ctl/legacy.rs decides whether it is a VIP, configures the vhid and
 * picks the parent; this binds the record to that parent.
 */
int
carp_rs_clone_attach(struct ifaddr *ifa, int vhid)
{
	struct ifnet *cifp = ifa->ifa_ifp, *pifp;
	struct carp_rs_legacy_out out;
	struct carp_rs_cand *cands;
	struct carp_rs_if *cif;
	struct epoch_tracker et;
	uint8_t addr[16], af;
	size_t n;
	int error;

	if ((af = carp_rs_ifa_af(ifa, addr)) == 0)
		return (EPROTOTYPE);
	cands = malloc(sizeof(*cands) * CARP_RS_MAXCANDS, M_CARP_RS,
	    M_WAITOK | M_ZERO);
	n = carp_rs_cands(cifp, ifa->ifa_addr->sa_family, cands,
	    CARP_RS_MAXCANDS);
	if ((error = carp_rs_config_begin()) != 0) {
		free(cands, M_CARP_RS);
		return (error);
	}
	memset(&out, 0, sizeof(out));
	CARP_RS_CALL(error = carp_rs_clone_add_addr(V_carp_rs_engine,
	    carp_rs_now(), if_getindex(cifp), (uint8_t)vhid, af, addr, cands,
	    n, &out));
	free(cands, M_CARP_RS);
	if (error == 0 && out.vip && out.parent == 0)
		error = EADDRNOTAVAIL;
	if (error != 0 || !out.vip) {
		carp_rs_config_end();
		return (error);
	}
	NET_EPOCH_ENTER(et);
	pifp = ifnet_byindex(out.parent);
	if (pifp != NULL)
		if_ref(pifp);
	NET_EPOCH_EXIT(et);
	if (pifp == NULL) {
		carp_rs_config_end();
		return (ENXIO);
	}
	cif = carp_rs_if_get(pifp);
	if_rele(pifp);
	error = carp_rs_mcast_join(cif, af);
	if (error != 0)
		printf("carp_rs: %s: multicast join failed: %d\n",
		    if_name(cif->ifp), error);
	carp_rs_addr_link(cif, ifa, out.has_id ? out.id : 0, out.vhid, af,
	    addr, true);
	carp_rs_addrs_rebind(cifp, &out);
	carp_rs_refresh_parent(cif);
	carp_rs_config_end();
	return (0);
}

/* carpN's if_ioctl: addresses without "vhid", up/down, MTU. */
static int
carp_rs_clone_if_ioctl(struct ifnet *ifp, u_long cmd, caddr_t data)
{
	struct carp_rs_legacy_out out;
	struct ifaddr *ifa;
	struct ifreq *ifr = (struct ifreq *)data;
	bool up = (ifp->if_flags & IFF_UP) != 0;
	int error = 0;

	if (!carp_rs_enter()) {
		carp_rs_exit();
		return (ENXIO);
	}
	switch (cmd) {
	case SIOCSIFADDR:
		ifp->if_flags |= IFF_UP;
		ifp->if_drv_flags |= IFF_DRV_RUNNING;
		ifa = (struct ifaddr *)data;
		/* The legacy two-step: vhid first, then a plain address. */
		if (ifa->ifa_carp == NULL)
			error = carp_rs_clone_attach(ifa, 0);
		break;
	case SIOCSIFFLAGS:
		if (carp_rs_config_begin() != 0)
			break;
		memset(&out, 0, sizeof(out));
		CARP_RS_CALL(error = carp_rs_clone_set_up(V_carp_rs_engine,
		    carp_rs_now(), if_getindex(ifp), up, &out));
		if (error == 0)
			carp_rs_addrs_rebind(ifp, &out);
		carp_rs_config_end();
		if (up)
			ifp->if_drv_flags |= IFF_DRV_RUNNING;
		else
			ifp->if_drv_flags &= ~IFF_DRV_RUNNING;
		break;
	case SIOCADDMULTI:
	case SIOCDELMULTI:
		break;
	case SIOCSIFMTU:
		if (ifr->ifr_mtu < 576 || ifr->ifr_mtu > ETHERMTU)
			error = EINVAL;
		else
			ifp->if_mtu = ifr->ifr_mtu;
		break;
	default:
		error = EINVAL;
	}
	carp_rs_exit();
	return (error);
}

static int
carp_rs_ifc_create(struct if_clone *ifc, int unit, caddr_t params __unused)
{
	struct ifnet *ifp;
	int error;

	if (!carp_rs_enter()) {
		carp_rs_exit();
		return (ENXIO);
	}
	ifp = if_alloc(CARP_RS_IFT_CARP);
	if_initname(ifp, carp_rs_clone_name, unit);
	ifp->if_flags = IFF_LOOPBACK | IFF_MULTICAST;
	ifp->if_mtu = ETHERMTU;
	ifp->if_output = carp_rs_looutput;
	ifp->if_ioctl = carp_rs_clone_if_ioctl;
	if_attach(ifp);
	/* No link-local address, as FreeBSD 9's in6_ifattach() for IFT_CARP. */
	ND_IFINFO(ifp)->flags &= ~ND6_IFF_AUTO_LINKLOCAL;
	bpfattach(ifp, DLT_NULL, sizeof(uint32_t));
	if ((error = carp_rs_config_begin()) == 0) {
		CARP_RS_CALL(error = carp_rs_clone_create(V_carp_rs_engine,
		    if_getindex(ifp)));
		carp_rs_config_end();
	}
	if (error != 0) {
		bpfdetach(ifp);
		if_detach(ifp);
		if_free(ifp);
	} else
		if_link_state_change(ifp, LINK_STATE_UNKNOWN);
	carp_rs_exit();
	return (error);
}

/* Not refused when dying: unload destroys carpN through here. */
static void
carp_rs_ifc_destroy(struct ifnet *ifp)
{
	struct carp_rs_legacy_out out;

	(void)carp_rs_enter();
	/* Purging the addresses detaches them through carp_detach_p. */
	if_purgeaddrs(ifp);
	sx_xlock(&carp_rs_sx);
	carp_rs_apply_begin();
	memset(&out, 0, sizeof(out));
	CARP_RS_CALL((void)carp_rs_clone_destroy(V_carp_rs_engine,
	    carp_rs_now(), if_getindex(ifp), &out));
	carp_rs_config_end();
	bpfdetach(ifp);
	if_detach(ifp);
	if_free(ifp);
	carp_rs_exit();
}

void
carp_rs_clone_init(void)
{

	V_carp_rs_cloner = if_clone_simple(carp_rs_clone_name,
	    carp_rs_ifc_create, carp_rs_ifc_destroy, 0);
	if (V_carp_rs_cloner == NULL)
		printf("carp_rs: cannot register the carp cloner\n");
}

void
carp_rs_clone_fini(void)
{

	if (V_carp_rs_cloner != NULL)
		if_clone_detach(V_carp_rs_cloner);
	V_carp_rs_cloner = NULL;
}
