-- Quick start: one sync call, one promise, one callback.
--   lua5.4 examples/quickstart.lua        (make demo runs it against the local fake cloud)
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud

local ecs = alicloud.client("ecs", support.client_options())

-- 1. Sync: the decoded JSON body, or nil and a structured error.
local res, err = ecs:DescribeRegions({ AcceptLanguage = "en-US" })
if not res then error(tostring(err)) end
print(string.format("sync:     %d regions (request id %s)", #res.Regions.Region,
  alicloud.meta(res).request_id))

-- 2. Async with a promise (the Go SDK's DescribeRegionsWithChan).
ecs:enable_async(4, 100)
local p = ecs:DescribeInstancesAsync({ PageSize = 10 })
local page, perr = p:wait()
if not page then error(tostring(perr)) end
print(string.format("promise:  %d of %d instances", #page.Instances.Instance, page.TotalCount))

-- 3. Async with a callback (DescribeRegionsWithCallback); it runs at delivery, on this thread.
ecs:DescribeRegionsAsync({}, function(r, e)
  if e then print("callback: failed: " .. tostring(e)) return end
  print(string.format("callback: first region is %s", r.Regions.Region[1].RegionId))
end)
alicloud.run()

ecs:shutdown()
support.finish()
