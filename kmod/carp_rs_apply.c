/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the engine's runtime, the bottom layer of the glue.  It owns
 * the locks, the clock, each VNET's callout, the in-flight count that
 * unload waits on, the allocator the Rust side uses, and the one applier:
 * under the mutex the queued adverts become mbufs and the queued events
 * and commands are copied out; with the mutex dropped, inside the net
 * epoch, the adverts go to ip_output/ip6_output (tagged with the vhid so
 * carp_output rewrites the Ethernet source), events become log(9) lines,
 * devctl(4) notifications and carpN link states, and the per-address
 * commands become MASTER routes, published ARP entries and gratuitous
 * ARP / unsolicited NA.  It decides nothing: the engine ordered all of it.
 */

#include "carp_rs_var.h"

#include <sys/devctl.h>
#include <machine/stdarg.h>
#include <net/if_dl.h>
#include <net/if_llatbl.h>
#include <net/if_types.h>
#include <net/route.h>
#include <netinet/ip.h>
#include <netinet/if_ether.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <netinet6/nd6.h>

#ifndef ND6_NA_OPT_LLA
#define	ND6_NA_OPT_LLA		0x01
#endif
#ifndef ND6_NA_CARP_MASTER
#define	ND6_NA_CARP_MASTER	0x02
#endif

MALLOC_DEFINE(M_CARP_RS, "carp_rs", "CARP (carp_rs engine)");

/*
 * The locks live as long as the file, not the module: a sysctl handler
 * may run after a failed MOD_LOAD while the file is still linked.
 */
struct mtx carp_rs_mtx;
struct sx carp_rs_sx;
MTX_SYSINIT(carp_rs_mtx, &carp_rs_mtx, "carp_rs", MTX_DEF);
SX_SYSINIT(carp_rs_sx, &carp_rs_sx, "carp_rs config");
struct carp_rs_if_list carp_rs_ifs = LIST_HEAD_INITIALIZER(carp_rs_ifs);
struct carp_rs_vnet_list carp_rs_vnets = LIST_HEAD_INITIALIZER(carp_rs_vnets);
VNET_DEFINE(struct carp_rs_vnet *, carp_rs_vnet);
bool carp_rs_loaded;
volatile u_int carp_rs_dying;
static volatile u_int carp_rs_inflight;

/*
 * The applier's storage, preallocated: only the token holder touches it,
 * so the input path allocates nothing.  The token (carp_rs_applying,
 * under the mutex) makes one thread at a time apply the engines' queued
 * effects, in the engines' order.  Input, the callout and tasks take it
 * if free and otherwise leave their work queued for the holder, which
 * drains until every queue is empty before it lets go; configuration
 * (which may sleep) waits for it, so that record life cycle and routes
 * never race with the applier.
 */
static uint8_t carp_rs_txbuf[CARP_RS_TXBUF_MIN];
static struct carp_rs_event carp_rs_ev;
static struct carp_rs_cmd carp_rs_cmd;
static bool carp_rs_applying;
static int carp_rs_apply_waiters;

/*
 * Entry points that may sleep (ioctl, netlink, address attach/detach,
 * cloner, link state and demotion hooks, interface departure) count
 * themselves in flight before anything else, so that unload can wait
 * until no thread is inside the module's text; false when unloading (the
 * caller still calls carp_rs_exit()).  Hooks that run inside the net
 * epoch are covered by the NET_EPOCH_WAIT() of unload instead.
 */
bool
carp_rs_enter(void)
{

	atomic_add_acq_int(&carp_rs_inflight, 1);
	return (atomic_load_acq_int(&carp_rs_dying) == 0);
}

void
carp_rs_exit(void)
{

	atomic_subtract_rel_int(&carp_rs_inflight, 1);
}

/* Unload: waits until no thread is inside an entry point. */
void
carp_rs_drain(void)
{

	while (atomic_load_acq_int(&carp_rs_inflight) != 0)
		pause("carpdrn", hz / 100 + 1);
}

/*
 * Allocator and panic entry points for the Rust side.  M_NOWAIT because
 * the engine runs in IP input and in a callout, where sleeping is not
 * allowed; the Rust side copes with NULL.
 */
void *
carp_rs_kmalloc(size_t size, size_t align, int zero)
{
	int flags;

	flags = M_NOWAIT | (zero != 0 ? M_ZERO : 0);
	if (align <= 16)
		return (malloc(size, M_CARP_RS, flags));
	if (align > PAGE_SIZE || !powerof2(align))
		return (NULL);
	return (malloc_aligned(size, align, M_CARP_RS, flags));
}

void
carp_rs_kfree(void *p)
{

	free(p, M_CARP_RS);
}

void
carp_rs_kpanic(const uint8_t *msg, size_t len)
{

	panic("carp_rs: %.*s", (int)MIN(len, (size_t)INT_MAX),
	    (const char *)msg);
}

uint64_t
carp_rs_now(void)
{

	return (sbttons(sbinuptime()));
}

/* What the control plane needs to know of an ifnet. */
void
carp_rs_ifinfo(struct ifnet *ifp, struct carp_rs_ifinfo *ii)
{

	memset(ii, 0, sizeof(*ii));
	ii->index = if_getindex(ifp);
	ii->flags = if_getflags(ifp);
	ii->if_type = if_gettype(ifp);
}

/* The address of ifa into addr (scope cleared); its CARP_RS_AF_*, or 0. */
uint8_t
carp_rs_ifa_af(struct ifaddr *ifa, uint8_t *addr)
{
	struct in6_addr a;

	switch (ifa->ifa_addr->sa_family) {
	case AF_INET:
		memcpy(addr, &satosin(ifa->ifa_addr)->sin_addr, 4);
		return (CARP_RS_AF_INET);
	case AF_INET6:
		a = satosin6(ifa->ifa_addr)->sin6_addr;
		in6_clearscope(&a);
		memcpy(addr, &a, 16);
		return (CARP_RS_AF_INET6);
	default:
		return (0);
	}
}

static void	carp_rs_tick(void *);

/*
 * Re-arms curvnet's callout for its engine's next deadline (ns of
 * sbinuptime).  Called after every engine call, with the mutex held.
 */
void
carp_rs_run_locked(void)
{
	struct carp_rs_vnet *vc = V_carp_rs_vnet;
	uint64_t deadline;

	mtx_assert(&carp_rs_mtx, MA_OWNED);
	if (!carp_rs_loaded || vc == NULL)
		return;
	deadline = carp_rs_engine_deadline(vc->engine);
	if (deadline == 0)
		callout_stop(&vc->callout);
	else
		callout_reset_sbt(&vc->callout, nstosbt(deadline), 0,
		    carp_rs_tick, vc, C_ABSOLUTE);
}

/* A callout runs in no VNET: the one it was armed for is set here. */
static void
carp_rs_tick(void *arg)
{
	struct carp_rs_vnet *vc = arg;

	mtx_assert(&carp_rs_mtx, MA_OWNED);
	if (callout_pending(&vc->callout) || !callout_active(&vc->callout)) {
		mtx_unlock(&carp_rs_mtx);
		return;
	}
	callout_deactivate(&vc->callout);
	CURVNET_SET(vc->vnet);
	(void)carp_rs_engine_timeout(vc->engine, carp_rs_now());
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_apply(CARP_RS_APPLY_TRY);
	CURVNET_RESTORE();
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
 * The engine's interface-name callback for event texts: parents we know,
 * else the ifnet of the key (a parent whose record went with its last
 * address, e.g. when carpN is destroyed, still names the vhid's events).
 * Mutex held, net epoch.
 */
size_t
carp_rs_ifname(void *arg __unused, uint32_t index, char *buf, size_t len)
{
	struct carp_rs_if *cif;
	struct ifnet *ifp;
	size_t n;

	NET_EPOCH_ASSERT();
	cif = carp_rs_if_lookup(index);
	ifp = cif != NULL ? cif->ifp : ifnet_byindex(index);
	if (ifp == NULL)
		return (0);
	n = strnlen(if_name(ifp), len);
	memcpy(buf, if_name(ifp), n);
	return (n);
}

/*
 * The parent's own addresses, as carp_best_ifa() picks them: the first
 * of each family that is not a vhid's (ifa_preferred()'s choice; the
 * engine picks among its vhid addresses when there is none).  Returns the
 * CARP_RS_SRC_* bits of those written.  Net epoch.
 */
int
carp_rs_best_addrs(struct ifnet *ifp, uint8_t *v4, uint8_t *v6)
{
	struct ifaddr *ifa;
	uint8_t a[16], af;
	int got = 0;

	NET_EPOCH_ASSERT();
	CK_STAILQ_FOREACH(ifa, &ifp->if_addrhead, ifa_link) {
		if (ifa->ifa_carp != NULL || (af = carp_rs_ifa_af(ifa, a)) == 0)
			continue;
		if (af == CARP_RS_AF_INET && (got & CARP_RS_SRC_V4) == 0) {
			memcpy(v4, a, 4);
			got |= CARP_RS_SRC_V4;
		} else if (af == CARP_RS_AF_INET6 &&
		    (got & CARP_RS_SRC_V6) == 0) {
			memcpy(v6, a, 16);
			got |= CARP_RS_SRC_V6;
		}
	}
	return (got);
}

/*
 * The engine's advert-source callback, asked per advert as
 * carp_send_ad_locked() asks carp_best_ifa().  Mutex held, net epoch.
 */
static int
carp_rs_srcaddr(void *arg __unused, uint32_t index, uint8_t *v4, uint8_t *v6)
{
	struct carp_rs_if *cif;

	if ((cif = carp_rs_if_lookup(index)) == NULL)
		return (-1);
	return (carp_rs_best_addrs(cif->ifp, v4, v6));
}

/*
 * The mbuf of one advert: the engine wrote the whole IP packet (header
 * included) into the transmit buffer.  Only multicast adverts are tagged
 * to leave with the virtual MAC (the engine says which: has_src_mac), as
 * carp_send_ad_locked() calls carp_tag() for multicast only.  Mutex held.
 */
static struct mbuf *
carp_rs_mkpkt(const struct carp_rs_tx *tx, struct carp_rs_if *cif)
{
	struct m_tag *mtag;
	struct mbuf *m;
	struct ip6_hdr *ip6;
	int vhid;

	m = m_get2(tx->len, M_NOWAIT, MT_DATA, M_PKTHDR);
	if (m == NULL)
		return (NULL);
	if (tx->has_src_mac) {
		mtag = m_tag_get(PACKET_TAG_CARP, sizeof(int), M_NOWAIT);
		if (mtag == NULL) {
			m_freem(m);
			return (NULL);
		}
		vhid = tx->vhid;
		bcopy(&vhid, mtag + 1, sizeof(vhid));
		m_tag_prepend(m, mtag);
		m->m_flags |= M_MCAST;
	}
	m->m_pkthdr.len = m->m_len = tx->len;
	m->m_pkthdr.rcvif = NULL;
	memcpy(mtod(m, uint8_t *), carp_rs_txbuf, tx->len);
	if (tx->af == CARP_RS_AF_INET6) {
		/* The kernel's form: the zone embedded in scoped addresses. */
		ip6 = mtod(m, struct ip6_hdr *);
		if (in6_setscope(&ip6->ip6_src, cif->ifp, NULL) != 0 ||
		    in6_setscope(&ip6->ip6_dst, cif->ifp, NULL) != 0) {
			m_freem(m);
			return (NULL);
		}
	}
	return (m);
}

/* Sends one advert.  Mutex dropped, net epoch, the parent's VNET. */
static int
carp_rs_send(struct mbuf *m, struct carp_rs_if *cif, uint8_t af)
{

	if (af == CARP_RS_AF_INET) {
		/* The id as carp_send_ad_locked() sets it (VNET knobs). */
#if __FreeBSD_version >= 1500000
		ip_fillid(mtod(m, struct ip *), V_ip_random_id);
#else
		ip_fillid(mtod(m, struct ip *));
#endif
		return (ip_output(m, NULL, NULL, IP_RAWOUTPUT, &cif->imo,
		    NULL));
	}
	return (ip6_output(m, NULL, NULL, 0, &cif->im6o, NULL, NULL));
}

/*
 * The record a command names: the parent's record of that address in
 * curvnet's engine.  Mutex held.
 */
static struct carp_rs_addr *
carp_rs_cmd_addr(const struct carp_rs_cmd *c)
{
	struct carp_rs_if *cif;
	struct carp_rs_addr *ra;

	if ((cif = carp_rs_if_lookup(c->ifindex)) == NULL ||
	    cif->vc != V_carp_rs_vnet)
		return (NULL);
	TAILQ_FOREACH(ra, &cif->addrs, link)
		if (ra->af == c->af && memcmp(ra->addr, c->addr,
		    c->af == CARP_RS_AF_INET ? 4 : 16) == 0)
			return (ra);
	return (NULL);
}

/*
 * A carpN VIP is answered on the parent through a published static ARP
 * entry holding the virtual MAC (spec section 8.3 option a).
 */
static void
carp_rs_publish(struct ifnet *ifp, const struct carp_rs_cmd *c, bool add)
{
	struct rt_msghdr rtm;
	struct rt_addrinfo info;
	struct sockaddr_in dst;
	struct sockaddr_dl sdl;

	memset(&rtm, 0, sizeof(rtm));
	memset(&info, 0, sizeof(info));
	memset(&dst, 0, sizeof(dst));
	memset(&sdl, 0, sizeof(sdl));
	dst.sin_len = sizeof(dst);
	dst.sin_family = AF_INET;
	memcpy(&dst.sin_addr, c->addr, 4);
	sdl.sdl_len = sizeof(sdl);
	sdl.sdl_family = AF_LINK;
	sdl.sdl_index = if_getindex(ifp);
	sdl.sdl_type = IFT_ETHER;
	sdl.sdl_alen = ETHER_ADDR_LEN;
	memcpy(LLADDR(&sdl), c->mac, ETHER_ADDR_LEN);
	rtm.rtm_type = add ? RTM_ADD : RTM_DELETE;
	rtm.rtm_flags = RTF_HOST | RTF_STATIC | RTF_LLDATA | RTF_ANNOUNCE;
	info.rti_info[RTAX_DST] = (struct sockaddr *)&dst;
	info.rti_info[RTAX_GATEWAY] = (struct sockaddr *)&sdl;
	(void)lla_rt_output(&rtm, &info);
}

/*
 * Applies one engine command to ra, the record it names: the kernel call
 * of carp_ifa_addroute(), carp_ifa_delroute(), carp_send_arp() or
 * carp_send_na() for one address; the engine decided which.  Mutex
 * dropped; ra stable (the applier token or the unlinking thread).
 */
void
carp_rs_cmd_apply(const struct carp_rs_cmd *c, struct carp_rs_addr *ra)
{
	struct epoch_tracker et;
	struct ifnet *ifp = ra->cif->ifp;
	struct ifaddr *ifa = ra->ifa;
	struct in_addr a;
	bool v4 = c->af == CARP_RS_AF_INET;

	NET_EPOCH_ENTER(et);
	CURVNET_SET(ifp->if_vnet);
	switch (c->op) {
	case CARP_RS_CMD_ROUTE_ADD:
		if (v4)
			(void)in_addprefix(ifatoia(ifa));
		(void)ifa_add_loopback_route(ifa, ifa->ifa_addr);
		if (!v4)
			(void)nd6_add_ifa_lle(ifatoia6(ifa));
		break;
	case CARP_RS_CMD_ROUTE_DEL:
		(void)ifa_del_loopback_route(ifa, ifa->ifa_addr);
		if (v4)
			(void)in_scrubprefix(ifatoia(ifa), LLE_STATIC);
		else
			nd6_rem_ifa_lle(ifatoia6(ifa), 1);
		break;
	case CARP_RS_CMD_PUBLISH:
	case CARP_RS_CMD_UNPUBLISH:
		carp_rs_publish(ifp, c, c->op == CARP_RS_CMD_PUBLISH);
		break;
	case CARP_RS_CMD_GARP:
		memcpy(&a, c->addr, 4);
		arp_announce_ifaddr(ifp, a, __DECONST(u_char *, c->mac));
		break;
	case CARP_RS_CMD_NA:
		nd6_na_output(ifp, &in6addr_any, IFA_IN6(ifa),
		    ND_NA_FLAG_OVERRIDE | (V_ip6_forwarding ?
		    ND_NA_FLAG_ROUTER : 0), ND6_NA_OPT_LLA |
		    ND6_NA_CARP_MASTER, NULL);
		DELAY(1000);
		break;
	}
	CURVNET_RESTORE();
	NET_EPOCH_EXIT(et);
}

/*
 * log(9) through vlog(9): the Rust archive's compiler_builtins exports
 * libm's log(), which the pre-link would otherwise bind our call to.
 */
void
carp_rs_log(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* An event: its log line, devd notification, and carpN link state. */
static void
carp_rs_on_event(const struct carp_rs_event *ev)
{
	struct ifnet *ifp;

	if (ev->log[0] != '\0')
		carp_rs_log(ev->log_pri, "%s\n", ev->log);
	if (ev->devd_subsystem[0] != '\0')
		devctl_notify("CARP", ev->devd_subsystem, ev->devd_type, NULL);
	if (ev->kind == CARP_RS_EV_STATE && ev->legacy_ifindex != 0 &&
	    ev->legacy_link >= 0 &&
	    (ifp = ifnet_byindex(ev->legacy_ifindex)) != NULL)
		if_link_state_change(ifp, ev->legacy_link);
}

/*
 * Applies curvnet's engine's queued packets, events and commands in
 * order until none is left; true if there was any.  Token held; mutex
 * held on entry and on return, dropped around every call into the stack;
 * net epoch.  A packet whose mbuf cannot be had is counted (onomem) and
 * reported as a send error, as carp_send_ad_error() does.
 */
static bool
carp_rs_apply_vnet(struct carp_rs_engine *eng)
{
	struct carp_rs_if *cif;
	struct carp_rs_addr *ra;
	struct carp_rs_tx tx;
	struct mbuf *m;
	bool any = false;
	int error;

	KASSERT(carp_rs_applying, ("%s: token not held", __func__));
	for (;; any = true) {
		if (carp_rs_engine_transmit(eng, carp_rs_srcaddr, NULL,
		    carp_rs_txbuf, sizeof(carp_rs_txbuf), &tx) == CARP_RS_OK) {
			if (tx.len > sizeof(carp_rs_txbuf) ||
			    tx.len < (tx.af == CARP_RS_AF_INET ?
			    sizeof(struct ip) : sizeof(struct ip6_hdr)) ||
			    (cif = carp_rs_if_lookup(tx.ifindex)) == NULL ||
			    cif->vc != V_carp_rs_vnet)
				continue;
			if ((m = carp_rs_mkpkt(&tx, cif)) == NULL) {
				carp_rs_count(eng, 1);
				error = ENOBUFS;
			} else {
				mtx_unlock(&carp_rs_mtx);
				error = carp_rs_send(m, cif, tx.af);
				mtx_lock(&carp_rs_mtx);
			}
			carp_rs_tx_result(eng, carp_rs_now(), tx.ifindex,
			    tx.vhid, error == 0);
		} else if (carp_rs_engine_event(eng, carp_rs_ifname, NULL,
		    &carp_rs_ev) == CARP_RS_OK) {
			mtx_unlock(&carp_rs_mtx);
			carp_rs_on_event(&carp_rs_ev);
			mtx_lock(&carp_rs_mtx);
		} else if (carp_rs_engine_command(eng, &carp_rs_cmd) ==
		    CARP_RS_OK) {
			if ((ra = carp_rs_cmd_addr(&carp_rs_cmd)) == NULL)
				continue;
			mtx_unlock(&carp_rs_mtx);
			carp_rs_cmd_apply(&carp_rs_cmd, ra);
			mtx_lock(&carp_rs_mtx);
		} else
			break;
	}
	carp_rs_run_locked();
	return (any);
}

/*
 * Applies what every VNET's engine queued, each in its VNET, until a
 * whole pass finds nothing; then, unless FLUSH, lets the token go under
 * the same mutex hold that saw every queue empty (a thread that could
 * not take the token left its work queued for this one).  TRY takes the
 * token if free and else leaves.  Never sleeps; any context that may
 * enter the net epoch.  The VNET list cannot lose an entry meanwhile:
 * that takes the token.
 */
void
carp_rs_apply(int mode)
{
	struct epoch_tracker et;
	struct carp_rs_vnet *vc;
	bool again;

	NET_EPOCH_ENTER(et);
	mtx_lock(&carp_rs_mtx);
	if (mode == CARP_RS_APPLY_TRY && carp_rs_applying)
		goto out;
	carp_rs_applying = true;
	do {
		again = false;
		LIST_FOREACH(vc, &carp_rs_vnets, link) {
			CURVNET_SET(vc->vnet);
			again |= carp_rs_apply_vnet(vc->engine);
			CURVNET_RESTORE();
		}
	} while (again);
	if (mode != CARP_RS_APPLY_FLUSH) {
		carp_rs_applying = false;
		if (carp_rs_apply_waiters > 0)
			wakeup(&carp_rs_applying);
	}
out:
	mtx_unlock(&carp_rs_mtx);
	NET_EPOCH_EXIT(et);
}

/*
 * Configuration (sx held, may sleep) becomes the applier, so that
 * address and parent records and the routes change with no applier
 * running.  Ends with carp_rs_apply(CARP_RS_APPLY_END).
 */
void
carp_rs_apply_begin(void)
{

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	mtx_lock(&carp_rs_mtx);
	while (carp_rs_applying) {
		carp_rs_apply_waiters++;
		mtx_sleep(&carp_rs_applying, &carp_rs_mtx, 0, "carpapl", 0);
		carp_rs_apply_waiters--;
	}
	carp_rs_applying = true;
	mtx_unlock(&carp_rs_mtx);
}
