#define	INET 1
#define	TCP_OFFLOAD 1
