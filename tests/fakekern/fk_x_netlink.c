/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: generic netlink for the fake kernel.  genl_register_family/
 * genl_register_cmds remember the module's family and handlers; a
 * scenario sends a request (nlmsghdr + genlmsghdr + attributes) through
 * fk_genl_request(), which does what genl_handle_message() does (command
 * lookup, cmd_priv check) and collects everything the handler writes
 * with the nlmsg_* writer KPI, as the socket reader would receive it.
 */
#include "fk.h"
#include "fk_netlink.h"

#include <sys/priv.h>
#include <netlink/netlink.h>
#include <netlink/netlink_ctl.h>
#include <netlink/netlink_generic.h>
#include <netlink/netlink_message_parser.h>
#include <netlink/netlink_message_writer.h>
#include <netlink/netlink_var.h>

#include "fk_stack.h"

#define	FK_MAXFAM	4
#define	FK_MAXCMD	8
static struct {
	char		 name[32];
	uint16_t	 id;
	uint16_t	 version;
	struct genl_cmd	 cmds[FK_MAXCMD];
	int		 ncmds;
} fk_fams[FK_MAXFAM];

#if __FreeBSD_version >= 1500000
uint16_t
genl_register_family(const char *family_name, size_t hdrsize __unused,
    uint16_t family_version, uint16_t max_attr_idx __unused)
#else
uint32_t
genl_register_family(const char *family_name, size_t hdrsize __unused,
    int family_version, int max_attr_idx __unused)
#endif
{
	int free_slot = -1;

	fk_assert_sleepable("genl_register_family");
	for (int i = 0; i < FK_MAXFAM; i++) {
		if (fk_fams[i].id == 0) {
			if (free_slot < 0)
				free_slot = i;
		} else if (strcmp(fk_fams[i].name, family_name) == 0)
			return (0);
	}
	if (free_slot < 0)
		return (0);
	strlcpy(fk_fams[free_slot].name, family_name, 32);
	fk_fams[free_slot].id = GENL_MIN_ID + 0x10 + free_slot;
	fk_fams[free_slot].version = family_version;
	fk_fams[free_slot].ncmds = 0;
	return (fk_fams[free_slot].id);
}

static int
fk_fam_slot(uint16_t id)
{
	for (int i = 0; i < FK_MAXFAM; i++)
		if (fk_fams[i].id != 0 && fk_fams[i].id == id)
			return (i);
	return (-1);
}

#if __FreeBSD_version >= 1500000
bool
genl_register_cmds(uint16_t family, const struct genl_cmd *cmds, u_int count)
{
	int s = fk_fam_slot(family);
#else
bool
genl_register_cmds(const char *family_name, const struct genl_cmd *cmds,
    int count)
{
	int s = fk_fam_slot(fk_genl_family_id(family_name));
#endif

	if (s < 0 || fk_fams[s].ncmds + (int)count > FK_MAXCMD)
		return (false);
	for (u_int i = 0; i < (u_int)count; i++)
		for (int j = 0; j < fk_fams[s].ncmds; j++)
			if (fk_fams[s].cmds[j].cmd_num == cmds[i].cmd_num)
				return (false);
	for (u_int i = 0; i < (u_int)count; i++)
		fk_fams[s].cmds[fk_fams[s].ncmds++] = cmds[i];
	return (true);
}

#if __FreeBSD_version >= 1500000
void
genl_unregister_family(uint16_t family)
{
	int s = fk_fam_slot(family);

	fk_assert_sleepable("genl_unregister_family");
	if (s < 0) {
		fk_fail("genl_unregister_family(%u): not registered", family);
		return;
	}
	memset(&fk_fams[s], 0, sizeof(fk_fams[s]));
}
#else
bool
genl_unregister_family(const char *family_name)
{
	int s = fk_fam_slot(fk_genl_family_id(family_name));

	fk_assert_sleepable("genl_unregister_family");
	if (s < 0) {
		fk_fail("genl_unregister_family(%s): not registered",
		    family_name);
		return (false);
	}
	memset(&fk_fams[s], 0, sizeof(fk_fams[s]));
	return (true);
}
#endif

int
fk_genl_families(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXFAM; i++)
		n += fk_fams[i].id != 0;
	return (n);
}

uint16_t
fk_genl_family_id(const char *name)
{
	for (int i = 0; i < FK_MAXFAM; i++)
		if (fk_fams[i].id != 0 && strcmp(fk_fams[i].name, name) == 0)
			return (fk_fams[i].id);
	return (0);
}

bool
nlp_has_priv(struct nlpcb *nlp __unused, int priv)
{
	return (priv_check_cred(curthread->td_ucred, priv) == 0);
}

/* ------------------------------------------------------------ writer */

#define	FK_NLBUF	(64 * 1024)

/* 15.0 keeps the bytes in a struct nl_buf, 14.3 in the writer itself. */
#if __FreeBSD_version >= 1500000
#define	NW_DATA(nw)	((nw)->buf->data)
#define	NW_OFF(nw)	((nw)->buf->offset)
#define	NW_LEN(nw)	((nw)->buf->buflen)
#else
#define	NW_DATA(nw)	((nw)->data)
#define	NW_OFF(nw)	((nw)->offset)
#define	NW_LEN(nw)	((nw)->alloc_len)
#endif

static char *
fk_nw_cur(struct nl_writer *nw)
{
	return (NW_DATA(nw) + NW_OFF(nw));
}

static void *
fk_nw_reserve(struct nl_writer *nw, size_t sz)
{
	void *p;

	sz = NETLINK_ALIGN(sz);
	if ((size_t)NW_OFF(nw) + sz > (size_t)NW_LEN(nw)) {
		nw->enomem = true;
		return (NULL);
	}
	p = fk_nw_cur(nw);
	memset(p, 0, sz);
	NW_OFF(nw) += sz;
	return (p);
}

bool
nlmsg_add(struct nl_writer *nw, uint32_t portid, uint32_t seq, uint16_t type,
    uint16_t flags, uint32_t len)
{
	struct nlmsghdr *hdr;

	if (nw->hdr != NULL)
		fk_fail("nlmsg_add while a message is open");
	if ((size_t)NW_OFF(nw) + sizeof(*hdr) + len > (size_t)NW_LEN(nw)) {
		nw->enomem = true;
		return (false);
	}
	hdr = fk_nw_reserve(nw, sizeof(*hdr));
	hdr->nlmsg_len = sizeof(*hdr);
	hdr->nlmsg_type = type;
	hdr->nlmsg_flags = flags;
	hdr->nlmsg_seq = seq;
	hdr->nlmsg_pid = portid;
	nw->hdr = hdr;
	return (true);
}

#if __FreeBSD_version >= 1500000
void *
nlmsg_reserve_data_raw(struct nl_writer *nw, size_t sz)
{
	if (nw->hdr == NULL) {
		fk_fail("nlmsg_reserve_data without nlmsg_add");
		return (NULL);
	}
	return (fk_nw_reserve(nw, sz));
}

u_int
nlattr_save_offset(const struct nl_writer *nw)
{
	return ((u_int)((NW_DATA(nw) + NW_OFF(nw)) - (char *)nw->hdr));
}
#endif

bool
nlmsg_end(struct nl_writer *nw)
{
	if (nw->hdr == NULL) {
		fk_fail("nlmsg_end without nlmsg_add");
		return (false);
	}
	if (nw->enomem) {
		nlmsg_abort(nw);
		return (false);
	}
	nw->hdr->nlmsg_len = (uint32_t)(fk_nw_cur(nw) - (char *)nw->hdr);
	nw->hdr = NULL;
	nw->num_messages++;
	return (true);
}

void
nlmsg_abort(struct nl_writer *nw)
{
	if (nw->hdr != NULL) {
		NW_OFF(nw) = (int)((char *)nw->hdr - NW_DATA(nw));
		nw->hdr = NULL;
	}
}

bool
nlmsg_end_dump(struct nl_writer *nw, int error, struct nlmsghdr *hdr)
{
	int *perr;

	if (!nlmsg_add(nw, hdr->nlmsg_pid, hdr->nlmsg_seq, NLMSG_DONE, NLM_F_MULTI,
	    sizeof(int)))
		return (false);
	perr = fk_nw_reserve(nw, sizeof(int));
	if (perr == NULL)
		return (false);
	*perr = error;
	return (nlmsg_end(nw));
}

bool
nlmsg_flush(struct nl_writer *nw __unused)
{
	return (true);
}

void
nlmsg_ignore_limit(struct nl_writer *nw)
{
	nw->ignore_limit = true;
}

#if __FreeBSD_version >= 1500000
bool
nlmsg_refill_buffer(struct nl_writer *nw, size_t required_size)
#else
bool
nlmsg_refill_buffer(struct nl_writer *nw, int required_size)
#endif
{
	return ((size_t)NW_OFF(nw) + required_size <= (size_t)NW_LEN(nw));
}

/* ----------------------------------------------------------- request */

#if __FreeBSD_version >= 1500000
static struct nl_buf *fk_reply_buf;
#else
static char *fk_reply_buf;
#endif

/*
 * One request: genlmsghdr + attributes in body.  Returns the handler's
 * error (or EPERM/EOPNOTSUPP/ENOENT from the generic layer); the reply
 * messages are in *reply (*replylen bytes) until the next call.
 */
int
fk_genl_request(const char *family, uint8_t cmd, uint16_t flags,
    const void *body, size_t bodylen, const uint8_t **reply, size_t *replylen)
{
	struct nl_writer nw;
	struct nl_pstate npt;
	struct nlmsghdr *hdr;
	uint8_t *msg;
	int s, error;
	uint16_t id = fk_genl_family_id(family);

	*reply = NULL;
	*replylen = 0;
	if (id == 0)
		return (ENOENT);
	s = fk_fam_slot(id);
#if __FreeBSD_version >= 1500000
	if (fk_reply_buf == NULL) {
		fk_reply_buf = fk_zalloc(sizeof(struct nl_buf) + FK_NLBUF);
		fk_reply_buf->buflen = FK_NLBUF;
	}
	fk_reply_buf->offset = 0;
	fk_reply_buf->datalen = 0;
#else
	if (fk_reply_buf == NULL)
		fk_reply_buf = fk_zalloc(FK_NLBUF);
#endif
	msg = fk_zalloc(sizeof(*hdr) + bodylen);
	hdr = (struct nlmsghdr *)msg;
	hdr->nlmsg_len = sizeof(*hdr) + bodylen;
	hdr->nlmsg_type = id;
	hdr->nlmsg_flags = NLM_F_REQUEST | flags;
	hdr->nlmsg_seq = 42;
	hdr->nlmsg_pid = 4242;
	memcpy(hdr + 1, body, bodylen);
	memset(&nw, 0, sizeof(nw));
#if __FreeBSD_version >= 1500000
	nw.buf = fk_reply_buf;
#else
	nw.data = fk_reply_buf;
	nw.alloc_len = FK_NLBUF;
#endif
	nw.malloc_flag = M_WAITOK;
	memset(&npt, 0, sizeof(npt));
	npt.nw = &nw;
	npt.hdr = hdr;
	npt.nlp = (struct nlpcb *)(void *)&fk_fams[s];	/* opaque here */
	error = EOPNOTSUPP;
	for (int i = 0; i < fk_fams[s].ncmds; i++) {
		const struct genl_cmd *c = &fk_fams[s].cmds[i];

		if (c->cmd_num != cmd)
			continue;
		if ((flags & NLM_F_DUMP) && !(c->cmd_flags & GENL_CMD_CAP_DUMP)) {
			error = EOPNOTSUPP;
			break;
		}
		if (c->cmd_priv != 0 && !nlp_has_priv(npt.nlp, c->cmd_priv)) {
			error = EPERM;
			break;
		}
		if (fk_locks_held() != 0)
			fk_fail("netlink handler called with locks held");
		error = c->cmd_cb(hdr, &npt);
		if (fk_locks_held() != 0 || fk_epoch_depth() != 0)
			fk_fail("netlink handler returned with locks held");
		if (nw.hdr != NULL)
			fk_fail("netlink handler left a message open");
		break;
	}
	fk_zfree(msg);
	*reply = (const uint8_t *)NW_DATA(&nw);
	*replylen = NW_OFF(&nw);
	return (error);
}

void
fk_netlink_fini(void)
{
	fk_zfree(fk_reply_buf);
	fk_reply_buf = NULL;
}

/*
 * The same writer under the names the inline wrappers use when the shim
 * is built as part of netlink (NETLINK or NETLINK_MODULE defined).
 */
bool	_nlmsg_add(struct nl_writer *, uint32_t, uint32_t, uint16_t, uint16_t,
	    uint32_t);
bool	_nlmsg_end(struct nl_writer *);
void	_nlmsg_abort(struct nl_writer *);
bool	_nlmsg_end_dump(struct nl_writer *, int, struct nlmsghdr *);
bool	_nlmsg_flush(struct nl_writer *);
void	_nlmsg_ignore_limit(struct nl_writer *);
#if __FreeBSD_version >= 1500000
bool	_nlmsg_refill_buffer(struct nl_writer *, size_t);
#else
bool	_nlmsg_refill_buffer(struct nl_writer *, int);
#endif

bool
_nlmsg_add(struct nl_writer *nw, uint32_t portid, uint32_t seq, uint16_t type,
    uint16_t flags, uint32_t len)
{
	return (nlmsg_add(nw, portid, seq, type, flags, len));
}

bool
_nlmsg_end(struct nl_writer *nw)
{
	return (nlmsg_end(nw));
}

void
_nlmsg_abort(struct nl_writer *nw)
{
	nlmsg_abort(nw);
}

bool
_nlmsg_end_dump(struct nl_writer *nw, int error, struct nlmsghdr *hdr)
{
	return (nlmsg_end_dump(nw, error, hdr));
}

bool
_nlmsg_flush(struct nl_writer *nw)
{
	return (nlmsg_flush(nw));
}

void
_nlmsg_ignore_limit(struct nl_writer *nw)
{
	nlmsg_ignore_limit(nw);
}

#if __FreeBSD_version >= 1500000
bool
_nlmsg_refill_buffer(struct nl_writer *nw, size_t required_size)
#else
bool
_nlmsg_refill_buffer(struct nl_writer *nw, int required_size)
#endif
{
	return (nlmsg_refill_buffer(nw, required_size));
}
