/*
 * The kernel headers carp_rs.ko compiles against (kmod/carp_rs_shim.c),
 * and the module's own C ABI, whose structs tests/ffi_layout.rs checks
 * field by field against the Rust ones.  carp_rs_ffi.h is generated from
 * kmod/src/ffi by cbindgen (tools/ffi-header; build.rs writes it to
 * OUT_DIR), so the check compares the C compiler's view of cbindgen's
 * output with Rust.  Macros and static inline functions stay in the shim;
 * bindgen sees only types, constants and extern functions.
 */
#include <sys/param.h>
#include <sys/systm.h>
#include <sys/callout.h>
#include <sys/epoch.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <sys/time.h>

#include <net/if.h>
#include <net/if_var.h>
#include <net/vnet.h>

#include <netinet/in.h>
#include <netinet/in_systm.h>
#include <netinet/in_var.h>
#include <netinet/ip.h>
#include <netinet/ip_var.h>
#include <netinet/ip_carp.h>
#include <netinet/ip6.h>
#include <netinet6/ip6_var.h>

#include "carp_rs_ffi.h"
