-- Soak: 20,000 mixed async calls (ALICLOUD_SOAK_CALLS to change it for a quick run) over a
-- pool of 8, with random faults from the fake cloud (per-request x-fake-fault header) and
-- random cancellations. Every call settles exactly once, with the outcome its fault implies,
-- and memory does not grow between the first and the second half.
--
-- Memory bounds (generous on purpose; they catch a per-call leak, not allocator noise):
-- after each half, everything settled and two full GCs, the second half may add at most
--   Lua heap (collectgarbage "count"): 1 MiB + 10 % of the first half's figure
--   VmRSS (/proc/self/status):         4 MiB
-- (measured on the 2-core dev machine: +1 KiB of Lua heap on 5.3 MiB, +0.5 MiB of VmRSS on
-- 32 MiB). A leak of 200 bytes per call adds 2 MiB over a 10,000-call half: over the Lua
-- bound if Lua holds it; a C leak of 400 bytes per call passes the RSS one.
-- ALICLOUD_SOAK_SEED replays a run (the seed is in every failure message);
-- ALICLOUD_SOAK_VERBOSE=1 prints the time and memory figures.
--
-- Under a memory tool (valgrind, ASan: `make valgrind`, `make asan`) the default is 2,000
-- calls and VmRSS is not bounded: the tool's own bookkeeping (ASan's quarantine) grows it,
-- and the tool checks for leaks itself.
local env = require("spec.support.env")
local alicloud = env.alicloud()

local function under_memory_tool()
  local f = io.open("/proc/self/maps", "r")
  if not f then return false end
  local maps = f:read("*a")
  f:close()
  return maps:find("vgpreload", 1, true) ~= nil or maps:find("libasan", 1, true) ~= nil
end
local TOOL = under_memory_tool()

local N = tonumber(os.getenv("ALICLOUD_SOAK_CALLS") or "") or (TOOL and 2000 or 20000)
local SEED = tonumber(os.getenv("ALICLOUD_SOAK_SEED") or "") or os.time()
local TIME_LIMIT = 150 -- seconds, for the default 20,000 calls on a 2-core machine

-- fault (x-fake-fault), weight, expected code for a read-only call, for a create call
-- ("ok": success; NOTFOUND: the fake does not serve CreateInstance, so it got through),
-- and extra call options. Only stalled calls get a short read_timeout: under load on a
-- shared machine a short one for every call would turn hiccups into timeouts.
local NOTFOUND = "InvalidAction.NotFound"
local FAULTS = {
  { false, 520, "ok", NOTFOUND },
  { "drop", 30, "SDK.ServerUnreachable", "SDK.ServerUnreachable" },
  { "reset", 30, "SDK.ServerUnreachable", "SDK.ServerUnreachable" },
  { "close_after_headers", 30, "SDK.InvalidResponse", "SDK.InvalidResponse" },
  { "truncate", 30, "SDK.InvalidResponse", "SDK.InvalidResponse" },
  { "short_length", 30, "SDK.InvalidResponse", "SDK.InvalidResponse" },
  { "invalid_json", 30, "SDK.InvalidResponse", "SDK.InvalidResponse" },
  { "500", 30, "InternalError", "InternalError" },
  { "502", 30, "BadGateway", "BadGateway" },
  { "503", 30, "ServiceUnavailable", "ServiceUnavailable" },
  { "504", 30, "GatewayTimeout", "GatewayTimeout" },
  { "throttling", 30, "Throttling", "Throttling" },
  { "throttling_hint:0.005", 30, "Throttling.User", "Throttling.User" },
  { "delay:0.02", 20, "ok", NOTFOUND },
  { "body_delay:0.02", 20, "ok", NOTFOUND },
  { "stall", 3, "SDK.TimeoutError", "SDK.TimeoutError", { read_timeout = 0.2 } },
}
local TOTAL_WEIGHT = 0
for _, f in ipairs(FAULTS) do TOTAL_WEIGHT = TOTAL_WEIGHT + f[2] end

local ACTIONS = { { "DescribeRegions", 70 }, { "DescribeInstances", 15 }, { "CreateInstance", 15 } }

local function pick_fault()
  local r = math.random(TOTAL_WEIGHT)
  for _, f in ipairs(FAULTS) do
    r = r - f[2]
    if r <= 0 then return f end
  end
end

local function pick_action()
  local r = math.random(100)
  for _, a in ipairs(ACTIONS) do
    r = r - a[2]
    if r <= 0 then return a[1] end
  end
end

local function memory()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count"), env.rss_kb()
end

describe("soak", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  it(string.format("%d mixed calls with faults and cancellations settle exactly once, in "
    .. "bounded memory", N), function()
    math.randomseed(SEED)
    local tag = string.format("(seed %d, %d calls)", SEED, N)
    local client = env.custom({ retry = { max_attempts = 2, base = 0.001, cap = 0.005 },
      read_timeout = 3, connect_timeout = 3 })
    client:enable_async(8, 256)

    -- The whole plan and every bookkeeping slot exist before the first measurement, so what
    -- the second half adds to the heap is the SDK's, not this spec's.
    local fault_of, action_of, cancel_at = {}, {}, {}
    local settled, outcome, cancelled, held = {}, {}, {}, {}
    local immediate, later = {}, {}
    for i = 1, N do
      fault_of[i], action_of[i] = pick_fault(), pick_action()
      settled[i], outcome[i], cancelled[i], held[i] = 0, 0, false, false
      immediate[i], later[i] = false, false
      local roll = math.random(100)
      if roll <= 2 then                       -- at once: usually still queued
        immediate[i] = true
      elseif roll <= 5 then                   -- later: queued, in flight, backing off or done
        local at = i + math.random(1, 40)
        if at <= N then
          later[i] = true
          cancel_at[at] = cancel_at[at] or {}
          table.insert(cancel_at[at], i)
        end
      end
    end
    local code_id, codes, sample = { ok = 1 }, { "ok" }, {}
    for _, f in ipairs(FAULTS) do sample[f] = {} end  -- fault -> code -> one error message
    for _, f in ipairs(FAULTS) do
      for k = 3, 4 do
        if not code_id[f[k]] then codes[#codes + 1] = f[k]; code_id[f[k]] = #codes end
      end
    end
    codes[#codes + 1] = "SDK.Cancelled"
    code_id["SDK.Cancelled"] = #codes
    local extra = 0             -- settlements beyond the first
    local t0 = env.now()

    local function submit(i)
      local f = fault_of[i]
      local opts = nil
      if f[1] then
        opts = { headers = { ["x-fake-fault"] = f[1] } }
        for k, v in pairs(f[5] or {}) do opts[k] = v end
      end
      local p = client:call_async(action_of[i], {}, opts, function(res, err)
        if settled[i] > 0 then extra = extra + 1 end
        settled[i] = settled[i] + 1
        local code = res and "ok" or (err and err.code) or "nil?"
        local id = code_id[code]
        if not id then          -- an unexpected code: remember it (bounded: one per code)
          codes[#codes + 1] = code
          id = #codes
          code_id[code] = id
        end
        outcome[i] = id
        if err and not sample[f][id] then sample[f][id] = err.message end
      end)
      if immediate[i] then
        cancelled[i] = p:cancel()
      elseif later[i] then
        held[i] = p             -- otherwise only its callback keeps the call observed
      end
      for _, j in ipairs(cancel_at[i] or {}) do
        cancelled[j] = held[j]:cancel()
        held[j] = false
      end
    end
    local half = math.floor(N / 2)
    for i = 1, half do submit(i) end
    assert.is_true(alicloud.run(120), "first half did not settle " .. tag)
    local lua1, rss1 = memory()
    for i = half + 1, N do submit(i) end
    assert.is_true(alicloud.run(120), "second half did not settle " .. tag)
    local lua2, rss2 = memory()
    local took = env.now() - t0
    client:shutdown()

    if os.getenv("ALICLOUD_SOAK_VERBOSE") == "1" then
      io.stderr:write(string.format("\nsoak %s: %.1f s; Lua heap %.0f -> %.0f KiB; "
        .. "VmRSS %d -> %d KiB\n", tag, took, lua1, lua2, rss1, rss2))
    end

    -- exactly once
    assert.are.equal(0, extra, "calls settled more than once " .. tag)
    local missing = 0
    for i = 1, N do if settled[i] ~= 1 then missing = missing + 1 end end
    assert.are.equal(0, missing, "calls never settled " .. tag)
    assert.are.equal(0, alicloud.pending())

    -- bounded memory and time
    local lua_bound = 1024 + lua1 * 0.10
    assert.is_true(lua2 - lua1 <= lua_bound, string.format(
      "Lua heap grew from %.0f KiB to %.0f KiB (bound %.0f) %s", lua1, lua2, lua_bound, tag))
    if not TOOL then
      assert.is_true(rss2 - rss1 <= 4 * 1024, string.format(
        "VmRSS grew from %d KiB to %d KiB (bound 4 MiB) %s", rss1, rss2, tag))
      assert.is_true(took < TIME_LIMIT * math.max(1, N / 20000),
        string.format("took %.1f s %s", took, tag))
    end

    -- every outcome is the one its fault implies (or SDK.Cancelled when the cancel took)
    local wrong, examples = 0, {}
    for i = 1, N do
      local f, action = fault_of[i], action_of[i]
      local want = cancelled[i] and "SDK.Cancelled" or (action == "CreateInstance" and f[4] or f[3])
      local got = codes[outcome[i]] or "nothing"
      if got ~= want then
        wrong = wrong + 1
        local key = string.format("%s with fault %s: %s instead of %s (e.g. %q)", action,
          tostring(f[1]), got, want, sample[f][outcome[i]] or "")
        examples[key] = (examples[key] or 0) + 1
      end
    end
    local lines = {}
    for k, v in pairs(examples) do lines[#lines + 1] = string.format("%6d x %s", v, k) end
    table.sort(lines)
    assert.are.equal(0, wrong, "unexpected outcomes " .. tag .. ":\n" .. table.concat(lines, "\n"))
  end)
end)
