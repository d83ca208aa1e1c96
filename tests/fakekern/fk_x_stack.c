/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the rest of the network stack the full carp(4) shim talks to.
 * Interface allocation and cloning (if_alloc/if_attach/if_clone_simple),
 * addresses (ifa_ref/ifa_free, prefix and loopback routes), multicast
 * membership (counted per group), promiscuous mode, gratuitous ARP and
 * unsolicited NA (captured), lltable and ND entries (recorded),
 * devctl_notify (captured as devd would format it), link-state changes
 * (deferred to a task, then the CARP linkstate hook, as net/if.c does),
 * privilege checks, copyin/copyout and arc4random (deterministic).
 */
#include "fk.h"
#include "fk_stack.h"

#include <sys/devctl.h>
#include <sys/eventhandler.h>
#include <sys/priv.h>
#include <sys/taskqueue.h>
#include <net/bpf.h>
#include <net/ethernet.h>
#include <net/if_clone.h>
#include <net/if_llatbl.h>
#include <net/route.h>
#include <netinet/if_ether.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <netinet6/scope6_var.h>

struct fk_stack fk_stack;
static void fk_rt_forget(const struct ifaddr *);

struct malloc_type M_IFNET[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "ifnet" } };
struct malloc_type M_IFADDR[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "ifaddr" } };
struct malloc_type M_IPMADDR[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "in_multi" } };
struct malloc_type M_IFCLONE_fk[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "clone" } };

void
fk_stack_init(void)
{
	sx_init_flags(&ifnet_detach_sxlock, "ifnet_detach_sx", SX_RECURSE);
	malloc_init(M_IFNET);
	malloc_init(M_IFADDR);
	malloc_init(M_IPMADDR);
	malloc_init(M_IFCLONE_fk);
}

/*
 * if.c's: serialises interface detach, cloner destroy and vnet
 * destruction (recursive, as upstream).
 */
struct sx ifnet_detach_sxlock;

/* ------------------------------------------------------------ misc */

static uint64_t fk_rng = 0x9e3779b97f4a7c15ULL;

uint32_t
arc4random(void)
{
	fk_rng ^= fk_rng << 13;
	fk_rng ^= fk_rng >> 7;
	fk_rng ^= fk_rng << 17;
	return ((uint32_t)(fk_rng >> 16));
}

void
arc4rand(void *ptr, u_int len, int reseed __unused)
{
	for (u_int i = 0; i < len; i++)
		((uint8_t *)ptr)[i] = (uint8_t)arc4random();
}

/*
 * fk_copyin_gate: copyin(9) blocks (as on a page fault) until a scenario
 * clears it; fk_copyin_gated counts the threads that got there.
 */
volatile int fk_copyin_gate, fk_copyin_gated;
volatile int fk_ifalloc_gate, fk_ifalloc_gated;

int
copyin(const void *udaddr, void *kaddr, size_t len)
{
	if (fk_copyin_gate && fk_threaded) {
		fk_copyin_gated++;
		while (fk_copyin_gate)
			fk_preempt();
	}
	if (udaddr == NULL)
		return (EFAULT);
	memcpy(kaddr, udaddr, len);
	return (0);
}

int
copyout(const void *kaddr, void *udaddr, size_t len)
{
	if (udaddr == NULL)
		return (EFAULT);
	memcpy(udaddr, kaddr, len);
	return (0);
}

void
DELAY(int usec __unused)
{
}

int
priv_check(struct thread *td, int priv)
{
	if (td != curthread)
		fk_fail("priv_check on another thread");
	return (priv_check_cred(td->td_ucred, priv));
}

int
priv_check_cred(struct ucred *cred __unused, int priv)
{
	fk_stack.priv_checks++;
	fk_stack.last_priv = priv;
	return (fk_stack.priv_deny ? EPERM : 0);
}

void
devctl_notify(const char *sys, const char *subsys, const char *type,
    const char *data)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "system=%s subsystem=%s type=%s%s%s", sys,
	    subsys, type, data != NULL ? " " : "", data != NULL ? data : "");
	fk_lines_add(&fk_devctl, buf);
	if (fk_verbose)
		fk_out("  devctl: %s\n", buf);
}

/* ----------------------------------------------------------- tasks */

/* Deferred link-state changes (if_link_state_change's taskqueue). */
#define	FK_MAXLS	64
static struct { struct ifnet *ifp; int state; } fk_ls[FK_MAXLS];
static int fk_nls;

void
if_link_state_change(struct ifnet *ifp, int link_state)
{
	if (ifp->if_link_state == link_state)
		return;
	ifp->if_link_state = link_state;
	if (fk_nls >= FK_MAXLS) {
		fk_fail("too many pending link-state changes");
		return;
	}
	fk_ls[fk_nls].ifp = ifp;
	fk_ls[fk_nls].state = link_state;
	fk_nls++;
}

/* taskqueue_swi: enqueued tasks, run by fk_run_tasks(). */
#define	FK_MAXTASKS	16
#define	FK_MAXTHREADS_TASKS	16
static struct task *fk_tasks[FK_MAXTASKS];
static int fk_ntasks;
static struct task *volatile fk_task_running[FK_MAXTHREADS_TASKS];
static volatile int fk_ntask_running;
struct taskqueue *taskqueue_swi = (struct taskqueue *)&fk_tasks;

int
taskqueue_enqueue(struct taskqueue *tq, struct task *t)
{
	if (tq != taskqueue_swi) {
		fk_fail("taskqueue_enqueue: only taskqueue_swi is faked");
		return (EINVAL);
	}
	if (t->ta_pending++ != 0)
		return (0);
	if (fk_ntasks >= FK_MAXTASKS) {
		fk_fail("too many queued tasks");
		return (ENOSPC);
	}
	fk_tasks[fk_ntasks++] = t;
	return (0);
}

static bool
fk_task_is_running(const struct task *t)
{
	for (int j = 0; j < fk_ntask_running; j++)
		if (fk_task_running[j] == t)
			return (true);
	return (false);
}

static bool
fk_run_one_task(struct task *only)
{
	struct task *t;
	struct vnet *sv;
	int pending;

	for (int i = 0; i < fk_ntasks; i++) {
		t = fk_tasks[i];
		if (only != NULL && t != only)
			continue;
		fk_tasks[i] = fk_tasks[--fk_ntasks];
		pending = t->ta_pending;
		t->ta_pending = 0;
		fk_task_running[fk_ntask_running++] = t;
		/* A taskqueue thread runs in no vnet. */
		sv = curthread->td_vnet;
		curthread->td_vnet = NULL;
		t->ta_func(t->ta_context, pending);
		curthread->td_vnet = sv;
		for (int j = 0; j < fk_ntask_running; j++)
			if (fk_task_running[j] == t) {
				fk_task_running[j] =
				    fk_task_running[--fk_ntask_running];
				break;
			}
		if (fk_locks_held() != 0 || fk_epoch_depth() != 0)
			fk_fail("task returned with locks held or in the epoch");
		return (true);
	}
	return (false);
}

void
taskqueue_drain(struct taskqueue *tq __unused, struct task *t)
{
	fk_assert_sleepable("taskqueue_drain");
	while (fk_run_one_task(t))
		;
	/* Running on another thread: wait for it to return. */
	while (fk_task_is_running(t))
		fk_preempt();
}

/*
 * do_link_state_change() for each queued change, then the queued tasks,
 * outside any lock, until none is left.
 */
void
fk_run_tasks(void)
{
	int i;

	if (fk_locks_held() != 0 || fk_epoch_depth() != 0)
		fk_fail("tasks run with locks held");
	for (i = 0; i < fk_nls; i++) {
		struct ifnet *ifp = fk_ls[i].ifp;

		CURVNET_SET_QUIET(ifp->if_vnet);
		if (ifp->if_carp != NULL && carp_linkstate_p != NULL)
			carp_linkstate_p(ifp);
		CURVNET_RESTORE();
		devctl_notify("IFNET", ifp->if_xname,
		    fk_ls[i].state == LINK_STATE_UP ? "LINK_UP" : "LINK_DOWN",
		    NULL);
	}
	fk_nls = 0;
	while (fk_run_one_task(NULL))
		;
}

/* Drops queued changes of an interface that goes away. */
static void
fk_tasks_forget(struct ifnet *ifp)
{
	for (int i = 0; i < fk_nls; i++)
		if (fk_ls[i].ifp == ifp) {
			fk_ls[i] = fk_ls[--fk_nls];
			i--;
		}
}

/* ---------------------------------------------------------- ifnets */

/* The IPv6 per-interface data ND_IFINFO() reads, in one allocation. */
struct fk_afdata6 {
	struct in6_ifextra	ext;
	struct nd_ifinfo	nd;
};

void
fk_afdata_init(struct ifnet *ifp)
{
	struct fk_afdata6 *a;

	a = fk_zalloc(sizeof(*a));	/* the harness's, not malloc(9)'s */
	a->ext.nd_ifinfo = &a->nd;
	a->nd.flags = ND6_IFF_AUTO_LINKLOCAL;
	ifp->if_afdata[AF_INET6] = &a->ext;
}

void *
if_getafdata(if_t ifp, int af)
{
	return (ifp->if_afdata[af]);
}

void
fk_afdata_free(struct ifnet *ifp)
{
	if (ifp->if_afdata[AF_INET6] != NULL)
		fk_zfree(ifp->if_afdata[AF_INET6]);
	ifp->if_afdata[AF_INET6] = NULL;
}

static void
fk_if_release(struct ifnet *ifp)
{
	fk_afdata_free(ifp);
	mtx_destroy(&ifp->if_addr_lock);
	free(ifp, M_IFNET);
}

if_t
if_alloc(u_char type)
{
	struct ifnet *ifp;

	fk_assert_sleepable("if_alloc");
	if (fk_ifalloc_gate && fk_threaded) {
		fk_ifalloc_gated++;
		while (fk_ifalloc_gate)
			fk_preempt();
	}
	ifp = malloc(sizeof(*ifp), M_IFNET, M_WAITOK | M_ZERO);
	ifp->if_type = type;
	ifp->if_alloctype = type;
	ifp->if_refcount = 1;
	ifp->if_vnet = curvnet;
	/* As nd6_ifattach(): IPv6 state with the default auto_linklocal. */
	fk_afdata_init(ifp);
	CK_STAILQ_INIT(&ifp->if_addrhead);
	CK_STAILQ_INIT(&ifp->if_multiaddrs);
	mtx_init(&ifp->if_addr_lock, "if_addr_lock", NULL, MTX_DEF);
	return (ifp);
}

void
if_initname(if_t ifp, const char *name, int unit)
{
	ifp->if_dname = name;
	ifp->if_dunit = unit;
	if (unit != IF_DUNIT_NONE)
		snprintf(ifp->if_xname, IFNAMSIZ, "%s%d", name, unit);
	else
		strlcpy(ifp->if_xname, name, IFNAMSIZ);
}

void
if_attach(if_t ifp)
{
	fk_assert_sleepable("if_attach");
	if (fk_if_register(ifp) != 0)
		return;
	fk_stack.attached++;
}

void
if_purgeaddrs(if_t ifp)
{
	struct ifaddr *ifa, *next;

	CK_STAILQ_FOREACH_SAFE(ifa, &ifp->if_addrhead, ifa_link, next) {
		if (ifa->ifa_addr->sa_family == AF_LINK)
			continue;
		fk_addr_remove(ifa);
	}
}

void
if_detach(if_t ifp)
{
	fk_assert_sleepable("if_detach");
	sx_xlock(&ifnet_detach_sxlock);
	CURVNET_SET_QUIET(ifp->if_vnet);
	if_purgeaddrs(ifp);
	fk_ifnet_departure(ifp);
	if (ifp->if_carp != NULL)
		fk_fail("if_detach(%s): if_carp still set after purge",
		    ifp->if_xname);
	fk_tasks_forget(ifp);
	fk_if_unregister(ifp);
	CURVNET_RESTORE();
	sx_xunlock(&ifnet_detach_sxlock);
	fk_stack.attached--;
	/* Gone from the index; holders of a reference may still read it. */
	ifp->if_flags |= IFF_DYING;
}

void
if_free(if_t ifp)
{
	/* As net/if.c: the last if_rele() frees a dying ifnet. */
	ifp->if_flags |= IFF_DYING;
	if (--ifp->if_refcount > 0) {
		fk_stack.dying_ifnets++;
		return;
	}
	fk_if_release(ifp);
}

void
fk_if_rele_dying(struct ifnet *ifp)
{
	if (--ifp->if_refcount > 0)
		return;
	fk_stack.dying_ifnets--;
	fk_if_release(ifp);
}

void
if_inc_counter(if_t ifp __unused, ift_counter cnt, int64_t inc)
{
	if (cnt < IFCOUNTERS)
		fk_stack.ifcounters[cnt] += inc;
}

int
if_simloop(if_t ifp __unused, struct mbuf *m, int af __unused,
    int hlen __unused)
{
	fk_stack.simloops++;
	m_freem(m);
	return (0);
}

void
bpfattach(struct ifnet *ifp __unused, u_int dlt __unused, u_int hdrlen __unused)
{
	fk_stack.bpf++;
}

void
bpfdetach(struct ifnet *ifp __unused)
{
	fk_stack.bpf--;
}

int
ifpromisc(if_t ifp, int pswitch)
{
	fk_assert_sleepable("ifpromisc");
	if (pswitch)
		ifp->if_pcount++;
	else if (ifp->if_pcount == 0) {
		fk_fail("ifpromisc(%s, 0) below zero", ifp->if_xname);
		return (EINVAL);
	} else
		ifp->if_pcount--;
	if (ifp->if_pcount > 0)
		ifp->if_flags |= IFF_PROMISC;
	else
		ifp->if_flags &= ~IFF_PROMISC;
	return (0);
}

void *
ifr_data_get_ptr(void *ifrp)
{
	return (((struct ifreq *)ifrp)->ifr_ifru.ifru_data);
}

/* ---------------------------------------------------------- cloners */

/* One cloner per name and vnet (if_clone.c keeps V_if_cloners). */
struct if_clone {
	struct vnet	*vnet;
	char		 name[IFNAMSIZ];
	ifcs_create_t	*create;
	ifcs_destroy_t	*destroy;
	u_int		 minifs;
	struct ifnet	*ifs[32];	/* by unit */
};

struct if_clone *
if_clone_simple(const char *name, ifcs_create_t create,
    ifcs_destroy_t destroy, u_int minifs)
{
	struct if_clone *ifc;

	for (int i = 0; i < FK_MAXCLONERS; i++)
		if (fk_stack.cloners[i] != NULL &&
		    fk_stack.cloners[i]->vnet == curvnet &&
		    strcmp(fk_stack.cloners[i]->name, name) == 0) {
			fk_fail("if_clone_simple: cloner %s exists", name);
			return (NULL);
		}
	ifc = malloc(sizeof(*ifc), M_IFCLONE_fk, M_WAITOK | M_ZERO);
	strlcpy(ifc->name, name, sizeof(ifc->name));
	ifc->vnet = curvnet;
	ifc->create = create;
	ifc->destroy = destroy;
	ifc->minifs = minifs;
	for (int i = 0; i < FK_MAXCLONERS; i++)
		if (fk_stack.cloners[i] == NULL) {
			fk_stack.cloners[i] = ifc;
			break;
		}
	for (u_int u = 0; u < minifs; u++)
		(void)fk_clone_create_unit(ifc, (int)u);
	return (ifc);
}

struct if_clone *
fk_cloner(const char *name)
{
	for (int i = 0; i < FK_MAXCLONERS; i++)
		if (fk_stack.cloners[i] != NULL &&
		    fk_stack.cloners[i]->vnet == curvnet &&
		    strcmp(fk_stack.cloners[i]->name, name) == 0)
			return (fk_stack.cloners[i]);
	return (NULL);
}

int
fk_clone_create_unit(struct if_clone *ifc, int unit)
{
	char name[IFNAMSIZ];
	int error;

	if (unit < 0 || unit >= 32 || ifc->ifs[unit] != NULL)
		return (EEXIST);
	error = ifc->create(ifc, unit, NULL);
	if (error != 0)
		return (error);
	snprintf(name, sizeof(name), "%s%d", ifc->name, unit);
	ifc->ifs[unit] = ifunit(name);
	if (ifc->ifs[unit] == NULL) {
		fk_fail("clone create %s: no interface of that name attached",
		    name);
		return (ENXIO);
	}
	return (0);
}

/* ifconfig carpN create / destroy (if_clone_create / if_clone_destroy). */
int
fk_clone_create(const char *name)
{
	for (int i = 0; i < FK_MAXCLONERS; i++) {
		struct if_clone *ifc = fk_stack.cloners[i];
		size_t n;

		if (ifc == NULL || ifc->vnet != curvnet)
			continue;
		n = strlen(ifc->name);
		if (strncmp(name, ifc->name, n) == 0 && name[n] >= '0' &&
		    name[n] <= '9')
			return (fk_clone_create_unit(ifc, (int)strtoul(name + n,
			    NULL, 10)));
	}
	return (EINVAL);
}

int
fk_clone_destroy(const char *name)
{
	for (int i = 0; i < FK_MAXCLONERS; i++) {
		struct if_clone *ifc = fk_stack.cloners[i];

		if (ifc == NULL || ifc->vnet != curvnet)
			continue;
		for (int u = 0; u < 32; u++)
			if (ifc->ifs[u] != NULL &&
			    strcmp(ifc->ifs[u]->if_xname, name) == 0) {
				if ((u_int)u < ifc->minifs)
					return (EINVAL);
				/* if_clone_destroyif */
				sx_xlock(&ifnet_detach_sxlock);
				ifc->destroy(ifc->ifs[u]);
				sx_xunlock(&ifnet_detach_sxlock);
				ifc->ifs[u] = NULL;
				return (0);
			}
	}
	return (ENXIO);
}

int
fk_clone_count(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXCLONERS; i++)
		if (fk_stack.cloners[i] != NULL)
			n++;
	return (n);
}

void
if_clone_detach(struct if_clone *ifc)
{
	fk_assert_sleepable("if_clone_detach");
	/* V_if_cloners: only curvnet's cloners are found. */
	if (ifc->vnet != curvnet)
		fk_fail("if_clone_detach(%s) outside the cloner's vnet",
		    ifc->name);
	/* Every interface of the cloner is destroyed first. */
	sx_xlock(&ifnet_detach_sxlock);
	for (int u = 0; u < 32; u++)
		if (ifc->ifs[u] != NULL) {
			ifc->destroy(ifc->ifs[u]);
			ifc->ifs[u] = NULL;
		}
	sx_xunlock(&ifnet_detach_sxlock);
	for (int i = 0; i < FK_MAXCLONERS; i++)
		if (fk_stack.cloners[i] == ifc)
			fk_stack.cloners[i] = NULL;
	free(ifc, M_IFCLONE_fk);
}

/* -------------------------------------------------------- addresses */

void
ifa_ref(struct ifaddr *ifa)
{
	if (ifa->ifa_refcnt == 0)
		fk_fail("ifa_ref on a freed ifaddr");
	ifa->ifa_refcnt++;
}

void
ifa_free(struct ifaddr *ifa)
{
	if (ifa->ifa_refcnt == 0) {
		fk_fail("ifa_free below zero");
		return;
	}
	if (--ifa->ifa_refcnt == 0) {
		fk_rt_forget(ifa);
		free(ifa, M_IFADDR);
	}
}

/*
 * Routes and ND entries per address, so that scenarios can compare them
 * with the vhid's state: 0 or 1 each, never negative, none left when the
 * ifaddr is freed (a route of a freed address is a leak).
 */
static struct fk_rt fk_rts[FK_MAXRT];

struct fk_rt *
fk_rt_of(const struct ifaddr *ifa, bool create)
{
	struct fk_rt *free_rt = NULL;

	for (int i = 0; i < FK_MAXRT; i++) {
		if (fk_rts[i].ifa == ifa)
			return (&fk_rts[i]);
		if (fk_rts[i].ifa == NULL && free_rt == NULL)
			free_rt = &fk_rts[i];
	}
	if (!create)
		return (NULL);
	if (free_rt == NULL) {
		fk_fail("too many routed addresses");
		fkh_abort();
	}
	memset(free_rt, 0, sizeof(*free_rt));
	free_rt->ifa = ifa;
	return (free_rt);
}

static void
fk_rt_forget(const struct ifaddr *ifa)
{
	struct fk_rt *rt = fk_rt_of(ifa, false);

	if (rt == NULL)
		return;
	if (rt->lo != 0 || rt->prefix != 0 || rt->nd6 != 0)
		fk_fail("ifaddr freed with routes left: loopback %d prefix %d "
		    "nd6 %d (leaked)", rt->lo, rt->prefix, rt->nd6);
	rt->ifa = NULL;
}

int
ifa_add_loopback_route(struct ifaddr *ifa, struct sockaddr *sa __unused)
{
	fk_stack.loopback_routes++;
	fk_rt_of(ifa, true)->lo++;
	return (0);
}

int
ifa_del_loopback_route(struct ifaddr *ifa, struct sockaddr *sa __unused)
{
	fk_stack.loopback_routes--;
	fk_rt_of(ifa, true)->lo--;
	return (0);
}

int
in_addprefix(struct in_ifaddr *ia)
{
	fk_stack.prefix_routes++;
	fk_rt_of(&ia->ia_ifa, true)->prefix++;
	return (0);
}

int
in_scrubprefix(struct in_ifaddr *ia, u_int flags __unused)
{
	fk_stack.prefix_routes--;
	fk_rt_of(&ia->ia_ifa, true)->prefix--;
	return (0);
}

int
in6_clearscope(struct in6_addr *in6)
{
	int modified = 0;

	if (IN6_IS_SCOPE_LINKLOCAL(in6) || IN6_IS_ADDR_MC_INTFACELOCAL(in6)) {
		if (in6->s6_addr16[1] != 0)
			modified = 1;
		in6->s6_addr16[1] = 0;
	}
	return (modified);
}

int
in6_setscope(struct in6_addr *in6, struct ifnet *ifp, u_int32_t *ret_id)
{
	if (IN6_IS_SCOPE_LINKLOCAL(in6) || IN6_IS_ADDR_MC_INTFACELOCAL(in6)) {
		in6->s6_addr16[1] = htons(ifp->if_index & 0xffff);
		if (ret_id != NULL)
			*ret_id = ifp->if_index;
	} else if (ret_id != NULL)
		*ret_id = 0;
	return (0);
}

/* -------------------------------------------------------- multicast */

static int
fk_group_slot(struct ifnet *ifp, int af, const void *addr, bool create)
{
	int free_slot = -1;

	for (int i = 0; i < FK_MAXGROUPS; i++) {
		struct fk_group *g = &fk_stack.groups[i];

		if (g->refs == 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (g->ifp == ifp && g->af == af &&
		    memcmp(g->addr, addr, af == 4 ? 4 : 16) == 0)
			return (i);
	}
	if (!create || free_slot < 0)
		return (-1);
	fk_stack.groups[free_slot].ifp = ifp;
	fk_stack.groups[free_slot].af = af;
	memset(fk_stack.groups[free_slot].addr, 0, 16);
	memcpy(fk_stack.groups[free_slot].addr, addr, af == 4 ? 4 : 16);
	return (free_slot);
}

/* Records (inm != NULL) or forgets the membership object of group s. */
static void
fk_group_hold(int s, void *inm, bool hold)
{
	struct fk_group *g = &fk_stack.groups[s];

	for (int i = 0; i < FK_GROUP_HOLDERS; i++)
		if (g->held[i] == (hold ? NULL : inm)) {
			g->held[i] = hold ? inm : NULL;
			return;
		}
	if (hold)
		fk_fail("more than %d holders of one group", FK_GROUP_HOLDERS);
}

/*
 * in_ifdetach()/in6_ifdetach() (in_purgemaddrs): before the departure
 * event, the stack releases every membership still held on the departing
 * interface, kernel-internal ones included; an in_multi whose last
 * reference goes is freed.  A later leave of one is a use after free,
 * which ASan reports.
 */
void
fk_purge_maddrs(struct ifnet *ifp)
{
	for (int s = 0; s < FK_MAXGROUPS; s++) {
		struct fk_group *g = &fk_stack.groups[s];

		if (g->refs == 0 || g->ifp != ifp)
			continue;
		for (int i = 0; i < FK_GROUP_HOLDERS; i++) {
			free(g->held[i], M_IPMADDR);
			g->held[i] = NULL;
		}
		g->refs = 0;
	}
}

int
in_joingroup(struct ifnet *ifp, const struct in_addr *gina,
    struct in_mfilter *imf __unused, struct in_multi **pinm)
{
	struct in_multi *inm;
	int s;

	fk_assert_sleepable("in_joingroup");
	s = fk_group_slot(ifp, 4, gina, true);
	if (s < 0)
		return (ENOMEM);
	fk_stack.groups[s].refs++;
	fk_stack.joins++;
	inm = malloc(sizeof(*inm), M_IPMADDR, M_WAITOK | M_ZERO);
	inm->inm_addr = *gina;
	inm->inm_ifp = ifp;
	inm->inm_refcount = 1;
	fk_group_hold(s, inm, true);
	*pinm = inm;
	return (0);
}

int
in_leavegroup(struct in_multi *inm, struct in_mfilter *imf __unused)
{
	int s;

	fk_assert_sleepable("in_leavegroup");
	s = fk_group_slot(inm->inm_ifp, 4, &inm->inm_addr, false);
	if (s < 0)
		fk_fail("in_leavegroup: not a member");
	else {
		fk_stack.groups[s].refs--;
		fk_group_hold(s, inm, false);
	}
	fk_stack.leaves++;
	free(inm, M_IPMADDR);
	return (0);
}

int
in6_joingroup(struct ifnet *ifp, const struct in6_addr *addr,
    struct in6_mfilter *imf __unused, struct in6_multi **pin6m,
    int delay __unused)
{
	struct in6_multi *inm;
	int s;

	fk_assert_sleepable("in6_joingroup");
	s = fk_group_slot(ifp, 6, addr, true);
	if (s < 0)
		return (ENOMEM);
	fk_stack.groups[s].refs++;
	fk_stack.joins++;
	inm = malloc(sizeof(*inm), M_IPMADDR, M_WAITOK | M_ZERO);
	inm->in6m_addr = *addr;
	inm->in6m_ifp = ifp;
	inm->in6m_refcount = 1;
	fk_group_hold(s, inm, true);
	*pin6m = inm;
	return (0);
}

int
in6_leavegroup(struct in6_multi *inm, struct in6_mfilter *imf __unused)
{
	int s;

	fk_assert_sleepable("in6_leavegroup");
	s = fk_group_slot(inm->in6m_ifp, 6, &inm->in6m_addr, false);
	if (s < 0)
		fk_fail("in6_leavegroup: not a member");
	else {
		fk_stack.groups[s].refs--;
		fk_group_hold(s, inm, false);
	}
	fk_stack.leaves++;
	free(inm, M_IPMADDR);
	return (0);
}

int
fk_group_refs(struct ifnet *ifp, int af, const char *group)
{
	uint8_t a[16];
	int s;

	memset(a, 0, sizeof(a));
	if (af == 4)
		fk_inet_pton4(group, (struct in_addr *)a);
	else {
		/* The stack keeps link-local groups in KAME form (zone inside). */
		fk_inet_pton6(group, (struct in6_addr *)a);
		in6_setscope((struct in6_addr *)a, ifp, NULL);
	}
	s = fk_group_slot(ifp, af, a, false);
	return (s < 0 ? 0 : fk_stack.groups[s].refs);
}

int
fk_groups_total(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXGROUPS; i++)
		n += fk_stack.groups[i].refs;
	return (n);
}

/* ---------------------------------------------- ARP, ND and lltable */

static void
fk_event(const char *fmt, ...) __printflike(1, 2);

static void
fk_event(const char *fmt, ...)
{
	char buf[256];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	fk_lines_add(&fk_stack.events, buf);
	if (fk_verbose)
		fk_out("  stack: %s\n", buf);
}

static const char *
fk_mac(const u_char *m, char *buf)
{
	if (m == NULL)
		return ("(null)");
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	    m[3], m[4], m[5]);
	return (buf);
}

static const char *
fk_ip4(struct in_addr a, char *buf)
{
	uint32_t h = ntohl(a.s_addr);

	snprintf(buf, 16, "%u.%u.%u.%u", h >> 24, (h >> 16) & 255,
	    (h >> 8) & 255, h & 255);
	return (buf);
}

static const char *
fk_ip6(const struct in6_addr *a, char *buf)
{
	int n = 0;

	for (int i = 0; i < 8; i++)
		n += snprintf(buf + n, 48 - n, "%s%x", i ? ":" : "",
		    ntohs(a->s6_addr16[i]));
	return (buf);
}

void
arp_announce_ifaddr(struct ifnet *ifp, struct in_addr addr, u_char *enaddr)
{
	char a[16], m[18];

	/* Upstream sends it under the vhid's mutex; ours: none at all. */
	if (fk_mutexes_held() != 0)
		fk_fail("arp_announce_ifaddr with a mutex held");
	fk_event("garp %s %s %s", ifp->if_xname, fk_ip4(addr, a),
	    fk_mac(enaddr, m));
}

void
nd6_na_output(struct ifnet *ifp, const struct in6_addr *daddr6,
    const struct in6_addr *taddr6, u_long flags, int tlladdr,
    struct sockaddr *sdl0)
{
	char d[48], t[48];

	(void)tlladdr;
	(void)sdl0;
	if (fk_mutexes_held() != 0)
		fk_fail("nd6_na_output with a mutex held");
	fk_event("na %s %s to %s flags %#lx", ifp->if_xname, fk_ip6(taddr6, t),
	    fk_ip6(daddr6, d), flags);
}

int
nd6_add_ifa_lle(struct in6_ifaddr *ia)
{
	char a[48];

	fk_event("nd6_add_ifa_lle %s", fk_ip6(&ia->ia_addr.sin6_addr, a));
	fk_rt_of(&ia->ia_ifa, true)->nd6++;
	return (0);
}

void
nd6_rem_ifa_lle(struct in6_ifaddr *ia, int all __unused)
{
	char a[48];

	fk_event("nd6_rem_ifa_lle %s", fk_ip6(&ia->ia_addr.sin6_addr, a));
	fk_rt_of(&ia->ia_ifa, true)->nd6--;
}

/* Published (RTF_ANNOUNCE) IPv4 entries: the count per address. */
static struct { uint32_t addr; int n; } fk_pubs[FK_MAXRT];

int
fk_published(const char *addr)
{
	struct in_addr a;

	fk_inet_pton4(addr, &a);
	for (int i = 0; i < FK_MAXRT; i++)
		if (fk_pubs[i].addr == a.s_addr)
			return (fk_pubs[i].n);
	return (0);
}

static void
fk_publish(uint32_t addr, int d)
{
	int e = -1;

	for (int i = 0; i < FK_MAXRT; i++) {
		if (fk_pubs[i].addr == addr) {
			fk_pubs[i].n += d;
			return;
		}
		if (fk_pubs[i].addr == 0 && e < 0)
			e = i;
	}
	if (e >= 0) {
		fk_pubs[e].addr = addr;
		fk_pubs[e].n = d;
	}
}

int
lla_rt_output(struct rt_msghdr *rtm, struct rt_addrinfo *info)
{
	struct sockaddr_in *dst = (struct sockaddr_in *)info->rti_info[RTAX_DST];
	struct sockaddr_dl *dl = (struct sockaddr_dl *)info->rti_info[RTAX_GATEWAY];
	char a[16], m[18];

	if (dst == NULL || dl == NULL || dst->sin_family != AF_INET) {
		fk_fail("lla_rt_output: missing dst or gateway");
		return (EINVAL);
	}
	if (rtm->rtm_flags & RTF_ANNOUNCE) {
		if (rtm->rtm_type == RTM_ADD)
			fk_publish(dst->sin_addr.s_addr, 1);
		else if (rtm->rtm_type == RTM_DELETE)
			fk_publish(dst->sin_addr.s_addr, -1);
	}
	fk_event("lle %s %s %s flags %#x", rtm->rtm_type == RTM_ADD ? "add" :
	    rtm->rtm_type == RTM_DELETE ? "delete" : "other",
	    fk_ip4(dst->sin_addr, a), fk_mac((u_char *)LLADDR(dl), m),
	    rtm->rtm_flags);
	return (0);
}

/*
 * in_control_ioctl(SIOCDIFADDR) / in6_control_ioctl(SIOCDIFADDR_IN6),
 * reduced to what CARP sees: the address is found on ifp and removed as
 * in_difaddr_ioctl does (carp_detach_p first if it is still attached).
 */
static int
fk_difaddr(struct ifnet *ifp, int family, const void *a, size_t alen)
{
	struct ifaddr *ifa;

	fk_assert_sleepable("in_control_ioctl");
	sx_xlock(&fk_in_control_sx);
	CK_STAILQ_FOREACH(ifa, &ifp->if_addrhead, ifa_link) {
		const void *p;

		if (ifa->ifa_addr->sa_family != family)
			continue;
		p = family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
		if (memcmp(p, a, alen) != 0)
			continue;
		fk_addr_remove(ifa);
		fk_stack.difaddrs++;
		sx_xunlock(&fk_in_control_sx);
		return (0);
	}
	sx_xunlock(&fk_in_control_sx);
	return (EADDRNOTAVAIL);
}

int
in_control_ioctl(u_long cmd, void *data, struct ifnet *ifp,
    struct ucred *cred)
{
	struct ifreq *ifr = data;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;

	if (cmd != SIOCDIFADDR || cred != NULL || sin->sin_family != AF_INET ||
	    sin->sin_len != sizeof(*sin)) {
		fk_fail("in_control_ioctl: only a kernel SIOCDIFADDR is faked");
		return (EINVAL);
	}
	return (fk_difaddr(ifp, AF_INET, &sin->sin_addr, 4));
}

int
in6_control_ioctl(u_long cmd, void *data, struct ifnet *ifp,
    struct ucred *cred)
{
	struct in6_ifreq *ifr = data;

	if (cmd != SIOCDIFADDR_IN6 || cred != NULL ||
	    ifr->ifr_addr.sin6_family != AF_INET6) {
		fk_fail("in6_control_ioctl: only a kernel SIOCDIFADDR_IN6 is "
		    "faked");
		return (EINVAL);
	}
	return (fk_difaddr(ifp, AF_INET6, &ifr->ifr_addr.sin6_addr, 16));
}

/* eventhandler(9): registrations by name; ifnet_departure_event is invoked. */
#define	FK_MAXEH	8
static struct eventhandler_entry fk_eh[FK_MAXEH];
static const char *fk_eh_name[FK_MAXEH];
static void *fk_eh_func[FK_MAXEH];
static struct eventhandler_list *fk_eh_list =
    (struct eventhandler_list *)&fk_eh_name;

eventhandler_tag
eventhandler_register(struct eventhandler_list *list __unused,
    const char *name, void *func, void *arg, int priority)
{
	for (int i = 0; i < FK_MAXEH; i++)
		if (fk_eh_name[i] == NULL) {
			fk_eh_name[i] = name;
			fk_eh[i].ee_arg = arg;
			fk_eh[i].ee_priority = priority;
			fk_eh_func[i] = func;
			return (&fk_eh[i]);
		}
	fk_fail("too many event handlers");
	return (NULL);
}

struct eventhandler_list *
eventhandler_find_list(const char *name)
{
	for (int i = 0; i < FK_MAXEH; i++)
		if (fk_eh_name[i] != NULL && strcmp(fk_eh_name[i], name) == 0)
			return (fk_eh_list);
	return (NULL);
}

void
eventhandler_deregister(struct eventhandler_list *list, eventhandler_tag tag)
{
	if (list != fk_eh_list || tag < &fk_eh[0] || tag >= &fk_eh[FK_MAXEH] ||
	    fk_eh_name[tag - fk_eh] == NULL) {
		fk_fail("eventhandler_deregister: unknown tag %p", tag);
		return;
	}
	fk_eh_name[tag - fk_eh] = NULL;
}

int
fk_eh_count(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXEH; i++)
		n += fk_eh_name[i] != NULL;
	return (n);
}

/*
 * if_rename (SIOCSIFNAME): the departure event with IFF_RENAMING set, the
 * new name, then the arrival event; the interface and its addresses stay.
 */
void
fk_if_rename(struct ifnet *ifp, const char *name)
{
	ifp->if_flags |= IFF_RENAMING;
	fk_ifnet_departure(ifp);
	strlcpy(ifp->if_xname, name, sizeof(ifp->if_xname));
	ifp->if_flags &= ~IFF_RENAMING;
}

/* if_detach_internal, after if_purgeaddrs: EVENTHANDLER_INVOKE. */
void
fk_ifnet_departure(struct ifnet *ifp)
{
	fk_assert_sleepable("ifnet_departure_event");
	for (int i = 0; i < FK_MAXEH; i++)
		if (fk_eh_name[i] != NULL &&
		    strcmp(fk_eh_name[i], "ifnet_departure_event") == 0)
			((ifnet_departure_event_handler_t)fk_eh_func[i])(
			    fk_eh[i].ee_arg, ifp);
}
