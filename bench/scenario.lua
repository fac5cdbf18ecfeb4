-- One alicloud measurement for `make bench`, in a process of its own (so peak RSS is this
-- run's): bench/run starts it with the build tree on the paths.
--
--   lua5.4 bench/scenario.lua MODE PORT N [POOL [QUEUE]]
--     async   N signed DescribeRegionsAsync calls with a callback each, pool POOL, queue QUEUE
--             (default N: everything is queued at once), then alicloud.run()
--     fanout  N calls from a callback-heavy script through a queue of QUEUE (block policy):
--             the submitting loop waits for room while delivering, as a fan-out script does
--     sync    N DescribeRegions calls in a loop (no pool)
--     core    N of the same signed calls through the C core alone, as in async (the same
--             template, pool, completion queue and result tables) but without the Lua layer:
--             no promise, no request building in Lua, no runtime; a probe of what the design
--             costs below the Lua API (docs/PERFORMANCE.md), not a way to use alicloud
--     coreraw the same, with each body delivered as a string: no JSON parse, no tables
--
-- Prints one line: RESULT calls=.. ok=.. err=.. wall=.. cpu=.. hwm_kb=.. lua_kb=..
-- cpu is user+system time of the whole process (every thread: os.clock() is
-- CLOCK_PROCESS_CPUTIME_ID in glibc) over the load only, not the start-up; hwm_kb is VmHWM.
-- Bounded: stops submitting and delivering after BENCH_MAX_SECONDS (default 120).
local alicloud = require("alicloud")
local core = require("alicloud.core")

local mode, port, n = arg[1], tonumber(arg[2]), tonumber(arg[3])
local pool, queue = tonumber(arg[4] or 5), tonumber(arg[5] or 0)
if not (mode and port and n) then
  io.stderr:write("usage: lua5.4 bench/scenario.lua async|fanout|sync|core|coreraw PORT N [POOL [QUEUE]]\n")
  os.exit(2)
end
n, pool = math.tointeger(n), math.tointeger(pool)
queue = math.tointeger(queue > 0 and queue or n)
local max_seconds = tonumber(os.getenv("BENCH_MAX_SECONDS") or "") or 120

-- the RequestId nginx serves (bench/regions.json)
local RID = "B5C1E0F2-3A4D-4E6F-8A9B-0C1D2E3F4A5B"

local function vm_hwm_kb()
  local f = io.open("/proc/self/status", "r")
  if not f then return -1 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or -1
end

local c = alicloud.client("ecs", {
  region = "cn-hangzhou",
  endpoint = "127.0.0.1:" .. port,
  scheme = "http",
  credential = alicloud.credentials.access_key("ak", "secret"),
  retry = false,
  -- scenario 6: thousands in flight wait their turn at one nginx worker longer than the
  -- default read timeout on a busy machine; the multi peer has no such limit either
  read_timeout = tonumber(os.getenv("BENCH_READ_TIMEOUT") or "") or nil,
})

local ok, failed, first_err = 0, 0, nil
local function fail(err)
  failed = failed + 1
  first_err = first_err or tostring(err)
end

local submitted = 0
local t0, c0 = core.now(), os.clock()
local deadline = t0 + max_seconds

if mode == "async" then
  c:enable_async(pool, queue)
  local function cb(res, err)
    if res and res.RequestId == RID then ok = ok + 1 else fail(err or "unexpected body") end
  end
  for _ = 1, n do
    if core.now() > deadline then break end
    c:DescribeRegionsAsync({}, cb)
    submitted = submitted + 1
  end
  alicloud.run(math.max(0.1, deadline - core.now()))

elseif mode == "fanout" then
  -- a script that does something with every answer: tallies regions, formats a line per
  -- call into a bounded ring of recent lines, and keeps running totals
  c:enable_async(pool, queue)
  local per_region, recent, bytes = {}, {}, 0
  local function cb(res, err)
    if not (res and res.RequestId == RID) then return fail(err or "unexpected body") end
    ok = ok + 1
    local regions = res.Regions.Region
    for i = 1, #regions do
      local r = regions[i]
      per_region[r.RegionId] = (per_region[r.RegionId] or 0) + 1
      bytes = bytes + #r.RegionEndpoint + #r.LocalName
    end
    recent[ok % 100 + 1] = string.format("%d %s %d regions, first %s", ok, res.RequestId,
      #regions, regions[1].RegionId)
  end
  for _ = 1, n do
    if core.now() > deadline then break end
    c:DescribeRegionsAsync({}, cb) -- queue_full = "block" (the default): waits, delivering
    submitted = submitted + 1
  end
  alicloud.run(math.max(0.1, deadline - core.now()))
  if ok > 0 and (per_region["cn-hangzhou"] ~= ok or not recent[ok % 100 + 1]) then
    fail("tally mismatch")
  end
  assert(bytes > 0 or ok == 0)

elseif mode == "sync" then
  for _ = 1, n do
    if core.now() > deadline then break end
    local res, err = c:DescribeRegions({})
    submitted = submitted + 1
    if res and res.RequestId == RID then ok = ok + 1 else fail(err or "unexpected body") end
  end

elseif mode == "core" or mode == "coreraw" then
  -- the task a DescribeRegionsAsync({}) would submit, made the way the client makes it; the
  -- template is the client's (a private field: this probe reaches below the API on purpose)
  local request = require("alicloud.request")
  assert(request.for_action(c, "DescribeRegions", {}, nil, 1))
  local tmpl, raw = c._template.core, mode == "coreraw" or nil
  -- the query and header a client call sends (its region; the Go SDK's provider header)
  local query = { { "RegionId", c.region } }
  local headers = { { "x-acs-credentials-provider", c._template.provider } }
  -- the same every call: one description, reused (as request.lua reuses its own)
  local call = { style = "rpc", action = "DescribeRegions", method = "POST", path = "/",
    query = query, headers = headers, read_only = true, raw = raw }
  local runtime = core.runtime()
  local workers = core.pool(runtime, pool, queue)
  local function cb(res)
    if raw then
      if res.status == 200 and res.body:find(RID, 1, true) then ok = ok + 1 else fail(res.error) end
    elseif res.RequestId == RID then ok = ok + 1 else fail("unexpected body") end
  end
  -- slot -> task, kept until delivered as a promise keeps its task (only written: it holds)
  local tasks = {} -- luacheck: ignore 241
  local batch, delivered = {}, 0
  while delivered < n and core.now() <= deadline do
    while submitted < n and submitted - delivered < queue do
      local task = core.task(tmpl, call)
      submitted = submitted + 1
      tasks[submitted] = task
      local st = workers:submit(task, 0, 0, submitted)
      if st ~= "ok" then error("core probe: submit said " .. st) end
    end
    local b, k = runtime:pop(256, batch)
    if k == 0 then runtime:wait(0.05) end
    for i = 3, 3 * k, 3 do
      local slot, value = b[i - 2], b[i - 1]
      b[i - 1] = false
      tasks[slot] = nil
      delivered = delivered + 1
      cb(value)
    end
  end

else
  io.stderr:write("scenario.lua: unknown mode " .. tostring(mode) .. "\n")
  os.exit(2)
end

local wall, cpu = core.now() - t0, os.clock() - c0

-- CPU (user + system) and minor page faults of this process's threads, from
-- /proc/self/task/*/stat: the Lua thread (tid = pid) apart from the others (workers). These
-- counters are the process's own, so they hold on a machine busy with other work.
local function thread_cpu()
  local hz = 100 -- USER_HZ, as on every Linux this runs on
  local f = io.open("/proc/self/stat", "r")
  local pid = f and f:read("l"):match("^(%d+)")
  if f then f:close() end
  -- /proc/self would be the shell's in popen: name this process
  local ls = pid and io.popen("ls /proc/" .. pid .. "/task 2>/dev/null")
  local tids = {}
  if ls then
    for tid in ls:lines() do tids[#tids + 1] = tid end
    ls:close()
  end
  local lua_s, others_s, count, minflt = 0, 0, 0, 0
  for _, tid in ipairs(tids) do
    local sf = io.open("/proc/self/task/" .. tid .. "/stat", "r")
    if sf then
      local line = sf:read("l")
      sf:close()
      -- after the ")" that ends the command name: field 3 is the state
      local rest = line:match("%) (.*)$")
      local fields = {}
      for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
      local flt = tonumber(fields[8]) -- minflt is field 10, here 10 - 2
      local s = (tonumber(fields[12]) + tonumber(fields[13])) / hz -- utime, stime: 14, 15
      minflt = minflt + flt
      if tid == pid then lua_s = s else others_s = others_s + s; count = count + 1 end
    end
  end
  return lua_s, others_s, count, minflt
end
local lua_cpu, worker_cpu, nthreads, minflt = thread_cpu()
if alicloud.pending() > 0 then fail(string.format("%d calls still pending at the deadline",
  alicloud.pending())) end
if submitted < n then fail(string.format("only %d of %d calls submitted before the deadline",
  submitted, n)) end
print(string.format("RESULT calls=%d ok=%d err=%d wall=%.6f cpu=%.6f hwm_kb=%d lua_kb=%d"
  .. " lua_cpu=%.2f worker_cpu=%.2f threads=%d minflt=%d",
  n, ok, n - ok, wall, cpu, vm_hwm_kb(), math.floor(collectgarbage("count")),
  lua_cpu, worker_cpu, nthreads + 1, minflt))
if first_err then io.stderr:write("scenario.lua: first error: ", first_err, "\n") end
-- Close the state on exit: the pool's finalizer joins its workers. (shutdown() then a plain
-- os.exit() races OpenSSL's atexit clean-up against exiting workers: see docs/PERFORMANCE.md.)
os.exit(ok == n and 0 or 1, true)
