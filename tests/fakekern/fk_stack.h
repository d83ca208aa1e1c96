/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: what the stack fakes (fk_x_stack.c) record for scenarios.
 */
#ifndef _FK_STACK_H_
#define	_FK_STACK_H_

#define	FK_MAXCLONERS	8
#define	FK_MAXGROUPS	32

#define	FK_GROUP_HOLDERS 4
struct fk_group {
	struct ifnet	*ifp;
	int		 af;
	uint8_t		 addr[16];
	int		 refs;
	void		*held[FK_GROUP_HOLDERS];	/* in_multi/in6_multi */
};

struct fk_stack {
	int		 priv_deny;
	int		 priv_checks, last_priv;
	int		 attached, bpf, simloops;
	int		 loopback_routes, prefix_routes;
	int		 joins, leaves;
	int64_t		 ifcounters[IFCOUNTERS];
	struct if_clone	*cloners[FK_MAXCLONERS];
	struct fk_group	 groups[FK_MAXGROUPS];
	struct fk_lines	 events;	/* garp, na, lle, nd6 lines */
	int		 dying_ifnets;	/* if_free()d, still referenced */
	int		 difaddrs;	/* addresses removed by the kernel */
};
extern struct fk_stack fk_stack;

/* Routes and ND entries of one address (fk_x_stack.c). */
#define	FK_MAXRT	64
struct fk_rt {
	const struct ifaddr *ifa;
	int		 lo, prefix, nd6;
};
struct fk_rt *fk_rt_of(const struct ifaddr *, bool create);
int	fk_published(const char *addr);	/* published ARP entries */

void	fk_stack_init(void);
void	fk_run_tasks(void);
void	fk_if_rele_dying(struct ifnet *);
/* IPv6 per-interface data (ND_IFINFO) of a new / freed ifnet. */
void	fk_afdata_init(struct ifnet *);
void	fk_afdata_free(struct ifnet *);
void	fk_ifnet_departure(struct ifnet *);	/* ifnet_departure_event */
void	fk_purge_maddrs(struct ifnet *);	/* in_ifdetach, in6_ifdetach */
void	fk_if_rename(struct ifnet *, const char *);	/* SIOCSIFNAME */
int	fk_eh_count(void);			/* registered event handlers */
struct if_clone *fk_cloner(const char *);
int	fk_clone_create_unit(struct if_clone *, int);
int	fk_clone_create(const char *);
int	fk_clone_destroy(const char *);
int	fk_clone_count(void);
int	fk_group_refs(struct ifnet *, int af, const char *group);
int	fk_groups_total(void);

/* fk_net.c: the interface index table and addresses. */
int	fk_if_register(struct ifnet *);
void	fk_if_unregister(struct ifnet *);
void	fk_addr_remove(struct ifaddr *);
void	fk_lines_add(struct fk_lines *, const char *);

#endif
