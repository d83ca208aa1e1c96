/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: scenarios that drive the real carp_rs shim (every kmod C file) and
 * engine through the fake kernel, the way the FreeBSD stack and an admin
 * would: kldload/kldunload, protocol input of captured adverts, sysctl(8),
 * and (as the shim grows) ioctl, netlink, cloning and the hooks.
 *
 * Output, one line per scenario: "ok NAME", "FAIL NAME: why" or
 * "skip NAME: why" (a shim feature not present yet); "PKT ..." lines carry
 * packets for run.py's independent checker.  Exit status 1 on any failure.
 */
#include "fk.h"
#include "fk_vectors.h"
#include "fk_stack.h"

int	fk_hooks_set(void);
void	fk_sysctl_init(void);

static const char *cur;		/* scenario being run */
static int cur_fail, cur_skip;
static char cur_skip_why[256];

#define	CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		cur_fail++;						\
		fk_out("  check failed (%s:%d): %s: ", __FILE__, __LINE__, #cond); \
		fk_out(__VA_ARGS__);					\
		fk_out("\n");						\
	}								\
} while (0)

#define	SKIP(...) do {							\
	snprintf(cur_skip_why, sizeof(cur_skip_why), __VA_ARGS__);	\
	cur_skip = 1;							\
	return;								\
} while (0)

static const uint8_t mac_em0[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static long base_malloc;

/* struct carpstats as 16 counters, read through net.inet.carp.stats. */
enum { ST_IPACKETS, ST_IPACKETS6, ST_BADIF, ST_BADTTL, ST_HDROPS, ST_BADSUM,
    ST_BADVER, ST_BADLEN, ST_BADAUTH, ST_BADVHID, ST_BADADDRS, ST_OPACKETS,
    ST_OPACKETS6, ST_ONOMEM, ST_OSTATES, ST_PREEMPT, ST_N };
static const char *st_names[ST_N] = { "ipackets", "ipackets6", "badif",
    "badttl", "hdrops", "badsum", "badver", "badlen", "badauth", "badvhid",
    "badaddrs", "opackets", "opackets6", "onomem", "ostates", "preempt" };

static int
read_stats(uint64_t st[ST_N])
{
	size_t len = ST_N * sizeof(uint64_t);
	int error;

	memset(st, 0xff, ST_N * sizeof(uint64_t));
	error = fk_sysctl("net.inet.carp.stats", st, &len, NULL, 0);
	CHECK(error == 0, "reading net.inet.carp.stats: error %d", error);
	CHECK(len == sizeof(struct carpstats), "stats length %zu", len);
	return (error);
}

static void
expect_stats(const uint64_t st[ST_N], const uint64_t want[ST_N])
{
	for (int i = 0; i < ST_N; i++)
		CHECK(st[i] == want[i], "carps_%s is %ju, expected %ju",
		    st_names[i], (uintmax_t)st[i], (uintmax_t)want[i]);
}

/* Everything a loaded module must have registered. */
static void
expect_loaded(void)
{
	CHECK(fk_kld_loaded(), "module not loaded");
	CHECK(fk_ip_proto[IPPROTO_CARP] != NULL, "no IPv4 protocol 112 input");
	CHECK(fk_ip6_proto[IPPROTO_CARP] != NULL, "no IPv6 protocol 112 input");
	CHECK(fk_sysctl_find("net.inet.carp") != NULL, "no net.inet.carp");
	CHECK(fk_sysctl_find("net.inet.carp.stats") != NULL,
	    "no net.inet.carp.stats");
}

/* After unload (or a failed load) nothing may be left behind. */
static void
expect_clean(void)
{
	CHECK(!fk_kld_loaded(), "module still loaded");
	CHECK(fk_ip_proto[IPPROTO_CARP] == NULL, "IPv4 protocol 112 left");
	CHECK(fk_ip6_proto[IPPROTO_CARP] == NULL, "IPv6 protocol 112 left");
	CHECK(fk_sysctl_count() == 0, "%d sysctl oid(s) left",
	    fk_sysctl_count());
	CHECK(fk_hooks_set() == 0, "%d carp hook pointer(s) left set",
	    fk_hooks_set());
	CHECK(fk_callouts_pending() == 0, "%d callout(s) left pending",
	    fk_callouts_pending());
	CHECK(fk_malloc_outstanding() == base_malloc,
	    "%ld malloc(9) block(s) leaked", fk_malloc_outstanding() - base_malloc);
	CHECK(fk_mbufs_outstanding() == 0, "%ld mbuf(s)/cluster(s) leaked",
	    fk_mbufs_outstanding());
	CHECK(fk_locks_held() == 0, "%d lock(s) held", fk_locks_held());
	CHECK(fk_epoch_depth() == 0, "inside an epoch");
	if (fk_malloc_outstanding() != base_malloc)
		fk_malloc_report();
}

static int
load(void)
{
	int error = fk_kld_load();

	CHECK(error == 0, "kldload: error %d", error);
	if (error == 0)
		expect_loaded();
	return (error);
}

static void
unload(void)
{
	int error = fk_kld_unload();

	CHECK(error == 0, "kldunload: error %d", error);
	expect_clean();
}

/* ------------------------------------------------------------ scenarios */

SET_DECLARE(modmetadata_set, struct mod_metadata);

static void
s_load_unload(void)
{
	struct mod_metadata **mdp;
	bool found = false;

	/* The file declares module "carp" (so the kernel refuses a 2nd carp). */
	SET_FOREACH(mdp, modmetadata_set)
		if ((*mdp)->md_type == MDT_MODULE &&
		    strcmp((*mdp)->md_cval, "carp") == 0)
			found = true;
	CHECK(found, "no MDT_MODULE \"carp\" in set_modmetadata_set");
	if (load() != 0)
		return;
	CHECK(fk_malloc_outstanding() > base_malloc,
	    "a loaded module allocated nothing?");
	CHECK(fk_locks_held() == 0, "MOD_LOAD returned holding locks");
	unload();
	CHECK(fk_kld_unload() == ENOENT, "second unload accepted");
}

static void
s_load_unload_1000(void)
{
	int i;

	for (i = 0; i < 1000 && cur_fail == 0; i++) {
		if (load() != 0)
			break;
		unload();
	}
	CHECK(i == 1000, "stopped at cycle %d", i);
}

static int
dummy_input(struct mbuf **mp, int *offp __unused, int proto __unused)
{
	m_freem(*mp);
	*mp = NULL;
	return (IPPROTO_DONE);
}

/* Another owner of protocol 112 (stock carp.ko): load fails, no residue. */
static void
s_load_exclusive(void)
{
	int error;

	for (int v6 = 0; v6 <= 1; v6++) {
		if (v6)
			ip6proto_register(IPPROTO_CARP, dummy_input, NULL);
		else
			ipproto_register(IPPROTO_CARP, dummy_input, NULL);
		error = fk_kld_load();
		CHECK(error == EEXIST, "load next to another IPv%d carp: %d",
		    v6 ? 6 : 4, error);
		if (v6) {
			CHECK(fk_ip_proto[IPPROTO_CARP] == NULL,
			    "IPv4 registration left after a failed load");
			ip6proto_unregister(IPPROTO_CARP);
		} else {
			CHECK(fk_ip6_proto[IPPROTO_CARP] == NULL,
			    "IPv6 registration left after a failed load");
			ipproto_unregister(IPPROTO_CARP);
		}
		expect_clean();
		CHECK(fk_lines_grep(&fk_console, "registering with") != 0,
		    "no console message for the refused registration");
		fk_lines_clear(&fk_console);
	}
}

/* Every M_NOWAIT allocation of MOD_LOAD failing in turn. */
static void
s_load_enomem(void)
{
	int n, error, failed = 0;

	for (n = 1; n < 64; n++) {
		fk_malloc_fail_nth(n);
		error = fk_kld_load();
		fk_malloc_fail_nth(0);
		if (error == 0) {
			unload();
			break;
		}
		failed++;
		CHECK(error == ENOMEM, "allocation %d failing gave %d", n, error);
		expect_clean();
	}
	CHECK(n < 64, "load never succeeded");
	fk_lines_clear(&fk_console);
	fk_out("  %d failing allocation point(s) unwound cleanly\n", failed);
}

static void
inject_all(struct ifnet *ifp, int split, int *n)
{
	for (int i = 0; i < FK_NVECTORS; i++) {
		const struct fk_vector *v = &fk_vectors[i];
		int rv = fk_inject4(ifp, v->src, v->dst, v->ttl, v->payload,
		    v->len, split);

		CHECK(rv == IPPROTO_DONE, "vector %d: input returned %d", i, rv);
		(*n)++;
	}
}

/*
 * Captured adverts, no vhid configured: each is received, counted, and
 * dropped as an unknown vhid (FreeBSD checks vhid before TTL and HMAC);
 * nothing is sent and no timer is armed.  Once in one mbuf, once split
 * across two (the shim's copy path).
 */
static void
s_input_unconfigured(void)
{
	struct ifnet *ifp;
	uint64_t st[ST_N], want[ST_N];
	int n = 0;

	if (load() != 0)
		return;
	ifp = fk_if_create("em0", 1, mac_em0);
	fk_out_pkts_clear();
	inject_all(ifp, 0, &n);
	inject_all(ifp, sizeof(struct ip) + 10, &n);
	read_stats(st);
	memset(want, 0, sizeof(want));
	want[ST_IPACKETS] = n;
	want[ST_BADVHID] = n;
	expect_stats(st, want);
	CHECK(fk_nout_pkts == 0, "%d packet(s) sent", fk_nout_pkts);
	CHECK(fk_callouts_pending() == 0, "callout armed with no vhid");
	CHECK(fk_mbufs_outstanding() == 0, "input leaked %ld mbuf(s)",
	    fk_mbufs_outstanding());
	unload();
	fk_if_destroy(ifp);
}

/* Damaged copies of a good advert land in the counter FreeBSD uses. */
static void
s_input_malformed(void)
{
	const struct fk_vector *v = &fk_vectors[0];
	struct ifnet *ifp;
	uint64_t st[ST_N], want[ST_N];
	uint8_t p[64];

	if (load() != 0)
		return;
	ifp = fk_if_create("em0", 1, mac_em0);
	memset(want, 0, sizeof(want));

	memcpy(p, v->payload, v->len);
	p[20] ^= 0x01;				/* digest byte: checksum breaks */
	fk_inject4(ifp, v->src, v->dst, 255, p, v->len, 0);
	want[ST_IPACKETS]++, want[ST_BADSUM]++;

	memcpy(p, v->payload, v->len);
	p[0] = 0x41;				/* version 4 */
	fk_inject4(ifp, v->src, v->dst, 255, p, v->len, 0);
	want[ST_IPACKETS]++, want[ST_BADVER]++;

	fk_inject4(ifp, v->src, v->dst, 255, v->payload, 7, 0); /* < 8 bytes */
	want[ST_IPACKETS]++, want[ST_BADLEN]++;

	fk_inject4(ifp, v->src, v->dst, 255, v->payload, 0, 0);
	want[ST_IPACKETS]++, want[ST_BADLEN]++;

	/* TTL is only checked against a configured vhid. */
	fk_inject4(ifp, v->src, v->dst, 254, v->payload, v->len, 0);
	want[ST_IPACKETS]++, want[ST_BADVHID]++;

	/* IPv6 on an interface without vhids: badif. */
	fk_inject6(ifp, "fe80::1", "ff02::12", 255, v->payload, v->len, 0);
	want[ST_IPACKETS6]++, want[ST_BADIF]++;

	read_stats(st);
	expect_stats(st, want);
	CHECK(fk_nout_pkts == 0, "%d packet(s) sent", fk_nout_pkts);
	unload();
	fk_if_destroy(ifp);
}

/* netstat -z: any write zeroes the counters; short reads get ENOMEM. */
static void
s_stats_sysctl(void)
{
	struct ifnet *ifp;
	uint64_t st[ST_N], want[ST_N], zero = 0;
	size_t len;
	int n = 0, error;

	if (load() != 0)
		return;
	ifp = fk_if_create("em0", 1, mac_em0);
	inject_all(ifp, 0, &n);
	read_stats(st);
	CHECK(st[ST_IPACKETS] == (uint64_t)n, "ipackets %ju", (uintmax_t)st[0]);
	len = 8;
	error = fk_sysctl("net.inet.carp.stats", st, &len, NULL, 0);
	CHECK(error == ENOMEM, "8-byte read of stats: %d", error);
	len = 0;
	error = fk_sysctl("net.inet.carp.stats", NULL, &len, NULL, 0);
	CHECK(error == 0 && len == sizeof(struct carpstats),
	    "size probe: error %d len %zu", error, len);
	error = fk_sysctl("net.inet.carp.stats", NULL, NULL, &zero,
	    sizeof(zero));
	CHECK(error == 0, "reset: %d", error);
	read_stats(st);
	memset(want, 0, sizeof(want));
	expect_stats(st, want);
	unload();
	fk_if_destroy(ifp);
}

/*
 * net.inet.carp.* knobs of §6: defaults, demotion writes add, dscp range.
 * Runs for whichever of them the shim registers so far.
 */
static void
s_sysctl_knobs(void)
{
	static const struct { const char *name; int def; } knobs[] = {
		{ "net.inet.carp.allow", 1 },
		{ "net.inet.carp.preempt", 0 },
		{ "net.inet.carp.log", 1 },
		{ "net.inet.carp.demotion", 0 },
		{ "net.inet.carp.senderr_demotion_factor", 240 },
		{ "net.inet.carp.ifdown_demotion_factor", 240 },
		{ "net.inet.carp.dscp", 56 },
	};
	int present = 0, v, error;
	size_t len;

	if (load() != 0)
		return;
	for (size_t i = 0; i < nitems(knobs); i++) {
		if (fk_sysctl_find(knobs[i].name) == NULL)
			continue;
		present++;
		len = sizeof(v);
		error = fk_sysctl(knobs[i].name, &v, &len, NULL, 0);
		CHECK(error == 0 && len == sizeof(int) && v == knobs[i].def,
		    "%s: error %d len %zu value %d, default %d", knobs[i].name,
		    error, len, v, knobs[i].def);
	}
	if (fk_sysctl_find("net.inet.carp.demotion") != NULL) {
		int add = 10;

		fk_sysctl("net.inet.carp.demotion", NULL, NULL, &add, sizeof(add));
		fk_sysctl("net.inet.carp.demotion", NULL, NULL, &add, sizeof(add));
		len = sizeof(v);
		fk_sysctl("net.inet.carp.demotion", &v, &len, NULL, 0);
		CHECK(v == 20, "demotion after two writes of 10: %d", v);
		add = -20;
		fk_sysctl("net.inet.carp.demotion", NULL, NULL, &add, sizeof(add));
		fk_sysctl("net.inet.carp.demotion", &v, &len, NULL, 0);
		CHECK(v == 0, "demotion after -20: %d", v);
	}
	if (fk_sysctl_find("net.inet.carp.dscp") != NULL) {
		int bad[] = { -1, 64, 1000 }, good = 46;

		for (size_t i = 0; i < nitems(bad); i++) {
			error = fk_sysctl("net.inet.carp.dscp", NULL, NULL,
			    &bad[i], sizeof(int));
			CHECK(error == EINVAL, "dscp %d accepted (%d)", bad[i],
			    error);
		}
		error = fk_sysctl("net.inet.carp.dscp", NULL, NULL, &good,
		    sizeof(good));
		len = sizeof(v);
		fk_sysctl("net.inet.carp.dscp", &v, &len, NULL, 0);
		CHECK(error == 0 && v == 46, "dscp 46: error %d, reads %d",
		    error, v);
	}
	unload();
	if (present == 0)
		SKIP("the shim registers none of allow/preempt/log/demotion/"
		    "*_demotion_factor/dscp yet");
	fk_out("  %d of %zu knobs present\n", present, nitems(knobs));
}

/* The hooks of §4.2 are installed at load and cleared at unload. */
static void
s_hooks_lifecycle(void)
{
	int n;

	if (load() != 0)
		return;
	n = fk_hooks_set();
	unload();
	if (n == 0)
		SKIP("the shim sets no carp hook pointer yet");
	CHECK(n == 12, "only %d of 12 hook pointers set at load", n);
}

/* ------------------------------------------------------------- main */

static const struct {
	const char	*name;
	void		(*fn)(void);
} scenarios[] = {
	{ "load_unload", s_load_unload },
	{ "load_unload_x1000", s_load_unload_1000 },
	{ "load_exclusive", s_load_exclusive },
	{ "load_enomem", s_load_enomem },
	{ "input_unconfigured", s_input_unconfigured },
	{ "input_malformed", s_input_malformed },
	{ "stats_sysctl", s_stats_sysctl },
	{ "sysctl_knobs", s_sysctl_knobs },
	{ "hooks_lifecycle", s_hooks_lifecycle },
};

int	main(int, char **);

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;

	fk_kern_init();
	fk_sysctl_init();
	fk_stack_init();
	base_malloc = fk_malloc_outstanding();
	fk_verbose = fkh_getenv("FK_VERBOSE") != NULL;
	for (size_t i = 0; i < nitems(scenarios); i++) {
		if (argc > 1 && strcmp(argv[1], scenarios[i].name) != 0)
			continue;
		cur = scenarios[i].name;
		cur_fail = 0;
		cur_skip = 0;
		fk_failures = 0;
		scenarios[i].fn();
		cur_fail += fk_failures;
		if (fk_kld_loaded()) {
			/* A failed check left it loaded: clean up for the next. */
			(void)fk_kld_unload();
		}
		fk_out_pkts_clear();
		fk_lines_clear(&fk_console);
		fk_lines_clear(&fk_devctl);
		if (cur_fail != 0) {
			fk_out("FAIL %s: %d check(s) failed\n", cur, cur_fail);
			failed++;
		} else if (cur_skip) {
			fk_out("skip %s: %s\n", cur, cur_skip_why);
			skipped++;
		} else {
			fk_out("ok %s\n", cur);
			passed++;
		}
	}
	fk_out("fakekern: %d passed, %d failed, %d skipped\n", passed, failed,
	    skipped);
	return (failed != 0);
}
