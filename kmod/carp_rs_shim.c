/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: kernel glue for the Rust CARP engine.
 *
 * The engine (kmod/src/, linked in as a static library) is sans-IO: it
 * knows nothing of mbufs, ifnets, locks or clocks.  This file owns those:
 * it registers the module (named "carp", so the kernel refuses to load it
 * next to carp.ko or "device carp"), IP protocol 112 for IPv4 and IPv6,
 * the net.inet.carp sysctl tree, the malloc type, one mutex that
 * serializes every engine call and one callout for the engine's next
 * deadline.  Packets are handed to the engine as plain bytes.
 */

#include "opt_inet.h"
#include "opt_inet6.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/callout.h>
#include <machine/atomic.h>
#include <sys/epoch.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/socket.h>
#include <sys/sx.h>
#include <sys/sysctl.h>
#include <sys/time.h>

#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_private.h>
#include <net/vnet.h>

#include <netinet/in.h>
#include <netinet/in_systm.h>
#include <netinet/in_var.h>
#include <netinet/ip.h>
#include <netinet/ip_var.h>
#include <netinet/ip_carp.h>
#include <netinet/ip6.h>
#include <netinet6/in6_var.h>
#include <netinet6/ip6_var.h>
#include <netinet6/scope6_var.h>

#include "carp_rs_ffi.h"
#include "carp_rs_var.h"

_Static_assert(sizeof(struct carpstats) == CARP_RS_NSTATS * sizeof(uint64_t),
    "struct carpstats is not the 16 counters the engine keeps");
_Static_assert(sizeof(struct carpreq) == 40, "struct carpreq");
/* The carp_rs_* structs: field by field in sys-bindings/tests/ffi_layout.rs. */

/*
 * Largest CARP/VRRP payload accepted: a VRRPv3 advert with 255 IPv6
 * addresses is 8 + 255 * 16 bytes.
 */
#define	CARP_RS_RXBUF	4096

MALLOC_DEFINE(M_CARP_RS, "carp_rs", "CARP (carp_rs engine)");

/* Guarded by carp_rs_mtx once the module is loaded. */
struct mtx carp_rs_mtx;
struct sx carp_rs_sx;
struct carp_rs_engine *carp_rs_engine;
struct carp_rs_if_list carp_rs_ifs = LIST_HEAD_INITIALIZER(carp_rs_ifs);
static struct callout carp_rs_callout;
static uint8_t *carp_rs_rxbuf;
static bool carp_rs_loaded;

/*
 * The locks live as long as the file, not the module: a sysctl handler
 * may run after a failed MOD_LOAD while the file is still linked.
 */
MTX_SYSINIT(carp_rs_mtx, &carp_rs_mtx, "carp_rs", MTX_DEF);
SX_SYSINIT(carp_rs_sx, &carp_rs_sx, "carp_rs config");

static void	carp_rs_tick(void *);

SYSCTL_NODE(_net_inet, IPPROTO_CARP, carp,
    CTLFLAG_RW | CTLFLAG_MPSAFE, 0, "CARP");

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

/*
 * The engine's interface key: the ifindex, qualified by the VNET in the
 * upper bits, because each VNET numbers its interfaces from 1 (two vnet
 * jails each have an index 2).  vnet0 is slot 0, so there the key is the
 * plain ifindex.  Slots are claimed lock-free on first use and never
 * reused; 0 means "no key" (index out of range, table full).
 */
#define	CARP_RS_NVNETS	256
static struct vnet *carp_rs_vnets[CARP_RS_NVNETS];

uint32_t
carp_rs_key(struct ifnet *ifp)
{
	struct vnet *v = ifp->if_vnet;
	uint32_t idx = if_getindex(ifp);
	u_int i;

	if (idx == 0 || idx > 0xffff)
		return (0);
	for (i = 0; i < CARP_RS_NVNETS; i++) {
		if (atomic_load_ptr(&carp_rs_vnets[i]) == v)
			return ((i << 16) | idx);
		if (atomic_load_ptr(&carp_rs_vnets[i]) == NULL &&
		    (atomic_cmpset_ptr((volatile uintptr_t *)&carp_rs_vnets[i],
		    (uintptr_t)NULL, (uintptr_t)v) ||
		    atomic_load_ptr(&carp_rs_vnets[i]) == v))
			return ((i << 16) | idx);
	}
	return (0);
}

/* The ifnet of a key.  Net epoch. */
struct ifnet *
carp_rs_key_ifnet(uint32_t key)
{
	struct vnet *v;
	struct ifnet *ifp;

	NET_EPOCH_ASSERT();
	if ((key >> 16) >= CARP_RS_NVNETS ||
	    (v = atomic_load_ptr(&carp_rs_vnets[key >> 16])) == NULL)
		return (NULL);
	CURVNET_SET(v);
	ifp = ifnet_byindex(key & 0xffff);
	CURVNET_RESTORE();
	return (ifp);
}

/* What the control plane needs to know of an ifnet. */
void
carp_rs_ifinfo(struct ifnet *ifp, struct carp_rs_ifinfo *ii)
{

	memset(ii, 0, sizeof(*ii));
	ii->index = carp_rs_key(ifp);
	ii->flags = if_getflags(ifp);
	ii->if_type = if_gettype(ifp);
}

/*
 * Re-arms the callout for the engine's next deadline (ns of sbinuptime).
 * Called after every engine call, with the mutex held.
 */
void
carp_rs_run_locked(void)
{
	uint64_t deadline;

	mtx_assert(&carp_rs_mtx, MA_OWNED);
	if (!carp_rs_loaded)
		return;
	deadline = carp_rs_engine_deadline(carp_rs_engine);
	if (deadline == 0)
		callout_stop(&carp_rs_callout);
	else
		callout_reset_sbt(&carp_rs_callout, nstosbt(deadline), 0,
		    carp_rs_tick, NULL, C_ABSOLUTE);
}

static void
carp_rs_tick(void *arg __unused)
{

	mtx_assert(&carp_rs_mtx, MA_OWNED);
	if (callout_pending(&carp_rs_callout) ||
	    !callout_active(&carp_rs_callout)) {
		mtx_unlock(&carp_rs_mtx);
		return;
	}
	callout_deactivate(&carp_rs_callout);
	(void)carp_rs_engine_timeout(carp_rs_engine, carp_rs_now());
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_process();
}

/*
 * Hands the bytes after the IP header to the engine.  The payload is
 * passed in place when the first mbuf holds all of it, else copied into
 * carp_rs_rxbuf (under the mutex).  The mbuf is always consumed.
 */
static void
carp_rs_input_common(struct mbuf *m, int off, uint8_t af, const void *src,
    const void *dst, uint8_t ttl)
{
	const uint8_t *payload;
	uint32_t ifindex;
	int len;

	len = m->m_pkthdr.len - off;
	if (len < 0 || len > CARP_RS_RXBUF || m->m_pkthdr.rcvif == NULL) {
		m_freem(m);
		return;
	}
	ifindex = carp_rs_key(m->m_pkthdr.rcvif);
	mtx_lock(&carp_rs_mtx);
	if (!carp_rs_loaded) {
		mtx_unlock(&carp_rs_mtx);
		m_freem(m);
		return;
	}
	if (m->m_len >= off + len)
		payload = mtod(m, const uint8_t *) + off;
	else {
		m_copydata(m, off, len, (caddr_t)carp_rs_rxbuf);
		payload = carp_rs_rxbuf;
	}
	(void)carp_rs_engine_input(carp_rs_engine, carp_rs_now(), ifindex,
	    af, src, dst, ttl, payload, (size_t)len);
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	m_freem(m);
	carp_rs_process();
}

#ifdef INET
static int
carp_rs_input(struct mbuf **mp, int *offp, int proto __unused)
{
	struct mbuf *m;
	struct ip *ip;
	struct in_addr src, dst;

	m = *mp;
	*mp = NULL;
	ip = mtod(m, struct ip *);
	src = ip->ip_src;
	dst = ip->ip_dst;
	carp_rs_input_common(m, *offp, CARP_RS_AF_INET, &src, &dst,
	    ip->ip_ttl);
	return (IPPROTO_DONE);
}
#endif

#ifdef INET6
static int
carp_rs_input6(struct mbuf **mp, int *offp, int proto __unused)
{
	struct mbuf *m;
	struct ip6_hdr *ip6;
	struct in6_addr src, dst;

	m = *mp;
	*mp = NULL;
	if (m->m_len < (int)sizeof(*ip6)) {
		m_freem(m);
		return (IPPROTO_DONE);
	}
	/*
	 * carp6_input: a parent without vhids is badif, before the packet
	 * is looked at (IPv4 has no such check: carp_input says badvhid).
	 */
	if (m->m_pkthdr.rcvif == NULL || m->m_pkthdr.rcvif->if_carp == NULL) {
		mtx_lock(&carp_rs_mtx);
		if (carp_rs_loaded)
			(void)carp_rs_input_badif6(carp_rs_engine);
		mtx_unlock(&carp_rs_mtx);
		m_freem(m);
		return (IPPROTO_DONE);
	}
	ip6 = mtod(m, struct ip6_hdr *);
	/* The engine sees addresses as on the wire: no embedded zone. */
	src = ip6->ip6_src;
	dst = ip6->ip6_dst;
	in6_clearscope(&src);
	in6_clearscope(&dst);
	carp_rs_input_common(m, *offp, CARP_RS_AF_INET6, &src, &dst,
	    ip6->ip6_hlim);
	return (IPPROTO_DONE);
}
#endif

/*
 * net.inet.carp.stats: struct carpstats, as netstat -s -p carp reads it.
 * Any write zeroes the counters (netstat -z).
 */
static int
carp_rs_stats_sysctl(SYSCTL_HANDLER_ARGS)
{
	struct carpstats cs;
	int error;

	memset(&cs, 0, sizeof(cs));
	mtx_lock(&carp_rs_mtx);
	if (carp_rs_loaded)
		(void)carp_rs_engine_stats(carp_rs_engine, (uint64_t *)&cs,
		    CARP_RS_NSTATS);
	mtx_unlock(&carp_rs_mtx);
	error = SYSCTL_OUT(req, &cs, sizeof(cs));
	if (error != 0 || req->newptr == NULL)
		return (error);
	mtx_lock(&carp_rs_mtx);
	if (carp_rs_loaded)
		carp_rs_engine_stats_reset(carp_rs_engine);
	mtx_unlock(&carp_rs_mtx);
	return (0);
}
SYSCTL_PROC(_net_inet_carp, OID_AUTO, stats,
    CTLTYPE_OPAQUE | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    carp_rs_stats_sysctl, "S,carpstats",
    "CARP statistics (struct carpstats, netinet/ip_carp.h)");

/*
 * The integer knobs: the engine holds the value and its meaning
 * (ctl/sysctl.rs); arg2 is the knob number.
 */
static int
carp_rs_knob_sysctl(SYSCTL_HANDLER_ARGS)
{
	int32_t old, new;
	int error, v;

	old = 0;
	mtx_lock(&carp_rs_mtx);
	if (carp_rs_loaded)
		old = carp_rs_sysctl_read(carp_rs_engine, arg2);
	mtx_unlock(&carp_rs_mtx);
	v = old;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	new = v;
	mtx_lock(&carp_rs_mtx);
	if (!carp_rs_loaded) {
		mtx_unlock(&carp_rs_mtx);
		return (ENXIO);
	}
	error = carp_rs_sysctl(carp_rs_engine, carp_rs_now(), arg2, &new,
	    &old);
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_process();
	return (error);
}

#define	CARP_RS_KNOB(name, knob, flags, descr)				\
	SYSCTL_PROC(_net_inet_carp, OID_AUTO, name,			\
	    CTLTYPE_INT | CTLFLAG_MPSAFE | (flags), NULL, knob,		\
	    carp_rs_knob_sysctl, "I", descr)

CARP_RS_KNOB(allow, CARP_RS_SYSCTL_ALLOW, CTLFLAG_RW,
    "Accept incoming CARP packets");
CARP_RS_KNOB(preempt, CARP_RS_SYSCTL_PREEMPT, CTLFLAG_RW,
    "High-priority backup preemption mode");
CARP_RS_KNOB(log, CARP_RS_SYSCTL_LOG, CTLFLAG_RW, "CARP log level");
CARP_RS_KNOB(demotion, CARP_RS_SYSCTL_DEMOTION, CTLFLAG_RW,
    "Adjust demotion factor (skew of advskew)");
CARP_RS_KNOB(senderr_demotion_factor, CARP_RS_SYSCTL_SENDERR, CTLFLAG_RW,
    "Send error demotion factor adjustment");
CARP_RS_KNOB(ifdown_demotion_factor, CARP_RS_SYSCTL_IFDOWN, CTLFLAG_RW,
    "Interface down demotion factor adjustment");
CARP_RS_KNOB(dscp, CARP_RS_SYSCTL_DSCP, CTLFLAG_RW,
    "DSCP value for carp packets");
CARP_RS_KNOB(arpbalance, CARP_RS_SYSCTL_ARPBALANCE, CTLFLAG_RW,
    "balance arp responses");
CARP_RS_KNOB(suppress_preempt, CARP_RS_SYSCTL_SUPPRESS, CTLFLAG_RD,
    "Preemption is suppressed");
CARP_RS_KNOB(replay_check, CARP_RS_SYSCTL_REPLAY, CTLFLAG_RW,
    "Drop advertisements whose counter does not advance");
CARP_RS_KNOB(garp_interval, CARP_RS_SYSCTL_GARP, CTLFLAG_RW,
    "Seconds between a MASTER's gratuitous ARP/NA (0 off)");

/*
 * The text sysctls (arg2: CARP_RS_STATUS_*).  The engine formats under
 * the mutex into a buffer allocated before taking it (the sysctl thread
 * may sleep; the mutex holder may not), sized by a first pass; the text
 * goes out after the mutex is dropped.
 */
static int
carp_rs_status_sysctl(SYSCTL_HANDLER_ARGS)
{
	struct epoch_tracker et;
	char *buf;
	size_t len, need;
	int error, tries;

	need = 0;
	for (tries = 0; tries < 4; tries++) {
		len = need + 256;
		buf = malloc(len, M_CARP_RS, M_WAITOK);
		NET_EPOCH_ENTER(et);
		mtx_lock(&carp_rs_mtx);
		need = carp_rs_loaded ? carp_rs_status_text(carp_rs_engine,
		    carp_rs_now(), arg2, carp_rs_ifname, NULL, buf, len) : 0;
		mtx_unlock(&carp_rs_mtx);
		NET_EPOCH_EXIT(et);
		if (need < len)
			break;
		free(buf, M_CARP_RS);
		buf = NULL;
	}
	if (buf == NULL)
		return (EAGAIN);
	if (need == 0)
		buf[0] = '\0';
	error = SYSCTL_OUT(req, buf, need + 1);
	free(buf, M_CARP_RS);
	return (error);
}
SYSCTL_PROC(_net_inet_carp, OID_AUTO, demotion_sources,
    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL,
    CARP_RS_STATUS_DEMOTION_SOURCES, carp_rs_status_sysctl, "A",
    "Contributions to the demotion, one per line (sum = demotion)");
SYSCTL_PROC(_net_inet_carp, OID_AUTO, vhids,
    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL,
    CARP_RS_STATUS_VHIDS, carp_rs_status_sysctl, "A",
    "Per vhid: state, since when and why, adverts, errors");

static void
carp_rs_free_all(void)
{

	carp_rs_engine_free(carp_rs_engine);
	carp_rs_engine = NULL;
	free(carp_rs_rxbuf, M_CARP_RS);
	carp_rs_rxbuf = NULL;
}

/*
 * Nothing the stack can see is registered until every allocation has
 * succeeded; then the protocol registrations double as the exclusivity
 * check (ipproto_register fails with EEXIST while another handler owns
 * protocol 112).  Each later step is undone in reverse order on failure,
 * so a refused load leaves nothing registered.
 */
static int
carp_rs_load(void)
{
	int error;

	callout_init_mtx(&carp_rs_callout, &carp_rs_mtx,
	    CALLOUT_RETURNUNLOCKED);
	carp_rs_vnets[0] = vnet0;
	carp_rs_engine = carp_rs_engine_new();
	carp_rs_rxbuf = malloc(CARP_RS_RXBUF, M_CARP_RS, M_WAITOK);
	if (carp_rs_engine == NULL) {
		printf("carp_rs: cannot allocate the CARP engine\n");
		error = ENOMEM;
		goto fail;
	}
	carp_rs_seed(carp_rs_engine,
	    ((uint64_t)arc4random() << 32) | arc4random());
#ifdef INET6
	error = ip6proto_register(IPPROTO_CARP, carp_rs_input6, NULL);
	if (error != 0) {
		printf("carp: error %d registering with INET6\n", error);
		goto fail;
	}
#endif
#ifdef INET
	error = ipproto_register(IPPROTO_CARP, carp_rs_input, NULL);
	if (error != 0) {
		printf("carp: error %d registering with INET\n", error);
		goto fail_inet6;
	}
#endif
	error = carp_rs_nl_init();
	if (error != 0) {
		printf("carp_rs: error %d registering the carp netlink "
		    "family\n", error);
		goto fail_inet;
	}
	error = carp_rs_clone_init();
	if (error != 0) {
		printf("carp_rs: error %d registering the carp cloner\n",
		    error);
		goto fail_nl;
	}
	mtx_lock(&carp_rs_mtx);
	carp_rs_loaded = true;
	mtx_unlock(&carp_rs_mtx);
	error = carp_rs_hooks_init();
	if (error != 0) {
		printf("carp_rs: carp hooks are owned by another module\n");
		mtx_lock(&carp_rs_mtx);
		carp_rs_loaded = false;
		mtx_unlock(&carp_rs_mtx);
		goto fail_clone;
	}
	if (bootverbose)
		printf("carp_rs: CARP engine loaded\n");
	return (0);

fail_clone:
	carp_rs_clone_fini();
fail_nl:
	carp_rs_nl_fini();
fail_inet:
#ifdef INET
	(void)ipproto_unregister(IPPROTO_CARP);
#endif
fail_inet6:
#ifdef INET6
	(void)ip6proto_unregister(IPPROTO_CARP);
#endif
fail:
	NET_EPOCH_WAIT();
	carp_rs_free_all();
	return (error);
}

/*
 * Unload works with live vhids (carp(4) says EBUSY): every MASTER bows
 * out, addresses are handed back to the stack as plain ones, multicast
 * groups are left and parents leave promiscuous mode.
 */
static int
carp_rs_unload(void)
{

	/* Also called after a failed MOD_LOAD, which has cleaned up. */
	if (!carp_rs_loaded)
		return (0);
	carp_rs_clone_fini();
	carp_rs_nl_fini();
	/* Bow-out adverts leave while the hooks still tag them. */
	carp_rs_teardown();
	carp_rs_hooks_fini();
#ifdef INET
	(void)ipproto_unregister(IPPROTO_CARP);
#endif
#ifdef INET6
	(void)ip6proto_unregister(IPPROTO_CARP);
#endif
	/* Input and hooks run in the net epoch: wait for the last one. */
	NET_EPOCH_WAIT();
	carp_rs_hooks_drain();
	mtx_lock(&carp_rs_mtx);
	carp_rs_loaded = false;
	callout_stop(&carp_rs_callout);
	mtx_unlock(&carp_rs_mtx);
	callout_drain(&carp_rs_callout);
	/* Deferred frees of parents and addresses. */
	NET_EPOCH_DRAIN_CALLBACKS();
	carp_rs_free_all();
	return (0);
}

static int
carp_rs_modevent(module_t mod __unused, int type, void *data __unused)
{

	switch (type) {
	case MOD_LOAD:
		return (carp_rs_load());
	case MOD_UNLOAD:
		return (carp_rs_unload());
	case MOD_QUIESCE:
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t carp_rs_mod = {
	"carp",
	carp_rs_modevent,
	NULL
};

DECLARE_MODULE(carp, carp_rs_mod, SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY);
MODULE_VERSION(carp, 1);
