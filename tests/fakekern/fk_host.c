/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only.  libc side of the fake kernel (compiled with Linux headers):
 * memory for the fake malloc(9) and output.  Host malloc is the one
 * AddressSanitizer instruments, so overruns of kernel allocations are
 * caught.
 */
#include <asm/prctl.h>
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
