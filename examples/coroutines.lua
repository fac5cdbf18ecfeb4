-- Coroutines without any loop library: each region's instances are listed page by page in
-- its own coroutine; one delivery loop (alicloud.run) drives them all.
--   lua5.4 examples/coroutines.lua        (make demo runs it against the local fake cloud)
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud

local ecs = alicloud.client("ecs", support.client_options())
ecs:enable_async(8, 1000)

-- Straight-line code: await suspends this coroutine only, the others carry on.
local function count_instances(region)
  local n, page = 0, 1
  repeat
    local res, err = ecs:DescribeInstancesAsync({ RegionId = region, PageNumber = page,
      PageSize = 10 }):await()
    if not res then return nil, err end -- async turns `nil, err` into a rejection
    n = n + #res.Instances.Instance
    page = page + 1
  until n >= res.TotalCount or #res.Instances.Instance == 0
  return n
end

local regions = assert(ecs:DescribeRegionsAsync({}):await()) -- outside a coroutine: wait()
local jobs, names = {}, {}
for i, r in ipairs(regions.Regions.Region) do
  if i > 4 then break end
  names[i] = r.RegionId
  jobs[i] = alicloud.async(count_instances, r.RegionId) -- a promise of the function's result
end

-- alicloud.all_settled gathers the coroutines' promises; alicloud.run delivers until done.
alicloud.all_settled(jobs):next(function(results)
  for i, r in ipairs(results) do
    if r.status == "fulfilled" then
      print(string.format("%-16s %d instances", names[i], r.value))
    else
      print(string.format("%-16s failed: %s", names[i], tostring(r.reason)))
    end
  end
end)
assert(alicloud.run(60))

ecs:shutdown()
support.finish()
