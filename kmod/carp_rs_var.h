/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: what the C files share.  Kernel-only; Rust never sees it.
 *
 * Layers, each calling only those below it: carp_rs_apply.c (locks,
 * clock, callouts, the applier) < carp_rs_if.c (parent and address
 * records, teardown, departure) < carp_rs_arp.c (arpbalance's pfil hook),
 * carp_rs_clone.c (carpN) < carp_rs_hooks.c (the stack's carp hooks,
 * SIOCSVH/SIOCGVH), carp_rs_nl.c (netlink) < carp_rs_shim.c (module,
 * VNETs, sysctls, IP input).
 *
 * Locking: carp_rs_sx serializes configuration (ioctl, netlink, address
 * attach/detach, cloner, VNET life cycle, unload) and may sleep;
 * carp_rs_mtx serializes engine calls and the lists below and is held only
 * around those and mbuf allocation: packets, routes, log(9) and devctl(4)
 * happen after it is dropped.  Order: sx, then mtx.  Both are global: one
 * applier serves every VNET, and parents are keyed by the global if_index.
 */

#ifndef _CARP_RS_VAR_H_
#define	_CARP_RS_VAR_H_

#include "opt_inet.h"
#include "opt_inet6.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/_callout.h>
#include <sys/_task.h>
#include <sys/epoch.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/mutex.h>
#include <sys/socket.h>
#include <sys/sx.h>
#include <sys/sysctl.h>
#include <machine/atomic.h>

#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_private.h>
#include <net/vnet.h>

#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet/ip_var.h>
#include <netinet/ip_carp.h>
#include <netinet6/in6_var.h>
#include <netinet6/ip6_var.h>
#include <netinet6/scope6_var.h>

#include "carp_rs_ffi.h"

#if !defined(INET) || !defined(INET6)
#error "carp_rs needs a kernel with INET and INET6, as GENERIC"
#endif

MALLOC_DECLARE(M_CARP_RS);

/*
 * One per VNET (V_carp_rs_vnet; NULL while refused or unloading): its
 * engine, the callout for its next deadline, and the task applying what
 * hooks called from foreign locked contexts recorded.
 */
struct carp_rs_vnet {
	LIST_ENTRY(carp_rs_vnet) link;		/* on carp_rs_vnets */
	struct vnet	*vnet;
	struct carp_rs_engine *engine;
	struct callout	callout;		/* under carp_rs_mtx */
	struct task	task;
	volatile u_int	demote_acc[CARP_RS_DEMOTE_REASONS];
	volatile u_int	link_dirty;
	int		pins;			/* carp_rs_cloners_fini; sx */
	struct pfil_hook *arp_hook;		/* arpbalance on; sx */
};

struct carp_rs_if;

/* One vhid address: ifa->ifa_carp points here. */
struct carp_rs_addr {
	TAILQ_ENTRY(carp_rs_addr) link;		/* on cif->addrs */
	struct ifaddr	*ifa;			/* referenced */
	struct carp_rs_if *cif;			/* parent */
	uint64_t	id;			/* engine vhid handle */
	uint8_t		vhid;
	uint8_t		af;			/* CARP_RS_AF_* */
	bool		legacy;			/* the ifa lives on a carpN */
	uint8_t		addr[16];
	uint8_t		vmac[ETHER_ADDR_LEN];
	struct epoch_context epoch_ctx;
};

/* A parent interface carrying vhids: ifp->if_carp points here. */
struct carp_rs_if {
	LIST_ENTRY(carp_rs_if) link;
	struct ifnet	*ifp;			/* referenced */
	struct carp_rs_vnet *vc;		/* owning VNET's state */
	uint32_t	index;			/* if_index: the engine key */
	TAILQ_HEAD(, carp_rs_addr) addrs;
	int		naddrs[2];		/* IPv4, IPv6 */
	bool		promisc;
	struct in_multi	*inm;
	struct in6_multi *in6m;
	struct in6_multi *in6m_sol;
	struct ip_moptions imo;
	struct ip6_moptions im6o;
	struct epoch_context epoch_ctx;
};

extern struct sx carp_rs_sx;
extern struct mtx carp_rs_mtx;
extern LIST_HEAD(carp_rs_if_list, carp_rs_if) carp_rs_ifs;
/* Changes only with the sx and the applier token held. */
extern LIST_HEAD(carp_rs_vnet_list, carp_rs_vnet) carp_rs_vnets;
extern volatile u_int carp_rs_dying;	/* unloading */
extern bool carp_rs_loaded;		/* under the mutex */

VNET_DECLARE(struct carp_rs_vnet *, carp_rs_vnet);
#define	V_carp_rs_vnet		VNET(carp_rs_vnet)
#define	V_carp_rs_engine	(V_carp_rs_vnet->engine)

#define	CARP_RS_CIF(ifp)	((struct carp_rs_if *)(void *)(ifp)->if_carp)
#define	CARP_RS_ADDR(ifa)	((struct carp_rs_addr *)(void *)(ifa)->ifa_carp)
#define	CARP_RS_FAM(af)		((af) == CARP_RS_AF_INET6)	/* naddrs[] */

/* An engine call: the mutex around it, then the callout re-armed. */
#define	CARP_RS_CALL(call) do {						\
	mtx_lock(&carp_rs_mtx);						\
	call;								\
	carp_rs_run_locked();						\
	mtx_unlock(&carp_rs_mtx);					\
} while (0)

/* carp_rs_apply.c */
#define	CARP_RS_APPLY_TRY	0	/* input, callout, task: if free */
#define	CARP_RS_APPLY_FLUSH	1	/* token holder, keeps the token */
#define	CARP_RS_APPLY_END	2	/* token holder, lets it go */
uint64_t carp_rs_now(void);
bool	carp_rs_enter(void);
void	carp_rs_exit(void);
void	carp_rs_drain(void);
void	carp_rs_run_locked(void);
void	carp_rs_ifinfo(struct ifnet *, struct carp_rs_ifinfo *);
uint8_t	carp_rs_ifa_af(struct ifaddr *, uint8_t *);
int	carp_rs_best_addrs(struct ifnet *, uint8_t *, uint8_t *);
struct carp_rs_if *carp_rs_if_lookup(uint32_t);
size_t	carp_rs_ifname(void *, uint32_t, char *, size_t);
void	carp_rs_log(int, const char *, ...) __printflike(2, 3);
void	carp_rs_cmd_apply(const struct carp_rs_cmd *, struct carp_rs_addr *);
void	carp_rs_apply_begin(void);
void	carp_rs_apply(int);

/* carp_rs_if.c */
int	carp_rs_config_begin(void);
void	carp_rs_config_end(void);
struct carp_rs_if *carp_rs_if_get(struct ifnet *);
void	carp_rs_if_put(struct carp_rs_if *);
int	carp_rs_mcast_join(struct carp_rs_if *, uint8_t);
void	carp_rs_mcast_leave(struct carp_rs_if *, uint8_t);
void	carp_rs_refresh_parent(struct carp_rs_if *);
void	carp_rs_link_locked(struct carp_rs_if *);
void	carp_rs_addr_link(struct carp_rs_if *, struct ifaddr *, uint64_t,
	    uint8_t, uint8_t, const uint8_t *, bool);
void	carp_rs_addrs_rebind(struct ifnet *, const struct carp_rs_legacy_out *);
void	carp_rs_set_done(struct ifnet *, int, const struct carp_rs_setres *,
	    const struct carp_rs_legacy_out *);
int	carp_rs_attach(struct ifaddr *, int);
void	carp_rs_detach(struct ifaddr *, bool);
void	carp_rs_ifdeparture(void *, struct ifnet *);
void	carp_rs_teardown(struct carp_rs_vnet *);

/* carp_rs_arp.c */
void	carp_rs_arp_sync(struct carp_rs_vnet *, bool);

/* carp_rs_clone.c */
bool	carp_rs_is_clone(struct ifnet *);
int	carp_rs_clone_attach(struct ifaddr *, int);
void	carp_rs_clone_init(void);
void	carp_rs_clone_fini(void);

/* carp_rs_hooks.c */
int	carp_rs_hooks_init(void);
void	carp_rs_hooks_fini(void);
void	carp_rs_hook_task(void *, int);

/* carp_rs_nl.c */
int	carp_rs_nl_init(void);
void	carp_rs_nl_fini(void);

#endif /* !_CARP_RS_VAR_H_ */
