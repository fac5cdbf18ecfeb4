-- core.template / core.task: the task description (csrc/lua/task_description.h), the one
-- contract between the Lua side and the C core, exercised against the fake cloud.
local env = require("spec.support.env")
local core = require("alicloud.core")
local runtime = require("alicloud.runtime")
local fake = env.fake

describe("the task description", function()
  local server
  setup(function() server = env.server() end)
  teardown(function() env.stop() end)

  local function template(extra)
    local common = { scheme = "http", host = server.endpoint, version = "2014-05-26",
      access_key_id = fake.ACCESS_KEY_ID, access_key_secret = fake.ACCESS_KEY_SECRET,
      user_agent = "task-description-spec" }
    for k, v in pairs(extra or {}) do common[k] = v end
    return core.template(common)
  end

  it("runs a call named by its fields on a template's common fields", function()
    local task = core.task(template(), { style = "rpc", action = "DescribeRegions",
      method = "POST", path = "/", query = { { "RegionId", "cn-hangzhou" } }, read_only = true })
    local value, plain = runtime.core():perform(task)
    assert.is_true(plain)
    assert.is_string(value.RequestId)
    assert.is_table(value.Regions.Region)
  end)

  it("delivers the raw result table when the call asks for raw", function()
    local task = core.task(template(), { action = "DescribeRegions", method = "POST", path = "/",
      raw = true })
    local result, plain = runtime.core():perform(task)
    assert.is_false(plain)
    assert.are.equal(200, result.status)
    assert.matches('"RequestId"', result.body)
  end)

  it("lets a call's version replace the template's (the server sees it)", function()
    local task = core.task(template(), { action = "DescribeRegions", method = "POST", path = "/",
      version = "1999-01-01", raw = true })
    local result = runtime.core():perform(task)
    assert.are_not.equal(200, result.status) -- ECS has no such version
  end)

  it("takes a one-off description with common and call fields in one table", function()
    local task = core.task({ signature_version = "none", scheme = "http", host = server.endpoint,
      style = "roa", method = "GET", path = "/__fake/stats", raw = true })
    local result, plain = runtime.core():perform(task)
    assert.is_false(plain)
    assert.are.equal(200, result.status)
    assert.matches('"requests"', result.body)
  end)

  it("raises on misuse, naming the field", function()
    local tmpl = template()
    assert.has_error(function() core.task(tmpl) end)
    assert.has_error(function() core.task(tmpl, "DescribeRegions") end)
    assert.has_error(function() core.task(tmpl, { action = "X", method = 5 }) end,
      "task field 'method' must be a string")
    assert.has_error(function() core.task(tmpl, { action = "X\0Y", method = "POST" }) end,
      "task field 'action' contains a NUL byte")
    assert.has_error(function() core.task(tmpl, { method = "POST", query = { "RegionId" } }) end,
      "task field 'query' item 1 must be a {name, value} pair of strings")
    assert.has_error(function() core.task({ scheme = "http", method = "GET" }) end,
      "task needs scheme, host and method")
    assert.has_error(function() core.task(tmpl, { action = "X" }) end,
      "task needs scheme, host and method")
    assert.has_error(function() template({ signature_version = "v2" }) end,
      "unknown signature_version 'v2'")
  end)
end)
