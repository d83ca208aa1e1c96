/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the core of the fake kernel the real shim is linked against.
 * malloc(9) with per-type accounting, mutexes and sx locks that check
 * ownership and lock order (a small WITNESS), the network epoch, a
 * virtual clock driving callouts, printf/log/panic capture, curthread
 * through %gs, and the linker/module machinery that runs the module's
 * SYSINITs, SYSUNINITs and event handler as kldload/kldunload would.
 */
#include "fk.h"
#include "fk_stack.h"

int fk_failures;
int fk_expecting;
int fk_verbose;
struct fk_lines fk_console;
struct fk_lines fk_devctl;

/* ------------------------------------------------------------ output */

static void
fk_vout(void (*sink)(const char *), const char *fmt, __builtin_va_list ap)
{
	char buf[1024];

	fkh_vsnprintf(buf, sizeof(buf), fmt, ap);
	sink(buf);
}

void
fk_out(const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	fk_vout(fkh_out, fmt, ap);
	__builtin_va_end(ap);
}

void
fk_fail(const char *fmt, ...)
{
	__builtin_va_list ap;

	fk_failures++;
	/* A deliberate misuse (s_fakes_detect_misuse) says so where printed. */
	fkh_out(fk_expecting ? "  KERNEL-RULE (expected: self-test of the fake "
	    "kernel's detectors, provoked on purpose): " : "  KERNEL-RULE: ");
	__builtin_va_start(ap, fmt);
	fk_vout(fkh_out, fmt, ap);
	__builtin_va_end(ap);
	fkh_out("\n");
}

void *
fk_zalloc(size_t n)
{
	void *p;

	p = fkh_calloc(n);
	if (p == NULL)
		fkh_abort();
	return (p);
}

void
fk_zfree(void *p)
{
	fkh_free(p);
}

void
fk_lines_add(struct fk_lines *l, const char *s)
{
	size_t n;
	char *c;

	if (l->n >= FK_LINES) {
		/* Keep the newest, like the message buffer. */
		fk_zfree(l->line[0]);
		memmove(&l->line[0], &l->line[1], (FK_LINES - 1) * sizeof(char *));
		l->n--;
	}
	n = strlen(s);
	c = fk_zalloc(n + 1);
	memcpy(c, s, n);
	l->line[l->n++] = c;
}

void
fk_lines_clear(struct fk_lines *l)
{
	for (int i = 0; i < l->n; i++)
		fk_zfree(l->line[i]);
	l->n = 0;
}

int
fk_lines_grep(const struct fk_lines *l, const char *needle)
{
	for (int i = 0; i < l->n; i++)
		if (strstr(l->line[i], needle) != NULL)
			return (i + 1);
	return (0);
}

/* -------------------------------------------------- printf, log, panic */

/* Console output is assembled into lines, as the message buffer does. */
static char fk_conbuf[1024];
static size_t fk_conlen;

static void
fk_console_put(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n' || fk_conlen + 1 >= sizeof(fk_conbuf)) {
			fk_conbuf[fk_conlen] = '\0';
			fk_lines_add(&fk_console, fk_conbuf);
			if (fk_verbose)
				fk_out("  console: %s\n", fk_conbuf);
			fk_conlen = 0;
			if (*s == '\n')
				continue;
		}
		fk_conbuf[fk_conlen++] = *s;
	}
}

int
vprintf(const char *fmt, __builtin_va_list ap)
{
	char buf[1024];
	int n;

	n = fkh_vsnprintf(buf, sizeof(buf), fmt, ap);
	fk_console_put(buf);
	return (n);
}

int
printf(const char *fmt, ...)
{
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, fmt);
	n = vprintf(fmt, ap);
	__builtin_va_end(ap);
	return (n);
}

void
log(int level __unused, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	(void)vprintf(fmt, ap);
	__builtin_va_end(ap);
}

void
vlog(int level __unused, const char *fmt, __builtin_va_list ap)
{
	(void)vprintf(fmt, ap);
}

void
panic(const char *fmt, ...)
{
	__builtin_va_list ap;

	fkh_out("PANIC: ");
	__builtin_va_start(ap, fmt);
	fk_vout(fkh_out, fmt, ap);
	__builtin_va_end(ap);
	fkh_out("\n");
	fkh_abort();
}

int bootverbose = 1;
int cold;

/* ---------------------------------------------------- curthread, pcpu */

static struct thread fk_thread0;
static int fk_edepth_of(void);
static unsigned long *fk_eexits_ptr(void);
static int *fk_edepth_ptr(void);
static void fk_trec_add(struct thread *, int *, unsigned long *);
static struct pcpu fk_pcpu0 __aligned(CACHE_LINE_SIZE);
static struct ucred fk_cred0;
static struct proc fk_proc0;
/*
 * The default vnet with a zero data base: VNET(x) then reads the set_vnet
 * storage itself.  Vnet jails (fk_vnet_create) get copies.
 */
static struct vnet fk_vnet0 = { .vnet_magic_n = VNET_MAGIC_N };
struct vnet *vnet0 = &fk_vnet0;
struct vnet_list_head vnet_head = LIST_HEAD_INITIALIZER(vnet_head);
struct sx vnet_sxlock;

void
fk_kern_init(void)
{
	fk_thread0.td_proc = &fk_proc0;
	fk_thread0.td_ucred = &fk_cred0;
	fk_thread0.td_tid = 100001;
	fk_thread0.td_vnet = vnet0;
	LIST_INSERT_HEAD(&vnet_head, &fk_vnet0, vnet_le);
	fk_pcpu0.pc_curthread = &fk_thread0;
	fk_pcpu0.pc_cpuid = 0;
	if (fkh_set_gs(&fk_pcpu0) != 0) {
		fkh_err("fakekern: arch_prctl(ARCH_SET_GS) failed\n");
		fkh_exit(2);
	}
	if (curthread != &fk_thread0) {
		fkh_err("fakekern: curthread through %gs is wrong\n");
		fkh_exit(2);
	}
	fkh_giant_lock();
	fk_trec_add(&fk_thread0, fk_edepth_ptr(), fk_eexits_ptr());
	sx_init(&vnet_sxlock, "vnet_sxlock");
	fk_vnet_snapshot();
}

/* --------------------------------------------------------- threads */

/*
 * Concurrent scenarios run real host threads.  Kernel-side code runs
 * only under the fake giant (fk_host.c), which a thread gives up where a
 * real kernel may switch: releasing a lock, entering or leaving an epoch
 * section, waiting for a lock, an epoch grace period or a sleep.  The
 * main thread holds it from fk_kern_init() on.
 */
bool fk_threaded;			/* other threads may exist */
static _Thread_local int fk_nheld;

#define	FK_MAXTHREADS	16
static struct fk_trec {
	struct thread	*td;
	int		*edepth;
	unsigned long	*eexits;
	const char	*waiting;	/* what it waits for, NULL: running */
	const char	*site;		/* where it last took a lock */
	int		 line;
} fk_trecs[FK_MAXTHREADS];

static struct fk_trec *
fk_trec_self(void)
{
	for (int i = 0; i < FK_MAXTHREADS; i++)
		if (fk_trecs[i].td == curthread)
			return (&fk_trecs[i]);
	return (NULL);
}

/* On a deadlock: what every thread holds and waits for. */
static void
fk_threads_report(void)
{
	for (int i = 0; i < FK_MAXTHREADS; i++)
		if (fk_trecs[i].td != NULL)
			fk_out("  thread %d: waiting for %s; last lock taken at "
			    "%s:%d; epoch depth %d\n", fk_trecs[i].td->td_tid,
			    fk_trecs[i].waiting != NULL ? fk_trecs[i].waiting :
			    "nothing", fk_trecs[i].site != NULL ?
			    fk_trecs[i].site : "?", fk_trecs[i].line,
			    *fk_trecs[i].edepth);
}

static void
fk_trec_add(struct thread *td, int *edepth, unsigned long *eexits)
{
	for (int i = 0; i < FK_MAXTHREADS; i++)
		if (fk_trecs[i].td == NULL) {
			fk_trecs[i].td = td;
			fk_trecs[i].edepth = edepth;
			fk_trecs[i].eexits = eexits;
			return;
		}
	fk_fail("too many fake-kernel threads");
	fkh_abort();
}

static void
fk_trec_del(struct thread *td)
{
	for (int i = 0; i < FK_MAXTHREADS; i++)
		if (fk_trecs[i].td == td)
			fk_trecs[i].td = NULL;
}

void
fk_preempt(void)
{
	if (!fk_threaded)
		return;
	fkh_giant_unlock();
	fkh_yield();
	fkh_giant_lock();
}

/*
 * Waits, giving up the giant, until *word == free and claims it for
 * curthread.  A wait of more than 60 s of wall time is a deadlock: the
 * run is aborted so that it fails instead of hanging.
 */
void
fk_wait_for(volatile uintptr_t *word, uintptr_t free, const char *name,
    const char *op)
{
	unsigned long t0 = 0;

	struct fk_trec *me = fk_trec_self();

	while (*word != free) {
		if (me != NULL)
			me->waiting = name;
		if (!fk_threaded) {
			fk_fail("%s: %s owned by someone else", op, name);
			break;
		}
		if (t0 == 0)
			t0 = fkh_wall_ms();
		else if (fkh_wall_ms() - t0 > 60000) {
			fk_fail("%s: waited 60 s for %s (held by thread %d): "
			    "deadlock", op, name, *word > 16 ?
			    ((struct thread *)*word)->td_tid : -1);
			fk_threads_report();
			fkh_abort();
		}
		fk_preempt();
	}
	if (me != NULL)
		me->waiting = NULL;
	*word = (uintptr_t)curthread;
}


/* Until every other thread inside the epoch now has left it once. */
void
fk_threads_epoch_wait(void)
{
	unsigned long seen[FK_MAXTHREADS];
	unsigned long t0 = fkh_wall_ms();
	bool busy;

	if (!fk_threaded)
		return;
	for (int i = 0; i < FK_MAXTHREADS; i++)
		seen[i] = fk_trecs[i].td != NULL ? *fk_trecs[i].eexits : 0;
	for (;;) {
		busy = false;
		for (int i = 0; i < FK_MAXTHREADS; i++)
			if (fk_trecs[i].td != NULL &&
			    fk_trecs[i].td != curthread &&
			    *fk_trecs[i].edepth > 0 &&
			    *fk_trecs[i].eexits == seen[i])
				busy = true;
		if (!busy)
			return;
		if (fkh_wall_ms() - t0 > 60000) {
			fk_fail("epoch grace period longer than 60 s: deadlock");
			fkh_abort();
		}
		fk_preempt();
	}
}

struct fk_tstart {
	void	(*fn)(void *);
	void	*arg;
	int	id;
};

static void
fk_thread_main(void *p)
{
	struct fk_tstart st = *(struct fk_tstart *)p;
	struct thread *td;
	struct pcpu *pc;

	fkh_free(p);
	td = fkh_calloc(sizeof(*td));
	pc = fkh_aligned(CACHE_LINE_SIZE, roundup2(sizeof(*pc),
	    CACHE_LINE_SIZE));
	td->td_proc = fk_thread0.td_proc;
	td->td_ucred = fk_thread0.td_ucred;
	td->td_tid = 100002 + st.id;
	/* As the contexts they stand for (netisr, ioctl, netlink). */
	td->td_vnet = vnet0;
	pc->pc_curthread = td;
	pc->pc_cpuid = 1 + st.id;
	if (fkh_set_gs(pc) != 0)
		fkh_abort();
	fkh_giant_lock();
	fk_trec_add(td, fk_edepth_ptr(), fk_eexits_ptr());
	st.fn(st.arg);
	if (fk_nheld != 0)
		fk_fail("thread %d ended with %d lock(s) held", st.id,
		    fk_nheld);
	if (fk_edepth_of() != 0)
		fk_fail("thread %d ended inside the epoch", st.id);
	fk_trec_del(td);
	fkh_giant_unlock();
	fkh_free(td);
	fkh_free(pc);
}

unsigned long
fk_thread_spawn(void (*fn)(void *), void *arg, int id)
{
	struct fk_tstart *st = fkh_calloc(sizeof(*st));

	fk_threaded = true;
	st->fn = fn;
	st->arg = arg;
	st->id = id;
	return (fkh_thread_start(fk_thread_main, st));
}

void
fk_thread_join(unsigned long t)
{
	fkh_giant_unlock();
	fkh_thread_join(t);
	fkh_giant_lock();
}

/* ------------------------------------------------------------ malloc */

#define	FK_MAGIC	0x6b6d616c6c6f6321ULL
struct fk_mhdr {
	uint64_t		magic;
	struct malloc_type	*type;
	size_t			size;
	void			*base;		/* what the host allocated */
	struct fk_mhdr		*next, *prev;
	long			serial;
	uint64_t		pad;		/* keeps the block 16-aligned */
};
_Static_assert(sizeof(struct fk_mhdr) % 16 == 0, "header alignment");

static struct fk_mhdr fk_mlist = { .next = &fk_mlist, .prev = &fk_mlist };
static long fk_mlive, fk_mserial, fk_mfail_nth;

#define	FK_MAXTYPES	32
static struct malloc_type *fk_mtypes[FK_MAXTYPES];

void
fk_malloc_fail_nth(long n)
{
	fk_mfail_nth = n;
}

long
fk_malloc_fail_pending(void)
{
	return (fk_mfail_nth);
}

/* One more M_NOWAIT allocation (malloc or mbuf): true if it must fail. */
bool
fk_nowait_fails(void)
{
	return (fk_mfail_nth > 0 && --fk_mfail_nth == 0);
}

static bool
fk_type_known(struct malloc_type *type)
{
	for (int i = 0; i < FK_MAXTYPES; i++)
		if (fk_mtypes[i] == type)
			return (true);
	return (false);
}

void
malloc_init(void *data)
{
	struct malloc_type *mtp = data;

	if (fk_type_known(mtp)) {
		fk_fail("malloc_init: type %s initialised twice",
		    mtp->ks_shortdesc);
		return;
	}
	for (int i = 0; i < FK_MAXTYPES; i++)
		if (fk_mtypes[i] == NULL) {
			fk_mtypes[i] = mtp;
			return;
		}
	fk_fail("malloc_init: too many types");
}

void
malloc_uninit(void *data)
{
	struct malloc_type *mtp = data;
	struct fk_mhdr *h;
	long n = 0;

	for (h = fk_mlist.next; h != &fk_mlist; h = h->next)
		if (h->type == mtp)
			n++;
	if (n != 0)
		fk_fail("malloc_uninit: type %s destroyed with %ld "
		    "allocation(s) still live (Warning: memory type %s "
		    "leaked memory on destroy)", mtp->ks_shortdesc, n,
		    mtp->ks_shortdesc);
	for (int i = 0; i < FK_MAXTYPES; i++)
		if (fk_mtypes[i] == mtp) {
			fk_mtypes[i] = NULL;
			return;
		}
	fk_fail("malloc_uninit: type %s was never initialised",
	    mtp->ks_shortdesc);
}

static void *
fk_malloc(size_t size, size_t align, struct malloc_type *type, int flags)
{
	struct fk_mhdr *h;
	size_t hdr;
	char *base;

	if (!fk_type_known(type)) {
		fk_fail("malloc(%zu) with an uninitialised malloc type %s",
		    size, type != NULL ? type->ks_shortdesc : "NULL");
		return (NULL);
	}
	if ((flags & (M_WAITOK | M_NOWAIT)) == 0 ||
	    (flags & (M_WAITOK | M_NOWAIT)) == (M_WAITOK | M_NOWAIT))
		fk_fail("malloc: exactly one of M_WAITOK and M_NOWAIT needed "
		    "(flags %#x)", flags);
	if (flags & M_WAITOK)
		fk_assert_sleepable("malloc(M_WAITOK)");
	else if (fk_nowait_fails())
		return (NULL);
	hdr = roundup2(sizeof(*h), align < 16 ? 16 : align);
	base = fkh_aligned(align < 16 ? 16 : align, hdr + size);
	if (base == NULL)
		fkh_abort();
	h = (struct fk_mhdr *)(base + hdr - sizeof(*h));
	h->magic = FK_MAGIC;
	h->type = type;
	h->size = size;
	h->base = base;
	h->serial = ++fk_mserial;
	h->next = fk_mlist.next;
	h->prev = &fk_mlist;
	fk_mlist.next->prev = h;
	fk_mlist.next = h;
	fk_mlive++;
	/* M_ZERO or not, the host block is zeroed: keep runs deterministic. */
	return (base + hdr);
}

void *
(malloc)(size_t size, struct malloc_type *type, int flags)
{
	return (fk_malloc(size, 16, type, flags));
}

void *
malloc_aligned(size_t size, size_t align, struct malloc_type *type,
    int flags)
{
	if (!powerof2(align) || align > PAGE_SIZE) {
		fk_fail("malloc_aligned: bad alignment %zu", align);
		return (NULL);
	}
	return (fk_malloc(size, align, type, flags));
}

void *
malloc_domainset(size_t size, struct malloc_type *type,
    struct domainset *ds __unused, int flags)
{
	return (fk_malloc(size, 16, type, flags));
}

void
free(void *addr, struct malloc_type *type)
{
	struct fk_mhdr *h;

	if (addr == NULL)
		return;
	/* Found among the live blocks before its header is read at all. */
	for (h = fk_mlist.next; h != &fk_mlist; h = h->next)
		if (h + 1 == addr)
			break;
	if (h == &fk_mlist || h->magic != FK_MAGIC) {
		fk_fail("free(%p): not a live malloc(9) block (freed twice?)",
		    addr);
		return;
	}
	if (h->type != type)
		fk_fail("free(%p): allocated as %s, freed as %s", addr,
		    h->type->ks_shortdesc, type->ks_shortdesc);
	h->magic = 0;
	h->prev->next = h->next;
	h->next->prev = h->prev;
	fk_mlive--;
	fkh_free(h->base);
}

void
zfree(void *addr, struct malloc_type *type)
{
	if (addr != NULL) {
		struct fk_mhdr *h = (struct fk_mhdr *)addr - 1;

		if (h->magic == FK_MAGIC)
			explicit_bzero(addr, h->size);
	}
	free(addr, type);
}

void *
realloc(void *addr, size_t size, struct malloc_type *type, int flags)
{
	struct fk_mhdr *h;
	void *n;

	if (addr == NULL)
		return (malloc(size, type, flags));
	h = (struct fk_mhdr *)addr - 1;
	n = malloc(size, type, flags);
	if (n == NULL)
		return (NULL);
	memcpy(n, addr, MIN(size, h->size));
	free(addr, type);
	return (n);
}

void *
reallocf(void *addr, size_t size, struct malloc_type *type, int flags)
{
	void *n;

	n = realloc(addr, size, type, flags);
	if (n == NULL)
		free(addr, type);
	return (n);
}

long
fk_malloc_outstanding(void)
{
	return (fk_mlive);
}

long
fk_malloc_total(void)
{
	return (fk_mserial);
}

long
fk_malloc_outstanding_type(const char *shortdesc)
{
	struct fk_mhdr *h;
	long n = 0;

	for (h = fk_mlist.next; h != &fk_mlist; h = h->next)
		if (strcmp(h->type->ks_shortdesc, shortdesc) == 0)
			n++;
	return (n);
}

void
fk_malloc_report(void)
{
	struct fk_mhdr *h;
	int n = 0;

	for (h = fk_mlist.next; h != &fk_mlist && n < 20; h = h->next, n++)
		fk_out("  live: #%ld %zu bytes of %s\n", h->serial, h->size,
		    h->type->ks_shortdesc);
}

/* ------------------------------------------------- locks (mini WITNESS) */

#define	FK_MAXHELD	16
static _Thread_local struct lock_object *fk_held[FK_MAXHELD];

/* Lock-order graph by lock name, as WITNESS keys it. */
#define	FK_MAXORDER	128
static struct { const char *before, *after; } fk_order[FK_MAXORDER];
static int fk_norder;

int
fk_locks_held(void)
{
	return (fk_nheld);
}

/* Forgets held locks (after a deliberate misuse in the self-test). */
void
fk_locks_reset(void)
{
	fk_nheld = 0;
}

int
fk_mutexes_held(void)
{
	int n = 0;

	for (int i = 0; i < fk_nheld; i++)
		if (LOCK_CLASS(fk_held[i]) == &lock_class_mtx_sleep ||
		    LOCK_CLASS(fk_held[i]) == &lock_class_mtx_spin)
			n++;
	return (n);
}

static bool
fk_order_known(const char *a, const char *b)
{
	for (int i = 0; i < fk_norder; i++)
		if (strcmp(fk_order[i].before, a) == 0 &&
		    strcmp(fk_order[i].after, b) == 0)
			return (true);
	return (false);
}

static void
fk_lock_acquired(struct lock_object *lo, const char *file, int line)
{
	for (int i = 0; i < fk_nheld; i++) {
		const char *h = fk_held[i]->lo_name;

		if (strcmp(h, lo->lo_name) == 0 &&
		    (lo->lo_flags & LO_DUPOK) == 0 && fk_held[i] != lo)
			fk_fail("acquiring duplicate lock of same type \"%s\" "
			    "at %s:%d", lo->lo_name, file, line);
		if (fk_order_known(lo->lo_name, h))
			fk_fail("lock order reversal: %s then %s at %s:%d "
			    "(established %s before %s)", h, lo->lo_name,
			    file, line, lo->lo_name, h);
		else if (!fk_order_known(h, lo->lo_name) &&
		    fk_norder < FK_MAXORDER) {
			fk_order[fk_norder].before = h;
			fk_order[fk_norder].after = lo->lo_name;
			fk_norder++;
		}
	}
	if (fk_nheld >= FK_MAXHELD) {
		fk_fail("too many locks held");
		return;
	}
	if (fk_threaded) {
		struct fk_trec *me = fk_trec_self();

		if (me != NULL) {
			me->site = file;
			me->line = line;
		}
	}
	fk_held[fk_nheld++] = lo;
}

static void
fk_lock_released(struct lock_object *lo, const char *file, int line)
{
	for (int i = fk_nheld - 1; i >= 0; i--)
		if (fk_held[i] == lo) {
			for (int j = i; j < fk_nheld - 1; j++)
				fk_held[j] = fk_held[j + 1];
			fk_nheld--;
			return;
		}
	fk_fail("releasing %s, which is not held, at %s:%d", lo->lo_name,
	    file, line);
}

static bool
fk_lock_is_held(const struct lock_object *lo)
{
	for (int i = 0; i < fk_nheld; i++)
		if (fk_held[i] == lo)
			return (true);
	return (false);
}

void
fk_assert_sleepable(const char *what)
{
	for (int i = 0; i < fk_nheld; i++)
		if (LOCK_CLASS(fk_held[i]) == &lock_class_mtx_sleep)
			fk_fail("%s: sleeping with non-sleepable lock \"%s\" "
			    "held", what, fk_held[i]->lo_name);
	if (fk_epoch_depth() != 0)
		fk_fail("%s: sleeping inside the network epoch", what);
}

/* Lock classes: only their identity and names matter here. */
struct lock_class lock_class_mtx_sleep = { .lc_name = "sleep mutex",
    .lc_flags = LC_SLEEPLOCK | LC_RECURSABLE };
struct lock_class lock_class_mtx_spin = { .lc_name = "spin mutex",
    .lc_flags = LC_SPINLOCK | LC_RECURSABLE };
struct lock_class lock_class_sx = { .lc_name = "sx",
    .lc_flags = LC_SLEEPLOCK | LC_SLEEPABLE | LC_RECURSABLE | LC_UPGRADABLE };
struct lock_class lock_class_rw = { .lc_name = "rw",
    .lc_flags = LC_SLEEPLOCK | LC_RECURSABLE | LC_UPGRADABLE };
struct lock_class *lock_classes[LOCK_CLASS_MAX + 1] = {
	&lock_class_mtx_spin, &lock_class_mtx_sleep, &lock_class_sx,
	&lock_class_rw,
};

static void
fk_lock_init(struct lock_object *lo, struct lock_class *class,
    const char *name, int flags)
{
	int i;

	if ((flags & LO_NEW) == 0 && (lo->lo_flags & LO_INITIALIZED) != 0)
		fk_fail("lock \"%s\" %p already initialized", name, lo);
	for (i = 0; i < LOCK_CLASS_MAX; i++)
		if (lock_classes[i] == class)
			break;
	lo->lo_name = name;
	lo->lo_flags = flags | LO_INITIALIZED | (i << LO_CLASSSHIFT);
	lo->lo_data = 0;
	lo->lo_witness = NULL;
}

static void
fk_lock_destroy(struct lock_object *lo)
{
	if ((lo->lo_flags & LO_INITIALIZED) == 0)
		fk_fail("destroying uninitialized lock %p", lo);
	if (fk_lock_is_held(lo))
		fk_fail("destroying held lock \"%s\"", lo->lo_name);
	lo->lo_flags &= ~LO_INITIALIZED;
}

static void
fk_lock_check_live(struct lock_object *lo, const char *op, const char *file,
    int line)
{
	if ((lo->lo_flags & LO_INITIALIZED) == 0)
		fk_fail("%s of uninitialized or destroyed lock %p (%s) at "
		    "%s:%d", op, lo, lo->lo_name != NULL ? lo->lo_name : "?",
		    file, line);
}

#define	mtxlock2mtx(c)	(__containerof(c, struct mtx, mtx_lock))

void
_mtx_init(volatile uintptr_t *c, const char *name, const char *type __unused,
    int opts)
{
	struct mtx *m = mtxlock2mtx(c);
	int flags = 0;

	if (opts & MTX_RECURSE)
		flags |= LO_RECURSABLE;
	if (opts & MTX_DUPOK)
		flags |= LO_DUPOK;
	if (opts & MTX_NEW)
		flags |= LO_NEW;
	fk_lock_init(&m->lock_object,
	    (opts & MTX_SPIN) ? &lock_class_mtx_spin : &lock_class_mtx_sleep,
	    name, flags);
	m->mtx_lock = MTX_UNOWNED;
}

void
_mtx_destroy(volatile uintptr_t *c)
{
	struct mtx *m = mtxlock2mtx(c);

	fk_lock_destroy(&m->lock_object);
	m->mtx_lock = MTX_DESTROYED;
}

#if __FreeBSD_version >= 1500000
void
mtx_sysinit(const void *arg)
#else
void
mtx_sysinit(void *arg)
#endif
{
	const struct mtx_args *margs = arg;

	mtx_init((struct mtx *)margs->ma_mtx, margs->ma_desc, NULL,
	    margs->ma_opts);
}

void
__mtx_lock_flags(volatile uintptr_t *c, int opts __unused, const char *file,
    int line)
{
	struct mtx *m = mtxlock2mtx(c);

	fk_lock_check_live(&m->lock_object, "mtx_lock", file, line);
	if (m->mtx_lock == (uintptr_t)curthread) {
		if ((m->lock_object.lo_flags & LO_RECURSABLE) == 0)
			fk_fail("mtx_lock: recursed on non-recursive mutex "
			    "%s at %s:%d", m->lock_object.lo_name, file, line);
		m->lock_object.lo_data++;
		return;
	}
	fk_wait_for(&m->mtx_lock, MTX_UNOWNED, m->lock_object.lo_name,
	    "mtx_lock");
	fk_lock_acquired(&m->lock_object, file, line);
	m->mtx_lock = (uintptr_t)curthread;
}

void
__mtx_unlock_flags(volatile uintptr_t *c, int opts __unused, const char *file,
    int line)
{
	struct mtx *m = mtxlock2mtx(c);

	fk_lock_check_live(&m->lock_object, "mtx_unlock", file, line);
	if (m->mtx_lock != (uintptr_t)curthread) {
		fk_fail("mtx_unlock: %s not owned at %s:%d",
		    m->lock_object.lo_name, file, line);
		return;
	}
	if (m->lock_object.lo_data > 0) {
		m->lock_object.lo_data--;
		return;
	}
	fk_lock_released(&m->lock_object, file, line);
	m->mtx_lock = MTX_UNOWNED;
	fk_preempt();
}

int
_mtx_trylock_flags_(volatile uintptr_t *c, int opts, const char *file,
    int line)
{
	struct mtx *m = mtxlock2mtx(c);

	if (m->mtx_lock != MTX_UNOWNED && m->mtx_lock != (uintptr_t)curthread)
		return (0);
	__mtx_lock_flags(c, opts, file, line);
	return (1);
}

void
__mtx_lock_spin_flags(volatile uintptr_t *c, int opts, const char *file,
    int line)
{
	__mtx_lock_flags(c, opts, file, line);
}

void
__mtx_unlock_spin_flags(volatile uintptr_t *c, int opts, const char *file,
    int line)
{
	__mtx_unlock_flags(c, opts, file, line);
}

void
__mtx_assert(const volatile uintptr_t *c, int what, const char *file,
    int line)
{
	const struct mtx *m = __containerof(c, const struct mtx, mtx_lock);
	bool owned = m->mtx_lock == (uintptr_t)curthread;

	switch (what & ~(MA_RECURSED | MA_NOTRECURSED)) {
	case MA_OWNED:
		if (!owned)
			fk_fail("mutex %s not owned at %s:%d",
			    m->lock_object.lo_name, file, line);
		break;
	case MA_NOTOWNED:
		if (owned)
			fk_fail("mutex %s owned at %s:%d",
			    m->lock_object.lo_name, file, line);
		break;
	}
}

/*
 * sleep(9) on a mutex: the interlock is dropped, other threads run, the
 * interlock is taken again; callers loop on their condition, so wakeup()
 * need not do anything.  A sleep nobody else could end is a deadlock.
 */
static _Thread_local const void *fk_sleep_chan;
static _Thread_local unsigned long fk_sleep_t0, fk_sleep_last;

int
_sleep(const void *chan, struct lock_object *lock, int pri __unused,
    const char *wmesg, sbintime_t sbt __unused, sbintime_t pr __unused,
    int flags __unused)
{
	struct mtx *m;

	if (lock == NULL || LOCK_CLASS(lock) != &lock_class_mtx_sleep) {
		fk_fail("%s: sleep without a mutex interlock: not faked", wmesg);
		return (EINVAL);
	}
	m = __containerof(lock, struct mtx, lock_object);
	if (!fk_threaded) {
		fk_fail("%s: sleeping with no other thread to wake us", wmesg);
		return (EWOULDBLOCK);
	}
	/* Back-to-back sleeps on one channel for 60 s: a deadlock. */
	if (fk_sleep_chan != chan || fkh_wall_ms() - fk_sleep_last > 100) {
		fk_sleep_chan = chan;
		fk_sleep_t0 = fkh_wall_ms();
	} else if (fkh_wall_ms() - fk_sleep_t0 > 60000) {
		fk_fail("%s: asleep for 60 s: deadlock", wmesg);
		fk_threads_report();
		fkh_abort();
	}
	__mtx_unlock_flags(&m->mtx_lock, 0, wmesg, 0);
	fk_assert_sleepable(wmesg);
	fk_preempt();
	__mtx_lock_flags(&m->mtx_lock, 0, wmesg, 0);
	fk_sleep_last = fkh_wall_ms();
	return (0);
}

void
wakeup(const void *chan __unused)
{
}

/* sx(9): exclusive and shared; shared holds are counted in lo_data. */
#define	sx2lo(sx)	(&(sx)->lock_object)

void
sx_init_flags(struct sx *sx, const char *description, int opts)
{
	int flags = 0;

	if (opts & SX_RECURSE)
		flags |= LO_RECURSABLE;
	if (opts & SX_DUPOK)
		flags |= LO_DUPOK;
	if (opts & SX_NEW)
		flags |= LO_NEW;
	fk_lock_init(sx2lo(sx), &lock_class_sx, description, flags);
	sx->sx_lock = SX_LOCK_UNLOCKED;
}

#if __FreeBSD_version >= 1500000
void
sx_sysinit(const void *arg)
#else
void
sx_sysinit(void *arg)
#endif
{
	const struct sx_args *sargs = arg;

	sx_init_flags(sargs->sa_sx, sargs->sa_desc, sargs->sa_flags);
}

void
sx_destroy(struct sx *sx)
{
	if (sx->sx_lock != SX_LOCK_UNLOCKED)
		fk_fail("sx_destroy: %s still locked", sx2lo(sx)->lo_name);
	fk_lock_destroy(sx2lo(sx));
	sx->sx_lock = SX_LOCK_DESTROYED;
}

int
_sx_xlock(struct sx *sx, int opts __unused, const char *file, int line)
{
	fk_lock_check_live(sx2lo(sx), "sx_xlock", file, line);
	fk_assert_sleepable("sx_xlock");
	if (sx->sx_lock == (uintptr_t)curthread) {
		if ((sx2lo(sx)->lo_flags & LO_RECURSABLE) != 0) {
			sx->sx_recurse++;
			return (0);
		}
		fk_fail("sx_xlock: recursed on %s at %s:%d",
		    sx2lo(sx)->lo_name, file, line);
		return (0);
	}
	fk_wait_for(&sx->sx_lock, SX_LOCK_UNLOCKED, sx2lo(sx)->lo_name,
	    "sx_xlock");
	fk_lock_acquired(sx2lo(sx), file, line);
	sx->sx_lock = (uintptr_t)curthread;
	return (0);
}

void
_sx_xunlock(struct sx *sx, const char *file, int line)
{
	if (sx->sx_lock != (uintptr_t)curthread) {
		fk_fail("sx_xunlock: %s not owned at %s:%d",
		    sx2lo(sx)->lo_name, file, line);
		return;
	}
	if (sx->sx_recurse > 0) {
		sx->sx_recurse--;
		return;
	}
	fk_lock_released(sx2lo(sx), file, line);
	sx->sx_lock = SX_LOCK_UNLOCKED;
	fk_preempt();
}

int
_sx_slock(struct sx *sx, int opts __unused, const char *file, int line)
{
	fk_lock_check_live(sx2lo(sx), "sx_slock", file, line);
	fk_assert_sleepable("sx_slock");
	if (sx->sx_lock == (uintptr_t)curthread)
		fk_fail("sx_slock: %s held exclusively at %s:%d",
		    sx2lo(sx)->lo_name, file, line);
	while (sx->sx_lock != SX_LOCK_UNLOCKED &&
	    (sx->sx_lock & SX_LOCK_SHARED) == 0)
		fk_wait_for(&sx->sx_lock, SX_LOCK_UNLOCKED, sx2lo(sx)->lo_name,
		    "sx_slock");
	if (sx2lo(sx)->lo_data++ == 0)
		fk_lock_acquired(sx2lo(sx), file, line);
	sx->sx_lock = SX_SHARERS_LOCK(sx2lo(sx)->lo_data) | SX_LOCK_SHARED;
	return (0);
}

void
_sx_sunlock(struct sx *sx, const char *file, int line)
{
	if (sx2lo(sx)->lo_data == 0) {
		fk_fail("sx_sunlock: %s not share-locked at %s:%d",
		    sx2lo(sx)->lo_name, file, line);
		return;
	}
	if (--sx2lo(sx)->lo_data == 0) {
		fk_lock_released(sx2lo(sx), file, line);
		sx->sx_lock = SX_LOCK_UNLOCKED;
	}
}

int
sx_try_xlock_(struct sx *sx, const char *file, int line)
{
	if (sx->sx_lock != SX_LOCK_UNLOCKED)
		return (0);
	_sx_xlock(sx, 0, file, line);
	return (1);
}

void
_sx_assert(const struct sx *sx, int what, const char *file, int line)
{
	bool x = sx->sx_lock == (uintptr_t)curthread;
	bool s = sx->lock_object.lo_data > 0;

	switch (what & ~(SA_RECURSED | SA_NOTRECURSED)) {
	case SA_XLOCKED:
		if (!x)
			fk_fail("sx %s not exclusively locked at %s:%d",
			    sx->lock_object.lo_name, file, line);
		break;
	case SA_SLOCKED:
		if (!s)
			fk_fail("sx %s not share-locked at %s:%d",
			    sx->lock_object.lo_name, file, line);
		break;
	case SA_LOCKED:
		if (!x && !s)
			fk_fail("sx %s not locked at %s:%d",
			    sx->lock_object.lo_name, file, line);
		break;
	case SA_UNLOCKED:
		if (x)
			fk_fail("sx %s locked at %s:%d",
			    sx->lock_object.lo_name, file, line);
		break;
	}
}

/* ------------------------------------------------------------- epoch */

struct epoch {
	const char	*name;
};
static struct epoch fk_net_epoch = { "net_epoch_preempt" };
epoch_t net_epoch_preempt = &fk_net_epoch;
static _Thread_local struct epoch_tracker *fk_etrack[32];
static _Thread_local int fk_edepth;
static _Thread_local unsigned long fk_eexits;	/* epoch sections left */

static int
fk_edepth_of(void)
{
	return (fk_edepth);
}

static int *
fk_edepth_ptr(void)
{
	return (&fk_edepth);
}

static unsigned long *
fk_eexits_ptr(void)
{
	return (&fk_eexits);
}

/* Deferred epoch_call() callbacks; run by the next epoch_wait. */
#define	FK_MAXECALL	256
static struct {
	epoch_callback_t	*f;
	epoch_context_t		ctx;
} fk_ecall[FK_MAXECALL];
static int fk_necall;

int
fk_epoch_depth(void)
{
	return (fk_edepth);
}

void
_epoch_enter_preempt(epoch_t epoch, epoch_tracker_t et EPOCH_FILE_LINE)
{
	if (epoch != net_epoch_preempt)
		fk_fail("epoch_enter_preempt: unknown epoch %p", epoch);
	if (fk_edepth >= 32) {
		fk_fail("epoch nesting too deep");
		return;
	}
	fk_etrack[fk_edepth++] = et;
	fk_preempt();
}

void
_epoch_exit_preempt(epoch_t epoch __unused, epoch_tracker_t et EPOCH_FILE_LINE)
{
	if (fk_edepth == 0) {
		fk_fail("epoch_exit_preempt without enter");
		return;
	}
	if (fk_etrack[fk_edepth - 1] != et)
		fk_fail("epoch_exit_preempt: tracker %p is not the innermost "
		    "(%p)", et, fk_etrack[fk_edepth - 1]);
	if (--fk_edepth == 0)
		fk_eexits++;
	fk_preempt();
}

int
in_epoch(epoch_t epoch __unused)
{
	return (fk_edepth > 0);
}

int
in_epoch_verbose(epoch_t epoch, int dump_onfail __unused)
{
	return (in_epoch(epoch));
}

/*
 * A grace period: every other thread that is inside the epoch now leaves
 * its section; then the callbacks queued before it began run, oldest
 * first.
 */
static void
fk_epoch_run_calls(void)
{
	int n = fk_necall;

	fk_threads_epoch_wait();
	for (int i = 0; i < n && i < fk_necall; i++)
		fk_ecall[i].f(fk_ecall[i].ctx);
	n = MIN(n, fk_necall);
	for (int i = n; i < fk_necall; i++)
		fk_ecall[i - n] = fk_ecall[i];
	fk_necall -= n;
}

void
epoch_wait_preempt(epoch_t epoch __unused)
{
	fk_assert_sleepable("epoch_wait_preempt");
	fk_epoch_run_calls();
}

void
epoch_call(epoch_t epoch __unused, epoch_callback_t f, epoch_context_t ctx)
{
	if (fk_necall >= FK_MAXECALL) {
		fk_fail("too many pending epoch_call()s");
		return;
	}
	fk_ecall[fk_necall].f = f;
	fk_ecall[fk_necall].ctx = ctx;
	fk_necall++;
}

void
epoch_drain_callbacks(epoch_t epoch __unused)
{
	fk_assert_sleepable("epoch_drain_callbacks");
	fk_epoch_run_calls();
}

/* ------------------------------------------- virtual clock and callouts */

/* Starts well away from zero, like a machine that has been up a while. */
static sbintime_t fk_clock = 1000 * SBT_1S;

sbintime_t
fk_now(void)
{
	return (fk_clock);
}

void
binuptime(struct bintime *bt)
{
	bt->sec = fk_clock >> 32;
	bt->frac = (uint64_t)(fk_clock & 0xffffffffu) << 32;
}

void
getbinuptime(struct bintime *bt)
{
	binuptime(bt);
}

void
microuptime(struct timeval *tv)
{
	struct bintime bt;

	binuptime(&bt);
	bintime2timeval(&bt, tv);
}

void
getmicrouptime(struct timeval *tv)
{
	microuptime(tv);
}

void
nanouptime(struct timespec *ts)
{
	struct bintime bt;

	binuptime(&bt);
	bintime2timespec(&bt, ts);
}

volatile time_t time_uptime = 1000;
volatile time_t time_second = 1795373429;
volatile int ticks;
int hz = 1000;
int tick = 1000;
sbintime_t tick_sbt = SBT_1MS;

#define	FK_MAXCALLOUT	64
static struct callout *fk_callouts[FK_MAXCALLOUT];

static int
fk_callout_slot(struct callout *c)
{
	for (int i = 0; i < FK_MAXCALLOUT; i++)
		if (fk_callouts[i] == c)
			return (i);
	return (-1);
}

int
fk_callouts_pending(void)
{
	int n = 0;

	for (int i = 0; i < FK_MAXCALLOUT; i++)
		if (fk_callouts[i] != NULL)
			n++;
	return (n);
}

uint64_t
fk_next_callout_ns(void)
{
	sbintime_t best = 0;

	for (int i = 0; i < FK_MAXCALLOUT; i++)
		if (fk_callouts[i] != NULL &&
		    (best == 0 || fk_callouts[i]->c_time < best))
			best = fk_callouts[i]->c_time;
	return (best == 0 ? 0 : sbttons(best));
}

void
_callout_init_lock(struct callout *c, struct lock_object *lock, int flags)
{
	if (fk_callout_slot(c) >= 0)
		fk_fail("callout_init on a pending callout %p", c);
	memset(c, 0, sizeof(*c));
	c->c_lock = lock;
	c->c_iflags = flags & (CALLOUT_RETURNUNLOCKED | CALLOUT_SHAREDLOCK);
	c->c_cpu = 0;
}

void
callout_init(struct callout *c, int mpsafe __unused)
{
	_callout_init_lock(c, NULL, 0);
}

static void
fk_callout_assert_locked(struct callout *c, const char *what)
{
	if (c->c_lock != NULL && !fk_lock_is_held(c->c_lock))
		fk_fail("%s: callout lock \"%s\" not held", what,
		    c->c_lock->lo_name);
}

int
callout_reset_sbt_on(struct callout *c, sbintime_t sbt, sbintime_t prec,
    callout_func_t *func, void *arg, int cpu __unused, int flags)
{
	int slot, cancelled = 0;

	fk_callout_assert_locked(c, "callout_reset");
	slot = fk_callout_slot(c);
	if (slot >= 0)
		cancelled = 1;
	else {
		for (slot = 0; slot < FK_MAXCALLOUT; slot++)
			if (fk_callouts[slot] == NULL)
				break;
		if (slot == FK_MAXCALLOUT) {
			fk_fail("too many pending callouts");
			return (0);
		}
	}
	if ((flags & C_ABSOLUTE) == 0)
		sbt += fk_clock;
	if (sbt < fk_clock)
		sbt = fk_clock;
	c->c_time = sbt;
	c->c_precision = prec;
	c->c_func = func;
	c->c_arg = arg;
	c->c_flags |= CALLOUT_ACTIVE;
	c->c_iflags |= CALLOUT_PENDING;
	fk_callouts[slot] = c;
	return (cancelled);
}

#if __FreeBSD_version >= 1500000
int
_callout_stop_safe(struct callout *c, int flags)
#else
int
_callout_stop_safe(struct callout *c, int flags, callout_func_t *drain)
#endif
{
	int slot;

	if ((flags & CS_DRAIN) == 0)
		fk_callout_assert_locked(c, "callout_stop");
	else
		fk_assert_sleepable("callout_drain");
	c->c_flags &= ~CALLOUT_ACTIVE;
	slot = fk_callout_slot(c);
	if (slot < 0)
		return (0);
	fk_callouts[slot] = NULL;
	c->c_iflags &= ~CALLOUT_PENDING;
	return (1);
}

static void
fk_lock_for_callout(struct lock_object *lo, bool lock)
{
	struct lock_class *cl = LOCK_CLASS(lo);

	if (cl == &lock_class_mtx_sleep || cl == &lock_class_mtx_spin) {
		struct mtx *m = __containerof(lo, struct mtx, lock_object);

		if (lock)
			__mtx_lock_flags(&m->mtx_lock, 0, "callout", 0);
		else
			__mtx_unlock_flags(&m->mtx_lock, 0, "callout", 0);
	} else if (cl == &lock_class_rw)
		fk_fail("callout with an rwlock: not faked");
	else
		fk_fail("callout with an unsupported lock class");
}

/* Fires the earliest due callout; false when none is due by `until'. */
static bool
fk_callout_fire_one(sbintime_t until)
{
	struct callout *c = NULL;
	struct vnet *sv;
	int slot = -1;

	for (int i = 0; i < FK_MAXCALLOUT; i++)
		if (fk_callouts[i] != NULL && fk_callouts[i]->c_time <= until &&
		    (c == NULL || fk_callouts[i]->c_time < c->c_time)) {
			c = fk_callouts[i];
			slot = i;
		}
	if (c == NULL)
		return (false);
	if (c->c_lock != NULL) {
		/*
		 * softclock: the lock first; a callout stopped or re-armed
		 * meanwhile (by its lock's holder) is not run.
		 */
		sbintime_t t = c->c_time;

		fk_lock_for_callout(c->c_lock, true);
		if (fk_callouts[slot] != c || c->c_time != t) {
			fk_lock_for_callout(c->c_lock, false);
			return (true);
		}
	}
	if (c->c_time > fk_clock)
		fk_clock = c->c_time;
	fk_callouts[slot] = NULL;
	/* softclock_call_cc: pending cleared, active kept, then the call. */
	c->c_iflags &= ~CALLOUT_PENDING;
	if (fk_nheld != (c->c_lock != NULL ? 1 : 0))
		fk_fail("callout fired with foreign locks held");
	/* softclock runs in no vnet. */
	sv = curthread->td_vnet;
	curthread->td_vnet = NULL;
	c->c_func(c->c_arg);
	curthread->td_vnet = sv;
	if (c->c_lock != NULL && (c->c_iflags & CALLOUT_RETURNUNLOCKED) == 0)
		fk_lock_for_callout(c->c_lock, false);
	if (fk_nheld != 0)
		fk_fail("callout %p returned with %d lock(s) held", c, fk_nheld);
	if (fk_edepth != 0)
		fk_fail("callout returned inside an epoch section");
	return (true);
}

void
fk_advance_ns(uint64_t ns)
{
	sbintime_t until = fk_clock + nstosbt(ns);

	if (fk_nheld != 0 || fk_edepth != 0)
		fk_fail("time advanced with locks held or inside an epoch");
	while (fk_callout_fire_one(until))
		;
	/* Grace periods pass with time: deferred epoch_call()s run. */
	fk_epoch_run_calls();
	fk_clock = until;
	time_uptime = fk_clock >> 32;
	ticks = (int)(sbttons(fk_clock) / 1000000);
}

/* -------------------------------------------------- sysinit and modules */

SET_DECLARE(sysinit_set, struct sysinit);
SET_DECLARE(sysuninit_set, struct sysinit);
SET_DECLARE(modmetadata_set, struct mod_metadata);

/*
 * Loaded modules: name, data, and the error of their MOD_LOAD.  The
 * kernel's own "kernel" module is absent, which is fine for one file.
 */
#define	FK_MAXMOD	8
static struct {
	const moduledata_t	*data;
	int			 load_error;
} fk_mods[FK_MAXMOD];
static int fk_nmods;
static bool fk_file_loaded;

int
fk_kld_loaded(void)
{
	return (fk_file_loaded);
}

void
module_register_init(const void *arg)
{
	const moduledata_t *data = arg;
	int error;

	if (fk_nmods >= FK_MAXMOD) {
		fk_fail("too many modules");
		return;
	}
	for (int i = 0; i < fk_nmods; i++)
		if (strcmp(fk_mods[i].data->name, data->name) == 0) {
			fk_fail("module %s registered twice", data->name);
			return;
		}
	fk_mods[fk_nmods].data = data;
	error = data->evhand((module_t)&fk_mods[fk_nmods], MOD_LOAD,
	    data->priv);
	fk_mods[fk_nmods].load_error = error;
	if (error != 0) {
		/* kern_module.c: a failed MOD_LOAD is followed by MOD_UNLOAD. */
		(void)data->evhand((module_t)&fk_mods[fk_nmods], MOD_UNLOAD,
		    data->priv);
		printf("module_register_init: MOD_LOAD (%s, %p, %p) error "
		    "%d\n", data->name, (void *)data->evhand, data->priv,
		    error);
	}
	fk_nmods++;
}

static int
fk_sysinit_cmp(const struct sysinit *a, const struct sysinit *b)
{
	if (a->subsystem != b->subsystem)
		return (a->subsystem < b->subsystem ? -1 : 1);
	if (a->order != b->order)
		return (a->order < b->order ? -1 : 1);
	return (0);
}

/* Insertion sort of a copy of the set, stable as the kernel's. */
static int
fk_sorted(struct sysinit **start, struct sysinit **stop,
    struct sysinit **out, int max)
{
	int n = 0;

	for (struct sysinit **sipp = start; sipp < stop && n < max; sipp++) {
		int j = n++;

		while (j > 0 && fk_sysinit_cmp(out[j - 1], *sipp) > 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = *sipp;
	}
	return (n);
}

void	fk_sysctl_register_set(void);
void	fk_sysctl_unregister_set(void);

static void
fk_run_sysuninits(void)
{
	struct sysinit *si[256];
	int n;

	if (SET_BEGIN(sysuninit_set) == NULL)
		return;
	n = fk_sorted(SET_BEGIN(sysuninit_set), SET_LIMIT(sysuninit_set),
	    si, 256);
	/* linker_file_sysuninit: reverse order. */
	for (int i = n - 1; i >= 0; i--)
		si[i]->func(si[i]->udata);
}

/*
 * kldload: the linker checks that no module of the same name exists,
 * registers the file's sysctls (disabled until MOD_LOAD succeeded), runs
 * the SYSINITs in order; a module whose MOD_LOAD failed makes the whole
 * load fail and the file is unloaded again.
 */
int
fk_kld_load(void)
{
	struct sysinit *si[256];
	int n, error = 0;

	if (fk_file_loaded)
		return (EEXIST);
	fk_nmods = 0;
	/* linker_load_file: sysctls (disabled) before the SYSINITs. */
	fk_sysctl_register_set();
	if (SET_BEGIN(sysinit_set) != NULL) {
		n = fk_sorted(SET_BEGIN(sysinit_set), SET_LIMIT(sysinit_set),
		    si, 256);
		for (int i = 0; i < n; i++)
			si[i]->func(si[i]->udata);
	}
	for (int i = 0; i < fk_nmods; i++)
		if (fk_mods[i].load_error != 0)
			error = fk_mods[i].load_error;
	if (fk_nmods == 0) {
		fk_fail("kldload: the file declares no module");
		error = ENOEXEC;
	}
	if (error != 0) {
		fk_sysctl_unregister_set();
		fk_run_sysuninits();
		fk_nmods = 0;
		return (error);
	}
	fk_file_loaded = true;
	return (0);
}

/*
 * kldunload: MOD_QUIESCE and MOD_UNLOAD for each module (any error keeps
 * the file loaded), then the sysctls go and the SYSUNINITs run.
 */
int
fk_kld_unload(void)
{
	int error;

	if (!fk_file_loaded)
		return (ENOENT);
	for (int i = 0; i < fk_nmods; i++) {
		error = fk_mods[i].data->evhand((module_t)&fk_mods[i],
		    MOD_QUIESCE, fk_mods[i].data->priv);
		if (error != 0)
			return (error);
	}
	for (int i = fk_nmods - 1; i >= 0; i--) {
		error = fk_mods[i].data->evhand((module_t)&fk_mods[i],
		    MOD_UNLOAD, fk_mods[i].data->priv);
		if (error != 0)
			return (error);
	}
	if (fk_necall != 0) {
		fk_fail("kldunload: %d epoch_call() callback(s) still pending "
		    "would run in unloaded code", fk_necall);
		fk_epoch_run_calls();
	}
	fk_sysctl_unregister_set();
	fk_run_sysuninits();
	fk_nmods = 0;
	fk_file_loaded = false;
	if (fk_nheld != 0 || fk_edepth != 0)
		fk_fail("kldunload left %d lock(s) held, epoch depth %d",
		    fk_nheld, fk_edepth);
	return (0);
}

/* ------------------------------------------------- libkern strings */

size_t
strlcpy(char *dst, const char *src, size_t siz)
{
	size_t n = strlen(src);

	if (siz > 0) {
		size_t c = n < siz - 1 ? n : siz - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return (n);
}

size_t
strlcat(char *dst, const char *src, size_t siz)
{
	size_t d = strnlen(dst, siz);

	if (d == siz)
		return (siz + strlen(src));
	return (d + strlcpy(dst + d, src, siz - d));
}

char *
strdup(const char *s, struct malloc_type *type)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n, type, M_WAITOK);

	memcpy(c, s, n);
	return (c);
}

char *
strdup_flags(const char *s, struct malloc_type *type, int flags)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n, type, flags);

	if (c != NULL)
		memcpy(c, s, n);
	return (c);
}

/*
 * pause(9): other threads run (a kernel thread would sleep); the timeout
 * is not waited for.
 */
int
pause_sbt(const char *wmesg, sbintime_t sbt __unused, sbintime_t pr __unused,
    int flags __unused)
{
	fk_assert_sleepable(wmesg);
	fk_preempt();
	return (EWOULDBLOCK);
}

/* kenv(9): one variable a scenario may set (fk_kenv_int). */
const char *fk_kenv_name;
int fk_kenv_val;

int
getenv_int(const char *name, int *data)
{
	if (fk_kenv_name == NULL || strcmp(name, fk_kenv_name) != 0)
		return (0);
	*data = fk_kenv_val;
	return (1);
}

/* ------------------------------------------------------------ VNETs */

/*
 * Several vnets, as net/vnet.c keeps them.  The host linker gives the
 * set_vnet section's bounds; vnet0 keeps the zero data base (VNET(x) is
 * the section itself), every other vnet gets a copy of the section as it
 * was at fk_kern_init() (vnet_alloc: base = copy - __start_set_vnet), so
 * a module's VNET_DEFINE starts from its initial value in each.
 * Constructors and destructors are kept sorted as vnet_register_sysinit()
 * and vnet_register_sysuninit() do; a new vnet runs every constructor, a
 * destroyed one every destructor (vnet_sysinit, vnet_sysuninit).
 */
static char *fk_vnet_template;
TAILQ_HEAD(fk_vsi_list, vnet_sysinit);
static struct fk_vsi_list fk_vnet_ctors =
    TAILQ_HEAD_INITIALIZER(fk_vnet_ctors);
static struct fk_vsi_list fk_vnet_dtors =
    TAILQ_HEAD_INITIALIZER(fk_vnet_dtors);
static int fk_nvnets = 1;

static size_t
fk_vnet_bytes(void)
{
	return ((size_t)(VNET_STOP - VNET_START));
}

void
fk_vnet_snapshot(void)
{
	fk_vnet_template = fkh_calloc(fk_vnet_bytes() + 1);
	memcpy(fk_vnet_template, (void *)VNET_START, fk_vnet_bytes());
}

int
fk_vnet_count(void)
{
	return (fk_nvnets);
}

static void
fk_vnet_insert(struct fk_vsi_list *list, struct vnet_sysinit *vs,
    bool reverse)
{
	struct vnet_sysinit *vs2;

	TAILQ_FOREACH(vs2, list, link) {
		int c = vs2->subsystem != vs->subsystem ?
		    (vs2->subsystem > vs->subsystem ? 1 : -1) :
		    (vs2->order > vs->order ? 1 : 0);

		if (reverse ? c < 0 : c > 0)
			break;
	}
	if (vs2 != NULL)
		TAILQ_INSERT_BEFORE(vs2, vs, link);
	else
		TAILQ_INSERT_TAIL(list, vs, link);
}

/* vnet_alloc(): a copy of the data, the constructors run in it, listed. */
struct vnet *
fk_vnet_create(void)
{
	struct vnet_sysinit *vs;
	struct vnet *vnet;

	fk_assert_sleepable("vnet_alloc");
	/* struct vnet is cache-line aligned. */
	vnet = fkh_aligned(CACHE_LINE_SIZE, roundup2(sizeof(*vnet),
	    CACHE_LINE_SIZE));
	memset(vnet, 0, sizeof(*vnet));
	vnet->vnet_magic_n = VNET_MAGIC_N;
	vnet->vnet_data_mem = fkh_calloc(fk_vnet_bytes() + 1);
	memcpy(vnet->vnet_data_mem, fk_vnet_template, fk_vnet_bytes());
	vnet->vnet_data_base = (uintptr_t)vnet->vnet_data_mem - VNET_START;
	CURVNET_SET_QUIET(vnet);
	fk_vnet_net_init();		/* vnet_if_init: V_ifnet */
	TAILQ_FOREACH(vs, &fk_vnet_ctors, link)
		vs->func(vs->arg);
	CURVNET_RESTORE();
	sx_xlock(&vnet_sxlock);
	LIST_INSERT_HEAD(&vnet_head, vnet, vnet_le);
	sx_xunlock(&vnet_sxlock);
	fk_nvnets++;
	return (vnet);
}

/*
 * vnet_destroy(), first part: unlisted, shut down, every destructor run
 * in it under ifnet_detach_sxlock (carp's at SI_SUB_PROTO_IFATTACHDOMAIN
 * comes before the cloners' of its interfaces at SI_SUB_PSEUDO, so they
 * are still there).
 */
void
fk_vnet_shutdown(struct vnet *vnet)
{
	struct vnet_sysinit *vs;

	fk_assert_sleepable("vnet_destroy");
	if (vnet == vnet0 || vnet->vnet_magic_n != VNET_MAGIC_N) {
		fk_fail("vnet_destroy: %p is not a live vnet jail", vnet);
		return;
	}
	sx_xlock(&vnet_sxlock);
	LIST_REMOVE(vnet, vnet_le);
	sx_xunlock(&vnet_sxlock);
	vnet->vnet_shutdown = true;
	CURVNET_SET_QUIET(vnet);
	sx_xlock(&ifnet_detach_sxlock);
	TAILQ_FOREACH(vs, &fk_vnet_dtors, link)
		vs->func(vs->arg);
	sx_xunlock(&ifnet_detach_sxlock);
	CURVNET_RESTORE();
}

/*
 * vnet_destroy(), the rest: the vnet's own interfaces go (their cloners'
 * destructors), then its data.
 */
void
fk_vnet_free(struct vnet *vnet)
{
	CURVNET_SET_QUIET(vnet);
	fk_vnet_net_fini();
	CURVNET_RESTORE();
	fkh_free(vnet->vnet_data_mem);
	vnet->vnet_magic_n = 0xdeadbeef;
	fkh_free(vnet);
	fk_nvnets--;
}

void
fk_vnet_destroy(struct vnet *vnet)
{
	fk_vnet_shutdown(vnet);
	fk_vnet_free(vnet);
}

/* Added to the constructors and run in every existing vnet. */
void
vnet_register_sysinit(void *arg)
{
	struct vnet_sysinit *vs = arg;
	struct vnet *vnet;

	fk_vnet_insert(&fk_vnet_ctors, vs, false);
	sx_slock(&vnet_sxlock);
	VNET_FOREACH(vnet) {
		CURVNET_SET_QUIET(vnet);
		vs->func(vs->arg);
		CURVNET_RESTORE();
	}
	sx_sunlock(&vnet_sxlock);
}

void
vnet_deregister_sysinit(void *arg)
{
	struct vnet_sysinit *vs = arg;

	TAILQ_REMOVE(&fk_vnet_ctors, vs, link);
}

void
vnet_register_sysuninit(void *arg)
{
	struct vnet_sysinit *vs = arg;

	fk_vnet_insert(&fk_vnet_dtors, vs, true);
}

/* Run in every existing vnet, then removed from the destructors. */
void
vnet_deregister_sysuninit(void *arg)
{
	struct vnet_sysinit *vs = arg;
	struct vnet *vnet;

	sx_slock(&vnet_sxlock);
	VNET_FOREACH(vnet) {
		CURVNET_SET_QUIET(vnet);
		vs->func(vs->arg);
		CURVNET_RESTORE();
	}
	sx_sunlock(&vnet_sxlock);
	TAILQ_REMOVE(&fk_vnet_dtors, vs, link);
}
