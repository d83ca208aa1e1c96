/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The C ABI of the carp_rs engine (Rust, kmod/src/ffi/), as called by the
 * kernel shim.  It declares only carp_rs's own types: kernel structures
 * never cross this boundary.  Keep in sync with kmod/src/ffi/.
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

/* Metadata of one outgoing packet; the payload is in the caller's buffer. */
struct carp_rs_tx {
	uint32_t	ifindex;	/* parent interface to send on */
	uint32_t	len;		/* payload bytes written to the buffer */
	uint8_t		vhid;
	uint8_t		af;		/* CARP_RS_AF_INET or CARP_RS_AF_INET6 */
	uint8_t		ttl;
	uint8_t		tos;		/* DSCP << 2 */
	uint8_t		has_src_mac;	/* src_mac holds the virtual MAC */
	uint8_t		src_mac[6];
	uint8_t		pad;
	uint8_t		src[16];	/* IPv4 uses the first 4 bytes */
	uint8_t		dst[16];
};
#define	CARP_RS_TX_SIZE		52

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
 * Takes the next outgoing packet into buf (at least CARP_RS_TXBUF_MIN
 * bytes) and *tx.  CARP_RS_OK: one was produced; CARP_RS_DROPPED: none is
 * pending; CARP_RS_EINVAL: bad arguments.
 */
int	carp_rs_engine_transmit(struct carp_rs_engine *, uint8_t *buf,
	    size_t buflen, struct carp_rs_tx *tx);

/* Provided by the shim for the Rust global allocator and panic handler. */
void	*carp_rs_kmalloc(size_t size, size_t align, int zero);
void	carp_rs_kfree(void *);
void	carp_rs_kpanic(const uint8_t *msg, size_t len) __dead2;

#endif /* !_CARP_RS_FFI_H_ */
