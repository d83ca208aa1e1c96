/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the records the kernel sees, and their life cycle.  A parent
 * record (ifp->if_carp) makes the stack call our hooks for an interface
 * carrying vhids: it holds the interface promiscuous, the CARP multicast
 * groups joined and the options adverts leave with.  An address record
 * (ifa->ifa_carp) marks a vhid address.  Records come and go with
 * configuration (sx held, applier token held), with a departing
 * interface, and at teardown (unload, VNET destruction), which also
 * removes every VIP from its interface.  Each record belongs to the VNET
 * of its interface and talks to that VNET's engine; what the engine says
 * to install or remove for an address is applied by carp_rs_apply.c.
 */

#include "carp_rs_var.h"

#include <sys/sockio.h>
#include <sys/syslog.h>

/*
 * Every configuration request (ioctl, netlink, address attach, carpN
 * create and ioctl) starts here: the sx lock, then the dying flag and
 * curvnet's state are checked under it (teardown runs under the same
 * lock, so nothing configured after teardown can survive it), then the
 * applier token.  The end applies what the request queued, in order.
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

void
carp_rs_config_end(void)
{

	carp_rs_apply(CARP_RS_APPLY_END);
	sx_xunlock(&carp_rs_sx);
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
	cif->promisc = error == 0;
	mtx_lock(&carp_rs_mtx);
	LIST_INSERT_HEAD(&carp_rs_ifs, cif, link);
	mtx_unlock(&carp_rs_mtx);
	IF_ADDR_WLOCK(ifp);
	ifp->if_carp = (struct carp_if *)(void *)cif;
	IF_ADDR_WUNLOCK(ifp);
	carp_rs_refresh_parent(cif);
	return (cif);
}

static void
carp_rs_if_free(epoch_context_t ctx)
{

	free(__containerof(ctx, struct carp_rs_if, epoch_ctx), M_CARP_RS);
}

/* Drops the parent record (its addresses already unlinked).  sx held. */
static void
carp_rs_if_drop(struct carp_rs_if *cif)
{
	struct ifnet *ifp = cif->ifp;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	mtx_lock(&carp_rs_mtx);
	LIST_REMOVE(cif, link);
	mtx_unlock(&carp_rs_mtx);
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
 * Drops the parent record once nothing uses it: no vhid in the engine, no
 * address record (a carpN's included).  sx held.
 */
void
carp_rs_if_put(struct carp_rs_if *cif)
{
	bool busy;

	mtx_lock(&carp_rs_mtx);
	busy = !TAILQ_EMPTY(&cif->addrs) ||
	    carp_rs_iface_vhids(cif->vc->engine, cif->index) > 0;
	mtx_unlock(&carp_rs_mtx);
	if (!busy)
		carp_rs_if_drop(cif);
}

/*
 * Joins 224.0.0.18 (IPv4) or ff02::12 and its solicited-node group
 * (IPv6) on the parent, once per family, and sets up the multicast
 * options adverts leave with (TTL/hop limit 255, no loopback), as
 * carp_multicast_setup() and carp_multicast6_setup() do.  sx held.
 */
int
carp_rs_mcast_join(struct carp_rs_if *cif, uint8_t af)
{
	static const struct in6_addr grp6 = {{{ 0xff, 0x02, [15] = 0x12 }}};
	static const struct in6_addr sol6 = {{{ 0xff, 0x02, [11] = 0x01,
	    [12] = 0xff }}};
	struct ifnet *ifp = cif->ifp;
	struct in6_addr grp;
	struct in_addr grp4;
	int error;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	if (af == CARP_RS_AF_INET) {
		if (cif->inm != NULL)
			return (0);
		grp4.s_addr = htonl(INADDR_CARP_GROUP);
		if ((error = in_joingroup(ifp, &grp4, NULL, &cif->inm)) != 0) {
			cif->inm = NULL;
			return (error);
		}
		ip_mfilter_init(&cif->imo.imo_head);
		cif->imo.imo_multicast_vif = -1;
		cif->imo.imo_multicast_ifp = ifp;
		cif->imo.imo_multicast_ttl = CARP_DFLTTL;
		cif->imo.imo_multicast_loop = 0;
		return (0);
	}
	if (cif->in6m != NULL)
		return (0);
	grp = grp6;
	if ((error = in6_setscope(&grp, ifp, NULL)) != 0 ||
	    (error = in6_joingroup(ifp, &grp, NULL, &cif->in6m, 0)) != 0) {
		cif->in6m = NULL;
		return (error);
	}
	grp = sol6;
	if ((error = in6_setscope(&grp, ifp, NULL)) != 0 ||
	    (error = in6_joingroup(ifp, &grp, NULL, &cif->in6m_sol, 0)) != 0) {
		cif->in6m_sol = NULL;
		(void)in6_leavegroup(cif->in6m, NULL);
		cif->in6m = NULL;
		return (error);
	}
	ip6_mfilter_init(&cif->im6o.im6o_head);
	cif->im6o.im6o_multicast_ifp = ifp;
	cif->im6o.im6o_multicast_hlim = CARP_DFLTTL;
	cif->im6o.im6o_multicast_loop = 0;
	return (0);
}

/* Leaves the family's groups.  sx held. */
void
carp_rs_mcast_leave(struct carp_rs_if *cif, uint8_t af)
{

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	if (af == CARP_RS_AF_INET && cif->inm != NULL) {
		(void)in_leavegroup(cif->inm, NULL);
		cif->inm = NULL;
		cif->imo.imo_multicast_ifp = NULL;
	}
	if (af == CARP_RS_AF_INET6 && cif->in6m != NULL) {
		(void)in6_leavegroup(cif->in6m, NULL);
		cif->in6m = NULL;
		if (cif->in6m_sol != NULL)
			(void)in6_leavegroup(cif->in6m_sol, NULL);
		cif->in6m_sol = NULL;
		cif->im6o.im6o_multicast_ifp = NULL;
	}
}

/*
 * Tells the engine the parent's link state (up and running, as
 * carp_linkstate() reads it).  Mutex held.
 */
void
carp_rs_link_locked(struct carp_rs_if *cif)
{
	struct ifnet *ifp = cif->ifp;

	carp_rs_link_state(cif->vc->engine, carp_rs_now(), cif->index,
	    (if_getflags(ifp) & IFF_UP) != 0 &&
	    ifp->if_link_state == LINK_STATE_UP);
}

/*
 * Tells the engine the parent's link state and its own best addresses
 * (carp_rs_best_addrs()), before any advert asks for them.
 */
void
carp_rs_refresh_parent(struct carp_rs_if *cif)
{
	struct epoch_tracker et;
	uint8_t v4[4], v6[16];
	int got;

	NET_EPOCH_ENTER(et);
	got = carp_rs_best_addrs(cif->ifp, v4, v6);
	NET_EPOCH_EXIT(et);
	CARP_RS_CALL((void)carp_rs_iface_addrs(cif->vc->engine, cif->index,
	    (got & CARP_RS_SRC_V4) != 0 ? v4 : NULL,
	    (got & CARP_RS_SRC_V6) != 0 ? v6 : NULL);
	    carp_rs_link_locked(cif));
}

/*
 * Links a record for ifa (vhid `id` on parent cif) and marks the ifa.
 * sx held; the engine already has the address.
 */
void
carp_rs_addr_link(struct carp_rs_if *cif, struct ifaddr *ifa, uint64_t id,
    uint8_t vhid, uint8_t af, const uint8_t *addr, bool legacy)
{
	struct carp_rs_addr *ra;

	ra = malloc(sizeof(*ra), M_CARP_RS, M_WAITOK | M_ZERO);
	ra->cif = cif;
	ra->id = id;
	ra->vhid = vhid;
	ra->af = af;
	ra->legacy = legacy;
	memcpy(ra->addr, addr, af == CARP_RS_AF_INET ? 4 : 16);
	memcpy(ra->vmac, "\0\0\x5e\0\x01", 5);
	ra->vmac[5] = vhid;
	ifa_ref(ifa);
	ra->ifa = ifa;
	mtx_lock(&carp_rs_mtx);
	TAILQ_INSERT_TAIL(&cif->addrs, ra, link);
	cif->naddrs[CARP_RS_FAM(af)]++;
	ifa->ifa_carp = (struct carp_softc *)(void *)ra;
	if (carp_rs_route_track(cif->vc->engine, cif->index, af, addr,
	    legacy) != 0)
		carp_rs_count(cif->vc->engine, 1);
	mtx_unlock(&carp_rs_mtx);
}

static void
carp_rs_addr_free(epoch_context_t ctx)
{

	free(__containerof(ctx, struct carp_rs_addr, epoch_ctx), M_CARP_RS);
}

/*
 * Unlinks ra: MASTER routes go, the ifa is a plain address again, the
 * family's groups are left with its last address.  sx and the applier
 * token held; the engine has already dropped the address and says what
 * of it is installed.
 */
static void
carp_rs_addr_unlink(struct carp_rs_addr *ra)
{
	struct carp_rs_if *cif = ra->cif;
	struct ifaddr *ifa = ra->ifa;
	struct carp_rs_cmd cmd;
	int left, del;

	mtx_lock(&carp_rs_mtx);
	TAILQ_REMOVE(&cif->addrs, ra, link);
	left = --cif->naddrs[CARP_RS_FAM(ra->af)];
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

/*
 * Applies a carpN outcome to its address records: a bound vhid gives
 * them its handle (a vhid that went away, none) and number.  sx held.
 */
void
carp_rs_addrs_rebind(struct ifnet *cifp, const struct carp_rs_legacy_out *out)
{
	struct epoch_tracker et;
	struct carp_rs_addr *ra;
	struct ifaddr *ifa;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	NET_EPOCH_ENTER(et);
	mtx_lock(&carp_rs_mtx);
	CK_STAILQ_FOREACH(ifa, &cifp->if_addrhead, ifa_link) {
		if ((ra = CARP_RS_ADDR(ifa)) == NULL)
			continue;
		ra->id = out->has_id ? out->id : 0;
		if (out->vhid != 0)
			ra->vhid = ra->vmac[5] = out->vhid;
	}
	mtx_unlock(&carp_rs_mtx);
	NET_EPOCH_EXIT(et);
}

/*
 * After a SET (SIOCSVH or netlink) that succeeded: a vhid new on a
 * parent gets the parent record, a carpN's outcome goes to its records.
 */
void
carp_rs_set_done(struct ifnet *ifp, int error,
    const struct carp_rs_setres *res, const struct carp_rs_legacy_out *out)
{

	if (error == 0 && res->created)
		(void)carp_rs_if_get(ifp);
	if (error == 0 && out->vip)
		carp_rs_addrs_rebind(ifp, out);
}

/*
 * An address with a vhid on a parent (carp_attach): the engine takes it,
 * the family's groups are joined (undone if it refuses), the record is
 * linked.  The parent record exists since SIOCSVH created the vhid.
 */
int
carp_rs_attach(struct ifaddr *ifa, int vhid)
{
	struct ifnet *ifp = ifa->ifa_ifp;
	struct carp_rs_if *cif;
	uint8_t addr[16], af;
	uint64_t id;
	int error;

	af = carp_rs_ifa_af(ifa, addr);
	if (carp_rs_config_begin() != 0)
		return (ENOPROTOOPT);
	if ((cif = CARP_RS_CIF(ifp)) == NULL) {
		carp_rs_config_end();
		return (ENOPROTOOPT);
	}
	if ((error = carp_rs_mcast_join(cif, af)) == 0) {
		CARP_RS_CALL(error = carp_rs_addr_attach(cif->vc->engine,
		    carp_rs_now(), cif->index, (uint8_t)vhid, af, addr, &id));
		if (error == 0)
			carp_rs_addr_link(cif, ifa, id, (uint8_t)vhid, af, addr,
			    false);
		else if (cif->naddrs[CARP_RS_FAM(af)] == 0)
			carp_rs_mcast_leave(cif, af);
	}
	carp_rs_refresh_parent(cif);
	carp_rs_config_end();
	return (error);
}

/*
 * A vhid address goes (carp_detach), on a parent or a carpN.  ifa_carp is
 * read only under the sx lock: teardown may have unlinked it before.  Not
 * refused when dying: the stack removes the address either way, and the
 * record must go with it.  A vhid that went with its last address queued
 * a bow-out advert (if MASTER) and events naming the parent: they go
 * while the parent record, its multicast options and the address record
 * still exist.
 */
void
carp_rs_detach(struct ifaddr *ifa, bool keep_cif)
{
	struct carp_rs_legacy_out out;
	struct carp_rs_addr *ra;
	struct carp_rs_if *cif;
	struct carp_rs_engine *eng;
	bool legacy;
	int destroyed;

	sx_xlock(&carp_rs_sx);
	if ((ra = CARP_RS_ADDR(ifa)) == NULL) {
		sx_xunlock(&carp_rs_sx);
		return;
	}
	carp_rs_apply_begin();
	cif = ra->cif;
	eng = cif->vc->engine;
	legacy = ra->legacy;
	memset(&out, 0, sizeof(out));
	CARP_RS_CALL(legacy ?
	    (void)carp_rs_clone_remove_addr(eng, carp_rs_now(),
	    if_getindex(ifa->ifa_ifp), ra->af, ra->addr, &out) :
	    (void)carp_rs_addr_detach(eng, carp_rs_now(), ra->id, ra->af,
	    ra->addr, keep_cif, &destroyed));
	carp_rs_apply(CARP_RS_APPLY_FLUSH);
	carp_rs_addr_unlink(ra);
	if (legacy)
		carp_rs_addrs_rebind(ifa->ifa_ifp, &out);
	if (legacy || !keep_cif)
		carp_rs_if_put(cif);
	else
		carp_rs_refresh_parent(cif);
	carp_rs_config_end();
}

/* A VIP to take away after teardown (without our locks: in.c's first). */
struct carp_rs_gone {
	struct ifnet	*ifp;		/* referenced */
	uint8_t		af;
	uint8_t		addr[16];
};

/*
 * Unlinks every address record of cif, noting the VIPs of the parent
 * (carpN's addresses went with carpN) into gone when it is given, and
 * drops cif.  sx and the applier token held.
 */
static void
carp_rs_if_clear(struct carp_rs_if *cif, struct carp_rs_gone *gone,
    size_t *ngone, size_t maxgone)
{
	struct carp_rs_addr *ra;
	struct carp_rs_gone *g;

	for (;;) {
		mtx_lock(&carp_rs_mtx);
		ra = TAILQ_FIRST(&cif->addrs);
		mtx_unlock(&carp_rs_mtx);
		if (ra == NULL)
			break;
		if (gone != NULL && !ra->legacy && *ngone < maxgone) {
			g = &gone[(*ngone)++];
			g->ifp = ra->ifa->ifa_ifp;
			if_ref(g->ifp);
			g->af = ra->af;
			memcpy(g->addr, ra->addr, sizeof(ra->addr));
		}
		carp_rs_addr_unlink(ra);
	}
	carp_rs_if_drop(cif);
}

/*
 * ifnet_departure_event (if_detach_internal): the vhids of the departing
 * parent go too, addresses or not, and so do the carpN bound to it (their
 * addresses stay on carpN as plain ones: the engine unbinds them as
 * FreeBSD 9's carpdetach() did), and the parent record with its if_ref, so
 * that nothing lingers and a reused index inherits nothing.  Except when
 * its VNET shuts down, the stack has already released every multicast
 * membership of the parent (in_ifdetach, in6_ifdetach): ours are
 * forgotten, not left again.  A carpN's memberships are the ones still
 * held here, as no address of the parent keeps them.  Not refused while
 * unloading: the interface goes either way, and unload's destruction of
 * carpN would otherwise leave them again.
 */
void
carp_rs_ifdeparture(void *arg __unused, struct ifnet *ifp)
{
	struct carp_rs_if *cif;

	(void)carp_rs_enter();	/* not refused when dying, as detach */
	/* if_rename() raises the event too: the interface stays. */
	if ((ifp->if_flags & IFF_RENAMING) != 0)
		goto out;
	sx_xlock(&carp_rs_sx);
	if ((cif = CARP_RS_CIF(ifp)) == NULL) {
		sx_xunlock(&carp_rs_sx);
		goto out;
	}
	carp_rs_apply_begin();
	CARP_RS_CALL((void)carp_rs_iface_depart(cif->vc->engine,
	    carp_rs_now(), cif->index));
	carp_rs_apply(CARP_RS_APPLY_FLUSH);
	/* if.c's VNET_IS_SHUTTING_DOWN(), which if_detach_internal() asks. */
	if (!ifp->if_vnet->vnet_shutdown ||
	    ifp->if_vnet->vnet_state >= SI_SUB_VNET_DONE) {
		cif->inm = NULL;
		cif->in6m = cif->in6m_sol = NULL;
		cif->imo.imo_multicast_ifp = NULL;
		cif->im6o.im6o_multicast_ifp = NULL;
	}
	carp_rs_if_clear(cif, NULL, NULL, 0);
	carp_rs_config_end();
out:
	carp_rs_exit();
}

/*
 * Removes one VIP from its interface, as "ifconfig IF ADDR -alias" would
 * (in_control_ioctl/in6_control_ioctl, no credential: the kernel's own
 * request), and logs it.  Its record is already gone, so the stack does
 * not call back into us.
 */
static void
carp_rs_remove_vip(const struct carp_rs_gone *g)
{
	struct in6_ifreq ifr6;
	struct ifreq ifr;
	char line[96];
	const char *name = if_name(g->ifp);
	int error;

	CURVNET_SET(g->ifp->if_vnet);
	if (g->af == CARP_RS_AF_INET) {
		memset(&ifr, 0, sizeof(ifr));
		strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
		ifr.ifr_addr.sa_len = sizeof(struct sockaddr_in);
		ifr.ifr_addr.sa_family = AF_INET;
		memcpy(&satosin(&ifr.ifr_addr)->sin_addr, g->addr, 4);
		error = in_control_ioctl(SIOCDIFADDR, &ifr, g->ifp, NULL);
	} else {
		memset(&ifr6, 0, sizeof(ifr6));
		strlcpy(ifr6.ifr_name, name, sizeof(ifr6.ifr_name));
		ifr6.ifr_addr.sin6_len = sizeof(ifr6.ifr_addr);
		ifr6.ifr_addr.sin6_family = AF_INET6;
		memcpy(&ifr6.ifr_addr.sin6_addr, g->addr, 16);
		error = in6_control_ioctl(SIOCDIFADDR_IN6, &ifr6, g->ifp, NULL);
	}
	CURVNET_RESTORE();
	if (carp_rs_log_addr_removed(g->af, g->addr, (const uint8_t *)name,
	    strnlen(name, IFNAMSIZ), (uint8_t *)line, sizeof(line)) == 0)
		return;
	if (error == 0)
		carp_rs_log(LOG_INFO, "%s\n", line);
	else
		carp_rs_log(LOG_WARNING, "%s (error %d)\n", line, error);
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
			carp_rs_apply(CARP_RS_APPLY_FLUSH);
		} while (n > nitems(ids));
		CURVNET_RESTORE();
	}
	/* Only this thread changes the records now (sx, token). */
	maxgone = 0;
	mtx_lock(&carp_rs_mtx);
	LIST_FOREACH(cif, &carp_rs_ifs, link)
		maxgone += cif->naddrs[0] + cif->naddrs[1];
	mtx_unlock(&carp_rs_mtx);
	gone = malloc(sizeof(*gone) * MAX(maxgone, 1), M_CARP_RS,
	    M_WAITOK | M_ZERO);
	ngone = 0;
	for (cif = LIST_FIRST(&carp_rs_ifs); cif != NULL; cif = next) {
		next = LIST_NEXT(cif, link);
		if (only == NULL || cif->vc == only)
			carp_rs_if_clear(cif, gone, &ngone, maxgone);
	}
	if (only != NULL) {
		mtx_lock(&carp_rs_mtx);
		LIST_REMOVE(only, link);
		V_carp_rs_vnet = NULL;
		callout_stop(&only->callout);
		mtx_unlock(&carp_rs_mtx);
	}
	carp_rs_config_end();
	for (i = 0; i < ngone; i++) {
		carp_rs_remove_vip(&gone[i]);
		if_rele(gone[i].ifp);
	}
	free(gone, M_CARP_RS);
}
