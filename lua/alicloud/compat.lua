--- What differs between Lua 5.1 / LuaJIT, 5.3 and 5.4, in one place: the rest of the module
-- calls these instead of 5.3+ operators and functions (`//`, math.type, math.tointeger), so one
-- source runs on every interpreter.
local M = {}

local floor, huge = math.floor, math.huge
local native_tointeger = math.tointeger -- luacheck: ignore 143 (nil before 5.3)

--- Lua 5.3 or later: numbers have an integer subtype.
M.has_integers = native_tointeger ~= nil

-- Whole numbers a double holds exactly: the integers of 5.1 and LuaJIT.
local EXACT = 2 ^ 53

--- `v` as an integer when it is a number with an integral value (3 and 3.0 alike), else nil.
-- On 5.1 / LuaJIT, where there are no integers, a whole number within +-2^53 is returned as is.
function M.tointeger(v)
  if type(v) ~= "number" then return nil end
  if native_tointeger then return native_tointeger(v) end
  if v ~= v or v == huge or v == -huge or floor(v) ~= v or v > EXACT or v < -EXACT then
    return nil
  end
  return v
end

--- True when `v` is a whole number (an integer on 5.3+, a whole double on 5.1 / LuaJIT).
function M.is_integer(v)
  return M.tointeger(v) ~= nil
end

--- Floor division, `a // b` of 5.3+.
function M.idiv(a, b)
  return floor(a / b)
end

--- table.unpack (5.2+) or unpack (5.1).
M.unpack = table.unpack or unpack -- luacheck: ignore 113 143 (5.1 has only the global)
local unpack = M.unpack

--- table.move (5.3+): a1[f..e] into a2 (default a1) from index t; returns a2.
M.move = table.move or function(a1, f, e, t, a2) -- luacheck: ignore 143 (5.3+ field)
  a2 = a2 or a1
  if e < f then return a2 end
  if t > f and t <= e and a2 == a1 then
    for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end
  else
    for i = 0, e - f do a2[t + i] = a1[f + i] end
  end
  return a2
end

-- Does xpcall pass extra arguments on (5.2+, LuaJIT)? Plain 5.1's drops them.
local xpcall_passes_args = select(2, xpcall(function(a) return a end, tostring, true)) == true

--- xpcall(f, handler, ...) with the arguments passed to f on every version.
if xpcall_passes_args then
  M.xpcall = xpcall
else
  M.xpcall = function(f, handler, ...)
    local n, args = select("#", ...), { ... }
    return xpcall(function() return f(unpack(args, 1, n)) end, handler)
  end
end

--- The running coroutine and whether it is the main thread, as 5.2+ returns them (5.1 and
-- LuaJIT return nil in the main thread, and only that).
function M.running()
  local co, main = coroutine.running()
  if co == nil then return nil, true end
  return co, main == true
end

--- coroutine.isyieldable (5.3+, LuaJIT 2.1); plain 5.1 cannot tell a C boundary, so there
-- any coroutine but the main thread counts as yieldable.
M.isyieldable = coroutine.isyieldable -- luacheck: ignore 143 (5.3+ field)
  or function() return coroutine.running() ~= nil end

--- Can a coroutine yield across pcall / xpcall and metamethods here? Not on plain 5.1.
M.yield_across_pcall = jit ~= nil or _VERSION ~= "Lua 5.1" -- luacheck: ignore 113 (LuaJIT's global)

--- coroutine.close (5.4): closes a suspended coroutine; before 5.4 there is nothing to close,
-- and dropping the last reference frees it.
M.close_coroutine = coroutine.close or function() return true end -- luacheck: ignore 143

--- package.searchpath(name, path) where Lua 5.1 lacks it (LuaJIT has it): the first file on
-- `path` that module `name` maps to and that opens, as 5.1's own loader finds it; or nil.
M.searchpath = rawget(package, "searchpath") or function(name, path)
  local file = name:gsub("%.", (package.config or "/"):sub(1, 1))
  for template in path:gmatch("[^;]+") do
    local candidate = template:gsub("%?", file)
    local f = io.open(candidate, "rb")
    if f then
      f:close()
      return candidate
    end
  end
  return nil
end

return M
