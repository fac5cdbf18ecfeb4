/* spec_fork: fork(), waitpid(), alarm() and _exit() for the fork-safety spec (Debian has no lua-posix
 * for Lua 5.4). Test support only; not part of the module. */
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_compat.h" /* the module's: luaL_newlib on 5.1 */

static int l_fork(lua_State *L)
{
    pid_t pid = fork();
    if (pid < 0)
        return luaL_error(L, "fork failed");
    lua_pushinteger(L, pid);
    return 1;
}

/* waitpid(pid) -> exit status, or nil and the signal that ended it */
static int l_waitpid(lua_State *L)
{
    int status = 0;
    if (waitpid((pid_t)luaL_checkinteger(L, 1), &status, 0) < 0)
        return luaL_error(L, "waitpid failed");
    if (WIFEXITED(status)) {
        lua_pushinteger(L, WEXITSTATUS(status));
        return 1;
    }
    lua_pushnil(L);
    lua_pushinteger(L, WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return 2;
}

/* _exit(code): leaves the child without running the parent's busted handlers */
static int l_exit(lua_State *L)
{
    _exit((int)luaL_optinteger(L, 1, 0));
    return 0;
}

/* alarm(seconds): a child that hangs is killed by SIGALRM instead of hanging the suite */
static int l_alarm(lua_State *L)
{
    alarm((unsigned)luaL_checkinteger(L, 1));
    return 0;
}

int luaopen_spec_fork(lua_State *L)
{
    static const luaL_Reg fns[] = {{"fork", l_fork}, {"waitpid", l_waitpid}, {"_exit", l_exit},
                                   {"alarm", l_alarm}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
