/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only.  The few libc services the fake kernel needs, behind names
 * that cannot clash with kernel ones.  This header is included both by
 * fk_host.c (Linux headers) and by the fakes (FreeBSD kernel headers), so
 * it uses builtin types only.
 */
#ifndef _FK_HOST_H_
#define	_FK_HOST_H_

void	*fkh_calloc(unsigned long n);
void	*fkh_aligned(unsigned long align, unsigned long n);
void	 fkh_free(void *p);
int	 fkh_vsnprintf(char *buf, unsigned long len, const char *fmt,
	    __builtin_va_list ap);
void	 fkh_out(const char *s);	/* stdout, flushed */
void	 fkh_err(const char *s);	/* stderr */
void	 fkh_exit(int code) __attribute__((__noreturn__));
void	 fkh_abort(void) __attribute__((__noreturn__));
/* Points %gs at pcpu, as the FreeBSD amd64 kernel does (curthread). */
int	 fkh_set_gs(void *pcpu);
const char *fkh_getenv(const char *name);
/* Concurrent scenarios: real host threads under the fake giant. */
void	 fkh_giant_lock(void);
void	 fkh_giant_unlock(void);
void	 fkh_yield(void);
unsigned long fkh_thread_start(void (*fn)(void *), void *arg);
void	 fkh_thread_join(unsigned long);
unsigned long fkh_wall_ms(void);

#endif
