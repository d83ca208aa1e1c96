/* What kmod.mk writes for an out-of-tree (untied) module build on amd64. */
#define	SMP 1
#define	MAC 1
#define	VIMAGE 1
