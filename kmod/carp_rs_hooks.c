/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the carp(4) hook pointers of the network stack and what they
 * call: SIOCSVH/SIOCGVH, address attach/detach, and the hooks of the
 * data path (carp_master, carp_forus, carp_output, carp_iamatch...).
 * Every decision (is this vhid MASTER, may this request pass, what state
 * follows) is the engine's; the hooks translate kernel structures into
 * engine calls.  Hooks called from other subsystems' locked contexts
 * (pfsync's demotion, link state) only record and enqueue a task.
 */

#include "carp_rs_var.h"

#include <sys/priv.h>
#include <sys/sockio.h>
#include <sys/taskqueue.h>
#include <net/if_types.h>

/* ---- Hooks. */

/* The counted hooks: nothing of ours runs before carp_rs_enter(). */
static int
carp_rs_hook_attach(struct ifaddr *ifa, int vhid)
{
	uint8_t addr[16];
	int error;

	KASSERT(ifa->ifa_carp == NULL, ("%s: ifa %p attached", __func__, ifa));
	if (!carp_rs_enter())
		error = ENOPROTOOPT;
	else if (carp_rs_ifa_af(ifa, addr) == 0)
		error = EPROTOTYPE;
	else if (vhid < 1 || vhid > CARP_MAXVHID)
		error = EINVAL;
	else if (carp_rs_is_clone(ifa->ifa_ifp))
		error = carp_rs_clone_attach(ifa, vhid);
	else
		error = carp_rs_attach(ifa, vhid);
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
				carp_rs_link_locked(cif);
	carp_rs_run_locked();
	mtx_unlock(&carp_rs_mtx);
	carp_rs_apply(CARP_RS_APPLY_TRY);
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
	m = carp_rs_is_master(ra->cif->vc->engine, ra->cif->index, ra->vhid);
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

static int
carp_rs_hook_iamatch(struct ifaddr *ifa, uint8_t **enaddr)
{
	struct carp_rs_addr *ra = CARP_RS_ADDR(ifa);

	if (ra == NULL || !carp_rs_hook_master(ifa))
		return (0);
	*enaddr = ra->vmac;
	return (1);
}

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

/*
 * SIOCSVH/SIOCGVH on a parent or a carpN (carp_ioctl): the engine parses
 * and answers (ctl/carpreq.rs, ctl/legacy.rs).  Counted in flight.
 */
static int
carp_rs_hook_ioctl(struct ifreq *ifr, u_long cmd, struct thread *td)
{
	const size_t outlen = CARP_MAXVHID * sizeof(struct carpreq);
	struct carp_rs_ifinfo ii, *iip = NULL;
	struct carp_rs_legacy_out lout;
	struct carp_rs_setres res;
	struct carpreq carpr;
	struct ifnet *ifp = NULL;
	uint8_t *out;
	size_t used = 0;
	int error, priv;

	if (!carp_rs_enter())
		error = ENXIO;
	else if ((error = copyin(ifr_data_get_ptr(ifr), &carpr,
	    sizeof(carpr))) == 0 && (ifp = ifunit_ref(ifr->ifr_name)) != NULL) {
		carp_rs_ifinfo(ifp, &ii);
		iip = &ii;
	}
	if (error == 0 && cmd == SIOCSVH) {
		priv = priv_check(td, PRIV_NETINET_CARP) == 0;
		if ((error = carp_rs_config_begin()) == 0) {
			CARP_RS_CALL(error = carp_rs_ioctl_set(V_carp_rs_engine,
			    carp_rs_now(), iip, (const uint8_t *)&carpr,
			    sizeof(carpr), priv, &res, &lout));
			carp_rs_set_done(ifp, error, &res, &lout);
			carp_rs_config_end();
		}
	} else if (error == 0 && cmd == SIOCGVH) {
		priv = priv_check_cred(td->td_ucred, PRIV_NETINET_CARP) == 0;
		out = malloc(outlen, M_CARP_RS, M_WAITOK | M_ZERO);
		/* Dying is read under the mutex: teardown empties the engine. */
		mtx_lock(&carp_rs_mtx);
		error = carp_rs_dying != 0 || V_carp_rs_vnet == NULL ? ENXIO :
		    carp_rs_ioctl_get(V_carp_rs_engine, iip,
		    (const uint8_t *)&carpr, sizeof(carpr), priv, out, outlen,
		    &used);
		mtx_unlock(&carp_rs_mtx);
		if (error == 0)
			error = copyout(out, ifr_data_get_ptr(ifr), used);
		free(out, M_CARP_RS);
	} else if (error == 0)
		error = EINVAL;
	if (ifp != NULL)
		if_rele(ifp);
	carp_rs_exit();
	return (error);
}

/* ---- Registration and teardown. */

static eventhandler_tag carp_rs_departure_tag;	/* carp_rs_ifdeparture */

/*
 * Every carp(4) hook pointer of the stack with ours (X-macro): installed
 * only when all are free (another carp owns them otherwise), parked at
 * unload.  Parked, not cleared: ifioctl() (carp_ioctl_p), in_aifaddr_ioctl()
 * (carp_attach_p, checked 100 lines before the call), pfsync
 * (carp_demote_adj_p) and rtsock (carp_get_vhid_p) read a hook twice, to
 * test it for NULL and to call it, and a request between the two while
 * unload cleared it called address 0 (a page fault under SIOCSVH).  So
 * each hook is left at a placeholder of the kernel's own text, which
 * outlives the module: eopnotsupp() refuses a request, nullop() answers
 * 0 (no vhid, not ours, not MASTER, NULL) and does nothing.  A parked
 * hook counts as free at the next load; stock carp.ko overwrites them.
 */
#define	CARP_RS_HOOKS(X)						\
	X(carp_ioctl_p, carp_rs_hook_ioctl, eopnotsupp)			\
	X(carp_attach_p, carp_rs_hook_attach, eopnotsupp)		\
	X(carp_detach_p, carp_rs_hook_detach, nullop)			\
	X(carp_linkstate_p, carp_rs_hook_linkstate, nullop)		\
	X(carp_demote_adj_p, carp_rs_hook_demote_adj, nullop)		\
	X(carp_master_p, carp_rs_hook_master, nullop)			\
	X(carp_forus_p, carp_rs_hook_forus, nullop)			\
	X(carp_output_p, carp_rs_hook_output, nullop)			\
	X(carp_get_vhid_p, carp_rs_hook_get_vhid, nullop)		\
	X(carp_iamatch_p, carp_rs_hook_iamatch, nullop)			\
	X(carp_iamatch6_p, carp_rs_hook_iamatch6, nullop)		\
	X(carp_macmatch6_p, carp_rs_hook_macmatch6, nullop)
#define	CARP_RS_HOOK_BUSY(p, f, s)					\
	|| ((p) != NULL && (void *)(p) != (void *)(s))
#define	CARP_RS_HOOK_SET(p, f, s)	(p) = (f);
#define	CARP_RS_HOOK_PARK(p, f, s)	(p) = (void *)(s);

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
	CARP_RS_HOOKS(CARP_RS_HOOK_PARK)
}
