-- A sampling profile of the Lua side of a scenario: every 1,000 Lua VM instructions, the
-- running Lua function (self) and every Lua function on the stack (inclusive) get a sample.
-- Time spent inside C functions (lua-cjson, alicloud.core, the workers) is not sampled: pair
-- it with `perf` or callgrind for those (docs/PERFORMANCE.md).
--
--   lua5.4 bench/luaprof.lua bench/scenario.lua async PORT 20000 5 1000
--
-- Only the main coroutine is hooked, which is where alicloud delivers results and runs
-- callbacks. The report goes to stderr.
local script = table.remove(arg, 1)
if not script then
  io.stderr:write("usage: lua5.4 bench/luaprof.lua SCRIPT [ARGS...]\n")
  os.exit(2)
end
local PERIOD = tonumber(os.getenv("LUAPROF_PERIOD") or "") or 1000
local TOP = tonumber(os.getenv("LUAPROF_TOP") or "") or 25

local self_count, incl_count, total = {}, {}, 0
local getinfo, format = debug.getinfo, string.format

debug.sethook(function()
  total = total + 1
  local seen, first, level = {}, true, 2
  while true do
    local info = getinfo(level, "S")
    if not info then break end
    if info.what ~= "C" then
      local k = format("%s:%d", info.short_src, info.linedefined)
      if first then
        self_count[k] = (self_count[k] or 0) + 1
        first = false
      end
      if not seen[k] then
        incl_count[k] = (incl_count[k] or 0) + 1
        seen[k] = true
      end
    end
    level = level + 1
  end
end, "", PERIOD)

local reported = false
local function report()
  if reported then return end
  reported = true
  debug.sethook()
  local function dump(t, title)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return t[a] > t[b] end)
    io.stderr:write(format("\n%s (%d samples of %d VM instructions; file:line where the function "
      .. "is defined)\n", title, total, PERIOD))
    for i = 1, math.min(TOP, #keys) do
      io.stderr:write(format("%6.1f%%  %s\n", t[keys[i]] / math.max(total, 1) * 100, keys[i]))
    end
  end
  dump(self_count, "SELF")
  dump(incl_count, "INCLUSIVE")
end

local exit = os.exit
os.exit = function(...) -- luacheck: ignore 122
  report()
  return exit(...)
end
arg[0] = script -- luacheck: ignore 122
dofile(script)
report()
