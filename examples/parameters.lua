-- Typed parameters: what an action takes (alicloud.describe), the forms values take, and a
-- misspelt name caught before anything is sent.
--   lua5.4 examples/parameters.lua
local support = dofile("examples/support.lua")
local alicloud = support.alicloud

-- 1. What DescribeInstances takes: version, method, paging, each parameter's kind and place.
local d = assert(alicloud.describe("ecs", "DescribeInstances"))
print(string.format("describe: %s %s (API %s), %d parameters, pages by %s", d.product, d.name,
  d.version, #d.params, d.paging.style))

local ecs = alicloud.client("ecs", support.client_options())

-- 2. Typed forms: InstanceIds is a string holding a JSON array (alicloud.as_json), Tag a list
-- of structs (Tag.1.Key, Tag.1.Value), PageSize an integer.
local res, err = ecs:DescribeInstances({
  InstanceIds = alicloud.as_json({ "i-fake000001", "i-fake000002" }),
  Tag = { { Key = "env", Value = "test" } },
  PageSize = 10,
})
if not res then error(tostring(err)) end
print(string.format("typed:    %d instances on this page", #res.Instances.Instance))

-- 3. A misspelt name fails here, with a suggestion, instead of being ignored by the server.
local _, bad = ecs:DescribeInstances({ PageSise = 10 })
print(string.format("checked:  %s (parameter %s)", bad.message, bad.parameter))

-- 4. A list where the API wants one JSON text is refused too, pointing at as_json.
local _, list = ecs:DescribeInstances({ InstanceIds = { "i-fake000001" } })
print("refused:  " .. list.code .. " for " .. list.parameter)
support.finish()
