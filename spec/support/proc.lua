--- Child processes alike on every Lua: 5.1 and LuaJIT's os.execute return a raw status and
-- their popen handles no exit status at all, so the shell reports it after the output.
local M = {}

--- The interpreter the suite runs on (the Makefile sets ALICLOUD_LUA), for child processes.
M.lua = os.getenv("ALICLOUD_LUA") or "lua5.4"

--- os.execute(cmd) -> true when it exited 0.
function M.execute(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local MARK = "\n:exit-status:"

--- Runs cmd through the shell; returns its output, true when it exited 0 (else nil), and
-- "exit" and the code, or "signal" and the signal number, as 5.2+'s close returns them.
function M.read(cmd)
  local p = assert(io.popen("( " .. cmd .. " ); printf '\\n:exit-status:%d' $?", "r"))
  local text = p:read("*a")
  p:close()
  local at = assert(text:find(MARK, 1, true), "no exit status from the shell")
  local status = tonumber(text:sub(at + #MARK))
  local how, code = "exit", status
  if status > 128 then how, code = "signal", status - 128 end
  return text:sub(1, at - 1), status == 0 or nil, how, code
end

return M
