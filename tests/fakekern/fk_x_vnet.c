/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: issue 11 (defects 1 and 5) in the fake kernel: everything of
 * CARP is per VNET.  Several vnet jails (fk_vnet_create) each run their
 * own engine, knobs, statistics, vhids and carpN cloner; the same vhid on
 * the same if_index name in two of them stays two vhids; destroying one
 * with live vhids bows out, removes its VIPs and leaks nothing while the
 * others keep running, and a vnet created afterwards inherits nothing.
 */
#include "fk.h"
#include "fk_stack.h"
#include "fk_scen.h"

static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb0 };
static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 0xc0 };
static char why[] = "pfsync in vnet A";

/* sysctl net.inet.carp.LEAF read from inside vnet v (-1: error). */
static int
vknob(struct vnet *v, const char *leaf)
{
	char name[64];
	size_t len = sizeof(int);
	int val = -1, error;

	snprintf(name, sizeof(name), "net.inet.carp.%s", leaf);
	CURVNET_SET_QUIET(v);
	error = fk_sysctl(name, &val, &len, NULL, 0);
	CURVNET_RESTORE();
	return (error == 0 ? val : -1);
}

/* sysctl net.inet.carp.LEAF=val written from inside vnet v. */
static int
vset(struct vnet *v, const char *leaf, int val)
{
	char name[64];
	int error;

	snprintf(name, sizeof(name), "net.inet.carp.%s", leaf);
	CURVNET_SET_QUIET(v);
	error = fk_sysctl(name, NULL, NULL, &val, sizeof(val));
	CURVNET_RESTORE();
	fk_run_tasks();
	return (error);
}

/* netstat -s -p carp inside vnet v. */
static void
vstats(struct vnet *v, struct carpstats *cs)
{
	size_t len = sizeof(*cs);
	int error;

	memset(cs, 0xff, sizeof(*cs));
	CURVNET_SET_QUIET(v);
	error = fk_sysctl("net.inet.carp.stats", cs, &len, NULL, 0);
	CURVNET_RESTORE();
	CHECK(error == 0 && len == sizeof(*cs), "net.inet.carp.stats: error "
	    "%d, %zu bytes", error, len);
}

/* SIOCGVH for one vhid inside vnet v; the state, -1 on error. */
static int
vstate(struct vnet *v, const char *ifname, int vhid, int *advskew)
{
	struct carpreq cr;
	int error;

	CURVNET_SET_QUIET(v);
	error = siocgvh(ifname, vhid, &cr, NULL);
	CURVNET_RESTORE();
	if (advskew != NULL)
		*advskew = error == 0 ? cr.carpr_advskew : -1;
	return (error == 0 ? cr.carpr_state : -1);
}

/*
 * Adverts captured for vhid (0: any) out interface ifindex (0: any) with
 * advskew skew (-1: any).
 */
static int
adverts(int ifindex, int vhid, int skew)
{
	int n = 0;

	for (int i = 0; i < fk_nout_pkts; i++) {
		const uint8_t *p = fk_out_pkts[i].data;
		int hl = fk_out_pkts[i].af == 4 ? (p[0] & 0xf) << 2 :
		    (int)sizeof(struct ip6_hdr);

		if (fk_out_pkts[i].len < hl + 8)
			continue;
		if ((ifindex == 0 || fk_out_pkts[i].ifindex == ifindex) &&
		    (vhid == 0 || p[hl + 1] == vhid) &&
		    (skew < 0 || p[hl + 2] == skew))
			n++;
	}
	return (n);
}

/*
 * A parent em0 of vnet jail v, with 192.0.2.3 (the captured master is
 * 192.0.2.2: an advert from our own address would be our echo).
 */
static struct ifnet *
vparent(struct vnet *v, int index, const uint8_t mac[6])
{
	struct ifnet *ifp;

	CURVNET_SET_QUIET(v);
	ifp = fk_if_create("em0", index, mac);
	CHECK(ifp != NULL && fk_addr_add4(ifp, "192.0.2.3", 24, 0, NULL) == 0,
	    "em0 (index %d) with 192.0.2.3/24", index);
	CURVNET_RESTORE();
	return (ifp);
}

/* ifconfig em0 vhid V advskew S pass testpass alias VIP/32 in vnet v. */
static void
vvhid(struct vnet *v, struct ifnet *ifp, int vhid, int advskew,
    const char *vip)
{
	int error;

	CURVNET_SET_QUIET(v);
	error = siocsvh("em0", vhid, 1, advskew, "testpass", 0);
	CHECK(error == 0, "SIOCSVH em0 vhid %d: %d", vhid, error);
	error = fk_addr_add4(ifp, vip, 32, vhid, NULL);
	CHECK(error == 0, "em0 alias %s vhid %d: %d", vip, vhid, error);
	CURVNET_RESTORE();
	fk_run_tasks();
}

static void
start(void)
{
	pkt_src4 = "192.0.2.3";
}

static void
finish(struct vnet **v, int n)
{
	pkt_src4 = "192.0.2.2";
	unload();
	for (int i = 0; i < n; i++)
		if (v[i] != NULL)
			fk_vnet_destroy(v[i]);
	CHECK(fk_vnet_count() == 1, "%d vnet(s) left", fk_vnet_count());
	CHECK(fk_malloc_outstanding() == base_malloc, "%ld malloc(9) block(s) "
	    "leaked after the vnets went", fk_malloc_outstanding() -
	    base_malloc);
	if (fk_malloc_outstanding() != base_malloc)
		fk_malloc_report();
}

/*
 * Two vnet jails, each with its own em0 (if_index 1 and 2) and the same
 * vhid 7 on it, configured from inside: preempt=1 in A, allow=0 in B.
 * Knobs, states, statistics, SIOCGVH and adverts stay each vnet's own,
 * and pfsync's demotion in A (carp_demote_adj_p) reaches A's engine only.
 */
void
s_vnet_two(void)
{
	struct vnet *v[2] = { NULL, NULL };
	struct carpstats sa, sb;
	struct ifnet *ifa, *ifb;
	struct carpreq cr;
	int skew, n, error;

	start();
	v[0] = fk_vnet_create();	/* before the module: at load */
	if (load() != 0) {
		fk_vnet_destroy(v[0]);
		pkt_src4 = "192.0.2.2";
		return;
	}
	v[1] = fk_vnet_create();	/* after it: when created */
	ifa = vparent(v[0], 1, mac_em0);
	ifb = vparent(v[1], 2, mac_b);
	CHECK(vset(v[0], "preempt", 1) == 0, "preempt=1 inside vnet A");
	CHECK(vset(v[1], "allow", 0) == 0, "allow=0 inside vnet B");
	CHECK(vknob(v[0], "preempt") == 1 && vknob(v[0], "allow") == 1,
	    "vnet A: preempt %d allow %d, expected 1 1", vknob(v[0], "preempt"),
	    vknob(v[0], "allow"));
	CHECK(vknob(v[1], "preempt") == 0 && vknob(v[1], "allow") == 0,
	    "vnet B: preempt %d allow %d, expected 0 0", vknob(v[1], "preempt"),
	    vknob(v[1], "allow"));
	CHECK(vknob(vnet0, "preempt") == 0 && vknob(vnet0, "allow") == 1,
	    "host: preempt %d allow %d, expected 0 1", vknob(vnet0, "preempt"),
	    vknob(vnet0, "allow"));
	vvhid(v[0], ifa, 7, 10, "192.0.2.100");
	vvhid(v[1], ifb, 7, 20, "192.0.2.100");
	fk_out_pkts_clear();
	fk_lines_clear(&fk_console);
	/* A slower master (advskew 50) in A only: A preempts it. */
	n = feed_capture(ifa, "ucarp-failover-repeat.pcap", 50, 5);
	CHECK(n == 5, "fed %d", n);
	CHECK(fk_lines_grep(&fk_console, "carp: 7@em0: BACKUP -> MASTER "
	    "(preempting a slower master)"), "vnet A did not preempt "
	    "(preempt=1)");
	CHECK(vstate(v[0], "em0", 7, &skew) == ST_MASTER && skew == 10,
	    "vnet A: vhid 7 state %d advskew %d, expected MASTER 10 (preempt "
	    "1)", vstate(v[0], "em0", 7, NULL), skew);
	CHECK(vstate(v[1], "em0", 7, &skew) == ST_INIT && skew == 20,
	    "vnet B: vhid 7 state %d advskew %d, expected INIT 20 (allow 0)",
	    vstate(v[1], "em0", 7, NULL), skew);
	{
		CURVNET_SET_QUIET(vnet0);
		error = siocgvh("em0", 7, &cr, NULL);
		CURVNET_RESTORE();
	}
	CHECK(error != 0, "the host sees a vhid on an em0 it does not have");
	vstats(v[0], &sa);
	vstats(v[1], &sb);
	CHECK(sa.carps_ipackets == 5 && sa.carps_opackets >= 1,
	    "vnet A: %ju adverts in, %ju out, expected 5 and some",
	    (uintmax_t)sa.carps_ipackets, (uintmax_t)sa.carps_opackets);
	CHECK(sb.carps_ipackets == 0 && sb.carps_opackets == 0,
	    "vnet B: %ju adverts in, %ju out, expected none",
	    (uintmax_t)sb.carps_ipackets, (uintmax_t)sb.carps_opackets);
	CHECK(fk_nout_pkts >= 1 && adverts(1, 7, 10) == fk_nout_pkts,
	    "%d of %d adverts out A's em0 with advskew 10", adverts(1, 7, 10),
	    fk_nout_pkts);
	dump_pkts_if(1, 4, "testpass", "192.0.2.100", 7, 1, 10);
	/* B allowed again: master of its own segment, beside A. */
	CHECK(vset(v[1], "allow", 1) == 0, "allow=1 inside vnet B");
	fk_out_pkts_clear();
	fk_advance_ns(4000000000ULL);
	fk_run_tasks();
	CHECK(vstate(v[1], "em0", 7, NULL) == ST_MASTER,
	    "vnet B: vhid 7 state %d after allow=1",
	    vstate(v[1], "em0", 7, NULL));
	CHECK(vstate(v[0], "em0", 7, NULL) == ST_MASTER,
	    "vnet A: vhid 7 state %d", vstate(v[0], "em0", 7, NULL));
	CHECK(adverts(1, 7, 10) >= 3 && adverts(2, 7, 20) >= 1 &&
	    adverts(1, 7, 10) + adverts(2, 7, 20) == fk_nout_pkts,
	    "adverts: %d out A's em0 (advskew 10), %d out B's (advskew 20), "
	    "%d in all", adverts(1, 7, 10), adverts(2, 7, 20), fk_nout_pkts);
	dump_pkts_if(1, 4, "testpass", "192.0.2.100", 7, 1, 10);
	dump_pkts_if(2, 4, "testpass", "192.0.2.100", 7, 1, 20);
	/* pfsync's demotion inside A: A's adverts only. */
	{
		CURVNET_SET_QUIET(v[0]);
		carp_demote_adj_p(100, why);
		CURVNET_RESTORE();
	}
	fk_run_tasks();
	CHECK(vknob(v[0], "demotion") == 100 && vknob(v[1], "demotion") == 0 &&
	    vknob(vnet0, "demotion") == 0, "demotion A %d B %d host %d, "
	    "expected 100 0 0", vknob(v[0], "demotion"),
	    vknob(v[1], "demotion"), vknob(vnet0, "demotion"));
	fk_out_pkts_clear();
	fk_advance_ns(2000000000ULL);
	fk_run_tasks();
	CHECK(adverts(1, 7, 110) >= 1 && adverts(2, 7, 20) >= 1 &&
	    adverts(1, 7, 110) + adverts(2, 7, 20) == fk_nout_pkts,
	    "after A's demotion: %d out A's em0 (advskew 110), %d out B's "
	    "(advskew 20), %d in all", adverts(1, 7, 110), adverts(2, 7, 20),
	    fk_nout_pkts);
	dump_pkts_if(1, 4, "testpass", "192.0.2.100", 7, 1, 110);
	dump_pkts_if(2, 4, "testpass", "192.0.2.100", 7, 1, 20);
	/* netstat -z inside B zeroes B's counters only. */
	{
		CURVNET_SET_QUIET(v[1]);
		memset(&sb, 0, sizeof(sb));
		error = fk_sysctl("net.inet.carp.stats", NULL, NULL, &sb,
		    sizeof(sb));
		CURVNET_RESTORE();
	}
	CHECK(error == 0, "zeroing B's stats: %d", error);
	vstats(v[0], &sa);
	vstats(v[1], &sb);
	CHECK(sa.carps_opackets >= 3 && sb.carps_opackets == 0,
	    "after netstat -z in B: A %ju out, B %ju out",
	    (uintmax_t)sa.carps_opackets, (uintmax_t)sb.carps_opackets);
	finish(v, 2);
}

/*
 * Vnet jail A is destroyed with vhid 8 MASTER and vhid 7 BACKUP while B
 * runs vhid 7 MASTER: A's bow-out advert leaves, its VIPs go, its engine
 * and records are freed (malloc type carp_rs back to what B alone uses),
 * B keeps advertising.  A vnet C then gets a parent with A's if_index and
 * name: no vhid, knob, demotion or counter of A shows up there.
 */
void
s_vnet_destroy_live(void)
{
	struct vnet *v[3] = { NULL, NULL, NULL };
	struct carpstats sc;
	struct carpreq cr[4];
	struct ifnet *ifa, *ifb, *ifc;
	long mem_b;
	int n, error;

	if (load() != 0)
		return;
	start();
	v[1] = fk_vnet_create();
	ifb = vparent(v[1], 2, mac_b);
	vvhid(v[1], ifb, 7, 0, "192.0.2.100");
	mem_b = fk_malloc_outstanding_type("carp_rs");
	v[0] = fk_vnet_create();
	ifa = vparent(v[0], 1, mac_em0);
	CHECK(vset(v[0], "preempt", 1) == 0, "preempt=1 inside vnet A");
	{
		CURVNET_SET_QUIET(v[0]);
		carp_demote_adj_p(20, why);
		CURVNET_RESTORE();
	}
	fk_run_tasks();
	vvhid(v[0], ifa, 7, 100, "192.0.2.100");
	vvhid(v[0], ifa, 8, 0, "192.0.2.101");
	CHECK(fk_malloc_outstanding_type("carp_rs") > mem_b,
	    "vnet A's engine and records use no carp_rs memory");
	n = feed_capture(ifa, "ucarp-failover-repeat.pcap", 50, 5);
	CHECK(n == 5, "fed %d", n);
	CHECK(vstate(v[0], "em0", 7, NULL) == ST_BACKUP &&
	    vstate(v[0], "em0", 8, NULL) == ST_MASTER,
	    "vnet A: vhid 7 state %d (BACKUP expected), vhid 8 state %d "
	    "(MASTER expected)", vstate(v[0], "em0", 7, NULL),
	    vstate(v[0], "em0", 8, NULL));
	CHECK(vstate(v[1], "em0", 7, NULL) == ST_MASTER,
	    "vnet B: vhid 7 state %d", vstate(v[1], "em0", 7, NULL));
	fk_out_pkts_clear();
	fk_vnet_shutdown(v[0]);
	fk_run_tasks();
	CHECK(adverts(1, 8, 255) == 1, "%d bow-out advert(s) of vhid 8 out "
	    "A's em0 (1 expected)", adverts(1, 8, 255));
	CHECK(adverts(1, 7, -1) == 0, "%d advert(s) of A's BACKUP vhid 7",
	    adverts(1, 7, -1));
	CHECK(adverts(2, 0, -1) == 0 && adverts(1, 0, -1) == fk_nout_pkts,
	    "destroying A: %d advert(s) out B's em0, %d in all",
	    adverts(2, 0, -1), fk_nout_pkts);
	dump_pkts_if(1, 4, "testpass", "192.0.2.101", 8, 255, 255);
	CHECK(fk_addr_find(ifa, "192.0.2.100") == NULL &&
	    fk_addr_find(ifa, "192.0.2.101") == NULL,
	    "a VIP of destroyed vnet A is left on its em0");
	CHECK(fk_addr_find(ifa, "192.0.2.3") != NULL,
	    "em0's own address of vnet A removed");
	CHECK(ifa->if_carp == NULL, "A's em0 keeps if_carp");
	fk_vnet_free(v[0]);
	v[0] = NULL;
	CHECK(fk_malloc_outstanding_type("carp_rs") == mem_b,
	    "%ld carp_rs block(s) of destroyed vnet A left",
	    fk_malloc_outstanding_type("carp_rs") - mem_b);
	CHECK(fk_clone_count() == 2, "%d carpN cloner(s), 2 expected (host "
	    "and B)", fk_clone_count());
	fk_out_pkts_clear();
	fk_advance_ns(3000000000ULL);
	fk_run_tasks();
	CHECK(vstate(v[1], "em0", 7, NULL) == ST_MASTER,
	    "vnet B: vhid 7 state %d after A went",
	    vstate(v[1], "em0", 7, NULL));
	CHECK(adverts(2, 7, 0) >= 2 && adverts(2, 7, 0) == fk_nout_pkts,
	    "vnet B after A went: %d advert(s) out its em0 of %d",
	    adverts(2, 7, 0), fk_nout_pkts);
	dump_pkts_if(2, 4, "testpass", "192.0.2.100", 7, 1, 0);
	/* C: em0 again, with A's if_index 1. */
	v[2] = fk_vnet_create();
	ifc = vparent(v[2], 1, mac_c);
	n = 4;
	{
		CURVNET_SET_QUIET(v[2]);
		error = siocgvh("em0", 0, cr, &n);
		CURVNET_RESTORE();
	}
	CHECK(error == ENOENT, "vnet C's new em0 (if_index 1): SIOCGVH "
	    "error %d, %d vhid(s) (A's were on if_index 1)", error, n);
	CHECK(vknob(v[2], "preempt") == 0 && vknob(v[2], "demotion") == 0,
	    "vnet C: preempt %d demotion %d (A's were 1 and 20)",
	    vknob(v[2], "preempt"), vknob(v[2], "demotion"));
	vstats(v[2], &sc);
	CHECK(sc.carps_ipackets == 0 && sc.carps_opackets == 0,
	    "vnet C: %ju in, %ju out before anything",
	    (uintmax_t)sc.carps_ipackets, (uintmax_t)sc.carps_opackets);
	vvhid(v[2], ifc, 8, 0, "192.0.2.101");
	CHECK(vstate(v[2], "em0", 8, NULL) == ST_BACKUP,
	    "vnet C: a new vhid 8 on if_index 1 starts in state %d, not "
	    "BACKUP (A's was MASTER)", vstate(v[2], "em0", 8, NULL));
	finish(v, 3);
}

/*
 * Each vnet jail has its own carpN cloner: carp0 in A and carp0 in B are
 * two interfaces, each vhid 1 on its own em0; the host has no carp0.  A's
 * destruction takes A's cloner and carp0, not B's.
 */
void
s_vnet_cloners(void)
{
	struct vnet *v[2] = { NULL, NULL };
	struct ifnet *ifp[2], *cifp[2];
	struct ifaddr *ifa;
	int error, skew;

	v[0] = fk_vnet_create();
	v[1] = fk_vnet_create();
	if (load() != 0) {
		fk_vnet_destroy(v[0]);
		fk_vnet_destroy(v[1]);
		return;
	}
	start();
	CHECK(fk_clone_count() == 3, "%d carpN cloner(s), 3 expected (host, A, "
	    "B)", fk_clone_count());
	for (int i = 0; i < 2; i++)
		ifp[i] = vparent(v[i], 1 + i, i == 0 ? mac_em0 : mac_b);
	for (int i = 0; i < 2; i++) {
		CURVNET_SET_QUIET(v[i]);
		error = fk_clone_create("carp0");
		CHECK(error == 0, "vnet %c: ifconfig carp0 create: %d",
		    'A' + i, error);
		cifp[i] = ifunit("carp0");
		CHECK(cifp[i] != NULL && cifp[i]->if_vnet == v[i],
		    "vnet %c: no carp0 of its own", 'A' + i);
		error = siocsvh("carp0", 1, 1, 100 - 50 * i, "secret", 0);
		CHECK(error == 0, "vnet %c: SIOCSVH carp0: %d", 'A' + i, error);
		ifa = NULL;
		error = cifp[i] == NULL ? ENXIO :
		    fk_addr_add4(cifp[i], "192.0.2.50", 24, 0, &ifa);
		CHECK(error == 0 && ifa != NULL && ifa->ifa_carp != NULL,
		    "vnet %c: carp0 192.0.2.50/24: %d", 'A' + i, error);
		CHECK(ifp[i] != NULL && ifp[i]->if_carp != NULL,
		    "vnet %c: its own em0 is not carp0's parent", 'A' + i);
		CURVNET_RESTORE();
		fk_run_tasks();
	}
	CHECK(cifp[0] != cifp[1], "one carp0 for both vnets");
	CHECK(ifunit("carp0") == NULL, "the host sees a carp0");
	fk_out_pkts_clear();
	fk_advance_ns(4000000000ULL);
	fk_run_tasks();
	for (int i = 0; i < 2; i++)
		CHECK(vstate(v[i], "carp0", 1, &skew) == ST_MASTER &&
		    skew == 100 - 50 * i, "vnet %c: carp0 vhid 1 state %d "
		    "advskew %d", 'A' + i, vstate(v[i], "carp0", 1, NULL),
		    skew);
	CHECK(adverts(1, 1, 100) >= 1 && adverts(2, 1, 50) >= 1 &&
	    adverts(1, 1, 100) + adverts(2, 1, 50) == fk_nout_pkts,
	    "adverts: %d out A's em0 (advskew 100), %d out B's (50), %d in all",
	    adverts(1, 1, 100), adverts(2, 1, 50), fk_nout_pkts);
	dump_pkts_if(1, 4, "secret", "192.0.2.50", 1, 1, 100);
	dump_pkts_if(2, 4, "secret", "192.0.2.50", 1, 1, 50);
	fk_vnet_shutdown(v[0]);
	CHECK(fk_clone_count() == 2, "%d carpN cloner(s) after A went, 2 "
	    "expected", fk_clone_count());
	fk_vnet_free(v[0]);
	v[0] = NULL;
	fk_out_pkts_clear();
	fk_advance_ns(2000000000ULL);
	fk_run_tasks();
	CHECK(vstate(v[1], "carp0", 1, NULL) == ST_MASTER,
	    "vnet B: carp0 state %d after A went",
	    vstate(v[1], "carp0", 1, NULL));
	CHECK(adverts(2, 1, 50) >= 1 && adverts(2, 1, 50) == fk_nout_pkts,
	    "vnet B after A went: %d of %d adverts out its em0",
	    adverts(2, 1, 50), fk_nout_pkts);
	{
		CURVNET_SET_QUIET(v[1]);
		error = fk_clone_destroy("carp0");
		CURVNET_RESTORE();
	}
	CHECK(error == 0, "vnet B: ifconfig carp0 destroy: %d", error);
	fk_run_tasks();
	finish(v, 2);
}
