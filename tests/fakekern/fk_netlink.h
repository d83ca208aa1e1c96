/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test only: the fake generic-netlink entry points for scenarios.
 */
#ifndef _FK_NETLINK_H_
#define	_FK_NETLINK_H_

int	fk_genl_request(const char *family, uint8_t cmd, uint16_t flags,
	    const void *body, size_t bodylen, const uint8_t **reply,
	    size_t *replylen);
int	fk_genl_families(void);
uint16_t fk_genl_family_id(const char *name);
void	fk_netlink_fini(void);

#endif
