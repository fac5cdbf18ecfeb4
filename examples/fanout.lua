-- Fan-out: 1,000 calls over a pool of 16 workers, a live progress line, then a summary and
-- the metrics that call hooks collected (a Prometheus-style counter and latency histogram).
--   lua5.4 examples/fanout.lua [calls] [pool]
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud
local core = require("alicloud.core")

local calls = tonumber(arg[1]) or 1000
local pool = tonumber(arg[2]) or 16

-- Metrics from hooks: `after` runs on this thread as each call is delivered.
local BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, math.huge } -- seconds
local requests = {}                -- "action\0code" -> count
local latency = { counts = {}, sum = 0, n = 0 }
for i = 1, #BUCKETS do latency.counts[i] = 0 end

local hooks = {
  after = function(info)
    local key = info.action .. "\0" .. (info.error and info.error.code or "OK")
    requests[key] = (requests[key] or 0) + 1
    local t = info.timings and info.timings.total or 0 -- from submission: a wait for a worker too
    latency.sum, latency.n = latency.sum + t, latency.n + 1
    for i, le in ipairs(BUCKETS) do
      if t <= le then latency.counts[i] = latency.counts[i] + 1 end -- cumulative, as Prometheus
    end
  end,
}

local ecs = alicloud.client("ecs", support.client_options({ hooks = hooks }))
ecs:enable_async(pool, 1000)

local done, failed, t0 = 0, 0, core.now()
local errors_seen = {}

local function progress()
  local dt = core.now() - t0
  io.write(string.format("\r%5d / %d done, %d failed, %6.0f calls/s ", done, calls, failed,
    dt > 0 and done / dt or 0))
  io.flush()
end

for i = 1, calls do
  ecs:DescribeInstancesAsync({ PageNumber = i % 3 + 1, PageSize = 10 }, function(_, err)
    done = done + 1
    if err then
      failed = failed + 1
      errors_seen[err.code] = (errors_seen[err.code] or 0) + 1
    end
    if done % 50 == 0 then progress() end
  end)
end
alicloud.run()
progress()

local dt = core.now() - t0
print(string.format("\n%d calls over a pool of %d in %.2f s: %.0f calls/s, %d failed",
  calls, pool, dt, calls / dt, failed))
for code, n in pairs(errors_seen) do print(string.format("  %s x %d", code, n)) end

print("# TYPE alicloud_requests_total counter")
local keys = {}
for k in pairs(requests) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do
  local action, code = k:match("^(.-)%z(.*)$")
  print(string.format('alicloud_requests_total{action="%s",code="%s"} %d', action, code, requests[k]))
end
print("# TYPE alicloud_request_duration_seconds histogram")
for i, le in ipairs(BUCKETS) do
  print(string.format('alicloud_request_duration_seconds_bucket{le="%s"} %d',
    le == math.huge and "+Inf" or tostring(le), latency.counts[i]))
end
print(string.format("alicloud_request_duration_seconds_sum %.6f", latency.sum))
print(string.format("alicloud_request_duration_seconds_count %d", latency.n))

ecs:shutdown()
support.finish()
if failed > 0 or latency.n ~= calls then os.exit(1) end
