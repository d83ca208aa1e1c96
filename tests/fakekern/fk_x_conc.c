/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the issue-11 scenarios.  Real host threads drive the module
 * at once — protocol-112 input, the clock (callouts, link-state tasks),
 * configuration (SIOCSVH/SIOCGVH, netlink SET/GET, address add/delete)
 * and pfsync's demotion hook called with a non-recursive "pfsync" mutex
 * held that the output path also takes (pf + pfsync) — for a bounded
 * wall time, optionally with kldunload in the middle.  Afterwards the
 * routes, published ARP entries, carpN link state and the last devd
 * event must agree with each vhid's final state, and nothing may leak.
 * Also: the input path allocates nothing (10,000 adverts).
 */
#include "fk.h"
#include "fk_vectors.h"
#include "fk_stack.h"
#include "fk_netlink.h"
#include "fk_scen.h"

#include <net/ethernet.h>

#define	CONC_MS		1500	/* wall time of one run */
#define	CONC_ROUNDS	8	/* conc_stress: runs, each checked */

static volatile bool conc_stop;
static struct mtx conc_pfsync_mtx;
static int conc_demotion;		/* what the pfsync thread added */
static unsigned long conc_ops[4];

static uint64_t conc_rng = 0x243f6a8885a308d3ULL;

static uint32_t
conc_rand(void)
{
	conc_rng ^= conc_rng << 13;
	conc_rng ^= conc_rng >> 7;
	conc_rng ^= conc_rng << 17;
	return ((uint32_t)(conc_rng >> 11));
}

/* The captured vhid-7 master (192.0.2.1, advskew 0, key "testpass"). */
static const struct fk_vector *
conc_vector(void)
{
	static int idx[FK_NVECTORS], n = -1;

	if (n < 0) {
		n = 0;
		for (int i = 0; i < FK_NVECTORS; i++)
			if (fk_vectors[i].hmac_ok && fk_vectors[i].vhid == 7 &&
			    fk_vectors[i].advskew == 0 &&
			    strcmp(fk_vectors[i].src, "192.0.2.1") == 0)
				idx[n++] = i;
	}
	return (n == 0 ? NULL : &fk_vectors[idx[conc_rand() % n]]);
}

static void
conc_input(void *arg)
{
	struct ifnet *ifp = arg;
	const struct fk_vector *v;

	while (!conc_stop) {
		/* Bursts of adverts, then silence (the master "dies"). */
		if (conc_rand() % 4 != 0 && (v = conc_vector()) != NULL)
			(void)fk_inject4(ifp, v->src, v->dst, v->ttl,
			    v->payload, v->len, 0);
		else
			fk_preempt();
		conc_ops[0]++;
		fk_preempt();	/* also once nothing else gives way */
	}
}

static void
conc_tick(void *arg __unused)
{
	while (!conc_stop) {
		fk_advance_ns((uint64_t)(10 + conc_rand() % 900) * 1000000);
		fk_run_tasks();
		if (fk_nout_pkts > FK_MAXPKT / 2)
			fk_out_pkts_clear();
		conc_ops[1]++;
		fk_preempt();	/* also once nothing else gives way */
	}
}

static void
conc_admin(void *arg)
{
	struct ifnet *ifp = arg;
	struct carpreq cr;
	struct nlvhid nv[4];
	int n;

	while (!conc_stop) {
		switch (conc_rand() % 7) {
		case 0:
			(void)siocsvh("em0", 7, 1, conc_rand() % 2 ? 100 : 50,
			    "testpass", conc_rand() % 3 == 0 ?
			    (conc_rand() % 2 ? ST_MASTER : ST_BACKUP) : 0);
			break;
		case 1:
			(void)siocgvh("em0", 7, &cr, NULL);
			break;
		case 2:
			(void)nl_set("em0", 8, 1, conc_rand() % 200, "k8");
			break;
		case 3:
			(void)nl_get("em0", nv, nitems(nv), &n);
			break;
		case 4:
			if (fk_addr_del(ifp, "192.0.2.101") != 0) {
				sx_xlock(&fk_in_control_sx);
				(void)fk_addr_add4(ifp, "192.0.2.101", 32, 8,
				    NULL);
				sx_xunlock(&fk_in_control_sx);
			}
			fk_run_tasks();
			break;
		case 5:
			if (ifunit("carp0") != NULL)
				(void)siocsvh("carp0", 9, 1, 100, "k9",
				    conc_rand() % 2 ? ST_MASTER : ST_BACKUP);
			break;
		case 6:
			fk_preempt();
			break;
		}
		conc_ops[2]++;
		fk_preempt();	/* also once nothing else gives way */
	}
}

/* pfsync: demotion changes with PFSYNC_LOCK held (pfsync_bulk_*). */
static void
conc_pfsync(void *arg __unused)
{
	int adj;

	/* FK_CONC_NO_PFSYNC=1: without it, to see the other defects. */
	if (fkh_getenv("FK_CONC_NO_PFSYNC") != NULL)
		return;
	while (!conc_stop) {
		adj = conc_demotion > 0 ? -conc_demotion : 240;
		mtx_lock(&conc_pfsync_mtx);
		if (carp_demote_adj_p != NULL) {
			carp_demote_adj_p(adj, adj > 0 ? "pfsync bulk start" :
			    "pfsync bulk done");
			conc_demotion += adj;
		}
		mtx_unlock(&conc_pfsync_mtx);
		fk_preempt();
		conc_ops[3]++;
	}
}

static const char *st_name[] = { "INIT", "BACKUP", "MASTER" };

/* The type of the last devd CARP event of subsystem sub ("7@em0"). */
static const char *
last_devd(const char *sub, char *buf, size_t len)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "system=CARP subsystem=%s ", sub);
	for (int i = fk_devctl.n - 1; i >= 0; i--) {
		const char *l = fk_devctl.line[i], *t;

		if (strncmp(l, needle, strlen(needle)) != 0)
			continue;
		t = strstr(l, "type=");
		snprintf(buf, len, "%s", t != NULL ? t + 5 : "?");
		return (buf);
	}
	return (NULL);
}

/* A vhid's VIP on em0: its routes follow its state. */
static void
conc_check_vip(struct ifnet *ifp, const char *vip, int vhid, int state)
{
	struct ifaddr *ifa = fk_addr_find(ifp, vip);
	struct fk_rt *rt;
	int want = state == ST_MASTER;

	if (ifa == NULL)
		return;
	rt = fk_rt_of(ifa, false);
	CHECK((rt != NULL ? rt->lo : 0) == want &&
	    (rt != NULL ? rt->prefix : 0) == want,
	    "%s (vhid %d, %s): loopback route %d prefix route %d, want %d",
	    vip, vhid, st_name[state], rt != NULL ? rt->lo : 0,
	    rt != NULL ? rt->prefix : 0, want);
}

static void
conc_check_devd(const char *sub, int state)
{
	char buf[32];
	const char *last = last_devd(sub, buf, sizeof(buf));

	if (state == ST_INIT)
		return;
	CHECK(last != NULL && strcmp(last, st_name[state]) == 0,
	    "%s is %s but devd was last told %s", sub, st_name[state],
	    last != NULL ? last : "nothing");
}

/* Every observable effect agrees with the engine's final state. */
static void
conc_check_consistent(struct ifnet *ifp)
{
	struct ifnet *cifp;
	int s7, s8, s9;

	s7 = vhid_state("em0", 7);
	s8 = vhid_state("em0", 8);
	CHECK(s7 >= 0 && s7 <= 2, "vhid 7 state %d", s7);
	if (s7 < 0 || s7 > 2)
		return;
	conc_check_vip(ifp, "192.0.2.100", 7, s7);
	conc_check_devd("7@em0", s7);
	if (s8 >= 0 && s8 <= 2) {
		conc_check_vip(ifp, "192.0.2.101", 8, s8);
		conc_check_devd("8@em0", s8);
	}
	cifp = ifunit("carp0");
	s9 = cifp != NULL ? vhid_state("carp0", 9) : -1;
	if (s9 >= 0 && s9 <= 2) {
		CHECK(fk_published("192.0.2.150") == (s9 == ST_MASTER),
		    "carp0 vhid 9 %s: %d published ARP entries for "
		    "192.0.2.150", st_name[s9], fk_published("192.0.2.150"));
		CHECK((cifp->if_link_state == LINK_STATE_UP) ==
		    (s9 == ST_MASTER), "carp0 vhid 9 %s: link state %d",
		    st_name[s9], cifp->if_link_state);
		conc_check_devd("9@em0", s9);
	}
}

static struct ifnet *
conc_setup(void)
{
	struct ifnet *ifp;
	int error;

	if (load() != 0)
		return (NULL);
	ifp = setup_em0();
	CHECK(siocsvh("em0", 7, 1, 100, "testpass", 0) == 0, "SIOCSVH 7");
	CHECK(fk_addr_add4(ifp, "192.0.2.100", 32, 7, NULL) == 0,
	    "alias 192.0.2.100 vhid 7");
	CHECK(siocsvh("em0", 8, 1, 0, "k8", 0) == 0, "SIOCSVH 8");
	error = fk_clone_create("carp0");
	CHECK(error == 0, "carp0 create: %d", error);
	CHECK(siocsvh("carp0", 9, 1, 100, "k9", 0) == 0, "SIOCSVH carp0 9");
	CHECK(fk_addr_add4(ifunit("carp0"), "192.0.2.150", 24, 0, NULL) == 0,
	    "carp0 192.0.2.150/24");
	fk_run_tasks();
	mtx_init(&conc_pfsync_mtx, "pfsync", NULL, MTX_DEF);
	fk_pfsync_lock = &conc_pfsync_mtx;
	conc_demotion = 0;
	conc_stop = false;
	memset(conc_ops, 0, sizeof(conc_ops));
	return (ifp);
}

/* Runs the four threads for ms; unloads after half of it if asked. */
static void
conc_run(struct ifnet *ifp, bool unload_midway, unsigned long ms)
{
	unsigned long th[4], t0;
	int error;

	th[0] = fk_thread_spawn(conc_input, ifp, 0);
	th[1] = fk_thread_spawn(conc_tick, NULL, 1);
	th[2] = fk_thread_spawn(conc_admin, ifp, 2);
	th[3] = fk_thread_spawn(conc_pfsync, NULL, 3);
	t0 = fkh_wall_ms();
	conc_stop = false;
	while (fkh_wall_ms() - t0 < ms) {
		if (unload_midway && fk_kld_loaded() &&
		    fkh_wall_ms() - t0 > ms / 2) {
			error = fk_kld_unload();
			CHECK(error == 0, "kldunload under load: %d", error);
		}
		fk_preempt();
	}
	/* A loaded machine may not have let us in before: still concurrent. */
	if (unload_midway && fk_kld_loaded()) {
		error = fk_kld_unload();
		CHECK(error == 0, "kldunload under load: %d", error);
	}
	conc_stop = true;
	for (int i = 0; i < 4; i++)
		fk_thread_join(th[i]);
	fk_threaded = false;
	fk_run_tasks();
	fk_out("  %lu inputs, %lu ticks, %lu admin ops, %lu demotions\n",
	    conc_ops[0], conc_ops[1], conc_ops[2], conc_ops[3]);
}

static void
conc_finish(struct ifnet *ifp)
{
	fk_pfsync_lock = NULL;
	mtx_destroy(&conc_pfsync_mtx);
	fk_out_pkts_clear();
	fk_if_destroy(ifp);
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
	if (fk_malloc_outstanding() != base_malloc)
		fk_malloc_report();
}

void
s_conc_stress(void)
{
	struct ifnet *ifp;

	if ((ifp = conc_setup()) == NULL)
		return;
	for (int r = 0; r < CONC_ROUNDS && cur_fail + fk_failures == 0;
	    r++) {
		conc_run(ifp, false, CONC_MS / 4);
		/* Quiescent: every queued effect must have been applied. */
		conc_check_consistent(ifp);
	}
	(void)fk_clone_destroy("carp0");
	fk_run_tasks();
	unload();
	conc_finish(ifp);
}

/*
 * kldunload in the middle of it all: afterwards no VIP is left as a plain
 * address (it would answer ARP without CARP), no route, no published
 * entry, no carpN.
 */
void
s_conc_unload(void)
{
	struct ifnet *ifp;

	if ((ifp = conc_setup()) == NULL)
		return;
	conc_run(ifp, true, CONC_MS);
	expect_clean();
	CHECK(fk_addr_find(ifp, "192.0.2.100") == NULL &&
	    fk_addr_find(ifp, "192.0.2.101") == NULL,
	    "a VIP is left on em0 as a plain address after unload");
	CHECK(fk_lines_grep(&fk_console, "carp: 192.0.2.100 removed from em0: "
	    "module unloaded"), "no log line for the removed VIP");
	CHECK(ifunit("carp0") == NULL, "carp0 left after unload");
	CHECK(fk_published("192.0.2.150") == 0,
	    "%d published entries left", fk_published("192.0.2.150"));
	for (const char *vip = "192.0.2.100"; vip != NULL;
	    vip = strcmp(vip, "192.0.2.100") == 0 ? "192.0.2.101" : NULL) {
		struct ifaddr *ifa = fk_addr_find(ifp, vip);
		struct fk_rt *rt = ifa != NULL ? fk_rt_of(ifa, false) : NULL;

		CHECK(rt == NULL || (rt->lo == 0 && rt->prefix == 0),
		    "%s: routes left after unload", vip);
	}
	conc_finish(ifp);
}

/* Issue 13 part 3: protocol-112 input allocates nothing. */
void
s_input_noalloc(void)
{
	struct ifnet *ifp;
	const struct fk_vector *v;
	long before, after;
	int n = 0;

	if (load() != 0)
		return;
	ifp = setup_em0();
	CHECK(siocsvh("em0", 7, 1, 100, "testpass", 0) == 0, "SIOCSVH 7");
	CHECK(fk_addr_add4(ifp, "192.0.2.100", 32, 7, NULL) == 0,
	    "alias 192.0.2.100 vhid 7");
	fk_run_tasks();
	before = fk_malloc_total();
	for (int i = 0; i < 10000; i++) {
		if ((v = conc_vector()) == NULL)
			break;
		if (fk_inject4(ifp, v->src, v->dst, v->ttl, v->payload,
		    v->len, i % 3 == 0 ? 20 : 0) == IPPROTO_DONE)
			n++;
		if (i % 100 == 0)
			fk_advance_ns(1000000);
	}
	after = fk_malloc_total();
	CHECK(n == 10000, "%d adverts handled", n);
	CHECK(vhid_state("em0", 7) == ST_BACKUP, "vhid 7 state %d",
	    vhid_state("em0", 7));
	CHECK(after == before, "%ld malloc(9) calls while 10,000 adverts "
	    "were processed", after - before);
	fk_addr_remove(fk_addr_find(ifp, "192.0.2.100"));
	unload();
	fk_out_pkts_clear();
	fk_if_destroy(ifp);
}

/*
 * Issue 11: a parent destroyed with a vhid and no address (SIOCSVH only)
 * leaves nothing behind: no if_carp, no reference, no vhid for the next
 * interface with that index.
 */
void
s_ifnet_departure(void)
{
	struct ifnet *ifp;
	struct carpreq cr;

	if (load() != 0)
		return;
	ifp = setup_em0();
	CHECK(siocsvh("em0", 7, 1, 100, "testpass", 0) == 0, "SIOCSVH 7");
	CHECK(ifp->if_carp != NULL, "no parent record after SIOCSVH");
	fk_if_destroy(ifp);	/* fails on if_carp left or references */
	ifp = setup_em0();	/* the same index again */
	CHECK(siocgvh("em0", 7, &cr, NULL) == ENOENT,
	    "the new em0 inherited vhid 7");
	CHECK(ifp->if_carp == NULL, "the new em0 has a parent record");
	unload();
	fk_if_destroy(ifp);
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
	CHECK(fk_eh_count() == 0, "%d event handler(s) left registered",
	    fk_eh_count());
}

/*
 * Loads the module; em0 (192.0.2.2/24) and carp0 (vhid 1, 192.0.2.50/24,
 * bound to em0).  NULL, unloaded, when carp0 cannot be made.
 */
static struct ifnet *
carp0_on_em0(struct ifnet **cifp)
{
	struct ifnet *ifp;

	if (load() != 0)
		return (NULL);
	ifp = setup_em0();
	CHECK(fk_clone_create("carp0") == 0, "carp0 create");
	if ((*cifp = ifunit("carp0")) == NULL) {
		unload();
		fk_if_destroy(ifp);
		return (NULL);
	}
	CHECK(siocsvh("carp0", 1, 1, 0, "secret", 0) == 0, "SIOCSVH carp0");
	CHECK(fk_addr_add4(*cifp, "192.0.2.50", 24, 0, NULL) == 0,
	    "carp0 192.0.2.50/24");
	return (ifp);
}

/*
 * Review of issue 11: carp0's parent is destroyed under it.  The stack
 * purges the parent's multicast memberships (in_ifdetach) before the
 * departure event; carp0's are the ones no parent address holds, and the
 * shim left them again after that (a use after free: the FreeBSD 15.1
 * INVARIANTS kernel panicked in in_leavegroup_locked).  Now carp0's vhid
 * goes with its parent, nothing stays demoted, and carp0's address stays
 * as a plain one until it is set again.
 */
void
s_departure_carpn(void)
{
	struct ifnet *ifp, *cifp;
	struct carpreq cr;
	size_t len;
	int demotion = -1;

	if ((ifp = carp0_on_em0(&cifp)) == NULL)
		return;
	fk_advance_ns(4000000000ULL);
	fk_run_tasks();
	CHECK(vhid_state("carp0", 1) == ST_MASTER, "carp0 state %d",
	    vhid_state("carp0", 1));
	CHECK(fk_group_refs(ifp, 4, "224.0.0.18") == 1,
	    "em0 holds %d memberships of 224.0.0.18",
	    fk_group_refs(ifp, 4, "224.0.0.18"));
	fk_if_destroy(ifp);	/* fails on if_carp left or references */
	fk_run_tasks();
	len = sizeof(demotion);
	CHECK(fk_sysctl("net.inet.carp.demotion", &demotion, &len, NULL,
	    0) == 0 && demotion == 0, "demotion %d after carp0's parent "
	    "departed", demotion);
	CHECK(fk_addr_find(cifp, "192.0.2.50") != NULL &&
	    fk_addr_find(cifp, "192.0.2.50")->ifa_carp == NULL,
	    "carp0's address is not a plain one after its parent departed");
	CHECK(siocgvh("carp0", 0, &cr, NULL) == 0 && cr.carpr_vhid == 1 &&
	    cr.carpr_state == 0, "carp0 after its parent departed: vhid %d "
	    "state %d", cr.carpr_vhid, cr.carpr_state);
	CHECK(fk_clone_destroy("carp0") == 0, "carp0 destroy");
	unload();
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
}

/*
 * Renaming a parent (ifconfig em0 name lan0) raises the departure event
 * with IFF_RENAMING set: the interface, its addresses and its vhids stay.
 * The handler used to drop them all, leaving the VIP a plain address on a
 * live interface (a duplicate IP next to the MASTER).
 */
void
s_rename_parent(void)
{
	struct ifnet *ifp;
	struct ifaddr *ifa;
	struct carpreq cr;

	if (load() != 0)
		return;
	ifp = setup_em0();
	CHECK(siocsvh("em0", 7, 1, 0, "testpass", 0) == 0, "SIOCSVH 7");
	CHECK(fk_addr_add4(ifp, "192.0.2.100", 32, 7, NULL) == 0,
	    "alias 192.0.2.100 vhid 7");
	fk_advance_ns(4000000000ULL);
	fk_run_tasks();
	CHECK(vhid_state("em0", 7) == ST_MASTER, "vhid 7 state %d",
	    vhid_state("em0", 7));
	fk_if_rename(ifp, "lan0");
	fk_run_tasks();
	ifa = fk_addr_find(ifp, "192.0.2.100");
	CHECK(ifa != NULL && ifa->ifa_carp != NULL,
	    "192.0.2.100 is a plain address after the rename");
	CHECK(ifp->if_carp != NULL, "lan0 lost its parent record");
	CHECK(siocgvh("lan0", 7, &cr, NULL) == 0 && cr.carpr_vhid == 7 &&
	    cr.carpr_state == ST_MASTER, "vhid 7 on lan0 after the rename: "
	    "state %d", cr.carpr_state);
	fk_advance_ns(2000000000ULL);
	fk_run_tasks();
	CHECK(vhid_state("lan0", 7) == ST_MASTER, "vhid 7 state %d",
	    vhid_state("lan0", 7));
	fk_addr_remove(fk_addr_find(ifp, "192.0.2.100"));
	unload();
	fk_if_destroy(ifp);
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
}

/*
 * The same departure while kldunload is under way, between its dying flag
 * and the destruction of carpN (carp_rs_cloners_fini): the departure
 * handler used to leave it all to unload, whose carp0 destruction then
 * left the purged memberships again.
 */
void
s_departure_carpn_unloading(void)
{
	extern volatile u_int carp_rs_dying;
	struct ifnet *ifp, *cifp;

	if ((ifp = carp0_on_em0(&cifp)) == NULL)
		return;
	fk_run_tasks();
	atomic_store_rel_int(&carp_rs_dying, 1);	/* unload has begun */
	fk_if_destroy(ifp);	/* fails on if_carp left or references */
	unload();		/* destroys carp0 */
	CHECK(ifunit("carp0") == NULL, "carp0 survived the unload");
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
}

/*
 * Issue 11, the stress_unload panic: a thread inside carp_ioctl_p
 * (SIOCGVH; held here in copyin(9), as a page fault or our sx lock would
 * hold it) while kldunload runs.  kldunload must not return before that
 * thread has left the module's code (the kernel frees the text right
 * after: "rip in _end() <- ifioctl"), and the thread gets an error
 * without touching the engine.
 */
static volatile int ui_unload_done, ui_ioctl_done, ui_ioctl_err;

static void
ui_ioctl(void *arg __unused)
{
	struct carpreq cr;

	ui_ioctl_err = siocgvh("em0", 7, &cr, NULL);
	ui_ioctl_done = 1;
}

/* carpN's cloner: "ifconfig carp5 create". */
static void
ui_clone(void *arg __unused)
{
	ui_ioctl_err = fk_clone_create("carp5");
	ui_ioctl_done = 1;
}

static void
ui_unload(void *arg __unused)
{
	int error;

	error = fk_kld_unload();
	CHECK(error == 0, "kldunload: error %d", error);
	ui_unload_done = 1;
}

/*
 * A thread held inside one of our entry points (fn, stopped at *gate)
 * while kldunload runs: unload must wait for it, and the request must
 * fail with ENXIO once it goes on.
 */
static void
unload_inflight(const char *what, void (*fn)(void *), volatile int *gate,
    volatile int *gated)
{
	struct ifnet *ifp;
	unsigned long th[2], t0;

	if (load() != 0)
		return;
	ifp = setup_em0();
	CHECK(siocsvh("em0", 7, 1, 100, "testpass", 0) == 0, "SIOCSVH 7");
	ui_unload_done = ui_ioctl_done = 0;
	*gated = 0;
	*gate = 1;
	th[0] = fk_thread_spawn(fn, NULL, 0);
	for (t0 = fkh_wall_ms(); *gated == 0 && fkh_wall_ms() - t0 < 5000;)
		fk_preempt();
	CHECK(*gated == 1, "the %s thread never reached its gate", what);
	th[1] = fk_thread_spawn(ui_unload, NULL, 1);
	for (t0 = fkh_wall_ms(); !ui_unload_done && fkh_wall_ms() - t0 < 300;)
		fk_preempt();
	CHECK(!ui_unload_done, "kldunload returned while a thread was still "
	    "inside %s (the kernel frees the module's text under it)", what);
	*gate = 0;
	fk_thread_join(th[0]);
	fk_thread_join(th[1]);
	fk_threaded = false;
	CHECK(ui_unload_done && ui_ioctl_done, "a thread did not finish");
	CHECK(ui_ioctl_err == ENXIO, "%s racing with unload: error %d, "
	    "expected ENXIO", what, ui_ioctl_err);
	expect_clean();
	fk_if_destroy(ifp);
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() -
	    base_malloc);
}

void
s_unload_inflight(void)
{

	unload_inflight("carp_ioctl_p (SIOCGVH, in copyin)", ui_ioctl,
	    &fk_copyin_gate, &fk_copyin_gated);
}

/* Issue 11: the carpN cloner's entry points count themselves too. */
void
s_unload_inflight_clone(void)
{

	unload_inflight("carpN's cloner (create, in if_alloc)", ui_clone,
	    &fk_ifalloc_gate, &fk_ifalloc_gated);
}

/*
 * Issue 11 (defects 5 and 7): every net.inet.carp leaf is per VNET
 * (CTLFLAG_VNET: a vnet jail reads and writes its own), and `allow' is a
 * loader tunable (CTLFLAG_TUN) whose kenv value the engine starts with.
 */
void
s_vnet_sysctls(void)
{
	static const char *const leaves[] = { "allow", "preempt", "log",
	    "demotion", "senderr_demotion_factor", "ifdown_demotion_factor",
	    "dscp", "arpbalance", "suppress_preempt", "replay_check",
	    "garp_interval", "stats", "demotion_sources", "vhids" };
	struct sysctl_oid *oid;
	char name[64];
	size_t len;
	int v = -1;

	fk_kenv_name = "net.inet.carp.allow";
	fk_kenv_val = 0;
	if (load() != 0) {
		fk_kenv_name = NULL;
		return;
	}
	fk_kenv_name = NULL;
	for (size_t i = 0; i < nitems(leaves); i++) {
		snprintf(name, sizeof(name), "net.inet.carp.%s", leaves[i]);
		oid = fk_sysctl_find(name);
		CHECK(oid != NULL && (oid->oid_kind & CTLFLAG_VNET) != 0,
		    "%s is not per VNET (CTLFLAG_VNET)", name);
	}
	oid = fk_sysctl_find("net.inet.carp.allow");
	CHECK(oid != NULL && (oid->oid_kind & CTLFLAG_TUN) != 0,
	    "net.inet.carp.allow is not a loader tunable (CTLFLAG_TUN)");
	len = sizeof(v);
	CHECK(fk_sysctl("net.inet.carp.allow", &v, &len, NULL, 0) == 0 &&
	    v == 0, "kenv net.inet.carp.allow=0 not applied at load: %d", v);
	unload();
}
