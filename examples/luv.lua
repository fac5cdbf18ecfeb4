-- alicloud inside a luv (libuv) loop: calls are delivered by uv.run() alongside your own
-- handles, and uv.run() returns by itself once every call is delivered.
--   lua5.4 examples/luv.lua               (needs the Debian package lua-luv)
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud
local uv = require("luv")

local ecs = alicloud.client("ecs", support.client_options())
ecs:enable_async(8, 1000)
alicloud.loop.luv.attach(uv)

-- Your own work in the same loop: a ticker. Unreferenced, so it does not keep uv.run() going;
-- alicloud holds the loop open exactly while calls are pending.
local ticks = 0
local ticker = uv.new_timer()
ticker:start(5, 5, function() ticks = ticks + 1 end)
ticker:unref()

-- A callback, delivered inside the loop.
ecs:DescribeRegionsAsync({}, function(res, err)
  if err then print("regions: failed: " .. tostring(err)) return end
  print(string.format("callback: %d regions", #res.Regions.Region))
end)

-- Coroutines awaiting their own calls, resumed by the loop.
local pages = {}
for page = 1, 3 do
  alicloud.async(function()
    local res, err = ecs:DescribeInstancesAsync({ PageNumber = page, PageSize = 10 }):await()
    pages[page] = res and #res.Instances.Instance or tostring(err)
  end)
end

-- A timer that starts a call later: the loop, idle or not, is held open for it.
local later = uv.new_timer()
later:start(20, 0, function()
  later:close()
  alicloud.async(function()
    local res = assert(ecs:DescribeInstancesAsync({ PageSize = 1 }):await())
    print(string.format("timer:    %d instances in all", res.TotalCount))
  end)
end)

uv.run() -- returns when nothing is pending: no uv.stop(), no alicloud.run()
print(string.format("await:    pages of %s, %s and %s instances (%d ticks meanwhile)",
  pages[1], pages[2], pages[3], ticks))
assert(alicloud.pending() == 0)

ticker:close()
alicloud.loop.luv.detach()
uv.run() -- lets the closed handles finish
ecs:shutdown()
support.finish()
