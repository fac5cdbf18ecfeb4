-- Pages and waiters: every instance of a region page by page, the same list fetched with the
-- pages after the first in flight at once, the tags of a token-paged action, and a waiter
-- that polls until a starting instance runs (sync, then async without blocking).
--   lua5.4 examples/paging.lua        (make demo runs it against the local fake cloud)
local support = dofile("examples/support.lua")
local alicloud = support.alicloud

local ecs = alicloud.client("ecs", support.client_options())
local fake = support.fake_server
if fake then -- the fake cloud: 95 instances, each page taking 0.1 s to answer
  fake:config{ instances = { count = 95, page_delay = 0.1 } }
end

-- Sync: one page at a time, as the loop asks. On a failure, `page` is false and err says why.
local pages, count = 0, 0
for page, err in ecs:pages("DescribeInstances", { PageSize = 10 }) do
  if not page then error("listing failed: " .. tostring(err)) end
  pages = pages + 1
  count = count + #page.Instances.Instance
end
print(string.format("pages:      %d instances in %d pages", count, pages))

-- The same, item by item.
local first, last
for inst in ecs:items("DescribeInstances", { PageSize = 10 }) do
  first = first or inst.InstanceId
  last = inst.InstanceId
end
print(string.format("items:      %s ... %s", tostring(first), tostring(last)))

-- Async: the first page, then the other pages concurrently through the pool, order kept.
ecs:enable_async(8, 1000)
local all = assert(ecs:all_items_async("DescribeInstances", { PageSize = 10 }):wait(60))
print(string.format("all_items:  %d instances, %s first", #all, tostring(all[1] and all[1].InstanceId)))
if fake then
  print(string.format("            the fake cloud saw up to %d pages in flight at once",
    fake:stats().instances.max_in_flight.DescribeInstances))
end

-- A token-paged action: ListTagResources follows NextToken until it comes back empty.
local tags = 0
for _, err in ecs:items("ListTagResources", { ResourceType = "instance" }) do
  if err then error(tostring(err)) end
  tags = tags + 1
end
print(string.format("tags:       %d tag resources", tags))

-- Waiters, on the first instance listed. On the fake cloud it turns Running 1 s after this.
if fake then fake:config{ instances = { count = 1, status = "Starting", running_after = 1 } } end
local target = first
local function running(res)
  local inst = res.Instances.Instance[1]
  return inst ~= nil and inst.Status == "Running"
end
local params = { InstanceIds = alicloud.as_json({ target }) }

local res, err = ecs:wait_for("DescribeInstances", params, running,
  { interval = 0.2, max_interval = 1, timeout = 60 })
if not res then error("wait_for: " .. tostring(err)) end
print(string.format("wait_for:   %s is %s", target, res.Instances.Instance[1].Status))

-- Async: while the waiter waits, this thread keeps delivering other results.
if fake then fake:config{ instances = { count = 1, status = "Starting", running_after = 1 } } end
local other = 0
local p = ecs:wait_for_async("DescribeInstances", params, running, { interval = 0.2 })
local function another()
  if p:status() == "pending" then
    ecs:DescribeRegionsAsync({}, function() other = other + 1; another() end)
  end
end
another()
p:next(function(r)
  print(string.format("async:      %s is %s; %d other calls delivered meanwhile", target,
    r.Instances.Instance[1].Status, other))
end, function(e) print("wait_for_async failed: " .. tostring(e)) end)
alicloud.run()

-- A condition that never holds, with a short timeout.
local _, terr = ecs:wait_for("DescribeInstances", params, function() return false end,
  { interval = 0.1, timeout = 0.3 })
print(string.format("timeout:    %s after %d polls", terr.code, terr.polls))

ecs:shutdown()
support.finish()
