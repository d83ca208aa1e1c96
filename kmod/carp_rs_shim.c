/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: kernel glue for the Rust CARP engine.
 *
 * The engine (kmod/src/, linked in as a static library) is sans-IO: it
 * knows nothing of mbufs, ifnets, locks or clocks.  This file owns those:
 * it registers the module (named "carp", so the kernel refuses to load it
 * next to carp.ko or "device carp"), IP protocol 112 for IPv4 and IPv6,
 * the per-VNET net.inet.carp sysctl tree, the malloc type, the locks, the
 * per-VNET state (engine, callout, task: VNET_SYSINIT/VNET_SYSUNINIT) and
 * the unload protocol (dying flag, in-flight count).  Packets are handed
 * to the engine as plain bytes.
 */

#include "carp_rs_var.h"

#include <sys/module.h>
#include <sys/taskqueue.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>

_Static_assert(sizeof(struct carpstats) == CARP_RS_NSTATS * sizeof(uint64_t),
    "struct carpstats is not the 16 counters the engine keeps");
_Static_assert(sizeof(struct carpreq) == 40, "struct carpreq");
/* The carp_rs_* structs: field by field in sys-bindings/tests/ffi_layout.rs. */

/*
 * Largest CARP/VRRP payload accepted: a VRRPv3 advert with 255 IPv6
 * addresses is 8 + 255 * 16 bytes.
 */
#define	CARP_RS_RXBUF	4096

static uint8_t *carp_rs_rxbuf;

SYSCTL_NODE(_net_inet, IPPROTO_CARP, carp,
    CTLFLAG_RW | CTLFLAG_MPSAFE, 0, "CARP");

/*
 * Hands the bytes after the IP header to the engine.  The payload is
 * passed in place when the first mbuf holds all of it, else copied into
 * carp_rs_rxbuf (under the mutex); a larger one is counted as badlen.
 * The mbuf is always consumed.
 */
static void
carp_rs_input_common(struct mbuf *m, int off, uint8_t af, const void *src,
    const void *dst, uint8_t ttl)
{
	const uint8_t *payload;
	uint32_t ifindex;
	int len;

	len = m->m_pkthdr.len - off;
	if (len < 0 || m->m_pkthdr.rcvif == NULL) {
		m_freem(m);
		return;
	}
	ifindex = if_getindex(m->m_pkthdr.rcvif);
	mtx_lock(&carp_rs_mtx);
	if (!carp_rs_loaded || V_carp_rs_vnet == NULL) {
		mtx_unlock(&carp_rs_mtx);
		m_freem(m);
		return;
	}
	if (len > CARP_RS_RXBUF)
		(void)carp_rs_input_drop(V_carp_rs_engine, af,
		    CARP_RS_DROP_BADLEN);
	else {
		if (m->m_len >= off + len)
			payload = mtod(m, const uint8_t *) + off;
		else {
			m_copydata(m, off, len, (caddr_t)carp_rs_rxbuf);
			payload = carp_rs_rxbuf;
		}
		(void)carp_rs_engine_input(V_carp_rs_engine, carp_rs_now(),
		    ifindex, af, src, dst, ttl, payload, (size_t)len);
	}
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	m_freem(m);
	carp_rs_apply(CARP_RS_APPLY_TRY);
}

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
		if (carp_rs_loaded && V_carp_rs_vnet != NULL)
			(void)carp_rs_input_drop(V_carp_rs_engine,
			    CARP_RS_AF_INET6, CARP_RS_DROP_BADIF);
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
	if (V_carp_rs_vnet != NULL)
		(void)carp_rs_engine_stats(V_carp_rs_engine, (uint64_t *)&cs,
		    CARP_RS_NSTATS);
	mtx_unlock(&carp_rs_mtx);
	error = SYSCTL_OUT(req, &cs, sizeof(cs));
	if (error != 0 || req->newptr == NULL)
		return (error);
	mtx_lock(&carp_rs_mtx);
	if (V_carp_rs_vnet != NULL)
		carp_rs_engine_stats_reset(V_carp_rs_engine);
	mtx_unlock(&carp_rs_mtx);
	return (0);
}

/*
 * The integer knobs, one set per VNET (curvnet is the requester's): the
 * engine holds the value and its meaning (ctl/sysctl.rs); arg2 is the
 * knob number.
 */
static int
carp_rs_knob_sysctl(SYSCTL_HANDLER_ARGS)
{
	int32_t old, new;
	int error, v;
	bool arp;

	old = 0;
	mtx_lock(&carp_rs_mtx);
	if (V_carp_rs_vnet != NULL)
		old = carp_rs_sysctl_read(V_carp_rs_engine, arg2);
	mtx_unlock(&carp_rs_mtx);
	v = old;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	new = v;
	/* Under the sx: the ARP hook follows the engine's wish (may sleep). */
	if ((error = carp_rs_config_begin()) != 0)
		return (error);
	CARP_RS_CALL(error = carp_rs_sysctl(V_carp_rs_engine, carp_rs_now(),
	    arg2, &new, &old);
	    arp = carp_rs_arp_filter_wanted(V_carp_rs_engine) != 0);
	carp_rs_arp_sync(V_carp_rs_vnet, arp);
	carp_rs_config_end();
	return (error);
}

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
		need = V_carp_rs_vnet != NULL ? carp_rs_status_text(
		    V_carp_rs_engine, carp_rs_now(), arg2, carp_rs_ifname,
		    NULL, buf, len) : 0;
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
/*
 * The leaves of net.inet.carp, one set per VNET (CTLFLAG_VNET: curvnet is
 * the requester's, and a vnet jail may write its own), as the engine
 * lists them (carp_rs_sysctl_oid: name, description, kind, arg2).
 * Dynamic, unlike the node: the kernel counts a dynamic oid's running
 * handlers and sysctl_ctx_free() waits for them, so no handler is left
 * inside the module when it goes (a static oid is not waited for).
 */
static struct sysctl_ctx_list carp_rs_sysctl_ctx;

static void
carp_rs_sysctl_init(void)
{
	static const struct {
		int	kind;
		int	(*handler)(SYSCTL_HANDLER_ARGS);
		const char *fmt;
	} k[] = {
		[CARP_RS_OID_INT] = { CTLTYPE_INT | CTLFLAG_RW,
		    carp_rs_knob_sysctl, "I" },
		[CARP_RS_OID_INT_RO] = { CTLTYPE_INT | CTLFLAG_RD,
		    carp_rs_knob_sysctl, "I" },
		/* Fetched per VNET by carp_rs_vnet_init(). */
		[CARP_RS_OID_INT_TUN] = { CTLTYPE_INT | CTLFLAG_RWTUN |
		    CTLFLAG_NOFETCH, carp_rs_knob_sysctl, "I" },
		[CARP_RS_OID_STATS] = { CTLTYPE_OPAQUE | CTLFLAG_RW,
		    carp_rs_stats_sysctl, "S,carpstats" },
		[CARP_RS_OID_TEXT] = { CTLTYPE_STRING | CTLFLAG_RD,
		    carp_rs_status_sysctl, "A" },
	};
	struct carp_rs_oid o;
	uint32_t i;

	sysctl_ctx_init(&carp_rs_sysctl_ctx);
	for (i = 0; carp_rs_sysctl_oid(i, &o) == 0; i++)
		if (o.kind < nitems(k))
			(void)sysctl_add_oid(&carp_rs_sysctl_ctx,
			    SYSCTL_STATIC_CHILDREN(_net_inet_carp), OID_AUTO,
			    o.name, k[o.kind].kind | CTLFLAG_VNET |
			    CTLFLAG_MPSAFE, NULL, o.arg2, k[o.kind].handler,
			    k[o.kind].fmt, o.descr, NULL);
}

/*
 * VNET_SYSINIT, for every VNET at load and then for each new one (a vnet
 * jail): its engine, callout, task and carpN cloner.  Nothing when the
 * module was refused or is unloading.  `allow' starts from the loader
 * tunable net.inet.carp.allow, as CTLFLAG_RWTUN does upstream.
 */
static void
carp_rs_vnet_init(const void *unused __unused)
{
	struct carp_rs_vnet *vc;
	int32_t allow, old;

	if (!carp_rs_loaded)
		return;
	vc = malloc(sizeof(*vc), M_CARP_RS, M_WAITOK | M_ZERO);
	vc->vnet = curvnet;
	vc->engine = carp_rs_engine_new();
	if (vc->engine == NULL) {
		printf("carp_rs: cannot allocate the CARP engine\n");
		free(vc, M_CARP_RS);
		return;
	}
	carp_rs_seed(vc->engine, ((uint64_t)arc4random() << 32) |
	    arc4random());
	if (TUNABLE_INT_FETCH("net.inet.carp.allow", &allow))
		(void)carp_rs_sysctl(vc->engine, carp_rs_now(),
		    CARP_RS_SYSCTL_ALLOW, &allow, &old);
	callout_init_mtx(&vc->callout, &carp_rs_mtx, CALLOUT_RETURNUNLOCKED);
	TASK_INIT(&vc->task, 0, carp_rs_hook_task, vc);
	sx_xlock(&carp_rs_sx);
	if (atomic_load_acq_int(&carp_rs_dying) != 0) {
		sx_xunlock(&carp_rs_sx);
		carp_rs_engine_free(vc->engine);
		free(vc, M_CARP_RS);
		return;
	}
	mtx_lock(&carp_rs_mtx);
	LIST_INSERT_HEAD(&carp_rs_vnets, vc, link);
	V_carp_rs_vnet = vc;
	mtx_unlock(&carp_rs_mtx);
	sx_xunlock(&carp_rs_sx);
	carp_rs_clone_init();
}

/*
 * VNET_SYSUNINIT: a vnet jail is destroyed, or the module unloads (after
 * MOD_UNLOAD, for every VNET).  carpN goes, then every vhid and record of
 * this VNET as at unload (carp_rs_teardown() also unlinks this state), then
 * the engine: nothing of the VNET is left behind.
 */
static void
carp_rs_vnet_uninit(const void *unused __unused)
{
	struct carp_rs_vnet *vc = V_carp_rs_vnet;

	if (vc == NULL)
		return;
	sx_xlock(&carp_rs_sx);
	while (vc->pins > 0)
		sx_sleep(&vc->pins, &carp_rs_sx, 0, "carppin", 0);
	carp_rs_arp_sync(vc, false);
	sx_xunlock(&carp_rs_sx);
	carp_rs_clone_fini();
	carp_rs_teardown(vc);
	/* Epoch readers may still hold a dropped parent record's vc. */
	NET_EPOCH_WAIT();
	callout_drain(&vc->callout);
	taskqueue_drain(taskqueue_swi, &vc->task);
	carp_rs_engine_free(vc->engine);
	free(vc, M_CARP_RS);
}

/*
 * At unload, before teardown: every VNET's carpN cloner goes (destroying
 * carpN), with none of our locks held (carpN's destruction takes the sx)
 * and not under the VNET list lock either (that would reverse the
 * kernel's ifnet_detach_sx -> vnet_sxlock order, as the VNET_SYSUNINIT of
 * a cloner does at kldunload).  Each VNET's state is pinned instead: a
 * vnet jail destroyed meanwhile waits in carp_rs_vnet_uninit().
 */
static void
carp_rs_cloners_fini(void)
{
	struct carp_rs_vnet *vc, *next;

	sx_xlock(&carp_rs_sx);
	LIST_FOREACH(vc, &carp_rs_vnets, link)
		vc->pins++;
	for (vc = LIST_FIRST(&carp_rs_vnets); vc != NULL; vc = next) {
		sx_xunlock(&carp_rs_sx);
		CURVNET_SET(vc->vnet);
		carp_rs_clone_fini();
		CURVNET_RESTORE();
		sx_xlock(&carp_rs_sx);
		next = LIST_NEXT(vc, link);
		if (--vc->pins == 0)
			wakeup(&vc->pins);
	}
	sx_xunlock(&carp_rs_sx);
}

/*
 * Nothing the stack can see is registered until every allocation has
 * succeeded; then the protocol registrations double as the exclusivity
 * check (ipproto_register fails with EEXIST while another handler owns
 * protocol 112).  Each later step is undone in reverse order on failure,
 * so a refused load leaves nothing registered.  The engines come after,
 * from carp_rs_vnet_init().
 */
static int
carp_rs_load(void)
{
	int error;

	carp_rs_rxbuf = malloc(CARP_RS_RXBUF, M_CARP_RS, M_WAITOK);
	error = ip6proto_register(IPPROTO_CARP, carp_rs_input6, NULL);
	if (error != 0) {
		printf("carp: error %d registering with INET6\n", error);
		goto fail;
	}
	error = ipproto_register(IPPROTO_CARP, carp_rs_input, NULL);
	if (error != 0) {
		printf("carp: error %d registering with INET\n", error);
		goto fail_inet6;
	}
	error = carp_rs_nl_init();
	if (error != 0) {
		printf("carp_rs: error %d registering the carp netlink "
		    "family\n", error);
		goto fail_inet;
	}
	atomic_store_rel_int(&carp_rs_dying, 0);
	mtx_lock(&carp_rs_mtx);
	carp_rs_loaded = true;
	mtx_unlock(&carp_rs_mtx);
	error = carp_rs_hooks_init();
	if (error != 0) {
		printf("carp_rs: carp hooks are owned by another module\n");
		mtx_lock(&carp_rs_mtx);
		carp_rs_loaded = false;
		mtx_unlock(&carp_rs_mtx);
		goto fail_nl;
	}
	carp_rs_sysctl_init();
	if (bootverbose)
		printf("carp_rs: CARP engine loaded\n");
	return (0);

fail_nl:
	carp_rs_nl_fini();
fail_inet:
	(void)ipproto_unregister(IPPROTO_CARP);
fail_inet6:
	(void)ip6proto_unregister(IPPROTO_CARP);
fail:
	NET_EPOCH_WAIT();
	free(carp_rs_rxbuf, M_CARP_RS);
	carp_rs_rxbuf = NULL;
	return (error);
}

/*
 * Unload works with live vhids (carp(4) says EBUSY): every MASTER bows
 * out, then every CARP address is removed from its interface (logged), so
 * that no host answers for a VIP without CARP; multicast groups are left,
 * published entries withdrawn and parents leave promiscuous mode
 * (carp_rs_teardown()); carpN interfaces go first, with their cloners.
 *
 * Then nothing of ours may run once this returns: the dying flag turns
 * new requests away (carp_rs_enter(), and again under the sx lock), the
 * hook pointers are parked at the kernel's placeholders
 * (carp_rs_hooks_fini()), and with none of our locks held we wait for the
 * net epoch (input and the hooks that run inside it) and for the
 * in-flight count to drain (a request asleep on our sx wakes up, sees
 * dying and leaves).  The short pause covers a thread that read a hook
 * pointer before it was parked and has not reached carp_rs_enter() yet,
 * or is between carp_rs_exit() and its return.
 */
static int
carp_rs_unload(void)
{
	struct carp_rs_vnet *vc;

	/* Also called after a failed MOD_LOAD, which has cleaned up. */
	if (!carp_rs_loaded)
		return (0);
	atomic_store_rel_int(&carp_rs_dying, 1);
	/* Waits for the sysctl handlers still running. */
	sysctl_ctx_free(&carp_rs_sysctl_ctx);
	carp_rs_nl_fini();
	carp_rs_cloners_fini();
	/* Bow-out adverts leave while the hooks still tag them. */
	carp_rs_teardown(NULL);
	carp_rs_hooks_fini();
	(void)ipproto_unregister(IPPROTO_CARP);
	(void)ip6proto_unregister(IPPROTO_CARP);
	NET_EPOCH_WAIT();
	carp_rs_drain();
	pause("carpgrc", hz / 10 + 1);
	sx_xlock(&carp_rs_sx);
	mtx_lock(&carp_rs_mtx);
	carp_rs_loaded = false;
	LIST_FOREACH(vc, &carp_rs_vnets, link)
		callout_stop(&vc->callout);
	mtx_unlock(&carp_rs_mtx);
	LIST_FOREACH(vc, &carp_rs_vnets, link) {
		callout_drain(&vc->callout);
		taskqueue_drain(taskqueue_swi, &vc->task);
	}
	sx_xunlock(&carp_rs_sx);
	/* Deferred frees of parents and addresses. */
	NET_EPOCH_DRAIN_CALLBACKS();
	free(carp_rs_rxbuf, M_CARP_RS);
	carp_rs_rxbuf = NULL;
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
/* After MOD_LOAD (a later subsystem); at unload after MOD_UNLOAD. */
VNET_SYSINIT(carp_rs_vnet_init, SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY,
    carp_rs_vnet_init, NULL);
VNET_SYSUNINIT(carp_rs_vnet_uninit, SI_SUB_PROTO_IFATTACHDOMAIN,
    SI_ORDER_ANY, carp_rs_vnet_uninit, NULL);
