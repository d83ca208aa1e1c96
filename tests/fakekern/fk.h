/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the fake kernel's internal interface, shared by the fakes
 * (fk_*.c) and the scenario driver.  Everything here is compiled against
 * the same FreeBSD kernel headers as the shim, so struct layouts agree
 * with what the shim was built for.
 */
#ifndef _FK_H_
#define	_FK_H_

#include "opt_inet.h"
#include "opt_inet6.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/callout.h>
#include <sys/epoch.h>
#include <sys/kernel.h>
#include <sys/linker_set.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/pcpu.h>
#include <sys/proc.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sx.h>
#include <sys/rwlock.h>
#include <sys/sysctl.h>
#include <sys/syslog.h>
#include <sys/time.h>

#include <net/if.h>
#include <net/if_var.h>
#include <net/if_private.h>
#include <net/if_dl.h>
#include <net/if_types.h>
#include <net/vnet.h>

#include <netinet/in.h>
#include <netinet/in_systm.h>
#include <netinet/in_var.h>
#include <netinet/ip.h>
#include <netinet/ip_var.h>
#include <netinet/ip_carp.h>
#include <netinet/ip6.h>
#include <netinet6/ip6_var.h>

#include "fk_host.h"

/* ---- reporting ---- */
/* A kernel rule was broken (lock misuse, leak, bad free...): a failure. */
void	fk_fail(const char *fmt, ...) __printflike(1, 2);
/* Test output on stdout, unbuffered. */
void	fk_out(const char *fmt, ...) __printflike(1, 2);
extern int fk_failures;		/* fk_fail() calls so far */
extern int fk_expecting;		/* a self-test provokes the next fk_fail() */
extern int fk_verbose;

/* ---- memory ---- */
long	fk_malloc_outstanding(void);		/* live blocks, all types */
long	fk_malloc_outstanding_type(const char *shortdesc);
long	fk_malloc_total(void);			/* allocations ever made */
void	fk_malloc_report(void);			/* lists live blocks */
/* Makes the Nth M_NOWAIT allocation from now fail (0: none). */
void	fk_malloc_fail_nth(long n);
long	fk_malloc_fail_pending(void);	/* >0: the Nth is still ahead */
bool	fk_nowait_fails(void);		/* also used by the mbuf zones */
void	*fk_zalloc(size_t n);			/* harness memory, not counted */
void	fk_zfree(void *p);

/* ---- locks and epoch ---- */
int	fk_locks_held(void);
int	fk_mutexes_held(void);	/* sleep or spin mutexes */
void	fk_locks_reset(void);
int	fk_epoch_depth(void);
/* Fails unless the current context may sleep (no mutex, no epoch). */
void	fk_assert_sleepable(const char *what);

/* ---- threads (concurrent scenarios; see fk_kern.c) ---- */
extern bool fk_threaded;
extern volatile int fk_copyin_gate, fk_copyin_gated;
/* The same for if_alloc(9) (a cloner's create). */
extern volatile int fk_ifalloc_gate, fk_ifalloc_gated;
extern const char *fk_kenv_name;	/* getenv_int(9): one variable */
extern int fk_kenv_val;
void	fk_preempt(void);		/* a point where threads may switch */
void	fk_wait_for(volatile uintptr_t *word, uintptr_t free,
	    const char *name, const char *op);
void	fk_threads_epoch_wait(void);
/* Starts fn(arg) on a new thread with its own curthread (id 0..14). */
unsigned long fk_thread_spawn(void (*fn)(void *), void *arg, int id);
void	fk_thread_join(unsigned long);

/* ---- time and callouts ---- */
sbintime_t fk_now(void);
/* Advances the virtual clock by ns, firing due callouts in order. */
void	fk_advance_ns(uint64_t ns);
int	fk_callouts_pending(void);
uint64_t fk_next_callout_ns(void);	/* 0: none */

/* ---- module loading (kern_linker.c, kern_module.c) ---- */
int	fk_kld_load(void);
int	fk_kld_unload(void);
int	fk_kld_loaded(void);

/* ---- vnet jails (net/vnet.c; vnet0 always exists) ---- */
struct vnet *fk_vnet_create(void);	/* vnet_alloc */
void	fk_vnet_shutdown(struct vnet *);	/* unlisted, destructors run */
void	fk_vnet_free(struct vnet *);	/* its interfaces, then its data */
void	fk_vnet_destroy(struct vnet *);	/* both */
int	fk_vnet_count(void);
void	fk_vnet_snapshot(void);		/* the initial data (fk_kern_init) */
void	fk_vnet_net_init(void);		/* curvnet's V_ifnet */
void	fk_vnet_net_fini(void);		/* curvnet's interfaces destroyed */

/* ---- sysctl ---- */
struct sysctl_oid *fk_sysctl_find(const char *name);
/* sysctl(3)-like: read into old (*oldlen bytes) and/or write new/newlen. */
int	fk_sysctl(const char *name, void *old, size_t *oldlen,
	    const void *new, size_t newlen);
int	fk_sysctl_count(void);

/* ---- console, log(9), devctl ---- */
#define	FK_LINES	512
struct fk_lines {
	int	n;
	char	*line[FK_LINES];
};
extern struct fk_lines fk_console;	/* printf(9) and log(9) lines */
extern struct fk_lines fk_devctl;	/* "system=.. subsystem=.. type=.. data" */
void	fk_lines_clear(struct fk_lines *);
int	fk_lines_grep(const struct fk_lines *, const char *needle);

/* ---- network ---- */
typedef int fk_pr_input_t(struct mbuf **, int *, int);
extern fk_pr_input_t *fk_ip_proto[IPPROTO_MAX];
extern fk_pr_input_t *fk_ip6_proto[IPPROTO_MAX];
extern int fk_ip_proto_registered, fk_ip6_proto_registered;

struct ifnet *fk_if_create(const char *name, int index,
	    const uint8_t mac[6]);
void	fk_if_destroy(struct ifnet *);
struct ifnet *fk_if_byindex(int index);
int	fk_if_add_addr4(struct ifnet *, const char *addr, int plen);

/* Packets handed to ip_output/ip6_output, oldest first. */
#define	FK_MAXPKT	256
struct fk_pkt {
	int	af;		/* 4 or 6 */
	int	len;		/* bytes of data (from the IP header on) */
	uint8_t	*data;
	int	ifindex;	/* the multicast/out interface, 0: unknown */
	int	carp_tag;	/* int in PACKET_TAG_CARP, -1: untagged */
	uint64_t at_ns;		/* virtual time of the send */
};
extern struct fk_pkt fk_out_pkts[FK_MAXPKT];
/* Non-NULL: ip_output/ip6_output take it, as pf + pfsync do. */
extern struct mtx *fk_pfsync_lock;
/* net.inet.ip.rfc6864 as the fake ip_fillid() reads it (default 1). */
extern int fk_ip_rfc6864;
extern int fk_nout_pkts;
void	fk_out_pkts_clear(void);

/* Builds an mbuf chain (split after split bytes, 0: one mbuf). */
struct mbuf *fk_mbuf_from(const void *data, int len, int split,
	    struct ifnet *rcvif);
long	fk_mbufs_outstanding(void);

/* Builds an IPv4 packet around payload and hands it to protocol 112. */
int	fk_inject4(struct ifnet *, const char *src, const char *dst,
	    uint8_t ttl, const uint8_t *payload, int len, int split);
int	fk_inject6(struct ifnet *, const char *src, const char *dst,
	    uint8_t hlim, const uint8_t *payload, int len, int split);

int	fk_inet_pton4(const char *, struct in_addr *);
int	fk_inet_pton6(const char *, struct in6_addr *);

void	fk_kern_init(void);

int	fk_addr_add4(struct ifnet *, const char *addr, int plen, int vhid,
	    struct ifaddr **);
int	fk_addr_add6(struct ifnet *, const char *addr, int plen, int vhid,
	    struct ifaddr **);
struct ifaddr *fk_addr_find(struct ifnet *, const char *addr);
/* ifconfig -alias: find and remove under in_control_sx. */
int	fk_addr_del(struct ifnet *, const char *addr);
extern struct sx fk_in_control_sx;
extern struct sx ifnet_detach_sxlock;	/* net/if.c (fk_x_stack.c) */

#endif
