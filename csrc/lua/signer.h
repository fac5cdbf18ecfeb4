/* alicloud.signer.sign(req): the Lua face of csrc/core/sign.c. Registered as `sign` in
 * alicloud.core by luaopen_alicloud_core. */
#ifndef LACS_SIGNER_H
#define LACS_SIGNER_H

#include <lua.h>

int lacs_signer_sign(lua_State *L);

#endif
