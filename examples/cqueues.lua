-- alicloud inside a cqueues controller: promise:await() in a cq:wrap coroutine suspends only
-- that coroutine, and cq:loop() returns once the work is done.
--   lua5.4 examples/cqueues.lua           (needs the Debian package lua-cqueues)
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud
local cqueues = require("cqueues")

local ecs = alicloud.client("ecs", support.client_options())
ecs:enable_async(8, 1000)

local cq = cqueues.new()
alicloud.loop.cqueues.attach(cq)

-- Each page in its own coroutine, awaiting its call.
local pages = {}
for page = 1, 3 do
  cq:wrap(function()
    local res, err = ecs:DescribeInstancesAsync({ PageNumber = page, PageSize = 10 }):await()
    pages[page] = res and #res.Instances.Instance or tostring(err)
  end)
end

-- Other work in the same controller runs while those wait.
cq:wrap(function()
  local regions = assert(ecs:DescribeRegionsAsync({}):await())
  for i = 1, 3 do
    print(string.format("region:   %s", regions.Regions.Region[i].RegionId))
    cqueues.sleep(0.01)
  end
end)

-- A callback, delivered inside the controller.
ecs:DescribeInstancesAsync({ PageSize = 1 }, function(res, err)
  if err then print("count: failed: " .. tostring(err)) return end
  print(string.format("callback: %d instances in all", res.TotalCount))
end)

assert(cq:loop()) -- returns when every coroutine ended and nothing is pending
print(string.format("await:    pages of %s, %s and %s instances", pages[1], pages[2], pages[3]))

alicloud.loop.cqueues.detach()
ecs:shutdown()
support.finish()
