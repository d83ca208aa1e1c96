/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the carp(4) hook pointers of the network stack, the parent
 * records (ifp->if_carp) and the per-address records (ifa->ifa_carp).
 *
 * Every decision (is this vhid MASTER, may this request pass, what state
 * follows) is the engine's; the hooks translate kernel structures into
 * engine calls and apply what comes back.  Each parent record belongs to
 * the VNET of its interface (cif->vc) and talks to that VNET's engine.
 * Also here: the ifnet departure handler and teardown (unload, VNET
 * destruction).
 */

#include "opt_inet.h"
#include "opt_inet6.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/epoch.h>
#include <sys/eventhandler.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/mutex.h>
#include <sys/priv.h>
#include <sys/proc.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sx.h>
#include <sys/syslog.h>
#include <sys/taskqueue.h>
#include <machine/atomic.h>

#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_private.h>
#include <net/if_types.h>
#include <net/vnet.h>

#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet/ip_carp.h>
#include <netinet6/in6_var.h>
#include <netinet6/scope6_var.h>

#include <netinet/ip_var.h>
#include <netinet6/ip6_var.h>

#include "carp_rs_ffi.h"
#include "carp_rs_var.h"

/*
 * Every configuration request (ioctl, netlink, address attach, carpN
 * create and ioctl) starts here: the sx lock, then the dying flag and
 * curvnet's state are checked under it (teardown runs under the same
 * lock, so nothing configured after teardown can survive it), then the
 * applier token.
 */
int
carp_rs_config_begin(void)
{

	sx_xlock(&carp_rs_sx);
	if (carp_rs_dying != 0 || V_carp_rs_vnet == NULL) {
		sx_xunlock(&carp_rs_sx);
		return (ENXIO);
	}
	carp_rs_apply_begin();
	return (0);
}

/* Applies what the request queued, in order, and lets go. */
void
carp_rs_config_end(void)
{

	carp_rs_apply_end();
	sx_xunlock(&carp_rs_sx);
}

/* The parent record of ifindex, or NULL.  Mutex held. */
struct carp_rs_if *
carp_rs_if_lookup(uint32_t index)
{
	struct carp_rs_if *cif;

	mtx_assert(&carp_rs_mtx, MA_OWNED);
	LIST_FOREACH(cif, &carp_rs_ifs, link)
		if (cif->index == index)
			return (cif);
	return (NULL);
}

/*
 * The parent record of ifp, created on first use: the parent goes
 * promiscuous (so frames to the virtual MAC are received) and gets
 * if_carp, which makes the stack call our hooks.  sx held.
 */
struct carp_rs_if *
carp_rs_if_get(struct ifnet *ifp)
{
	struct carp_rs_if *cif;
	int error;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	if (ifp->if_carp != NULL)
		return (CARP_RS_CIF(ifp));
	cif = malloc(sizeof(*cif), M_CARP_RS, M_WAITOK | M_ZERO);
	cif->ifp = ifp;
	cif->vc = V_carp_rs_vnet;
	cif->index = if_getindex(ifp);
	TAILQ_INIT(&cif->addrs);
	if_ref(ifp);
	if ((error = ifpromisc(ifp, 1)) != 0)
		printf("carp_rs: ifpromisc(%s) failed: %d\n", if_name(ifp),
		    error);
	else
		cif->promisc = true;
	mtx_lock(&carp_rs_mtx);
	LIST_INSERT_HEAD(&carp_rs_ifs, cif, link);
	mtx_unlock(&carp_rs_mtx);
	IF_ADDR_WLOCK(ifp);
	ifp->if_carp = (struct carp_if *)(void *)cif;
	IF_ADDR_WUNLOCK(ifp);
	carp_rs_refresh_parent(cif);
	return (cif);
}

static void	carp_rs_if_drop(struct carp_rs_if *);

static void
carp_rs_if_free(epoch_context_t ctx)
{
	struct carp_rs_if *cif;

	cif = __containerof(ctx, struct carp_rs_if, epoch_ctx);
	free(cif, M_CARP_RS);
}

/*
 * Drops the parent record once nothing uses it: no vhid in the engine, no
 * address, no carpN bound.  sx held.
 */
void
carp_rs_if_put(struct carp_rs_if *cif)
{
	bool busy;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	mtx_lock(&carp_rs_mtx);
	busy = !TAILQ_EMPTY(&cif->addrs) || cif->nlegacy > 0 ||
	    carp_rs_iface_vhids(cif->vc->engine, cif->index) > 0;
	mtx_unlock(&carp_rs_mtx);
	if (!busy)
		carp_rs_if_drop(cif);
}

/* Drops the parent record (its addresses already unlinked).  sx held. */
static void
carp_rs_if_drop(struct carp_rs_if *cif)
{
	struct ifnet *ifp;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	mtx_lock(&carp_rs_mtx);
	LIST_REMOVE(cif, link);
	mtx_unlock(&carp_rs_mtx);
	ifp = cif->ifp;
	CURVNET_SET(ifp->if_vnet);
	carp_rs_mcast_leave(cif, CARP_RS_AF_INET);
	carp_rs_mcast_leave(cif, CARP_RS_AF_INET6);
	IF_ADDR_WLOCK(ifp);
	ifp->if_carp = NULL;
	IF_ADDR_WUNLOCK(ifp);
	if (cif->promisc)
		(void)ifpromisc(ifp, 0);
	CURVNET_RESTORE();
	if_rele(ifp);
	NET_EPOCH_CALL(carp_rs_if_free, &cif->epoch_ctx);
}

/*
 * Joins 224.0.0.18 (IPv4) or ff02::12 and its solicited-node group
 * (IPv6) on the parent, once per family, and sets up the multicast
 * options adverts leave with (TTL/hop limit 255, no loopback).  sx held.
 */
int
carp_rs_mcast_join(struct carp_rs_if *cif, uint8_t af)
{
	struct ifnet *ifp = cif->ifp;
	int error = 0;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	switch (af) {
#ifdef INET
	case CARP_RS_AF_INET: {
		struct in_addr grp;

		if (cif->inm != NULL)
			return (0);
		grp.s_addr = htonl(INADDR_CARP_GROUP);
		error = in_joingroup(ifp, &grp, NULL, &cif->inm);
		if (error != 0) {
			cif->inm = NULL;
			return (error);
		}
		ip_mfilter_init(&cif->imo.imo_head);
		cif->imo.imo_multicast_vif = -1;
		cif->imo.imo_multicast_ifp = ifp;
		cif->imo.imo_multicast_ttl = CARP_DFLTTL;
		cif->imo.imo_multicast_loop = 0;
		break;
	}
#endif
#ifdef INET6
	case CARP_RS_AF_INET6: {
		struct in6_addr grp;

		if (cif->in6m != NULL)
			return (0);
		memset(&grp, 0, sizeof(grp));
		grp.s6_addr16[0] = htons(0xff02);
		grp.s6_addr8[15] = 0x12;
		if ((error = in6_setscope(&grp, ifp, NULL)) != 0)
			return (error);
		error = in6_joingroup(ifp, &grp, NULL, &cif->in6m, 0);
		if (error != 0) {
			cif->in6m = NULL;
			return (error);
		}
		memset(&grp, 0, sizeof(grp));
		grp.s6_addr16[0] = htons(0xff02);
		grp.s6_addr32[2] = htonl(1);
		grp.s6_addr8[12] = 0xff;
		if ((error = in6_setscope(&grp, ifp, NULL)) != 0 ||
		    (error = in6_joingroup(ifp, &grp, NULL, &cif->in6m_sol,
		    0)) != 0) {
			cif->in6m_sol = NULL;
			(void)in6_leavegroup(cif->in6m, NULL);
			cif->in6m = NULL;
			return (error);
		}
		ip6_mfilter_init(&cif->im6o.im6o_head);
		cif->im6o.im6o_multicast_ifp = ifp;
		cif->im6o.im6o_multicast_hlim = CARP_DFLTTL;
		cif->im6o.im6o_multicast_loop = 0;
		break;
	}
#endif
	default:
		return (EPROTOTYPE);
	}
	return (0);
}

/* Leaves the family's groups.  sx held. */
void
carp_rs_mcast_leave(struct carp_rs_if *cif, uint8_t af)
{

	sx_assert(&carp_rs_sx, SA_XLOCKED);
#ifdef INET
	if (af == CARP_RS_AF_INET && cif->inm != NULL) {
		(void)in_leavegroup(cif->inm, NULL);
		cif->inm = NULL;
		cif->imo.imo_multicast_ifp = NULL;
	}
#endif
#ifdef INET6
	if (af == CARP_RS_AF_INET6 && cif->in6m != NULL) {
		(void)in6_leavegroup(cif->in6m, NULL);
		cif->in6m = NULL;
		if (cif->in6m_sol != NULL)
			(void)in6_leavegroup(cif->in6m_sol, NULL);
		cif->in6m_sol = NULL;
		cif->im6o.im6o_multicast_ifp = NULL;
	}
#endif
}

static bool
carp_rs_if_up(struct ifnet *ifp)
{

	return ((if_getflags(ifp) & IFF_UP) != 0 &&
	    ifp->if_link_state == LINK_STATE_UP);
}

/* The address of ifa into addr (scope cleared); its CARP_RS_AF_*, or 0. */
uint8_t
carp_rs_ifa_af(struct ifaddr *ifa, uint8_t *addr)
{

	switch (ifa->ifa_addr->sa_family) {
#ifdef INET
	case AF_INET:
		memcpy(addr, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr,
		    4);
		return (CARP_RS_AF_INET);
#endif
#ifdef INET6
	case AF_INET6: {
		struct in6_addr a;

		a = ((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
		in6_clearscope(&a);
		memcpy(addr, &a, 16);
		return (CARP_RS_AF_INET6);
	}
#endif
	default:
		return (0);
	}
}

/*
 * Tells the engine the parent's link state and its own best addresses
 * (the first non-vhid address of each family: the advert source).
 */
void
carp_rs_refresh_parent(struct carp_rs_if *cif)
{
	struct epoch_tracker et;
	struct ifaddr *ifa;
	uint8_t a[2][16], buf[16] = { 0 };
	bool has[2] = { false, false };
	int i;

	NET_EPOCH_ENTER(et);
	CK_STAILQ_FOREACH(ifa, &cif->ifp->if_addrhead, ifa_link) {
		if (ifa->ifa_carp != NULL || (i = carp_rs_ifa_af(ifa, buf)) == 0)
			continue;
		i = i == CARP_RS_AF_INET6;	/* a[0]: IPv4, a[1]: IPv6 */
		if (!has[i])
			memcpy(a[i], buf, sizeof(buf));
		has[i] = true;
	}
	NET_EPOCH_EXIT(et);
	mtx_lock(&carp_rs_mtx);
	(void)carp_rs_iface_addrs(cif->vc->engine, cif->index,
	    has[0] ? a[0] : NULL, has[1] ? a[1] : NULL);
	carp_rs_link_state(cif->vc->engine, carp_rs_now(), cif->index,
	    carp_rs_if_up(cif->ifp));
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
}

/* ---- Address records. */

static void
carp_rs_addr_free(epoch_context_t ctx)
{
	struct carp_rs_addr *ra;

	ra = __containerof(ctx, struct carp_rs_addr, epoch_ctx);
	free(ra, M_CARP_RS);
}

/*
 * Links a record for ifa (vhid `id` on parent cif) and marks the ifa.
 * sx held; the engine already has the address.
 */
struct carp_rs_addr *
carp_rs_addr_link(struct carp_rs_if *cif, struct ifaddr *ifa, uint64_t id,
    uint8_t vhid, uint8_t af, const uint8_t *addr, bool legacy)
{
	struct carp_rs_addr *ra;

	ra = malloc(sizeof(*ra), M_CARP_RS, M_WAITOK | M_ZERO);
	ra->cif = cif;
	ra->id = id;
	ra->parent = cif->index;
	ra->vhid = vhid;
	ra->af = af;
	ra->legacy = legacy;
	memcpy(ra->addr, addr, af == CARP_RS_AF_INET ? 4 : 16);
	ra->vmac[2] = 0x5e;
	ra->vmac[4] = 1;
	ra->vmac[5] = vhid;
	ifa_ref(ifa);
	ra->ifa = ifa;
	mtx_lock(&carp_rs_mtx);
	TAILQ_INSERT_TAIL(&cif->addrs, ra, link);
	if (af == CARP_RS_AF_INET)
		cif->naddrs4++;
	else
		cif->naddrs6++;
	ifa->ifa_carp = (struct carp_softc *)(void *)ra;
	(void)carp_rs_route_track(cif->vc->engine, cif->index, af, addr,
	    legacy);
	mtx_unlock(&carp_rs_mtx);
	return (ra);
}

/*
 * Unlinks ra: MASTER routes go, the ifa is a plain address again, the
 * family's groups are left with its last address.  sx and the applier
 * token held; the engine has already dropped the address and says what
 * of it is installed.
 */
void
carp_rs_addr_unlink(struct carp_rs_addr *ra)
{
	struct carp_rs_if *cif = ra->cif;
	struct ifaddr *ifa = ra->ifa;
	struct carp_rs_cmd cmd;
	int left, del;

	mtx_lock(&carp_rs_mtx);
	TAILQ_REMOVE(&cif->addrs, ra, link);
	left = ra->af == CARP_RS_AF_INET ? --cif->naddrs4 : --cif->naddrs6;
	del = carp_rs_route_untrack(cif->vc->engine, cif->index, ra->af,
	    ra->addr, ra->legacy, &cmd);
	mtx_unlock(&carp_rs_mtx);
	if (del)
		carp_rs_cmd_apply(&cmd, ra);
	CURVNET_SET(cif->ifp->if_vnet);
	ifa->ifa_carp = NULL;
	ifa_free(ifa);
	if (left == 0)
		carp_rs_mcast_leave(cif, ra->af);
	CURVNET_RESTORE();
	NET_EPOCH_CALL(carp_rs_addr_free, &ra->epoch_ctx);
}

/* ---- Hooks. */

static int
carp_rs_attach(struct ifaddr *ifa, int vhid)
{
	struct ifnet *ifp = ifa->ifa_ifp;
	struct carp_rs_if *cif;
	uint8_t addr[16];
	uint64_t id;
	uint8_t af;
	int error;

	KASSERT(ifa->ifa_carp == NULL, ("%s: ifa %p attached", __func__, ifa));
	af = carp_rs_ifa_af(ifa, addr);
	if (af == 0)
		return (EPROTOTYPE);
	if (vhid < 1 || vhid > CARP_MAXVHID)
		return (EINVAL);
	if (carp_rs_is_clone(ifp))
		return (carp_rs_clone_attach(ifa, vhid));
	if (carp_rs_config_begin() != 0)
		return (ENOPROTOOPT);
	if (ifp->if_carp == NULL) {
		carp_rs_config_end();
		return (ENOPROTOOPT);
	}
	cif = CARP_RS_CIF(ifp);
	/* Joining is idempotent; undone below if the engine refuses. */
	error = carp_rs_mcast_join(cif, af);
	if (error == 0) {
		mtx_lock(&carp_rs_mtx);
		error = carp_rs_addr_attach(cif->vc->engine, carp_rs_now(),
		    cif->index, (uint8_t)vhid, af, addr, &id);
		carp_rs_run_locked();
		mtx_unlock(&carp_rs_mtx);
		if (error == 0)
			(void)carp_rs_addr_link(cif, ifa, id, (uint8_t)vhid,
			    af, addr, false);
		else if ((af == CARP_RS_AF_INET ? cif->naddrs4 :
		    cif->naddrs6) == 0)
			carp_rs_mcast_leave(cif, af);
	}
	carp_rs_refresh_parent(cif);
	carp_rs_config_end();
	return (error);
}

/*
 * ifa_carp is read only under the sx lock: teardown (unload) may unlink
 * the record at any time before.  Not refused when dying: the stack
 * removes the address either way, and the record must go with it.
 */
static void
carp_rs_detach(struct ifaddr *ifa, bool keep_cif)
{
	struct carp_rs_addr *ra;
	struct carp_rs_if *cif;
	int destroyed = 0;

	sx_xlock(&carp_rs_sx);
	ra = CARP_RS_ADDR(ifa);
	if (ra == NULL) {
		/* Unlinked by teardown meanwhile. */
		sx_xunlock(&carp_rs_sx);
		return;
	}
	if (ra->legacy) {
		sx_xunlock(&carp_rs_sx);
		carp_rs_clone_detach(ifa);
		return;
	}
	carp_rs_apply_begin();
	cif = ra->cif;
	mtx_lock(&carp_rs_mtx);
	(void)carp_rs_addr_detach(cif->vc->engine, carp_rs_now(), ra->id,
	    ra->af, ra->addr, keep_cif, &destroyed);
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	/* A bow-out advert leaves while the multicast options exist. */
	carp_rs_apply_flush();
	carp_rs_addr_unlink(ra);
	if (!keep_cif)
		carp_rs_if_put(cif);
	else
		carp_rs_refresh_parent(cif);
	carp_rs_apply_end();
	sx_xunlock(&carp_rs_sx);
}

/* The counted hooks: nothing of ours runs before carp_rs_enter(). */
static int
carp_rs_hook_attach(struct ifaddr *ifa, int vhid)
{
	int error;

	error = carp_rs_enter() ? carp_rs_attach(ifa, vhid) : ENOPROTOOPT;
	carp_rs_exit();
	return (error);
}

static void
carp_rs_hook_detach(struct ifaddr *ifa, bool keep_cif)
{

	(void)carp_rs_enter();
	carp_rs_detach(ifa, keep_cif);
	carp_rs_exit();
}

/*
 * Hooks called from other subsystems' contexts only record and enqueue
 * (as carp_demote_adj() does upstream): pfsync calls carp_demote_adj_p
 * holding PFSYNC_LOCK, which its own output path takes again, so nothing
 * may be sent from there.  The VNET's task applies what was recorded.
 * Both are called in the VNET concerned (pfsync's, do_link_state_change's
 * CURVNET_SET), so a jail's demotion never reaches the host's engine.
 */
static eventhandler_tag carp_rs_departure_tag;
static void	carp_rs_ifdeparture(void *, struct ifnet *);

void
carp_rs_hook_task(void *arg, int pending __unused)
{
	struct carp_rs_vnet *vc = arg;
	struct carp_rs_if *cif;
	u_int r;
	int adj;

	CURVNET_SET(vc->vnet);
	mtx_lock(&carp_rs_mtx);
	for (r = 0; r < CARP_RS_DEMOTE_REASONS; r++)
		if ((adj = (int)atomic_readandclear_int(
		    &vc->demote_acc[r])) != 0)
			(void)carp_rs_demote_adj_id(vc->engine,
			    carp_rs_now(), adj, r);
	/* Link state is idempotent in the engine: every parent is re-read. */
	if (atomic_readandclear_int(&vc->link_dirty) != 0)
		LIST_FOREACH(cif, &carp_rs_ifs, link)
			if (cif->vc == vc)
				carp_rs_link_state(vc->engine, carp_rs_now(),
				    cif->index, carp_rs_if_up(cif->ifp));
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_process();
	CURVNET_RESTORE();
}

static void
carp_rs_hook_linkstate(struct ifnet *ifp __unused)
{
	struct carp_rs_vnet *vc;

	if (carp_rs_enter() && (vc = V_carp_rs_vnet) != NULL) {
		atomic_store_rel_int(&vc->link_dirty, 1);
		taskqueue_enqueue(taskqueue_swi, &vc->task);
	}
	carp_rs_exit();
}

/*
 * pfsync's demotion: added to net.inet.carp.demotion and logged with the
 * caller's reason (carp_demote_adj).  A reason is a short literal; at most
 * 64 bytes of it are looked at, here, since it may not outlive the call.
 */
static void
carp_rs_hook_demote_adj(int adj, char *reason)
{
	struct carp_rs_vnet *vc;
	u_int r;

	if (carp_rs_enter() && (vc = V_carp_rs_vnet) != NULL) {
		r = carp_rs_demote_reason_id((const uint8_t *)reason,
		    reason != NULL ? strnlen(reason, 64) : 0);
		if (r >= CARP_RS_DEMOTE_REASONS)
			r = CARP_RS_DEMOTE_REASONS - 1;
		atomic_add_int(&vc->demote_acc[r], (u_int)adj);
		taskqueue_enqueue(taskqueue_swi, &vc->task);
	}
	carp_rs_exit();
}

static int
carp_rs_hook_master(struct ifaddr *ifa)
{
	struct carp_rs_addr *ra = CARP_RS_ADDR(ifa);
	int m;

	if (ra == NULL)
		return (0);
	mtx_lock(&carp_rs_mtx);
	m = carp_rs_is_master(ra->cif->vc->engine, ra->parent, ra->vhid);
	mtx_unlock(&carp_rs_mtx);
	return (m);
}

static int
carp_rs_hook_forus(struct ifnet *ifp, u_char *dhost)
{
	struct carp_rs_if *cif = CARP_RS_CIF(ifp);
	int r;

	if (dhost[0] || dhost[1] || dhost[2] != 0x5e || dhost[3] ||
	    dhost[4] != 1 || cif == NULL)
		return (0);
	mtx_lock(&carp_rs_mtx);
	r = carp_rs_forus(cif->vc->engine, cif->index, dhost);
	mtx_unlock(&carp_rs_mtx);
	return (r);
}

/*
 * Rewrites the Ethernet source of frames we tagged (adverts, NA) to the
 * virtual MAC.  The tag holds the vhid, never a pointer.
 */
static int
carp_rs_hook_output(struct ifnet *ifp, struct mbuf *m, const struct sockaddr *sa)
{
	struct ether_header *eh;
	struct m_tag *mtag;
	int vhid;

	if (sa == NULL)
		return (0);
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return (0);
	mtag = m_tag_find(m, PACKET_TAG_CARP, NULL);
	if (mtag == NULL)
		return (0);
	bcopy(mtag + 1, &vhid, sizeof(vhid));
	switch (ifp->if_type) {
	case IFT_ETHER:
	case IFT_BRIDGE:
	case IFT_L2VLAN:
		eh = mtod(m, struct ether_header *);
		memcpy(eh->ether_shost, "\0\0\x5e\0\x01", 5);
		eh->ether_shost[5] = vhid;
		return (0);
	default:
		printf("%s: carp is not supported for the %d interface type\n",
		    if_name(ifp), ifp->if_type);
		return (EOPNOTSUPP);
	}
}

static int
carp_rs_hook_get_vhid(struct ifaddr *ifa)
{
	struct carp_rs_addr *ra;

	if (ifa == NULL || (ra = CARP_RS_ADDR(ifa)) == NULL)
		return (0);
	return (ra->vhid);
}

#ifdef INET
static int
carp_rs_hook_iamatch(struct ifaddr *ifa, uint8_t **enaddr)
{
	struct carp_rs_addr *ra = CARP_RS_ADDR(ifa);

	if (ra == NULL || !carp_rs_hook_master(ifa))
		return (0);
	*enaddr = ra->vmac;
	return (1);
}
#endif

#ifdef INET6
/* The IPv6 address taddr of ifp, or NULL.  Net epoch. */
static struct ifaddr *
carp_rs_ifa6(struct ifnet *ifp, const struct in6_addr *taddr)
{
	struct ifaddr *ifa;

	NET_EPOCH_ASSERT();
	CK_STAILQ_FOREACH(ifa, &ifp->if_addrhead, ifa_link)
		if (ifa->ifa_addr->sa_family == AF_INET6 &&
		    IN6_ARE_ADDR_EQUAL(taddr, IFA_IN6(ifa)))
			return (ifa);
	return (NULL);
}

static struct ifaddr *
carp_rs_hook_iamatch6(struct ifnet *ifp, struct in6_addr *taddr)
{
	struct ifaddr *ifa;

	ifa = carp_rs_ifa6(ifp, taddr);
	if (ifa == NULL || (ifa->ifa_carp != NULL &&
	    !carp_rs_hook_master(ifa)))
		return (NULL);
	ifa_ref(ifa);
	return (ifa);
}

static char *
carp_rs_hook_macmatch6(struct ifnet *ifp, struct mbuf *m,
    const struct in6_addr *taddr)
{
	struct carp_rs_addr *ra;
	struct ifaddr *ifa;
	struct m_tag *mtag;
	int vhid;

	if ((ifa = carp_rs_ifa6(ifp, taddr)) == NULL ||
	    (ra = CARP_RS_ADDR(ifa)) == NULL)
		return (NULL);
	mtag = m_tag_get(PACKET_TAG_CARP, sizeof(int) + ETHER_ADDR_LEN,
	    M_NOWAIT);
	if (mtag == NULL) {
		mtx_lock(&carp_rs_mtx);
		carp_rs_count(ra->cif->vc->engine, 1);
		mtx_unlock(&carp_rs_mtx);
		return (NULL);
	}
	/* carp_output expects the vhid first, then the MAC. */
	vhid = ra->vhid;
	bcopy(&vhid, mtag + 1, sizeof(vhid));
	bcopy(ra->vmac, (char *)(mtag + 1) + sizeof(vhid), ETHER_ADDR_LEN);
	m_tag_prepend(m, mtag);
	return ((char *)(mtag + 1) + sizeof(vhid));
}
#endif

/* ---- SIOCSVH / SIOCGVH. */

static int
carp_rs_ioctl(struct ifreq *ifr, u_long cmd, struct thread *td)
{
	struct carp_rs_ifinfo ii, *iip;
	struct carp_rs_legacy_out lout;
	struct carp_rs_setres res;
	struct carpreq carpr;
	struct ifnet *ifp;
	uint8_t *out;
	size_t used;
	int error, priv;

	if ((error = copyin(ifr_data_get_ptr(ifr), &carpr, sizeof(carpr))))
		return (error);
	ifp = ifunit_ref(ifr->ifr_name);
	iip = NULL;
	if (ifp != NULL) {
		carp_rs_ifinfo(ifp, &ii);
		iip = &ii;
	}
	switch (cmd) {
	case SIOCSVH:
		priv = priv_check(td, PRIV_NETINET_CARP) == 0;
		if ((error = carp_rs_config_begin()) != 0)
			break;
		mtx_lock(&carp_rs_mtx);
		error = carp_rs_ioctl_set(V_carp_rs_engine, carp_rs_now(), iip,
		    (const uint8_t *)&carpr, sizeof(carpr), priv, &res, &lout);
		carp_rs_run_locked();
		mtx_unlock(&carp_rs_mtx);
		if (error == 0 && res.created)
			(void)carp_rs_if_get(ifp);
		if (error == 0 && lout.vip)
			carp_rs_clone_outcome(ifp, &lout);
		carp_rs_config_end();
		break;
	case SIOCGVH:
		priv = priv_check_cred(td->td_ucred, PRIV_NETINET_CARP) == 0;
		out = malloc(CARP_MAXVHID * sizeof(carpr), M_CARP_RS,
		    M_WAITOK | M_ZERO);
		used = 0;
		sx_xlock(&carp_rs_sx);
		if (carp_rs_dying != 0 || V_carp_rs_vnet == NULL) {
			sx_xunlock(&carp_rs_sx);
			free(out, M_CARP_RS);
			error = ENXIO;
			break;
		}
		mtx_lock(&carp_rs_mtx);
		error = carp_rs_ioctl_get(V_carp_rs_engine, iip,
		    (const uint8_t *)&carpr, sizeof(carpr), priv, out,
		    CARP_MAXVHID * sizeof(carpr), &used);
		mtx_unlock(&carp_rs_mtx);
		sx_xunlock(&carp_rs_sx);
		if (error == 0)
			error = copyout(out, ifr_data_get_ptr(ifr), used);
		free(out, M_CARP_RS);
		break;
	default:
		error = EINVAL;
	}
	if (ifp != NULL)
		if_rele(ifp);
	return (error);
}

static int
carp_rs_hook_ioctl(struct ifreq *ifr, u_long cmd, struct thread *td)
{
	int error;

	error = carp_rs_enter() ? carp_rs_ioctl(ifr, cmd, td) : ENXIO;
	carp_rs_exit();
	return (error);
}

/* ---- Registration and teardown. */

/*
 * Every carp(4) hook pointer of the stack with ours (X-macro): installed
 * only when all are free (another carp owns them otherwise), cleared at
 * unload before the grace periods of carp_rs_unload().
 */
#ifdef INET
#define	CARP_RS_HOOKS4(X)	X(carp_iamatch_p, carp_rs_hook_iamatch)
#else
#define	CARP_RS_HOOKS4(X)
#endif
#ifdef INET6
#define	CARP_RS_HOOKS6(X)	X(carp_iamatch6_p, carp_rs_hook_iamatch6) \
				X(carp_macmatch6_p, carp_rs_hook_macmatch6)
#else
#define	CARP_RS_HOOKS6(X)
#endif
#define	CARP_RS_HOOKS(X)						\
	X(carp_ioctl_p, carp_rs_hook_ioctl)				\
	X(carp_attach_p, carp_rs_hook_attach)				\
	X(carp_detach_p, carp_rs_hook_detach)				\
	X(carp_linkstate_p, carp_rs_hook_linkstate)			\
	X(carp_demote_adj_p, carp_rs_hook_demote_adj)			\
	X(carp_master_p, carp_rs_hook_master)				\
	X(carp_forus_p, carp_rs_hook_forus)				\
	X(carp_output_p, carp_rs_hook_output)				\
	X(carp_get_vhid_p, carp_rs_hook_get_vhid)			\
	CARP_RS_HOOKS4(X) CARP_RS_HOOKS6(X)
#define	CARP_RS_HOOK_BUSY(p, f)		|| (p) != NULL
#define	CARP_RS_HOOK_SET(p, f)		(p) = (f);
#define	CARP_RS_HOOK_CLEAR(p, f)	(p) = NULL;

int
carp_rs_hooks_init(void)
{

	if (false CARP_RS_HOOKS(CARP_RS_HOOK_BUSY))
		return (EEXIST);
	carp_rs_departure_tag = EVENTHANDLER_REGISTER(ifnet_departure_event,
	    carp_rs_ifdeparture, NULL, EVENTHANDLER_PRI_ANY);
	CARP_RS_HOOKS(CARP_RS_HOOK_SET)
	return (0);
}

void
carp_rs_hooks_fini(void)
{

	if (carp_rs_departure_tag != NULL)
		EVENTHANDLER_DEREGISTER(ifnet_departure_event,
		    carp_rs_departure_tag);
	carp_rs_departure_tag = NULL;
	CARP_RS_HOOKS(CARP_RS_HOOK_CLEAR)
}

/*
 * ifnet_departure_event (if_detach, after if_purgeaddrs): the vhids of the
 * departing parent go too, addresses or not, and its record with its
 * if_ref, so that nothing lingers and a reused index inherits nothing.
 * A parent with carpN bound to it keeps them: carpN's vhid follows its
 * addresses (destroying carpN or its address releases it).
 */
static void
carp_rs_ifdeparture(void *arg __unused, struct ifnet *ifp)
{
	struct carp_rs_if *cif;
	struct carp_rs_addr *ra;

	if (!carp_rs_enter()) {
		carp_rs_exit();
		return;
	}
	sx_xlock(&carp_rs_sx);
	if (carp_rs_dying != 0 || (cif = CARP_RS_CIF(ifp)) == NULL ||
	    cif->nlegacy > 0) {
		sx_xunlock(&carp_rs_sx);
		carp_rs_exit();
		return;
	}
	carp_rs_apply_begin();
	mtx_lock(&carp_rs_mtx);
	(void)carp_rs_iface_depart(cif->vc->engine, carp_rs_now(),
	    cif->index);
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_apply_flush();
	for (;;) {
		mtx_lock(&carp_rs_mtx);
		ra = TAILQ_FIRST(&cif->addrs);
		mtx_unlock(&carp_rs_mtx);
		if (ra == NULL)
			break;
		carp_rs_addr_unlink(ra);
	}
	carp_rs_if_drop(cif);
	carp_rs_apply_end();
	sx_xunlock(&carp_rs_sx);
	carp_rs_exit();
}

/* A VIP to take away after teardown (without our locks: in.c's come first). */
struct carp_rs_gone {
	struct ifnet	*ifp;		/* referenced */
	uint8_t		af;
	uint8_t		addr[16];
};

/*
 * Removes one VIP from its interface, as "ifconfig IF ADDR -alias" would
 * (in_control_ioctl/in6_control_ioctl, no credential: the kernel's own
 * request), and logs it.  Its record is already gone, so the stack does
 * not call back into us.
 */
static void
carp_rs_remove_vip(const struct carp_rs_gone *g)
{
	char line[96];
	const char *name;
	int error = EAFNOSUPPORT;

	CURVNET_SET(g->ifp->if_vnet);
#ifdef INET
	if (g->af == CARP_RS_AF_INET) {
		struct ifreq ifr;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

		memset(&ifr, 0, sizeof(ifr));
		strlcpy(ifr.ifr_name, if_name(g->ifp), sizeof(ifr.ifr_name));
		sin->sin_len = sizeof(*sin);
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, g->addr, 4);
		error = in_control_ioctl(SIOCDIFADDR, &ifr, g->ifp, NULL);
	}
#endif
#ifdef INET6
	if (g->af == CARP_RS_AF_INET6) {
		struct in6_ifreq ifr6;

		memset(&ifr6, 0, sizeof(ifr6));
		strlcpy(ifr6.ifr_name, if_name(g->ifp), sizeof(ifr6.ifr_name));
		ifr6.ifr_addr.sin6_len = sizeof(ifr6.ifr_addr);
		ifr6.ifr_addr.sin6_family = AF_INET6;
		memcpy(&ifr6.ifr_addr.sin6_addr, g->addr, 16);
		error = in6_control_ioctl(SIOCDIFADDR_IN6, &ifr6, g->ifp, NULL);
	}
#endif
	CURVNET_RESTORE();
	name = if_name(g->ifp);
	if (carp_rs_log_addr_removed(g->af, g->addr, (const uint8_t *)name,
	    strnlen(name, IFNAMSIZ), (uint8_t *)line, sizeof(line)) > 0) {
		if (error == 0)
			carp_rs_log(LOG_INFO, "%s\n", line);
		else
			carp_rs_log(LOG_WARNING, "%s (error %d)\n", line,
			    error);
	}
}

/*
 * Module unload with live vhids (only == NULL: every VNET), or one VNET
 * destroyed: every vhid is removed from the engine (a MASTER queues its
 * bow-out advert, sent here), every address record is unlinked and every
 * parent record dropped; then every VIP goes from its interface, so that
 * no host answers for it without CARP (stock carp(4) refuses to unload
 * instead).  A destroyed VNET's state is unlinked under the same sx hold,
 * so no request can configure it in between; at unload the dying flag
 * does that.
 */
void
carp_rs_teardown(struct carp_rs_vnet *only)
{
	struct carp_rs_gone *gone;
	struct carp_rs_vnet *vc;
	struct carp_rs_if *cif, *next;
	struct carp_rs_addr *ra;
	uint64_t ids[16];
	size_t n, i, ngone, maxgone;

	sx_xlock(&carp_rs_sx);
	carp_rs_apply_begin();
	LIST_FOREACH(vc, &carp_rs_vnets, link) {
		if (only != NULL && vc != only)
			continue;
		CURVNET_SET(vc->vnet);
		do {
			mtx_lock(&carp_rs_mtx);
			n = carp_rs_vhid_list(vc->engine, ids, nitems(ids));
			for (i = 0; i < MIN(n, nitems(ids)); i++)
				(void)carp_rs_vhid_remove(vc->engine,
				    carp_rs_now(), ids[i]);
			carp_rs_run_locked();
			mtx_unlock(&carp_rs_mtx);
			carp_rs_apply_flush();
		} while (n > nitems(ids));
		CURVNET_RESTORE();
	}
	/* Only this thread changes the records now (sx, token). */
	maxgone = 0;
	mtx_lock(&carp_rs_mtx);
	LIST_FOREACH(cif, &carp_rs_ifs, link)
		maxgone += cif->naddrs4 + cif->naddrs6;
	mtx_unlock(&carp_rs_mtx);
	gone = malloc(sizeof(*gone) * MAX(maxgone, 1), M_CARP_RS,
	    M_WAITOK | M_ZERO);
	ngone = 0;
	for (cif = LIST_FIRST(&carp_rs_ifs); cif != NULL; cif = next) {
		next = LIST_NEXT(cif, link);
		if (only != NULL && cif->vc != only)
			continue;
		while ((ra = TAILQ_FIRST(&cif->addrs)) != NULL) {
			/* carpN's addresses went with carpN (cloner gone). */
			if (!ra->legacy && ngone < maxgone) {
				if_ref(ra->ifa->ifa_ifp);
				gone[ngone].ifp = ra->ifa->ifa_ifp;
				gone[ngone].af = ra->af;
				memcpy(gone[ngone].addr, ra->addr,
				    sizeof(ra->addr));
				ngone++;
			}
			carp_rs_addr_unlink(ra);
		}
		carp_rs_if_drop(cif);
	}
	if (only != NULL) {
		mtx_lock(&carp_rs_mtx);
		LIST_REMOVE(only, link);
		V_carp_rs_vnet = NULL;
		callout_stop(&only->callout);
		mtx_unlock(&carp_rs_mtx);
	}
	carp_rs_apply_end();
	sx_xunlock(&carp_rs_sx);
	for (i = 0; i < ngone; i++) {
		carp_rs_remove_vip(&gone[i]);
		if_rele(gone[i].ifp);
	}
	free(gone, M_CARP_RS);
}
