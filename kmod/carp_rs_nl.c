/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * carp_rs: the generic-netlink family "carp" (CARP_NL_CMD_GET/SET), as
 * FreeBSD 14+ ifconfig and libifconfig use it.  Requests are parsed and
 * answered by the Rust control plane (ctl/netlink.rs); this file only
 * registers the family and moves bytes.
 */

#include "carp_rs_var.h"

#include <sys/priv.h>

/*
 * GENERIC has had "options NETLINK" (sys/conf/DEFAULTS) since 14.0, so the
 * writer is reached directly (_nlmsg_add ...), as an in-tree module does;
 * the netlink_glue.c wrappers exist only in kernels without it.
 */
#ifndef NETLINK
#define	NETLINK	1
#endif
#include <netlink/netlink.h>
#include <netlink/netlink_ctl.h>
#include <netlink/netlink_generic.h>

#define	CARP_RS_NL_FAMILY	"carp"
#define	CARP_RS_NL_CMD_GET	1
#define	CARP_RS_NL_CMD_SET	2
#define	CARP_RS_NL_ATTR_MAX	12
/* One GET reply per vhid: header, genl header and attributes. */
#define	CARP_RS_NL_REPLY	160

#if __FreeBSD_version >= 1500000
static uint16_t carp_rs_nl_family;
#else
static bool carp_rs_nl_family;
#endif

/* The interface a request names: IFNAME first, then IFINDEX (referenced). */
static struct ifnet *
carp_rs_nl_ifp(const struct carp_rs_nlreq *r)
{
	struct epoch_tracker et;
	struct ifnet *ifp;

	if (r->has_ifname)
		return (ifunit_ref(r->ifname));
	NET_EPOCH_ENTER(et);
	ifp = ifnet_byindex_ref(r->ifindex);
	NET_EPOCH_EXIT(et);
	return (ifp);
}

/*
 * GET: the engine writes every reply message (our nlmsghdr, then its
 * body) into a buffer; each is copied into the writer.
 */
static int
carp_rs_nl_get_reply(struct nlmsghdr *hdr, struct nl_pstate *npt,
    const struct carp_rs_ifinfo *iip, int priv)
{
	const size_t buflen = CARP_MAXVHID * CARP_RS_NL_REPLY;
	struct nlmsghdr *m;
	uint8_t *out, *p;
	size_t used = 0, off, blen;
	int error;

	out = malloc(buflen, M_CARP_RS, M_WAITOK);
	/* Dying is read under the mutex: teardown empties the engine. */
	mtx_lock(&carp_rs_mtx);
	error = carp_rs_dying != 0 || V_carp_rs_vnet == NULL ? ENXIO :
	    carp_rs_nl_get(V_carp_rs_engine, (const uint8_t *)(hdr + 1),
	    hdr->nlmsg_len - sizeof(*hdr), iip, priv, hdr->nlmsg_type,
	    hdr->nlmsg_seq, hdr->nlmsg_pid, out, buflen, &used);
	mtx_unlock(&carp_rs_mtx);
	for (off = 0; error == 0 && off + sizeof(*m) <= used;
	    off += m->nlmsg_len) {
		m = (struct nlmsghdr *)(out + off);
		if (m->nlmsg_len < sizeof(*m) || off + m->nlmsg_len > used)
			break;
		blen = m->nlmsg_len - sizeof(*m);
		if (!nlmsg_add(npt->nw, m->nlmsg_pid, m->nlmsg_seq,
		    m->nlmsg_type, m->nlmsg_flags, blen) ||
		    (p = nlmsg_reserve_data(npt->nw, blen, uint8_t)) == NULL) {
			nlmsg_abort(npt->nw);
			error = ENOMEM;
			break;
		}
		memcpy(p, m + 1, blen);
		if (!nlmsg_end(npt->nw))
			error = ENOMEM;
	}
	free(out, M_CARP_RS);
	if (error == 0 || error == ENOENT)
		(void)nlmsg_end_dump(npt->nw, error, hdr);
	return (error);
}

/*
 * GET and SET, counted in flight and refused when unloading.  SET on a
 * parent (per-address model) or on a carpN (its one vhid): ctl/netlink.rs
 * or ctl/legacy.rs decides which from the interface; the dying flag is
 * checked again under the lock (no parent record after unload).
 */
static int
carp_rs_nl_cb(struct nlmsghdr *hdr, struct nl_pstate *npt)
{
	struct carp_rs_ifinfo ii, *iip = NULL;
	struct carp_rs_legacy_out out;
	struct carp_rs_setres res;
	struct carp_rs_nlreq r;
	const uint8_t *genl = (const uint8_t *)(hdr + 1);
	size_t len = hdr->nlmsg_len - sizeof(*hdr);
	struct ifnet *ifp;
	int error, priv;

	error = ENXIO;
	if (!carp_rs_enter() || (error = carp_rs_nl_parse(genl, len, &r)) != 0) {
		carp_rs_exit();
		return (error);
	}
	if ((ifp = carp_rs_nl_ifp(&r)) != NULL) {
		carp_rs_ifinfo(ifp, &ii);
		iip = &ii;
	}
	priv = nlp_has_priv(npt->nlp, PRIV_NETINET_CARP);
	if (r.cmd == CARP_RS_NL_CMD_GET)
		error = carp_rs_nl_get_reply(hdr, npt, iip, priv);
	else if ((error = carp_rs_config_begin()) == 0) {
		CARP_RS_CALL(error = carp_rs_nl_set(V_carp_rs_engine,
		    carp_rs_now(), genl, len, iip, priv, &res, &out));
		carp_rs_set_done(ifp, error, &res, &out);
		carp_rs_config_end();
	}
	if (ifp != NULL)
		if_rele(ifp);
	carp_rs_exit();
	return (error);
}

static const struct genl_cmd carp_rs_nl_cmds[] = {
	{
		.cmd_num = CARP_RS_NL_CMD_GET,
		.cmd_name = "CARP_NL_CMD_GET",
		.cmd_cb = carp_rs_nl_cb,
		.cmd_flags = GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP |
		    GENL_CMD_CAP_HASPOL,
	},
	{
		.cmd_num = CARP_RS_NL_CMD_SET,
		.cmd_name = "CARP_NL_CMD_SET",
		.cmd_cb = carp_rs_nl_cb,
		.cmd_flags = GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL,
		.cmd_priv = PRIV_NETINET_CARP,
	},
};

int
carp_rs_nl_init(void)
{

#if __FreeBSD_version >= 1500000
	carp_rs_nl_family = genl_register_family(CARP_RS_NL_FAMILY, 0, 2,
	    CARP_RS_NL_ATTR_MAX);
	if (carp_rs_nl_family == 0)
		return (EEXIST);
	if (!genl_register_cmds(carp_rs_nl_family, carp_rs_nl_cmds,
	    nitems(carp_rs_nl_cmds))) {
		genl_unregister_family(carp_rs_nl_family);
		carp_rs_nl_family = 0;
		return (EEXIST);
	}
#else
	if (genl_register_family(CARP_RS_NL_FAMILY, 0, 2,
	    CARP_RS_NL_ATTR_MAX) == 0)
		return (EEXIST);
	carp_rs_nl_family = true;
	if (!genl_register_cmds(CARP_RS_NL_FAMILY, carp_rs_nl_cmds,
	    nitems(carp_rs_nl_cmds))) {
		(void)genl_unregister_family(CARP_RS_NL_FAMILY);
		carp_rs_nl_family = false;
		return (EEXIST);
	}
#endif
	return (0);
}

void
carp_rs_nl_fini(void)
{

#if __FreeBSD_version >= 1500000
	if (carp_rs_nl_family != 0)
		genl_unregister_family(carp_rs_nl_family);
	carp_rs_nl_family = 0;
#else
	if (carp_rs_nl_family)
		(void)genl_unregister_family(CARP_RS_NL_FAMILY);
	carp_rs_nl_family = false;
#endif
}
