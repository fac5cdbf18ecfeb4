--- What differs between Lua 5.1 / LuaJIT, 5.3 and 5.4, in one place: the rest of the module
-- calls these instead of 5.3+ operators and functions (`//`, math.type, math.tointeger), so one
-- source runs on every interpreter.
local M = {}

local floor, huge = math.floor, math.huge
local native_tointeger = math.tointeger -- nil before 5.3

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
M.unpack = table.unpack or unpack -- luacheck: ignore 113 (5.1's global)

return M
