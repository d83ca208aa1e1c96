/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only.  libc side of the fake kernel (compiled with Linux headers):
 * memory for the fake malloc(9) and output.  Host malloc is the one
 * AddressSanitizer instruments, so overruns of kernel allocations are
 * caught.
 */
#include <asm/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fk_host.h"

void *
fkh_calloc(unsigned long n)
{
	return (calloc(1, n));
}

void *
fkh_aligned(unsigned long align, unsigned long n)
{
	void *p;

	if (posix_memalign(&p, align, n) != 0)
		return (NULL);
	memset(p, 0, n);
	return (p);
}

void
fkh_free(void *p)
{
	free(p);
}

int
fkh_vsnprintf(char *buf, unsigned long len, const char *fmt, va_list ap)
{
	return (vsnprintf(buf, len, fmt, ap));
}

void
fkh_out(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

void
fkh_err(const char *s)
{
	fputs(s, stderr);
	fflush(stderr);
}

void
fkh_exit(int code)
{
	fflush(stdout);
	exit(code);
}

void
fkh_abort(void)
{
	fflush(stdout);
	abort();
}

int
fkh_set_gs(void *pcpu)
{
	return ((int)syscall(SYS_arch_prctl, ARCH_SET_GS, pcpu));
}

const char *
fkh_getenv(const char *name)
{
	return (getenv(name));
}

/*
 * Threads of the concurrent scenarios.  The fake kernel's own state is
 * guarded by one host mutex (the "fake giant", fk_x_threads.c): a thread
 * runs kernel-side code only while it holds it and gives it up wherever
 * the real kernel could switch threads (lock operations, epoch sections,
 * sleeps), so interleavings happen exactly at those points.
 */
/*
 * A ticket lock, so that it is handed over in FIFO order: a plain mutex
 * lets a thread that gives it up and takes it again at once starve the
 * others.
 */
static pthread_mutex_t fkh_giant_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fkh_giant_cv = PTHREAD_COND_INITIALIZER;
static unsigned long fkh_giant_next, fkh_giant_serving;

void
fkh_giant_lock(void)
{
	unsigned long me;

	pthread_mutex_lock(&fkh_giant_mtx);
	me = fkh_giant_next++;
	while (fkh_giant_serving != me)
		pthread_cond_wait(&fkh_giant_cv, &fkh_giant_mtx);
	pthread_mutex_unlock(&fkh_giant_mtx);
}

void
fkh_giant_unlock(void)
{
	pthread_mutex_lock(&fkh_giant_mtx);
	fkh_giant_serving++;
	pthread_cond_broadcast(&fkh_giant_cv);
	pthread_mutex_unlock(&fkh_giant_mtx);
}

void
fkh_yield(void)
{
	sched_yield();
}

struct fkh_start {
	void	(*fn)(void *);
	void	*arg;
};

static void *
fkh_thread_main(void *p)
{
	struct fkh_start s = *(struct fkh_start *)p;

	free(p);
	s.fn(s.arg);
	return (NULL);
}

unsigned long
fkh_thread_start(void (*fn)(void *), void *arg)
{
	struct fkh_start *s = malloc(sizeof(*s));
	pthread_t t;

	if (s == NULL)
		abort();
	s->fn = fn;
	s->arg = arg;
	if (pthread_create(&t, NULL, fkh_thread_main, s) != 0)
		abort();
	return ((unsigned long)t);
}

void
fkh_thread_join(unsigned long t)
{
	pthread_join((pthread_t)t, NULL);
}

/* Monotonic wall-clock milliseconds (run bounds, not the virtual clock). */
unsigned long
fkh_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((unsigned long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
