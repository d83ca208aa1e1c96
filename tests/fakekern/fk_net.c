/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the network side of the fake kernel.  mbufs with real data
 * (the inline m_get/m_gethdr/m_getcl of sys/mbuf.h end in uma_zalloc_arg
 * here), interfaces built as real struct ifnet and read through the if_t
 * accessors, IP protocol registration (the handler is remembered so that
 * scenarios can inject packets), and ip_output/ip6_output capturing what
 * the module sends.
 */
#include "fk.h"
#include "fk_stack.h"

#include <net/ethernet.h>
#include <netinet6/in6_var.h>

/* ------------------------------------------------------------- mbufs */

struct uma_zone {
	const char	*name;
	int		 size;
};
static struct uma_zone fk_zone_mbuf = { "mbuf", MSIZE };
static struct uma_zone fk_zone_pack = { "mbuf_packet", MSIZE };
static struct uma_zone fk_zone_clust = { "mbuf_cluster", MCLBYTES };
uma_zone_t zone_mbuf = &fk_zone_mbuf;
uma_zone_t zone_pack = &fk_zone_pack;
uma_zone_t zone_clust = &fk_zone_clust;

static long fk_nmbufs, fk_nclusters;

long
fk_mbufs_outstanding(void)
{
	return (fk_nmbufs + fk_nclusters);
}

int
m_pkthdr_init(struct mbuf *m, int how __unused)
{
	m->m_data = m->m_pktdat;
	bzero(&m->m_pkthdr, sizeof(m->m_pkthdr));
	m->m_pkthdr.numa_domain = M_NODOM;
	SLIST_INIT(&m->m_pkthdr.tags);
	return (0);
}

static void
fk_clust_attach(struct mbuf *m)
{
	m->m_ext.ext_buf = fk_zalloc(MCLBYTES);
	m->m_ext.ext_size = MCLBYTES;
	m->m_ext.ext_type = EXT_CLUSTER;
	m->m_ext.ext_flags = EXT_FLAG_EMBREF;
	m->m_ext.ext_count = 1;
	m->m_data = m->m_ext.ext_buf;
	m->m_flags |= M_EXT;
	fk_nclusters++;
}

void *
uma_zalloc_arg(uma_zone_t zone, void *arg, int flags)
{
	struct mb_args *args = arg;
	struct mbuf *m;

	if (flags & M_WAITOK)
		fk_assert_sleepable("uma_zalloc(M_WAITOK)");
	else if (fk_nowait_fails())
		return (NULL);
	if (zone == zone_clust) {
		fk_nclusters++;
		return (fk_zalloc(MCLBYTES));
	}
	if (zone != zone_mbuf && zone != zone_pack) {
		fk_fail("uma_zalloc_arg: zone %p is not faked", zone);
		return (NULL);
	}
	m = fk_zalloc(MSIZE);
	fk_nmbufs++;
	/* mb_ctor_mbuf: MT_NOINIT (the _raw variants) skips m_init. */
	if (args != NULL && args->type != MT_NOINIT) {
		m_init(m, flags, args->type, args->flags);
		if (zone == zone_pack)
			fk_clust_attach(m);
	}
	return (m);
}

void
uma_zfree_arg(uma_zone_t zone, void *item, void *udata __unused)
{
	if (item == NULL)
		return;
	if (zone == zone_clust)
		fk_nclusters--;
	else
		fk_nmbufs--;
	fk_zfree(item);
}

void
mb_free_ext(struct mbuf *m)
{
	if (m->m_ext.ext_type != EXT_CLUSTER)
		fk_fail("mb_free_ext: ext type %d not faked", m->m_ext.ext_type);
	fk_zfree(m->m_ext.ext_buf);
	fk_nclusters--;
	if ((m->m_flags & M_NOFREE) == 0)
		uma_zfree(zone_mbuf, m);
}

int
m_clget(struct mbuf *m, int how __unused)
{
	fk_clust_attach(m);
	return (M_EXT);
}

void
m_tag_delete_chain(struct mbuf *m, struct m_tag *t)
{
	struct m_tag *p, *q;

	p = t != NULL ? t : SLIST_FIRST(&m->m_pkthdr.tags);
	if (p == NULL)
		return;
	while ((q = SLIST_NEXT(p, m_tag_link)) != NULL) {
		SLIST_REMOVE(&m->m_pkthdr.tags, q, m_tag, m_tag_link);
		m_tag_free(q);
	}
	if (t == NULL) {
		SLIST_REMOVE(&m->m_pkthdr.tags, p, m_tag, m_tag_link);
		m_tag_free(p);
	}
}

void
m_tag_delete(struct mbuf *m, struct m_tag *t)
{
	m_tag_unlink(m, t);
	m_tag_free(t);
}

static struct malloc_type M_PACKET_TAGS_fk[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "mtag" } };

void
fk_net_init(void)
{
	malloc_init(M_PACKET_TAGS_fk);
	sx_init(&fk_in_control_sx, "in_control");
}

void
m_tag_free_default(struct m_tag *t)
{
	free(t, M_PACKET_TAGS_fk);
}

struct m_tag *
m_tag_alloc(uint32_t cookie, uint16_t type, int len, int wait)
{
	struct m_tag *t;

	if (len < 0)
		return (NULL);
	t = malloc(len + sizeof(struct m_tag), M_PACKET_TAGS_fk, wait);
	if (t == NULL)
		return (NULL);
	m_tag_setup(t, cookie, type, len);
	t->m_tag_free = m_tag_free_default;
	return (t);
}

struct m_tag *
m_tag_locate(struct mbuf *m, uint32_t cookie, uint16_t type,
    struct m_tag *t)
{
	struct m_tag *p;

	p = t == NULL ? SLIST_FIRST(&m->m_pkthdr.tags) :
	    SLIST_NEXT(t, m_tag_link);
	for (; p != NULL; p = SLIST_NEXT(p, m_tag_link))
		if (p->m_tag_cookie == cookie && p->m_tag_id == type)
			return (p);
	return (NULL);
}

void
m_freem(struct mbuf *mb)
{
	while (mb != NULL) {
		if ((mb->m_flags & M_PKTHDR) != 0)
			m_tag_delete_chain(mb, NULL);
		mb = m_free(mb);
	}
}

void
m_copydata(const struct mbuf *m, int off, int len, caddr_t cp)
{
	u_int count;

	if (off < 0 || len < 0)
		fk_fail("m_copydata: negative off %d or len %d", off, len);
	while (off > 0) {
		if (m == NULL) {
			fk_fail("m_copydata: offset beyond the chain");
			return;
		}
		if (off < m->m_len)
			break;
		off -= m->m_len;
		m = m->m_next;
	}
	while (len > 0) {
		if (m == NULL) {
			fk_fail("m_copydata: length beyond the chain");
			return;
		}
		count = min(m->m_len - off, len);
		bcopy(mtod(m, caddr_t) + off, cp, count);
		len -= count;
		cp += count;
		off = 0;
		m = m->m_next;
	}
}

u_int
m_length(struct mbuf *m0, struct mbuf **last)
{
	struct mbuf *m;
	u_int len = 0;

	for (m = m0; m != NULL; m = m->m_next) {
		len += m->m_len;
		if (m->m_next == NULL)
			break;
	}
	if (last != NULL)
		*last = m;
	return (len);
}

/* Data room left in m: only the trailing space is used here. */
int
m_append(struct mbuf *m0, int len, c_caddr_t cp)
{
	struct mbuf *m, *n;
	int remainder, space;

	for (m = m0; m->m_next != NULL; m = m->m_next)
		;
	remainder = len;
	space = M_TRAILINGSPACE(m);
	if (space > 0) {
		if (space > remainder)
			space = remainder;
		bcopy(cp, mtod(m, caddr_t) + m->m_len, space);
		m->m_len += space;
		cp += space;
		remainder -= space;
	}
	while (remainder > 0) {
		n = m_get(M_NOWAIT, m->m_type);
		if (n == NULL)
			break;
		n->m_len = min(MLEN, remainder);
		bcopy(cp, mtod(n, caddr_t), n->m_len);
		cp += n->m_len;
		remainder -= n->m_len;
		m->m_next = n;
		m = n;
	}
	if (m0->m_flags & M_PKTHDR)
		m0->m_pkthdr.len += len - remainder;
	return (remainder == 0);
}

void
m_copyback(struct mbuf *m0, int off, int len, c_caddr_t cp)
{
	struct mbuf *m = m0;
	int mlen;

	while (off > 0 && m != NULL && off >= m->m_len) {
		off -= m->m_len;
		m = m->m_next;
	}
	if (m == NULL || m_length(m, NULL) < (u_int)(off + len)) {
		fk_fail("m_copyback beyond the chain: not faked");
		return;
	}
	while (len > 0) {
		mlen = min(m->m_len - off, len);
		bcopy(cp, off + mtod(m, caddr_t), (u_int)mlen);
		cp += mlen;
		len -= mlen;
		off = 0;
		m = m->m_next;
	}
}

/* The first len bytes made contiguous in the first mbuf. */
struct mbuf *
m_pullup(struct mbuf *n, int len)
{
	struct mbuf *m;
	int total;

	if (n->m_len >= len)
		return (n);
	total = m_length(n, NULL);
	if (len > MHLEN || total < len) {
		m_freem(n);
		return (NULL);
	}
	m = m_gethdr(M_NOWAIT, n->m_type);
	if (m == NULL) {
		m_freem(n);
		return (NULL);
	}
	m->m_pkthdr = n->m_pkthdr;
	SLIST_INIT(&n->m_pkthdr.tags);
	m_copydata(n, 0, len, mtod(m, caddr_t));
	m->m_len = len;
	/* Drop the copied bytes from n's chain. */
	{
		struct mbuf *p = n;
		int left = len;

		while (p != NULL && left > 0) {
			int d = min(p->m_len, left);

			p->m_data += d;
			p->m_len -= d;
			left -= d;
			p = p->m_next;
		}
	}
	n->m_flags &= ~M_PKTHDR;
	m->m_next = n;
	return (m);
}

struct mbuf *
m_prepend(struct mbuf *m, int len, int how)
{
	struct mbuf *mn;

	if (m->m_flags & M_PKTHDR)
		mn = m_gethdr(how, m->m_type);
	else
		mn = m_get(how, m->m_type);
	if (mn == NULL) {
		m_freem(m);
		return (NULL);
	}
	if (m->m_flags & M_PKTHDR) {
		mn->m_pkthdr = m->m_pkthdr;
		SLIST_INIT(&m->m_pkthdr.tags);
		m->m_flags &= ~M_PKTHDR;
	}
	mn->m_next = m;
	m = mn;
	if (len < M_SIZE(m))
		M_ALIGN(m, len);
	m->m_len = len;
	return (m);
}

/* A packet in an mbuf chain: split bytes first (0: as many as fit). */
struct mbuf *
fk_mbuf_from(const void *data, int len, int split, struct ifnet *rcvif)
{
	struct mbuf *m, *n, *last;
	int off, first = split > 0 && split < len ? split : MIN(len, MHLEN);

	if (first > MHLEN) {
		fk_fail("fk_mbuf_from: first segment of %d bytes", first);
		return (NULL);
	}
	m = m_gethdr(M_NOWAIT, MT_DATA);
	if (m == NULL)
		return (NULL);
	memcpy(mtod(m, void *), data, first);
	m->m_len = first;
	m->m_pkthdr.len = len;
	m->m_pkthdr.rcvif = rcvif;
	last = m;
	for (off = first; off < len; off += n->m_len) {
		n = m_get(M_NOWAIT, MT_DATA);
		if (n == NULL) {
			m_freem(m);
			return (NULL);
		}
		n->m_len = MIN(len - off, MLEN);
		memcpy(mtod(n, void *), (const char *)data + off, n->m_len);
		last->m_next = n;
		last = n;
	}
	return (m);
}

extern struct sx fk_in_control_sx;

/* ---------------------------------------------------------- ifnets */

#define	FK_MAXIF	16
static struct ifnet *fk_ifs[FK_MAXIF];
static bool fk_if_valid(const struct ifnet *, const char *);

/* V_ifnet: every interface of curvnet, in attach order. */
VNET_DEFINE(struct ifnethead, ifnet) = CK_STAILQ_HEAD_INITIALIZER(vnet_entry_ifnet);
VNET_DEFINE(int, ip6_forwarding);

/*
 * ip_fillid() of netinet/ip_id.c: an atomic datagram (DF) gets id 0 while
 * net.inet.ip.rfc6864 is on (the default); otherwise a counter here (the
 * kernel's counter or random id).  fk_ip_rfc6864 is that knob.
 */
int fk_ip_rfc6864 = 1;
static uint16_t fk_ip_id;

#if __FreeBSD_version >= 1500000
VNET_DEFINE(int, ip_random_id);

void
ip_fillid(struct ip *ip, bool do_randomid __unused)
#else
void
ip_fillid(struct ip *ip)
#endif
{

	if (fk_ip_rfc6864 && (ip->ip_off & htons(IP_DF)) == htons(IP_DF))
		ip->ip_id = 0;
	else
		ip->ip_id = htons(++fk_ip_id);
}
const struct in6_addr in6addr_any = IN6ADDR_ANY_INIT;

/* if_attach's part: an index, the link-level address first in the list. */
int
fk_if_register(struct ifnet *ifp)
{
	struct sockaddr_dl *sdl;
	struct ifaddr *ifa;
	int index = ifp->if_index;

	if (index == 0)
		for (index = 1; index < FK_MAXIF && fk_ifs[index] != NULL; index++)
			;
	if (index <= 0 || index >= FK_MAXIF || fk_ifs[index] != NULL) {
		fk_fail("if_attach: no free index for %s", ifp->if_xname);
		return (ENOSPC);
	}
	ifp->if_index = index;
	ifa = fk_zalloc(sizeof(*ifa) + 2 * sizeof(struct sockaddr_dl));
	sdl = (struct sockaddr_dl *)(ifa + 1);
	sdl->sdl_len = sizeof(*sdl);
	sdl->sdl_family = AF_LINK;
	sdl->sdl_index = index;
	sdl->sdl_type = ifp->if_type;
	sdl->sdl_nlen = strlen(ifp->if_xname);
	memcpy(sdl->sdl_data, ifp->if_xname, sdl->sdl_nlen);
	sdl->sdl_alen = ifp->if_addrlen;
	ifa->ifa_addr = (struct sockaddr *)sdl;
	ifa->ifa_ifp = ifp;
	ifa->ifa_refcnt = 1;
	ifp->if_addr = ifa;
	CK_STAILQ_INSERT_HEAD(&ifp->if_addrhead, ifa, ifa_link);
	fk_ifs[index] = ifp;
	CK_STAILQ_INSERT_TAIL(&VNET_VNET(ifp->if_vnet, ifnet), ifp, if_link);
	return (0);
}

void
fk_if_unregister(struct ifnet *ifp)
{
	struct ifaddr *ifa;

	if (!fk_if_valid(ifp, "if_detach"))
		return;
	fk_ifs[ifp->if_index] = NULL;
	CK_STAILQ_REMOVE(&VNET_VNET(ifp->if_vnet, ifnet), ifp, ifnet, if_link);
	while ((ifa = CK_STAILQ_FIRST(&ifp->if_addrhead)) != NULL) {
		CK_STAILQ_REMOVE_HEAD(&ifp->if_addrhead, ifa_link);
		if (ifa == ifp->if_addr)
			fk_zfree(ifa);
		else
			fk_fail("if_detach(%s): address left", ifp->if_xname);
	}
	ifp->if_addr = NULL;
}

/* A physical parent (em0...), as a driver's ether_ifattach makes it. */
struct ifnet *
fk_if_create(const char *name, int index, const uint8_t mac[6])
{
	struct ifnet *ifp;

	if (index <= 0 || index >= FK_MAXIF || fk_ifs[index] != NULL) {
		fk_fail("fk_if_create: bad index %d", index);
		return (NULL);
	}
	ifp = fk_zalloc(sizeof(*ifp));
	strlcpy(ifp->if_xname, name, sizeof(ifp->if_xname));
	ifp->if_dname = "fketh";
	ifp->if_index = index;
	ifp->if_type = IFT_ETHER;
	ifp->if_addrlen = ETHER_ADDR_LEN;
	ifp->if_hdrlen = ETHER_HDR_LEN;
	ifp->if_mtu = ETHERMTU;
	ifp->if_flags = IFF_UP | IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST;
	ifp->if_drv_flags = IFF_DRV_RUNNING;
	ifp->if_link_state = LINK_STATE_UP;
	ifp->if_refcount = 1;
	ifp->if_vnet = ifp->if_home_vnet = curvnet;
	fk_afdata_init(ifp);
	CK_STAILQ_INIT(&ifp->if_addrhead);
	CK_STAILQ_INIT(&ifp->if_multiaddrs);
	mtx_init(&ifp->if_addr_lock, "if_addr_lock", NULL, MTX_DEF);
	fk_if_register(ifp);
	memcpy(LLADDR((struct sockaddr_dl *)ifp->if_addr->ifa_addr), mac,
	    ETHER_ADDR_LEN);
	return (ifp);
}

void
fk_if_destroy(struct ifnet *ifp)
{
	struct ifaddr *ifa, *next;

	CK_STAILQ_FOREACH_SAFE(ifa, &ifp->if_addrhead, ifa_link, next)
		if (ifa != ifp->if_addr)
			fk_addr_remove(ifa);
	fk_purge_maddrs(ifp);
	fk_ifnet_departure(ifp);
	if (ifp->if_carp != NULL)
		fk_fail("%s destroyed with if_carp set", ifp->if_xname);
	if (ifp->if_refcount != 1)
		fk_fail("%s destroyed with %u references", ifp->if_xname,
		    ifp->if_refcount);
	fk_if_unregister(ifp);
	fk_afdata_free(ifp);
	mtx_destroy(&ifp->if_addr_lock);
	fk_zfree(ifp);
}

/* vnet_if_init(): a new vnet's empty interface list. */
void
fk_vnet_net_init(void)
{
	CK_STAILQ_INIT(&V_ifnet);
}

/*
 * A destroyed vnet's own interfaces go, as their cloners' destructors
 * (SI_SUB_PSEUDO, after the protocols') destroy them.
 */
void
fk_vnet_net_fini(void)
{
	struct ifnet *ifp;

	while ((ifp = CK_STAILQ_FIRST(&V_ifnet)) != NULL) {
		if (strcmp(ifp->if_dname, "fketh") != 0) {
			fk_fail("vnet destroyed with %s (not ours) left",
			    ifp->if_xname);
			CK_STAILQ_REMOVE_HEAD(&V_ifnet, if_link);
			continue;
		}
		fk_if_destroy(ifp);
	}
}

/*
 * The admin's address commands (in_aifaddr_ioctl / in_difaddr_ioctl and
 * their IPv6 twins) reduced to what CARP sees: with a vhid the hook
 * attaches the ifa before it is linked, and refuses it with an error.
 */
static struct malloc_type *
fk_ifaddr_type(void)
{
	extern struct malloc_type M_IFADDR[1];

	return (M_IFADDR);
}

int
fk_addr_add4(struct ifnet *ifp, const char *addr, int plen, int vhid,
    struct ifaddr **out)
{
	struct in_ifaddr *ia;
	struct ifaddr *ifa;
	int error;

	ia = malloc(sizeof(*ia), fk_ifaddr_type(), M_WAITOK | M_ZERO);
	ifa = &ia->ia_ifa;
	ia->ia_addr.sin_len = sizeof(ia->ia_addr);
	ia->ia_addr.sin_family = AF_INET;
	fk_inet_pton4(addr, &ia->ia_addr.sin_addr);
	ia->ia_sockmask.sin_len = sizeof(ia->ia_sockmask);
	ia->ia_sockmask.sin_family = AF_INET;
	ia->ia_sockmask.sin_addr.s_addr = plen == 0 ? 0 :
	    htonl(0xffffffffu << (32 - plen));
	ia->ia_subnetmask = ntohl(ia->ia_sockmask.sin_addr.s_addr);
	ia->ia_subnet = ntohl(ia->ia_addr.sin_addr.s_addr) & ia->ia_subnetmask;
	ifa->ifa_addr = (struct sockaddr *)&ia->ia_addr;
	ifa->ifa_netmask = (struct sockaddr *)&ia->ia_sockmask;
	ifa->ifa_dstaddr = (struct sockaddr *)&ia->ia_dstaddr;
	ifa->ifa_ifp = ifp;
	ifa->ifa_refcnt = 1;
	if (vhid != 0) {
		if (carp_attach_p == NULL) {
			free(ia, fk_ifaddr_type());
			return (EPROTONOSUPPORT);
		}
		error = carp_attach_p(ifa, vhid);
		if (error != 0) {
			free(ia, fk_ifaddr_type());
			return (error);
		}
	}
	CK_STAILQ_INSERT_TAIL(&ifp->if_addrhead, ifa, ifa_link);
	/* in_ifinit: the driver hears of the address (carpN's if_ioctl). */
	if (ifp->if_ioctl != NULL) {
		error = ifp->if_ioctl(ifp, SIOCSIFADDR, (caddr_t)ifa);
		fk_run_tasks();
		if (error != 0) {
			fk_addr_remove(ifa);
			return (error);
		}
	}
	if (out != NULL)
		*out = ifa;
	return (0);
}

int
fk_addr_add6(struct ifnet *ifp, const char *addr, int plen, int vhid,
    struct ifaddr **out)
{
	struct in6_ifaddr *ia;
	struct ifaddr *ifa;
	int error;

	ia = malloc(sizeof(*ia), fk_ifaddr_type(), M_WAITOK | M_ZERO);
	ifa = &ia->ia_ifa;
	ia->ia_addr.sin6_len = sizeof(ia->ia_addr);
	ia->ia_addr.sin6_family = AF_INET6;
	fk_inet_pton6(addr, &ia->ia_addr.sin6_addr);
	ia->ia_prefixmask.sin6_len = sizeof(ia->ia_prefixmask);
	ia->ia_prefixmask.sin6_family = AF_INET6;
	for (int i = 0; i < plen && i < 128; i++)
		ia->ia_prefixmask.sin6_addr.s6_addr[i / 8] |= 0x80 >> (i % 8);
	ifa->ifa_addr = (struct sockaddr *)&ia->ia_addr;
	ifa->ifa_netmask = (struct sockaddr *)&ia->ia_prefixmask;
	ifa->ifa_dstaddr = (struct sockaddr *)&ia->ia_dstaddr;
	ifa->ifa_ifp = ifp;
	ifa->ifa_refcnt = 1;
	CK_STAILQ_INSERT_TAIL(&ifp->if_addrhead, ifa, ifa_link);
	/* in6.c: the hook runs after in6_update_ifa linked the address. */
	if (vhid != 0) {
		error = carp_attach_p != NULL ? carp_attach_p(ifa, vhid) :
		    EPROTONOSUPPORT;
		if (error != 0) {
			CK_STAILQ_REMOVE(&ifp->if_addrhead, ifa, ifaddr,
			    ifa_link);
			if (carp_detach_p != NULL && ifa->ifa_carp != NULL)
				carp_detach_p(ifa, false);
			ifa_free(ifa);
			return (error);
		}
	}
	if (ifp->if_ioctl != NULL) {
		error = ifp->if_ioctl(ifp, SIOCSIFADDR, (caddr_t)ifa);
		fk_run_tasks();
		if (error != 0) {
			fk_addr_remove(ifa);
			return (error);
		}
	}
	if (out != NULL)
		*out = ifa;
	return (0);
}

/*
 * in_control_sx: address changes are serialised, as in.c and in6.c do
 * (taken by the admin helpers below and the kernel's own removals).
 */
struct sx fk_in_control_sx;

/* ifconfig IF ADDR -alias: looked up and removed under in_control_sx. */
int
fk_addr_del(struct ifnet *ifp, const char *addr)
{
	struct ifaddr *ifa;

	sx_xlock(&fk_in_control_sx);
	ifa = fk_addr_find(ifp, addr);
	if (ifa != NULL)
		fk_addr_remove(ifa);
	sx_xunlock(&fk_in_control_sx);
	return (ifa != NULL ? 0 : EADDRNOTAVAIL);
}

/* in_difaddr_ioctl: the hook detaches, the ifa is unlinked and released. */
void
fk_addr_remove(struct ifaddr *ifa)
{
	struct ifnet *ifp = ifa->ifa_ifp;

	if (ifa->ifa_carp != NULL) {
		if (carp_detach_p == NULL)
			fk_fail("address with ifa_carp but no carp_detach_p");
		else
			carp_detach_p(ifa, false);
		if (ifa->ifa_carp != NULL)
			fk_fail("carp_detach_p left ifa_carp set");
	}
	CK_STAILQ_REMOVE(&ifp->if_addrhead, ifa, ifaddr, ifa_link);
	ifa_free(ifa);
}

struct ifaddr *
fk_addr_find(struct ifnet *ifp, const char *addr)
{
	struct ifaddr *ifa;
	struct in_addr a4;
	struct in6_addr a6;
	int v6 = strchr(addr, ':') != NULL;

	if (v6)
		fk_inet_pton6(addr, &a6);
	else
		fk_inet_pton4(addr, &a4);
	CK_STAILQ_FOREACH(ifa, &ifp->if_addrhead, ifa_link) {
		if (!v6 && ifa->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr ==
		    a4.s_addr)
			return (ifa);
		if (v6 && ifa->ifa_addr->sa_family == AF_INET6 &&
		    IN6_ARE_ADDR_EQUAL(
		    &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr, &a6))
			return (ifa);
	}
	return (NULL);
}

struct ifnet *
fk_if_byindex(int index)
{
	return (index > 0 && index < FK_MAXIF ? fk_ifs[index] : NULL);
}

static bool
fk_if_valid(const struct ifnet *ifp, const char *fn)
{
	if (ifp != NULL && ifp->if_index > 0 && ifp->if_index < FK_MAXIF &&
	    fk_ifs[ifp->if_index] == ifp)
		return (true);
	/* Detached but still referenced (if_detach marks it): readable. */
	if (ifp != NULL && (ifp->if_flags & IFF_DYING) != 0 &&
	    ifp->if_refcount > 0)
		return (true);
	fk_fail("%s: %p is not a live ifnet", fn, ifp);
	return (false);
}

int
if_getindex(const if_t ifp)
{
	if (!fk_if_valid(ifp, __func__))
		return (0);
	return (ifp->if_index);
}

const char *
if_name(if_t ifp)
{
	if (!fk_if_valid(ifp, __func__))
		return ("?");
	return (ifp->if_xname);
}

int
if_getflags(const if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_flags : 0);
}

int
if_getdrvflags(const if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_drv_flags : 0);
}

int
if_gettype(const if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_type : 0);
}

int
if_getlinkstate(if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_link_state : 0);
}

int
if_getmtu(const if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_mtu : 0);
}

void *
if_getsoftc(if_t ifp)
{
	return (fk_if_valid(ifp, __func__) ? ifp->if_softc : NULL);
}

char *
if_getlladdr(const if_t ifp)
{
	if (!fk_if_valid(ifp, __func__))
		return (NULL);
	return (LLADDR((struct sockaddr_dl *)ifp->if_addr->ifa_addr));
}

/* As if.c's: an interface of another vnet than curvnet is not found. */
static struct ifnet *
fk_if_byindex_vnet(u_int idx)
{
	struct ifnet *ifp = fk_if_byindex(idx);

	if (curvnet != NULL && ifp != NULL && ifp->if_vnet != curvnet)
		ifp = NULL;
	return (ifp);
}

struct ifnet *
ifnet_byindex(u_int idx)
{
	NET_EPOCH_ASSERT();
	return (fk_if_byindex_vnet(idx));
}

struct ifnet *
ifnet_byindex_ref(u_int idx)
{
	struct ifnet *ifp;

	NET_EPOCH_ASSERT();
	ifp = fk_if_byindex_vnet(idx);
	if (ifp != NULL)
		ifp->if_refcount++;
	return (ifp);
}

void
if_ref(struct ifnet *ifp)
{
	if (fk_if_valid(ifp, __func__))
		ifp->if_refcount++;
}

void
if_rele(struct ifnet *ifp)
{
	if (ifp != NULL && (ifp->if_flags & IFF_DYING) != 0) {
		fk_if_rele_dying(ifp);
		return;
	}
	if (!fk_if_valid(ifp, __func__))
		return;
	if (ifp->if_refcount <= 1)
		fk_fail("if_rele: %s refcount underflow", ifp->if_xname);
	else
		ifp->if_refcount--;
}

struct ifnet *
ifunit_ref(const char *name)
{
	for (int i = 1; i < FK_MAXIF; i++)
		if (fk_ifs[i] != NULL && fk_ifs[i]->if_vnet == curvnet &&
		    strcmp(fk_ifs[i]->if_xname, name) == 0) {
			fk_ifs[i]->if_refcount++;
			return (fk_ifs[i]);
		}
	return (NULL);
}

struct ifnet *
ifunit(const char *name)
{
	for (int i = 1; i < FK_MAXIF; i++)
		if (fk_ifs[i] != NULL && fk_ifs[i]->if_vnet == curvnet &&
		    strcmp(fk_ifs[i]->if_xname, name) == 0)
			return (fk_ifs[i]);
	return (NULL);
}

/* -------------------------------------------- protocol registration */

fk_pr_input_t *fk_ip_proto[IPPROTO_MAX];
fk_pr_input_t *fk_ip6_proto[IPPROTO_MAX];
int fk_ip_proto_registered, fk_ip6_proto_registered;

int
ipproto_register(uint8_t proto, ipproto_input_t input,
    ipproto_ctlinput_t ctl __unused)
{
	if (input == NULL)
		return (EINVAL);
	if (fk_ip_proto[proto] != NULL)
		return (EEXIST);
	fk_ip_proto[proto] = input;
	fk_ip_proto_registered++;
	return (0);
}

int
ipproto_unregister(uint8_t proto)
{
	if (fk_ip_proto[proto] == NULL)
		return (ENOENT);
	fk_ip_proto[proto] = NULL;
	fk_ip_proto_registered--;
	return (0);
}

int
ip6proto_register(uint8_t proto, ip6proto_input_t input,
    ip6proto_ctlinput_t ctl __unused)
{
	if (input == NULL)
		return (EINVAL);
	if (fk_ip6_proto[proto] != NULL)
		return (EEXIST);
	fk_ip6_proto[proto] = input;
	fk_ip6_proto_registered++;
	return (0);
}

int
ip6proto_unregister(uint8_t proto)
{
	if (fk_ip6_proto[proto] == NULL)
		return (ENOENT);
	fk_ip6_proto[proto] = NULL;
	fk_ip6_proto_registered--;
	return (0);
}

int
fk_inet_pton4(const char *s, struct in_addr *a)
{
	unsigned v[4];
	int n = 0, i = 0;

	memset(v, 0, sizeof(v));
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (++i > 3)
				return (0);
		} else if (*s >= '0' && *s <= '9') {
			v[i] = v[i] * 10 + (unsigned)(*s - '0');
			n++;
		} else
			return (0);
	}
	if (i != 3 || n == 0)
		return (0);
	a->s_addr = htonl(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
	return (1);
}

/* Enough of inet_pton(AF_INET6): hex groups and one "::". */
int
fk_inet_pton6(const char *s, struct in6_addr *a)
{
	uint16_t head[8], tail[8];
	int nh = 0, nt = 0, *n = &nh;
	uint16_t *g = head;

	memset(a, 0, sizeof(*a));
	while (*s != '\0') {
		unsigned v = 0;
		int d = 0;

		if (s[0] == ':' && s[1] == ':') {
			if (g == tail)
				return (0);
			g = tail;
			n = &nt;
			s += 2;
			continue;
		}
		if (*s == ':') {
			s++;
			continue;
		}
		for (; d < 4; d++, s++) {
			char c = *s;

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				break;
		}
		if (d == 0 || *n >= 8)
			return (0);
		g[(*n)++] = (uint16_t)v;
	}
	if (nh + nt > 8)
		return (0);
	for (int i = 0; i < nh; i++)
		a->s6_addr16[i] = htons(head[i]);
	for (int i = 0; i < nt; i++)
		a->s6_addr16[8 - nt + i] = htons(tail[i]);
	return (1);
}

/*
 * ip_input/ip6_input in miniature: build the packet in an mbuf (chain),
 * enter the network epoch as the netisr does, and call the registered
 * handler with the offset of the payload.
 */
int
fk_inject4(struct ifnet *ifp, const char *src, const char *dst, uint8_t ttl,
    const uint8_t *payload, int len, int split)
{
	struct epoch_tracker et;
	uint8_t pkt[8192];	/* up to an oversized advert */
	struct ip *ip = (struct ip *)pkt;
	struct mbuf *m;
	int off = sizeof(struct ip), rv;

	if (fk_ip_proto[IPPROTO_CARP] == NULL)
		return (-1);
	if (len + off > (int)sizeof(pkt))
		return (-1);
	memset(ip, 0, sizeof(*ip));
	ip->ip_v = IPVERSION;
	ip->ip_hl = off >> 2;
	ip->ip_tos = IPTOS_DSCP_CS7;
	ip->ip_len = htons(off + len);
	ip->ip_ttl = ttl;
	ip->ip_p = IPPROTO_CARP;
	fk_inet_pton4(src, &ip->ip_src);
	fk_inet_pton4(dst, &ip->ip_dst);
	memcpy(pkt + off, payload, len);
	m = fk_mbuf_from(pkt, off + len, split, ifp);
	if (m == NULL)
		return (-1);
	if (IN_MULTICAST(ntohl(ip->ip_dst.s_addr)))
		m->m_flags |= M_MCAST;
	/* ether_input_internal: the receiving interface's vnet. */
	CURVNET_SET_QUIET(ifp->if_vnet);
	NET_EPOCH_ENTER(et);
	/* Read inside the epoch: an unload may have unregistered it. */
	rv = fk_ip_proto[IPPROTO_CARP] != NULL ?
	    fk_ip_proto[IPPROTO_CARP](&m, &off, IPPROTO_CARP) : -1;
	NET_EPOCH_EXIT(et);
	CURVNET_RESTORE();
	if (m != NULL)
		m_freem(m);
	return (rv);
}

int
fk_inject6(struct ifnet *ifp, const char *src, const char *dst, uint8_t hlim,
    const uint8_t *payload, int len, int split)
{
	struct epoch_tracker et;
	uint8_t pkt[8192];	/* up to an oversized advert */
	struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt;
	struct mbuf *m;
	int off = sizeof(struct ip6_hdr), rv;

	if (fk_ip6_proto[IPPROTO_CARP] == NULL)
		return (-1);
	if (len + off > (int)sizeof(pkt))
		return (-1);
	memset(ip6, 0, sizeof(*ip6));
	ip6->ip6_vfc = IPV6_VERSION;
	ip6->ip6_plen = htons(len);
	ip6->ip6_nxt = IPPROTO_CARP;
	ip6->ip6_hlim = hlim;
	fk_inet_pton6(src, &ip6->ip6_src);
	fk_inet_pton6(dst, &ip6->ip6_dst);
	memcpy(pkt + off, payload, len);
	m = fk_mbuf_from(pkt, off + len, split, ifp);
	if (m == NULL)
		return (-1);
	m->m_flags |= M_MCAST;
	CURVNET_SET_QUIET(ifp->if_vnet);
	NET_EPOCH_ENTER(et);
	rv = fk_ip6_proto[IPPROTO_CARP] != NULL ?
	    fk_ip6_proto[IPPROTO_CARP](&m, &off, IPPROTO_CARP) : -1;
	NET_EPOCH_EXIT(et);
	CURVNET_RESTORE();
	if (m != NULL)
		m_freem(m);
	return (rv);
}

/* ----------------------------------------------------------- output */

struct fk_pkt fk_out_pkts[FK_MAXPKT];
struct mtx *fk_pfsync_lock;
int fk_nout_pkts;

void
fk_out_pkts_clear(void)
{
	for (int i = 0; i < fk_nout_pkts; i++)
		fk_zfree(fk_out_pkts[i].data);
	fk_nout_pkts = 0;
}

static int
fk_capture(struct mbuf *m, int af, int ifindex)
{
	struct fk_pkt *p;
	int len;

	/* carp_rs_var.h: packets leave after the engine mutex is dropped. */
	if (fk_mutexes_held() != 0)
		fk_fail("ip%s_output called with %d mutex(es) held",
		    af == 6 ? "6" : "", fk_mutexes_held());
	/*
	 * pf + pfsync on the output path: pfsync_defer() and friends take
	 * PFSYNC_LOCK, a plain (non-recursive) mutex.  A send made from a
	 * pfsync-locked context (its carp_demote_adj_p call) recurses.
	 */
	if (fk_pfsync_lock != NULL) {
		mtx_lock(fk_pfsync_lock);
		mtx_unlock(fk_pfsync_lock);
	}
	/* ip_output/ip6_output: NET_EPOCH_ASSERT() (FreeBSD 13+). */
	if (fk_epoch_depth() == 0)
		fk_fail("ip%s_output called outside the network epoch",
		    af == 6 ? "6" : "");
	if ((m->m_flags & M_PKTHDR) == 0) {
		fk_fail("ip_output: mbuf without a packet header");
		m_freem(m);
		return (EINVAL);
	}
	len = m_length(m, NULL);
	if (len != m->m_pkthdr.len)
		fk_fail("ip_output: m_pkthdr.len %d != chain length %d",
		    m->m_pkthdr.len, len);
	/* Concurrent scenarios keep only the newest packets. */
	if (fk_nout_pkts >= FK_MAXPKT && fk_threaded)
		fk_out_pkts_clear();
	if (fk_nout_pkts >= FK_MAXPKT) {
		fk_fail("too many output packets captured");
		m_freem(m);
		return (ENOBUFS);
	}
	p = &fk_out_pkts[fk_nout_pkts++];
	p->af = af;
	p->len = len;
	p->data = fk_zalloc(len);
	p->ifindex = ifindex;
	p->carp_tag = -1;
	p->at_ns = sbttons(fk_now());
	{
		struct m_tag *t = m_tag_find(m, PACKET_TAG_CARP, NULL);

		if (t != NULL && t->m_tag_len >= (int)sizeof(int))
			memcpy(&p->carp_tag, t + 1, sizeof(int));
	}
	m_copydata(m, 0, len, (caddr_t)p->data);
	m_freem(m);
	return (0);
}

int
ip_output(struct mbuf *m, struct mbuf *opt __unused, struct route *ro __unused,
    int flags __unused, struct ip_moptions *imo, struct inpcb *inp __unused)
{
	int ifindex = 0;

	if (imo != NULL && imo->imo_multicast_ifp != NULL)
		ifindex = imo->imo_multicast_ifp->if_index;
	return (fk_capture(m, 4, ifindex));
}

int
ip6_output(struct mbuf *m, struct ip6_pktopts *opt __unused,
    struct route_in6 *ro __unused, int flags __unused,
    struct ip6_moptions *im6o, struct ifnet **ifpp __unused,
    struct inpcb *inp __unused)
{
	int ifindex = 0;

	if (im6o != NULL && im6o->im6o_multicast_ifp != NULL)
		ifindex = im6o->im6o_multicast_ifp->if_index;
	return (fk_capture(m, 6, ifindex));
}

void
mb_free_extpg(struct mbuf *m __unused)
{
	fk_fail("mb_free_extpg: unmapped mbufs are not faked");
}

void
m_snd_tag_destroy(struct m_snd_tag *mst __unused)
{
	fk_fail("m_snd_tag_destroy: send tags are not faked");
}

struct mbuf *
m_get2(int size, int how, short type, int flags)
{

	if (size <= ((flags & M_PKTHDR) ? MHLEN : MLEN))
		return (flags & M_PKTHDR ? m_gethdr(how, type) : m_get(how, type));
	if (size > MCLBYTES) {
		fk_fail("m_get2(%d): jumbo clusters are not faked", size);
		return (NULL);
	}
	return (m_getcl(how, type, flags));
}
