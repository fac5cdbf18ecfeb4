-- Run by tools/dist_check.sh with package paths holding only the luarocks tree it installed
-- into (and ./ for the fake cloud): the installed module is the one that loads, it reports
-- VERSION, and it makes real calls, sync and async, against the local fake cloud.
--   lua5.4 tools/dist_check.lua <tree> <version>
local tree, version = assert(arg[1], "tree"), assert(arg[2], "version")

local function from_tree(path, what)
  assert(path and path:sub(1, #tree) == tree,
    string.format("%s loads from %s, not from the installed tree %s", what, tostring(path), tree))
end
from_tree(package.searchpath("alicloud", package.path), "alicloud")
from_tree(package.searchpath("alicloud.core", package.cpath), "alicloud.core")

local alicloud = require("alicloud")
assert(alicloud.VERSION == version,
  string.format("installed alicloud.VERSION is %q, VERSION says %q", alicloud.VERSION, version))

local fake = require("spec.support.fake")
local server = fake.start()
local ok, err = pcall(function()
  local ecs = alicloud.client("ecs", {
    region = "cn-hangzhou", endpoint = server.endpoint, scheme = "http",
    credential = alicloud.credentials.access_key(fake.ACCESS_KEY_ID, fake.ACCESS_KEY_SECRET),
  })
  local res, cerr = ecs:DescribeRegions({})
  assert(res, tostring(cerr))
  assert(#res.Regions.Region > 0, "no regions")
  ecs:enable_async(2, 10)
  local page, perr = ecs:DescribeInstancesAsync({ PageSize = 10 }):wait(30)
  assert(page, tostring(perr))
  assert(type(page.TotalCount) == "number", "no TotalCount")
  ecs:shutdown()
end)
server:stop()
assert(ok, err)
print(string.format("dist-check: alicloud %s installed from the source rock into %s; loads, signs "
  .. "and calls the fake cloud sync and async", alicloud.VERSION, tree))
