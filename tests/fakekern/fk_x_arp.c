/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: pfil(9) reduced to the link ("ethernet") head that
 * ether_demux runs inbound (pfil_add_hook/pfil_link/pfil_remove_hook, one
 * chain, hooks run in the net epoch, PFIL_DROPPED means the hook freed
 * the mbuf), and the arpbalance scenario: with carp0 and carp1 holding the
 * same address on em0, an ARP request reaches ARP input on the host whose
 * MASTER vhid the requester's address picks and is dropped on the other.
 */
#include "fk.h"
#include "fk_stack.h"
#include "fk_scen.h"
#include <net/ethernet.h>
#include <net/pfil.h>

VNET_DEFINE(struct pfil_head *, link_pfil_head);

struct pfil_hook {
	struct pfil_hook_args	args;
	bool			linked;
};

#define	FK_MAXHOOKS	4
static struct pfil_hook *fk_hooks[FK_MAXHOOKS];

pfil_hook_t
pfil_add_hook(struct pfil_hook_args *pa)
{
	struct pfil_hook *h;

	fk_assert_sleepable("pfil_add_hook");
	if (pa->pa_version != PFIL_VERSION || pa->pa_mbuf_chk == NULL)
		fk_fail("pfil_add_hook: bad arguments");
	h = fk_zalloc(sizeof(*h));
	h->args = *pa;
	for (int i = 0; i < FK_MAXHOOKS; i++)
		if (fk_hooks[i] == NULL) {
			fk_hooks[i] = h;
			return (h);
		}
	fk_fail("pfil_add_hook: too many hooks");
	return (h);
}

int
pfil_link(struct pfil_link_args *pa)
{
	struct pfil_hook *h = pa->pa_hook;

	if (pa->pa_version != PFIL_VERSION ||
	    (pa->pa_flags & (PFIL_HEADPTR | PFIL_HOOKPTR)) !=
	    (PFIL_HEADPTR | PFIL_HOOKPTR) || pa->pa_head != V_link_pfil_head)
		return (EINVAL);
	/* pfil_link: a hook of another type than the head's is refused. */
	if (h == NULL || h->args.pa_type != PFIL_TYPE_ETHERNET)
		return (EINVAL);
	h->linked = (pa->pa_flags & PFIL_IN) != 0;
	return (0);
}

void
pfil_remove_hook(pfil_hook_t h)
{

	fk_assert_sleepable("pfil_remove_hook");
	for (int i = 0; i < FK_MAXHOOKS; i++)
		if (fk_hooks[i] == h) {
			fk_hooks[i] = NULL;
			fk_zfree(h);
			return;
		}
	fk_fail("pfil_remove_hook: unknown hook");
}

static int
fk_pfil_nhooks(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXHOOKS; i++)
		n += fk_hooks[i] != NULL;
	return (n);
}

/*
 * ether_demux's pfil_mbuf_in() on the link head: true if the frame goes
 * on to ARP input.  The mbuf is freed here when it passes (as ARP input
 * would), by the hook when it drops it.
 */
static bool
fk_ether_demux(struct ifnet *ifp, const uint8_t *frame, int len)
{
	struct epoch_tracker et;
	struct mbuf *m = fk_mbuf_from(frame, len, 20, ifp);
	pfil_return_t rv = PFIL_PASS;

	NET_EPOCH_ENTER(et);
	for (int i = 0; i < FK_MAXHOOKS && rv == PFIL_PASS; i++) {
		struct pfil_hook *h = fk_hooks[i];

		if (h == NULL || !h->linked)
			continue;
		rv = h->args.pa_mbuf_chk(&m, ifp, PFIL_IN, h->args.pa_ruleset,
		    NULL);
		if ((rv == PFIL_DROPPED) != (m == NULL))
			fk_fail("pfil hook: verdict %d with mbuf %p", rv, m);
	}
	NET_EPOCH_EXIT(et);
	if (m != NULL)
		m_freem(m);
	return (rv == PFIL_PASS);
}

/* who-has target tell sender, from 02:00:00:00:00:<sender's last byte>. */
static void
arp_frame(uint8_t *f, const char *sender, const char *target, int op)
{
	struct in_addr s, t;

	fk_inet_pton4(sender, &s);
	fk_inet_pton4(target, &t);
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\0\0\0\0", 5);
	memcpy(f + 11, (uint8_t *)&s + 3, 1);
	memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00", 9);
	f[21] = op;
	memcpy(f + 22, f + 6, 6);
	memcpy(f + 28, &s, 4);
	memcpy(f + 38, &t, 4);
}

static bool
arp_passes(struct ifnet *ifp, const char *sender)
{
	uint8_t f[60];

	arp_frame(f, sender, "192.0.2.50", 1);
	return (fk_ether_demux(ifp, f, sizeof(f)));
}

void
s_arpbalance(void)
{
	struct ifnet *ifp, *other;
	struct ifaddr *ifa;
	const char *last;
	uint8_t f[60];
	int i, n0, v;

	if (load() != 0)
		return;
	/* The hook is linked only while arpbalance is on. */
	CHECK(fk_pfil_nhooks() == 0, "%d link hooks after load with "
	    "arpbalance off (every frame would pay for it)", fk_pfil_nhooks());
	ifp = setup_em0();
	other = fk_if_create("em1", 2, mac_em0);
	CHECK(fk_clone_create("carp0") == 0 && fk_clone_create("carp1") == 0,
	    "carp0/carp1 create");
	CHECK(siocsvh("carp0", 1, 1, 0, "secret", 0) == 0, "SIOCSVH carp0");
	CHECK(siocsvh("carp1", 2, 1, 100, "secret", 0) == 0, "SIOCSVH carp1");
	CHECK(fk_addr_add4(ifunit("carp0"), "192.0.2.50", 24, 0, &ifa) == 0,
	    "carp0 address");
	CHECK(fk_addr_add4(ifunit("carp1"), "192.0.2.50", 24, 0, &ifa) == 0,
	    "carp1 address");
	fk_advance_ns(4000000000ULL);
	fk_run_tasks();
	/* This host: MASTER of vhid 1 (carp0), BACKUP of vhid 2 (carp1). */
	n0 = fk_stack.events.n;
	CHECK(siocsvh("carp1", 2, 1, 100, NULL, ST_BACKUP) == 0, "carp1 BACKUP");
	CHECK(vhid_state("carp0", 1) == ST_MASTER &&
	    vhid_state("carp1", 2) == ST_BACKUP, "states %d %d",
	    vhid_state("carp0", 1), vhid_state("carp1", 2));
	/*
	 * One ARP entry per address: carp1 leaving MASTER never withdraws it,
	 * and what stays published is carp0's virtual MAC.
	 */
	last = NULL;
	for (i = 0; i < fk_stack.events.n; i++) {
		if (strncmp(fk_stack.events.line[i], "lle ", 4) != 0 ||
		    strstr(fk_stack.events.line[i], " 192.0.2.50 ") == NULL)
			continue;
		last = fk_stack.events.line[i];
		CHECK(i < n0 || strncmp(last, "lle delete", 10) != 0,
		    "carp1 leaving MASTER withdrew the shared VIP's entry: %s",
		    last);
	}
	CHECK(last != NULL &&
	    strncmp(last, "lle add 192.0.2.50 00:00:5e:00:01:01", 36) == 0,
	    "192.0.2.50 published as %s, want carp0's 00:00:5e:00:01:01",
	    last != NULL ? last : "(nothing)");
	/* arpbalance off: every request goes on to ARP input. */
	CHECK(arp_passes(ifp, "192.0.2.101") && arp_passes(ifp, "192.0.2.102"),
	    "a request was filtered with arpbalance off");
	v = 1;
	CHECK(fk_sysctl("net.inet.carp.arpbalance", NULL, NULL, &v,
	    sizeof(v)) == 0, "arpbalance=1");
	CHECK(fk_pfil_nhooks() == 1, "%d link hooks with arpbalance=1 (want "
	    "the arpbalance one)", fk_pfil_nhooks());
	CHECK(fk_sysctl("net.inet.carp.arpbalance", NULL, NULL, &v,
	    sizeof(v)) == 0 && fk_pfil_nhooks() == 1, "arpbalance=1 twice: "
	    "%d link hooks", fk_pfil_nhooks());
	/* Even requesters pick vhid 1 (ours), odd ones vhid 2 (the peer's). */
	CHECK(arp_passes(ifp, "192.0.2.102"), "192.0.2.102 (vhid 1, MASTER "
	    "here) was dropped");
	CHECK(!arp_passes(ifp, "192.0.2.101"), "192.0.2.101 (vhid 2, the "
	    "peer's) reached ARP input: both hosts answer");
	CHECK(!arp_passes(ifp, "192.0.2.103"), "192.0.2.103 passed");
	/* Not ours to filter: another parent, a reply, another target. */
	CHECK(arp_passes(other, "192.0.2.101"), "em1 (no vhids) filtered");
	arp_frame(f, "192.0.2.101", "192.0.2.50", 2);
	CHECK(fk_ether_demux(ifp, f, sizeof(f)), "an ARP reply was filtered");
	arp_frame(f, "192.0.2.101", "192.0.2.2", 1);
	CHECK(fk_ether_demux(ifp, f, sizeof(f)), "em0's own address filtered");
	CHECK(fk_ether_demux(ifp, f, 41), "a truncated frame was filtered");
	/* The other host's view: MASTER of vhid 2 only. */
	CHECK(siocsvh("carp1", 2, 1, 100, NULL, ST_MASTER) == 0, "carp1 MASTER");
	CHECK(siocsvh("carp0", 1, 1, 0, NULL, ST_BACKUP) == 0, "carp0 BACKUP");
	CHECK(!arp_passes(ifp, "192.0.2.102") && arp_passes(ifp, "192.0.2.101"),
	    "MASTER of vhid 2: want .102 dropped, .101 passed");
	v = 0;
	CHECK(fk_sysctl("net.inet.carp.arpbalance", NULL, NULL, &v,
	    sizeof(v)) == 0 && fk_pfil_nhooks() == 0, "arpbalance=0: %d link "
	    "hooks left", fk_pfil_nhooks());
	CHECK(arp_passes(ifp, "192.0.2.102"), "filtered with arpbalance=0");
	v = 1;
	CHECK(fk_sysctl("net.inet.carp.arpbalance", NULL, NULL, &v,
	    sizeof(v)) == 0 && fk_pfil_nhooks() == 1, "arpbalance=1 again");
	unload();
	CHECK(fk_pfil_nhooks() == 0, "%d link hooks left after unload",
	    fk_pfil_nhooks());
	CHECK(arp_passes(ifp, "192.0.2.101"), "filtered after unload");
	fk_if_destroy(other);
	fk_if_destroy(ifp);
	CHECK(fk_malloc_outstanding() == base_malloc, "leak: %ld",
	    fk_malloc_outstanding() - base_malloc);
}
