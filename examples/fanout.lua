-- Fan-out: 1,000 calls over a pool of 16 workers, a live progress line, then a summary.
--   lua5.4 examples/fanout.lua [calls] [pool]
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud
local core = require("alicloud.core")

local calls = tonumber(arg[1]) or 1000
local pool = tonumber(arg[2]) or 16

local ecs = alicloud.client("ecs", support.client_options())
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
ecs:shutdown()
support.finish()
if failed > 0 then os.exit(1) end
