/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: sysctl(9) for the fake kernel.  The module's static oids
 * (set_sysctl_set) and dynamic ones (sysctl_add_oid, contexts) are kept
 * in one table and found by dotted name, so scenarios read and write them
 * through the module's own handlers, as sysctl(8) would.
 */
#include "fk.h"

/* The kernel's parents of net.inet.carp and friends. */
struct sysctl_oid sysctl___net = {
	.oid_children = RB_INITIALIZER(&sysctl___net.oid_children),
	.oid_number = CTL_NET, .oid_kind = CTLTYPE_NODE | CTLFLAG_RW,
	.oid_name = "net", .oid_fmt = "N",
};
struct sysctl_oid sysctl___net_inet = {
	.oid_children = RB_INITIALIZER(&sysctl___net_inet.oid_children),
	.oid_parent = &sysctl___net.oid_children,
	.oid_number = PF_INET, .oid_kind = CTLTYPE_NODE | CTLFLAG_RW,
	.oid_name = "inet", .oid_fmt = "N",
};
struct sysctl_oid sysctl___net_inet6 = {
	.oid_children = RB_INITIALIZER(&sysctl___net_inet6.oid_children),
	.oid_parent = &sysctl___net.oid_children,
	.oid_number = PF_INET6, .oid_kind = CTLTYPE_NODE | CTLFLAG_RW,
	.oid_name = "inet6", .oid_fmt = "N",
};
struct sysctl_oid sysctl___net_link = {
	.oid_children = RB_INITIALIZER(&sysctl___net_link.oid_children),
	.oid_parent = &sysctl___net.oid_children,
	.oid_number = PF_LINK, .oid_kind = CTLTYPE_NODE | CTLFLAG_RW,
	.oid_name = "link", .oid_fmt = "N",
};
struct sysctl_oid sysctl___net_inet_ip = {
	.oid_children = RB_INITIALIZER(&sysctl___net_inet_ip.oid_children),
	.oid_parent = &sysctl___net_inet.oid_children,
	.oid_number = IPPROTO_IP, .oid_kind = CTLTYPE_NODE | CTLFLAG_RW,
	.oid_name = "ip", .oid_fmt = "N",
};

#define	FK_MAXOID	256
static struct sysctl_oid *fk_oids[FK_MAXOID];
static int fk_noids;
/* kern_sysctl.c's malloc type; no SYSINIT: the fake kernel inits it. */
struct malloc_type M_SYSCTLOID[1] = { { .ks_version = M_VERSION,
    .ks_shortdesc = "sysctloid" } };

int
fk_sysctl_count(void)
{
	return (fk_noids);
}

static struct sysctl_oid *fk_roots[] = {
	&sysctl___net, &sysctl___net_inet, &sysctl___net_inet6,
	&sysctl___net_link, &sysctl___net_inet_ip,
};

static struct sysctl_oid *
fk_oid_parent(const struct sysctl_oid *oid)
{
	for (size_t i = 0; i < nitems(fk_roots); i++)
		if (oid->oid_parent == &fk_roots[i]->oid_children)
			return (fk_roots[i]);
	for (int i = 0; i < fk_noids; i++)
		if (oid->oid_parent == &fk_oids[i]->oid_children)
			return (fk_oids[i]);
	return (NULL);
}

static int
fk_oid_name(const struct sysctl_oid *oid, char *buf, size_t len)
{
	const struct sysctl_oid *chain[16];
	int n = 0;
	size_t off = 0;

	while (oid != NULL && n < 16) {
		chain[n++] = oid;
		if (oid == &sysctl___net)
			break;
		oid = fk_oid_parent(oid);
	}
	if (oid != &sysctl___net)
		return (ENOENT);
	buf[0] = '\0';
	for (int i = n - 1; i >= 0; i--) {
		size_t l = strlen(chain[i]->oid_name);

		if (off + l + 2 > len)
			return (ENAMETOOLONG);
		memcpy(buf + off, chain[i]->oid_name, l);
		off += l;
		buf[off++] = i > 0 ? '.' : '\0';
	}
	return (0);
}

void
sysctl_register_oid(struct sysctl_oid *oidp)
{
	char name[256];

	if (fk_noids >= FK_MAXOID) {
		fk_fail("too many sysctl oids");
		return;
	}
	fk_oids[fk_noids++] = oidp;
	if (fk_oid_name(oidp, name, sizeof(name)) != 0)
		fk_fail("sysctl oid %s has no known parent", oidp->oid_name);
	for (int i = 0; i < fk_noids - 1; i++) {
		char other[256];

		if (fk_oids[i]->oid_parent == oidp->oid_parent &&
		    strcmp(fk_oids[i]->oid_name, oidp->oid_name) == 0 &&
		    fk_oid_name(fk_oids[i], other, sizeof(other)) == 0)
			fk_fail("can't re-use a leaf (%s)!", name);
	}
}

void
sysctl_unregister_oid(struct sysctl_oid *oidp)
{
	for (int i = 0; i < fk_noids; i++)
		if (fk_oids[i] == oidp) {
			fk_oids[i] = fk_oids[--fk_noids];
			return;
		}
	fk_fail("sysctl_unregister_oid: %s not registered", oidp->oid_name);
}

void
sysctl_enable_oid(struct sysctl_oid *oidp __unused)
{
}

void
sysctl_disable_oid(struct sysctl_oid *oidp __unused)
{
}

SET_DECLARE(sysctl_set, struct sysctl_oid);

void	fk_sysctl_register_set(void);
void	fk_sysctl_unregister_set(void);

void
fk_sysctl_register_set(void)
{
	struct sysctl_oid **oidp;

	if (SET_BEGIN(sysctl_set) == NULL)
		return;
	SET_FOREACH(oidp, sysctl_set)
		sysctl_register_oid(*oidp);
}

void
fk_sysctl_unregister_set(void)
{
	struct sysctl_oid **oidp;

	if (SET_BEGIN(sysctl_set) == NULL)
		return;
	SET_FOREACH(oidp, sysctl_set)
		sysctl_unregister_oid(*oidp);
}

/* Dynamic oids: sysctl_add_oid() and contexts. */
struct fk_dynoid {
	struct sysctl_oid	oid;
	char			*name;
	char			*descr;
};

struct sysctl_oid *
sysctl_add_oid(struct sysctl_ctx_list *clist, struct sysctl_oid_list *parent,
    int nbr, const char *name, int kind, void *arg1, intmax_t arg2,
    int (*handler)(SYSCTL_HANDLER_ARGS), const char *fmt, const char *descr,
    const char *label)
{
	struct fk_dynoid *d;
	struct sysctl_ctx_entry *e;

	d = malloc(sizeof(*d), M_SYSCTLOID, M_WAITOK | M_ZERO);
	d->name = strdup(name, M_SYSCTLOID);
	d->descr = descr != NULL ? strdup(descr, M_SYSCTLOID) : NULL;
	d->oid.oid_parent = parent;
	RB_INIT(&d->oid.oid_children);
	d->oid.oid_number = nbr;
	d->oid.oid_kind = kind | CTLFLAG_DYN;
	d->oid.oid_arg1 = arg1;
	d->oid.oid_arg2 = arg2;
	d->oid.oid_name = d->name;
	d->oid.oid_handler = handler;
	d->oid.oid_fmt = fmt;
	d->oid.oid_descr = d->descr;
	d->oid.oid_label = label;
	sysctl_register_oid(&d->oid);
	if (clist != NULL) {
		e = malloc(sizeof(*e), M_SYSCTLOID, M_WAITOK | M_ZERO);
		e->entry = &d->oid;
		TAILQ_INSERT_HEAD(clist, e, link);
	}
	return (&d->oid);
}

static void
fk_dynoid_free(struct sysctl_oid *oid)
{
	struct fk_dynoid *d = __containerof(oid, struct fk_dynoid, oid);

	sysctl_unregister_oid(oid);
	free(d->name, M_SYSCTLOID);
	free(d->descr, M_SYSCTLOID);
	free(d, M_SYSCTLOID);
}

int
sysctl_ctx_init(struct sysctl_ctx_list *c)
{
	TAILQ_INIT(c);
	return (0);
}

int
sysctl_ctx_free(struct sysctl_ctx_list *clist)
{
	struct sysctl_ctx_entry *e, *tmp;

	/* Children were added after parents: the list is newest first. */
	TAILQ_FOREACH_SAFE(e, clist, link, tmp) {
		TAILQ_REMOVE(clist, e, link);
		if (e->entry->oid_kind & CTLFLAG_DYN)
			fk_dynoid_free(e->entry);
		free(e, M_SYSCTLOID);
	}
	return (0);
}

int
sysctl_remove_oid(struct sysctl_oid *oidp, int del __unused,
    int recurse)
{
	for (int i = 0; recurse && i < fk_noids; i++)
		if (fk_oids[i]->oid_parent == &oidp->oid_children) {
			sysctl_remove_oid(fk_oids[i], del, recurse);
			i = -1;
		}
	if (oidp->oid_kind & CTLFLAG_DYN)
		fk_dynoid_free(oidp);
	else
		sysctl_unregister_oid(oidp);
	return (0);
}

/* ------------------------------------------------ request plumbing */

static int
fk_sysctl_old(struct sysctl_req *req, const void *p, size_t l)
{
	size_t i = 0;

	if (req->oldptr != NULL && req->oldidx < req->oldlen) {
		i = MIN(l, req->oldlen - req->oldidx);
		memcpy((char *)req->oldptr + req->oldidx, p, i);
	}
	req->oldidx += l;
	if (req->oldptr != NULL && i != l)
		return (ENOMEM);
	return (0);
}

static int
fk_sysctl_new(struct sysctl_req *req, void *p, size_t l)
{
	if (req->newptr == NULL)
		return (0);
	if (req->newlen - req->newidx < l)
		return (EINVAL);
	memcpy(p, (const char *)req->newptr + req->newidx, l);
	req->newidx += l;
	return (0);
}

struct sysctl_oid *
fk_sysctl_find(const char *name)
{
	char buf[256];

	for (int i = 0; i < fk_noids; i++)
		if (fk_oid_name(fk_oids[i], buf, sizeof(buf)) == 0 &&
		    strcmp(buf, name) == 0)
			return (fk_oids[i]);
	return (NULL);
}

int
fk_sysctl(const char *name, void *old, size_t *oldlenp, const void *new,
    size_t newlen)
{
	struct sysctl_req req;
	struct sysctl_oid *oid;
	void *arg1;
	int error;

	oid = fk_sysctl_find(name);
	if (oid == NULL)
		return (ENOENT);
	if ((oid->oid_kind & CTLTYPE) == CTLTYPE_NODE && oid->oid_handler == NULL)
		return (EISDIR);
	if (new != NULL && (oid->oid_kind & CTLFLAG_WR) == 0)
		return (EPERM);
	/*
	 * sysctl_root: the requester inside a vnet jail (curvnet is not
	 * vnet0) holds PRIV_SYSCTL_WRITEJAIL only: it may write a per-VNET
	 * or prison leaf, never a global one.
	 */
	if (new != NULL && curvnet != vnet0 &&
	    (oid->oid_kind & (CTLFLAG_VNET | CTLFLAG_PRISON |
	    CTLFLAG_ANYBODY)) == 0)
		return (EPERM);
	memset(&req, 0, sizeof(req));
	req.td = curthread;
	req.oldptr = old;
	req.oldlen = oldlenp != NULL ? *oldlenp : 0;
	req.oldfunc = fk_sysctl_old;
	req.newptr = new;
	req.newlen = newlen;
	req.newfunc = fk_sysctl_new;
	req.validlen = req.oldlen;
	if (fk_locks_held() != 0)
		fk_fail("sysctl called with locks held");
	/* sysctl_register_oid warns about handlers marked neither way. */
	if ((oid->oid_kind & (CTLFLAG_MPSAFE | CTLFLAG_NEEDGIANT)) == 0 &&
	    (oid->oid_kind & CTLTYPE) != CTLTYPE_NODE)
		fk_fail("sysctl %s: neither CTLFLAG_MPSAFE nor "
		    "CTLFLAG_NEEDGIANT", name);
	/* sysctl_root: a per-VNET variable is the requester's vnet's. */
	arg1 = oid->oid_arg1;
	if ((oid->oid_kind & CTLFLAG_VNET) != 0 && arg1 != NULL)
		arg1 = (void *)(curvnet->vnet_data_base + (uintptr_t)arg1);
	error = oid->oid_handler(oid, arg1, oid->oid_arg2, &req);
	if (fk_locks_held() != 0 || fk_epoch_depth() != 0)
		fk_fail("sysctl %s handler returned with locks held or in "
		    "epoch", name);
	if (oldlenp != NULL)
		*oldlenp = req.oldidx;
	if (error == 0 && old != NULL && req.oldidx > req.oldlen)
		error = ENOMEM;
	return (error);
}

int
sysctl_wire_old_buffer(struct sysctl_req *req __unused, size_t len __unused)
{
	return (0);
}

struct sbuf;

/* ----------------------------------------------------- stock handlers */

int
sysctl_handle_int(SYSCTL_HANDLER_ARGS)
{
	int tmpout, error;

	if (arg1 != NULL)
		tmpout = *(int *)arg1;
	else
		tmpout = (int)arg2;
	error = SYSCTL_OUT(req, &tmpout, sizeof(int));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(int)));
}

int
sysctl_handle_bool(SYSCTL_HANDLER_ARGS)
{
	uint8_t temp;
	int error;

	temp = arg1 != NULL ? *(bool *)arg1 : (arg2 != 0);
	error = SYSCTL_OUT(req, &temp, sizeof(temp));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	error = SYSCTL_IN(req, &temp, sizeof(temp));
	if (error == 0)
		*(bool *)arg1 = temp != 0;
	return (error);
}

int
sysctl_handle_8(SYSCTL_HANDLER_ARGS)
{
	int8_t t;
	int error;

	t = arg1 != NULL ? *(int8_t *)arg1 : (int8_t)arg2;
	error = SYSCTL_OUT(req, &t, sizeof(t));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(t)));
}

int
sysctl_handle_16(SYSCTL_HANDLER_ARGS)
{
	int16_t t;
	int error;

	t = arg1 != NULL ? *(int16_t *)arg1 : (int16_t)arg2;
	error = SYSCTL_OUT(req, &t, sizeof(t));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(t)));
}

int
sysctl_handle_32(SYSCTL_HANDLER_ARGS)
{
	int32_t t;
	int error;

	t = arg1 != NULL ? *(int32_t *)arg1 : (int32_t)arg2;
	error = SYSCTL_OUT(req, &t, sizeof(t));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(t)));
}

int
sysctl_handle_64(SYSCTL_HANDLER_ARGS)
{
	int64_t t;
	int error;

	t = arg1 != NULL ? *(int64_t *)arg1 : (int64_t)arg2;
	error = SYSCTL_OUT(req, &t, sizeof(t));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(t)));
}

int
sysctl_handle_long(SYSCTL_HANDLER_ARGS)
{
	long t;
	int error;

	t = arg1 != NULL ? *(long *)arg1 : (long)arg2;
	error = SYSCTL_OUT(req, &t, sizeof(t));
	if (error || req->newptr == NULL)
		return (error);
	if (arg1 == NULL)
		return (EPERM);
	return (SYSCTL_IN(req, arg1, sizeof(t)));
}

int
sysctl_handle_opaque(SYSCTL_HANDLER_ARGS)
{
	int error;

	error = SYSCTL_OUT(req, arg1, arg2);
	if (error || req->newptr == NULL)
		return (error);
	return (SYSCTL_IN(req, arg1, arg2));
}

int
sysctl_handle_string(SYSCTL_HANDLER_ARGS)
{
	size_t outlen;
	int error;

	outlen = strnlen((char *)arg1, arg2 > 0 ? (size_t)arg2 : SIZE_MAX) + 1;
	error = SYSCTL_OUT(req, arg1, outlen);
	if (error || req->newptr == NULL)
		return (error);
	if (arg2 <= 0 || req->newlen >= (size_t)arg2)
		return (EINVAL);
	error = SYSCTL_IN(req, arg1, req->newlen);
	((char *)arg1)[req->newlen] = '\0';
	return (error);
}

void	fk_sysctl_init(void);

void
fk_sysctl_init(void)
{
	malloc_init(M_SYSCTLOID);
}
