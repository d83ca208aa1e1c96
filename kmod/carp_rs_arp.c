/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: FreeBSD 9's ARP load sharing (net.inet.carp.arpbalance) on
 * FreeBSD 14/15.  FreeBSD 9's carp_iamatch() saw the requester's address;
 * 10+'s carp_iamatch_p(ifa, &enaddr) does not, and a carpN address is
 * answered through a published entry on the parent (in_arpinput's proxy
 * path), which asks no hook at all.  So the decision is taken one step
 * earlier: this file owns a per-VNET pfil(9) hook on the link layer head
 * ("ethernet", inbound, run by ether_demux with the Ethernet header in the
 * mbuf) that hands each ARP request arriving on a parent carrying vhids to
 * the engine (carp_rs_arp_filter) and drops it when another host answers
 * that requester.  The hook is there only while arpbalance is on, so
 * that no frame pays for it otherwise.  Which MASTER vhid's MAC a shared carpN address is
 * published with is the engine's (routes.rs: one entry per parent and
 * address, republished when the vhid serving it changes).
 */

#include "carp_rs_var.h"

#include <net/pfil.h>

/* Ethernet header plus an Ethernet/IPv4 ARP packet (wire::arp). */
#define	CARP_RS_ARP_FRAME	(ETHER_HDR_LEN + 28)

/*
 * The pfil hook: ether_demux, net epoch, the receiving VNET current.  Only
 * an untagged ARP frame on a parent with vhids reaches the engine, copied
 * to the stack (no allocation); carp_rs_mtx is held around that call only.
 * A frame for a VLAN is judged when vlan_input hands it to ether_demux
 * again, on the VLAN interface.
 */
static pfil_return_t
carp_rs_arp_check(struct mbuf **mp, struct ifnet *ifp, int flags __unused,
    void *ruleset __unused, struct inpcb *inp __unused)
{
	struct mbuf *m = *mp;
	struct carp_rs_vnet *vc;
	uint8_t frame[CARP_RS_ARP_FRAME];
	uint16_t type;
	int drop;

	NET_EPOCH_ASSERT();
	if (ifp->if_carp == NULL || (m->m_flags & M_VLANTAG) != 0 ||
	    m->m_pkthdr.len < CARP_RS_ARP_FRAME)
		return (PFIL_PASS);
	m_copydata(m, offsetof(struct ether_header, ether_type), sizeof(type),
	    (caddr_t)&type);
	if (ntohs(type) != ETHERTYPE_ARP ||
	    atomic_load_acq_int(&carp_rs_dying) != 0)
		return (PFIL_PASS);
	m_copydata(m, 0, sizeof(frame), (caddr_t)frame);
	drop = 0;
	mtx_lock(&carp_rs_mtx);
	vc = V_carp_rs_vnet;
	if (vc != NULL)
		drop = carp_rs_arp_filter(vc->engine, if_getindex(ifp), frame,
		    sizeof(frame));
	mtx_unlock(&carp_rs_mtx);
	if (drop == 0)
		return (PFIL_PASS);
	m_freem(m);
	*mp = NULL;
	return (PFIL_DROPPED);
}

/*
 * Hooks (on) or unhooks vc's VNET's link head: after every knob write, as
 * the engine wants (carp_rs_arp_filter_wanted), and off at VNET destruction.
 * sx held (may sleep).  Unhooked, pfil frees the link after an epoch; a
 * thread still in carp_rs_arp_check() is waited for by the NET_EPOCH_WAIT()
 * that comes before the engine is freed.
 */
void
carp_rs_arp_sync(struct carp_rs_vnet *vc, bool on)
{
	struct pfil_hook_args pha;
	struct pfil_link_args pla;

	sx_assert(&carp_rs_sx, SA_XLOCKED);
	if (!on && vc->arp_hook != NULL) {
		pfil_remove_hook(vc->arp_hook);
		vc->arp_hook = NULL;
	}
	if (!on || vc->arp_hook != NULL)
		return;
	memset(&pha, 0, sizeof(pha));
	pha.pa_version = PFIL_VERSION;
	pha.pa_flags = PFIL_IN;
	pha.pa_type = PFIL_TYPE_ETHERNET;
	pha.pa_mbuf_chk = carp_rs_arp_check;
	pha.pa_modname = "carp";
	pha.pa_rulname = "arpbalance";
	vc->arp_hook = pfil_add_hook(&pha);
	memset(&pla, 0, sizeof(pla));
	pla.pa_version = PFIL_VERSION;
	pla.pa_flags = PFIL_IN | PFIL_HEADPTR | PFIL_HOOKPTR;
	pla.pa_head = V_link_pfil_head;
	pla.pa_hook = vc->arp_hook;
	if (pfil_link(&pla) != 0) {
		printf("carp_rs: cannot hook ARP input: arpbalance is off\n");
		pfil_remove_hook(vc->arp_hook);
		vc->arp_hook = NULL;
	}
}
