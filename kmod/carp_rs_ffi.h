/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The C ABI of the carp_rs engine (Rust, kmod/src/ffi/), as called by the
 * kernel shim.  It declares only carp_rs's own types: kernel structures
 * never cross this boundary.  Keep in sync with kmod/src/ffi/: bindgen
 * reads the structs below and sys-bindings/tests/ffi_layout.rs checks
 * every field's offset and size against the Rust ones.
 *
 * No entry point locks: the caller serializes every call on one engine.
 * Every entry point accepts NULL pointers and reports them as errors.
 */

#ifndef _CARP_RS_FFI_H_
#define	_CARP_RS_FFI_H_

/* Address family tags: the address length, not the OS's AF_* value. */
#define	CARP_RS_AF_INET		4
#define	CARP_RS_AF_INET6	6

#define	CARP_RS_OK		0	/* accepted; or a packet was produced */
#define	CARP_RS_DROPPED		1	/* dropped and counted; or nothing to send */
#define	CARP_RS_EINVAL		(-1)	/* NULL pointer, bad family, short buffer */
#define	CARP_RS_ENOMEM		(-2)

#define	CARP_RS_NSTATS		16	/* uint64_t counters of struct carpstats */
#define	CARP_RS_TXBUF_MIN	1500	/* smallest transmit buffer */

struct carp_rs_engine;

/* Metadata of one outgoing packet; the IP packet is in the caller's buffer. */
struct carp_rs_tx {
	uint32_t	ifindex;	/* parent interface to send on */
	uint32_t	len;		/* IP packet bytes written to the buffer */
	uint8_t		vhid;
	uint8_t		af;		/* CARP_RS_AF_INET or CARP_RS_AF_INET6 */
	uint8_t		ttl;
	uint8_t		tos;		/* DSCP << 2 */
	uint8_t		has_src_mac;	/* src_mac holds the virtual MAC */
	uint8_t		src_mac[6];
	uint8_t		hlen;		/* IP header bytes at its start */
	uint8_t		src[16];	/* IPv4 uses the first 4 bytes */
	uint8_t		dst[16];
};

/* NULL when memory is short. */
struct carp_rs_engine *carp_rs_engine_new(void);
void	carp_rs_engine_free(struct carp_rs_engine *);

/*
 * One received packet: the bytes after the IP header.  src and dst hold an
 * address of family af.  Returns CARP_RS_OK, CARP_RS_DROPPED or
 * CARP_RS_EINVAL.
 */
int	carp_rs_engine_input(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, uint8_t af, const uint8_t *src,
	    const uint8_t *dst, uint8_t ttl, const uint8_t *payload,
	    size_t len);

/* Runs due timers; returns the next deadline in ns (0: none). */
uint64_t carp_rs_engine_timeout(struct carp_rs_engine *, uint64_t now_ns);
uint64_t carp_rs_engine_deadline(const struct carp_rs_engine *);

/* Copies up to n counters in struct carpstats order; returns how many. */
size_t	carp_rs_engine_stats(const struct carp_rs_engine *, uint64_t *out,
	    size_t n);
void	carp_rs_engine_stats_reset(struct carp_rs_engine *);

/*
 * An IPv6 advert received on a parent without if_carp: counted as
 * ipackets6 and (net.inet.carp.allow on) badif, as carp6_input does.
 * Returns CARP_RS_DROPPED.
 */
int	carp_rs_input_badif6(struct carp_rs_engine *);

/*
 * The parent's preferred addresses, asked as each advert is written
 * (carp_best_ifa): v4 (4 bytes) and v6 (16, scope cleared); returns the
 * CARP_RS_SRC_* bits of those written, or -1 for an unknown parent.
 */
#define	CARP_RS_SRC_V4		1
#define	CARP_RS_SRC_V6		2
typedef int	carp_rs_srcaddr_fn(void *arg, uint32_t ifindex, uint8_t *v4,
		    uint8_t *v6);

/*
 * Takes the next outgoing packet into buf (at least CARP_RS_TXBUF_MIN
 * bytes) and *tx; srcaddr (may be NULL) names its source.  CARP_RS_OK:
 * one was produced; CARP_RS_DROPPED: none is pending; CARP_RS_EINVAL:
 * bad arguments.
 */
int	carp_rs_engine_transmit(struct carp_rs_engine *,
	    carp_rs_srcaddr_fn *srcaddr, void *arg, uint8_t *buf,
	    size_t buflen, struct carp_rs_tx *tx);

/* ---- Control plane (kmod/src/ffi/ctl.rs); int returns are errno values. */

/* What the shim found for the interface a request names. */
struct carp_rs_ifinfo {
	uint32_t	index;
	uint32_t	flags;		/* if_flags */
	uint8_t		if_type;
	uint8_t		pad[3];
};

/* What a SET did. */
struct carp_rs_setres {
	uint64_t	id;		/* vhid handle */
	uint8_t		created;	/* the vhid is new on this interface */
	uint8_t		forced;		/* 1 BACKUP, 2 MASTER forced; 0 none */
	uint8_t		pad[6];
};

/* The interface a netlink request names. */
struct carp_rs_nlreq {
	uint8_t		cmd;
	uint8_t		has_ifname;
	uint8_t		pad[2];
	uint32_t	ifindex;
	char		ifname[16];
};

/* net.inet.carp knobs, in the order of Knob::ALL. */
#define	CARP_RS_SYSCTL_ALLOW		0
#define	CARP_RS_SYSCTL_PREEMPT		1
#define	CARP_RS_SYSCTL_LOG		2
#define	CARP_RS_SYSCTL_DEMOTION		3
#define	CARP_RS_SYSCTL_SENDERR		4
#define	CARP_RS_SYSCTL_IFDOWN		5
#define	CARP_RS_SYSCTL_DSCP		6
#define	CARP_RS_SYSCTL_ARPBALANCE	7
#define	CARP_RS_SYSCTL_SUPPRESS		8
#define	CARP_RS_SYSCTL_REPLAY		9	/* carp_rs: replay_check */
#define	CARP_RS_SYSCTL_GARP		10	/* carp_rs: garp_interval */
#define	CARP_RS_SYSCTL_COUNT		11

/* The leaves of net.inet.carp (carp_rs_sysctl_oid), by kind. */
#define	CARP_RS_OID_INT		0	/* CTLTYPE_INT | CTLFLAG_RW */
#define	CARP_RS_OID_INT_RO	1	/* CTLTYPE_INT | CTLFLAG_RD */
#define	CARP_RS_OID_INT_TUN	2	/* CTLFLAG_RWTUN: a loader tunable too */
#define	CARP_RS_OID_STATS	3	/* struct carpstats, a write zeroes it */
#define	CARP_RS_OID_TEXT	4	/* carp_rs_status_text(arg2) */

struct carp_rs_oid {
	const char	*name;
	const char	*descr;
	uint32_t	kind;		/* CARP_RS_OID_* */
	uint32_t	arg2;		/* knob or text number */
};

/* Leaf i, in registration order; ENOENT past the last. */
int	carp_rs_sysctl_oid(uint32_t i, struct carp_rs_oid *);

/*
 * SET on a parent fills the setres; on a carpN (ctl/legacy.rs) the
 * legacy_out, with vip 1, for carp_rs_clone_outcome().
 */
struct carp_rs_legacy_out;
int	carp_rs_ioctl_set(struct carp_rs_engine *, uint64_t now_ns,
	    const struct carp_rs_ifinfo *, const uint8_t *req, size_t len,
	    int privileged, struct carp_rs_setres *,
	    struct carp_rs_legacy_out *);
int	carp_rs_ioctl_get(const struct carp_rs_engine *,
	    const struct carp_rs_ifinfo *, const uint8_t *req, size_t len,
	    int privileged, uint8_t *out, size_t outlen, size_t *used);
int	carp_rs_nl_parse(const uint8_t *genl, size_t len,
	    struct carp_rs_nlreq *);
int	carp_rs_nl_set(struct carp_rs_engine *, uint64_t now_ns,
	    const uint8_t *genl, size_t len, const struct carp_rs_ifinfo *,
	    int privileged, struct carp_rs_setres *,
	    struct carp_rs_legacy_out *);
int	carp_rs_nl_get(const struct carp_rs_engine *, const uint8_t *genl,
	    size_t len, const struct carp_rs_ifinfo *, int privileged,
	    uint16_t msg_type, uint32_t seq, uint32_t pid, uint8_t *out,
	    size_t outlen, size_t *used);
int	carp_rs_sysctl(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t knob, const int32_t *newval, int32_t *old);
int32_t	carp_rs_sysctl_read(const struct carp_rs_engine *, uint32_t knob);
int	carp_rs_addr_attach(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, uint8_t vhid, uint8_t af, const uint8_t *addr,
	    uint64_t *id);
int	carp_rs_addr_detach(struct carp_rs_engine *, uint64_t now_ns,
	    uint64_t id, uint8_t af, const uint8_t *addr, int keep,
	    int *destroyed);
int	carp_rs_vhid_remove(struct carp_rs_engine *, uint64_t now_ns,
	    uint64_t id);
uint32_t carp_rs_iface_vhids(const struct carp_rs_engine *, uint32_t ifindex);
/* ifnet_departure_event: drops every vhid of ifindex; returns how many. */
uint32_t carp_rs_iface_depart(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex);
size_t	carp_rs_vhid_list(const struct carp_rs_engine *, uint64_t *out,
	    size_t n);
void	carp_rs_link_state(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, int up);
int	carp_rs_iface_addrs(struct carp_rs_engine *, uint32_t ifindex,
	    const uint8_t *v4, const uint8_t *v6);
void	carp_rs_tx_result(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, uint8_t vhid, int ok);
void	carp_rs_seed(struct carp_rs_engine *, uint64_t seed);
void	carp_rs_count(struct carp_rs_engine *, int nomem);
/*
 * carp_demote_adj_p: adds adj to the demotion and logs the caller's
 * reason (len bytes, no NUL; pfsync's texts are kept, others read
 * "external").  Returns 0 or EINVAL.
 */
int	carp_rs_demote_adj(struct carp_rs_engine *, uint64_t now_ns, int32_t adj,
	    const uint8_t *reason, size_t len);

/*
 * The id of a demotion reason text (0 .. CARP_RS_DEMOTE_REASONS - 1; the
 * last is "external"): pure, callable from any context.  The hook records
 * (id, adj); carp_rs_demote_adj_id applies it later.
 */
#define	CARP_RS_DEMOTE_REASONS	5
uint32_t carp_rs_demote_reason_id(const uint8_t *reason, size_t len);
int	carp_rs_demote_adj_id(struct carp_rs_engine *, uint64_t now_ns,
	    int32_t adj, uint32_t id);

/* ---- Events and data path (kmod/src/ffi/event.rs). */

#define	CARP_RS_EV_STATE	1
#define	CARP_RS_EV_ANNOUNCE	2
#define	CARP_RS_EV_DEMOTED	3
#define	CARP_RS_EV_BADPACKET	4
#define	CARP_RS_EV_CONFLICT	5	/* split brain, bad auth, protocol clash */

/* One engine event, its text already formatted (NUL-terminated). */
struct carp_rs_event {
	uint32_t	kind;
	uint32_t	ifindex;	/* parent; 0 for demotion */
	uint64_t	id;
	uint32_t	legacy_ifindex;	/* owning carpN, 0 none */
	int32_t		legacy_link;	/* new carpN link state, -1 none */
	uint8_t		vhid;
	uint8_t		from;
	uint8_t		to;
	uint8_t		log_pri;	/* LOG_INFO/LOG_DEBUG; 0: no log line */
	uint8_t		pad[4];
	char		log[124];
	char		devd_subsystem[24];	/* empty: no devd event */
	char		devd_type[12];
};

/* Writes ifindex's name (no NUL) to buf; returns its length, 0 unknown. */
typedef size_t	carp_rs_ifname_fn(void *arg, uint32_t ifindex, char *buf,
		    size_t len);

/*
 * The text sysctls (kmod/src/ffi/status.rs): formats text `which` into buf
 * (NUL-terminated when len > 0) and returns the length the whole text
 * needs, like snprintf; 0 for an unknown `which`.  Mutex held, net epoch
 * (ifname is called).
 */
#define	CARP_RS_STATUS_DEMOTION_SOURCES	0
#define	CARP_RS_STATUS_VHIDS		1
size_t	carp_rs_status_text(const struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t which, carp_rs_ifname_fn *ifname, void *arg, char *buf,
	    size_t len);

int	carp_rs_engine_event(struct carp_rs_engine *, carp_rs_ifname_fn *,
	    void *arg, struct carp_rs_event *);
int	carp_rs_forus(const struct carp_rs_engine *, uint32_t ifindex,
	    const uint8_t *mac);
int	carp_rs_is_master(const struct carp_rs_engine *, uint32_t ifindex,
	    uint8_t vhid);
int	carp_rs_arp_reply_mac(const struct carp_rs_engine *, uint32_t ifindex,
	    const uint8_t *vip, const uint8_t *requester, uint8_t *mac);
/* arpbalance: 1 to drop an Ethernet frame holding another host's ARP request. */
int	carp_rs_arp_filter(struct carp_rs_engine *, uint32_t ifindex,
	    const uint8_t *frame, size_t len);

/*
 * Per-address commands (kmod/src/ffi/cmd.rs): the engine keeps what is
 * installed per address and hands out, in order, what brings the host's
 * routes, published ARP entries and announces in line with the states.
 */
#define	CARP_RS_CMD_ROUTE_ADD	1	/* carp_ifa_addroute */
#define	CARP_RS_CMD_ROUTE_DEL	2	/* carp_ifa_delroute */
#define	CARP_RS_CMD_PUBLISH	3	/* carpN VIP: published ARP entry */
#define	CARP_RS_CMD_UNPUBLISH	4
#define	CARP_RS_CMD_GARP	5	/* carp_send_arp */
#define	CARP_RS_CMD_NA		6	/* carp_send_na */

struct carp_rs_cmd {
	uint32_t	op;		/* CARP_RS_CMD_* */
	uint32_t	ifindex;	/* parent */
	uint8_t		af;		/* CARP_RS_AF_* */
	uint8_t		vhid;
	uint8_t		mac[6];		/* virtual MAC of vhid */
	uint8_t		addr[16];
};

int	carp_rs_engine_command(struct carp_rs_engine *, struct carp_rs_cmd *);
/* A record for addr on parent ifindex (clone: on a carpN) links/unlinks. */
int	carp_rs_route_track(struct carp_rs_engine *, uint32_t ifindex,
	    uint8_t af, const uint8_t *addr, int clone);
/* 1: apply *cmd (the removal of what is installed) before the unlink. */
int	carp_rs_route_untrack(struct carp_rs_engine *, uint32_t ifindex,
	    uint8_t af, const uint8_t *addr, int clone, struct carp_rs_cmd *);

/* "carp: <addr> removed from <ifname>: module unloaded" into buf. */
size_t	carp_rs_log_addr_removed(uint8_t af, const uint8_t *addr,
	    const uint8_t *ifname, size_t ifname_len, uint8_t *buf, size_t len);

/* ---- Legacy carpN registry (kmod/src/ffi/legacy.rs). */

/* One address of another interface, for the parent-by-subnet rule. */
struct carp_rs_cand {
	uint32_t	ifindex;
	uint32_t	flags;
	uint8_t		if_type;
	uint8_t		af;		/* CARP_RS_AF_* */
	uint8_t		pad[2];
	uint8_t		addr[16];
	uint8_t		mask[16];	/* netmask; all ones: none */
};

struct carp_rs_legacy_out {
	uint64_t	id;		/* live vhid, if has_id */
	uint64_t	destroyed;	/* vhid destroyed, if has_destroyed */
	uint32_t	parent;		/* 0: none */
	uint8_t		has_id;
	uint8_t		created;
	uint8_t		has_destroyed;
	uint8_t		forced;
	uint8_t		vhid;		/* carpN's vhid after the call */
	uint8_t		vip;		/* 1: carpN outcome; add_addr: VIP */
	uint8_t		pad[6];
};

int	carp_rs_clone_create(struct carp_rs_engine *, uint32_t ifindex);
int	carp_rs_clone_destroy(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, struct carp_rs_legacy_out *);
/*
 * An address on carpN naming vhid (0: none): Rust decides whether it is a
 * VIP, configures the vhid and picks the parent among cands.
 */
int	carp_rs_clone_add_addr(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, uint8_t vhid, uint8_t af, const uint8_t *addr,
	    const struct carp_rs_cand *cands, size_t n,
	    struct carp_rs_legacy_out *);
int	carp_rs_clone_remove_addr(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, uint8_t af, const uint8_t *addr,
	    struct carp_rs_legacy_out *);
int	carp_rs_clone_set_up(struct carp_rs_engine *, uint64_t now_ns,
	    uint32_t ifindex, int up, struct carp_rs_legacy_out *);

/* Provided by the shim for the Rust global allocator and panic handler. */
void	*carp_rs_kmalloc(size_t size, size_t align, int zero);
void	carp_rs_kfree(void *);
void	carp_rs_kpanic(const uint8_t *msg, size_t len) __dead2;

#endif /* !_CARP_RS_FFI_H_ */
