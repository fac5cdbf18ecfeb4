-- The debug log: one line per attempt (ALICLOUD_DEBUG or alicloud.debug), written on the Lua
-- thread at delivery from what the workers recorded, never showing a secret, a signature, a
-- security token or an Authorization value.
local env = require("spec.support.env")
local alicloud = env.alicloud()

local TOKEN = "tok-debug-7f3a9c"

-- The fields of a level-1 line.
local function parse(line)
  local t = {}
  t.time, t.product, t.action, t.method, t.host, t.outcome, t.attempt, t.ms, t.request_id =
    line:match("^alicloud: (%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ) (%S+) (%S+) (%u+) (%S+) "
      .. "(.-) attempt=(%d+) ms=([%d%.]+) request_id=(%S+)")
  if not t.time then return nil end
  t.attempt, t.ms = tonumber(t.attempt), tonumber(t.ms)
  return t
end

describe("debug log", function()
  local server

  setup(function() server = env.server() end)
  teardown(function()
    alicloud.debug(false)
    env.stop()
  end)
  before_each(function() server:reset() end)
  after_each(function()
    alicloud.debug(false)
    assert.is_true(alicloud.run(30))
  end)

  it("ALICLOUD_DEBUG=1 writes one line per attempt to stderr, read at require time", function()
    server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
      times = 1 } } }
    local out, err, ok = env.run_lua(string.format([[
      local alicloud = require("alicloud")
      local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = %q, scheme = "http",
        credential = alicloud.credentials.access_key("ak-test", "secret-test"),
        retry = { base = 0.01, cap = 0.02 } })
      local res = assert(ecs:DescribeRegions({}))
      io.stdout:write(res.RequestId, "\n")
      io.stderr:write("-- sync returned\n")
      ecs:enable_async(2, 10)
      local p = ecs:DescribeInstancesAsync({ PageSize = 5 })
      io.stderr:write("-- submitted\n")
      local page = assert(p:wait(10))
      io.stdout:write(page.RequestId, "\n")
    ]], server.endpoint), { ALICLOUD_DEBUG = "1" })
    assert.is_true(ok, err)
    local ids = {}
    for id in out:gmatch("[^\n]+") do ids[#ids + 1] = id end
    local all = {}
    for l in err:gmatch("[^\n]+") do all[#all + 1] = l end
    -- the sync call's two lines come before it returns, the async call's after submission
    assert.are.equal(5, #all, err)
    assert.are.equal("-- sync returned", all[3])
    assert.are.equal("-- submitted", all[4])
    local a1, a2, a3 = parse(all[1]), parse(all[2]), parse(all[5])
    assert.is_table(a1, all[1])
    assert.are.same({ "ecs", "DescribeRegions", "POST", server.endpoint, "503 ServiceUnavailable", 1 },
      { a1.product, a1.action, a1.method, a1.host, a1.outcome, a1.attempt })
    assert.are.same({ "DescribeRegions", "200", 2, ids[1] },
      { a2.action, a2.outcome, a2.attempt, a2.request_id })
    assert.are_not.equal(a1.request_id, a2.request_id)
    assert.are.same({ "DescribeInstances", "200", 1, ids[2] },
      { a3.action, a3.outcome, a3.attempt, a3.request_id })
    assert.is_true(a2.ms >= 0 and a2.ms < 10000)
    assert.is_nil(err:find("query=", 1, true)) -- level 1: no query, no headers
    -- the time is now, in UTC
    local y, mo, d, h, mi, s = a1.time:match("(%d+)%-(%d+)%-(%d+)T(%d+):(%d+):(%d+)")
    local now = os.time(os.date("!*t"))
    local t = os.time({ year = y, month = mo, day = d, hour = h, min = mi, sec = s })
    assert.is_true(math.abs(now - t) < 60, a1.time)
  end)

  it("writes nothing without ALICLOUD_DEBUG, and ALICLOUD_DEBUG=0 is off", function()
    for _, v in ipairs({ false, "0" }) do
      local _, err, ok = env.run_lua(string.format([[
        local alicloud = require("alicloud")
        local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = %q, scheme = "http",
          credential = alicloud.credentials.access_key("ak-test", "secret-test") })
        assert(ecs:DescribeRegions({}))
      ]], server.endpoint), { ALICLOUD_DEBUG = v })
      assert.is_true(ok, err)
      assert.are.equal("", err)
    end
  end)

  it("alicloud.debug(fn) hands each line to fn on the Lua thread, at delivery", function()
    local got = {}
    alicloud.debug(function(line, attempt) got[#got + 1] = { line = line, attempt = attempt } end)
    local ecs = env.ecs()
    ecs:enable_async(4, 100)
    local ps = {}
    for i = 1, 5 do ps[i] = ecs:DescribeInstancesAsync({ PageNumber = i }) end
    -- the workers finish meanwhile, but nothing is written until a delivery
    assert.is_truthy(env.eventually(function() return ecs._pool:undelivered() == 5
      and alicloud.pending() == 5 and server:stats().requests == 5 end))
    assert.are.equal(0, #got)
    local results = assert(alicloud.all(ps):wait(10))
    assert.are.equal(5, #got)
    local seen = {}
    for _, g in ipairs(got) do
      local f = assert(parse(g.line), g.line)
      assert.are.equal("DescribeInstances", f.action)
      assert.are.equal(200, g.attempt.status)
      assert.are.equal(f.request_id, g.attempt.request_id)
      seen[f.request_id] = true
    end
    for _, r in ipairs(results) do assert.is_true(seen[r.RequestId]) end
    ecs:shutdown()
  end)

  it("names the transport failure when there was no answer", function()
    local got = {}
    alicloud.debug(function(line) got[#got + 1] = line end)
    local hole = env.blackhole()
    local ecs = env.ecs({ endpoint = hole.endpoint, connect_timeout = 0.2, retry = false })
    local _, err = ecs:DescribeRegions({})
    hole:close()
    assert.are.equal("SDK.TimeoutError", err.code)
    assert.are.equal(1, #got)
    local f = assert(parse(got[1]), got[1])
    assert.are.same({ "SDK.TimeoutError", "-", hole.endpoint },
      { f.outcome, f.request_id, f.host })
  end)

  it("stops with alicloud.debug(false)", function()
    local got = {}
    alicloud.debug(function(line) got[#got + 1] = line end)
    assert(env.ecs():DescribeRegions({}))
    assert.are.equal(0, alicloud.debug(false))
    assert(env.ecs():DescribeRegions({}))
    assert.are.equal(1, #got)
  end)

  it("rejects a bad argument", function()
    assert.has_error(function() alicloud.debug("yes") end)
    assert.has_error(function() alicloud.debug(true, 3) end)
  end)

  describe("at level 2", function()
    -- FakeEcho answers with what arrived: the signature and Authorization value the call sent
    local function echo(opts, sts, req)
      local lines = {}
      alicloud.debug(function(line) lines[#lines + 1] = line end, 2)
      local o = { credential = alicloud.credentials.sts(env.fake.ACCESS_KEY_ID,
        env.fake.ACCESS_KEY_SECRET, sts and TOKEN or nil) }
      for k, v in pairs(opts or {}) do o[k] = v end
      local r = { action = "FakeEcho", query = { Name = "visible-value" } }
      for k, v in pairs(req or {}) do r[k] = v end
      local res, err = env.custom(o):request(r)
      assert.is_nil(err)
      alicloud.debug(false)
      assert.are.equal(1, #lines)
      return lines[1], res
    end

    local function headers_of(res)
      local h = {}
      for k, v in pairs(res.Headers) do h[k:lower()] = v end
      return h
    end

    local function assert_clean(text, secrets)
      for _, s in ipairs(secrets) do
        assert.is_string(s)
        assert.is_true(#s >= 8, s)
        assert.is_nil(text:find(s, 1, true), "found " .. s .. " in: " .. text)
      end
    end

    it("adds the query and headers of an RPC call, its signature and token masked", function()
      local line, res = echo({}, true)
      assert.is_truthy(line:find(" query=", 1, true))
      assert.is_truthy(line:find("Name=visible-value", 1, true))
      assert.is_truthy(line:find("AccessKeyId=" .. env.fake.ACCESS_KEY_ID, 1, true))
      assert.is_truthy(line:find("SecurityToken=***", 1, true))
      assert.is_truthy(line:find("Signature=***", 1, true))
      assert.is_truthy(line:find("SignatureNonce=" .. res.Query.SignatureNonce, 1, true))
      assert.is_truthy(line:find("x-acs-action: FakeEcho", 1, true))
      assert_clean(line, { env.fake.ACCESS_KEY_SECRET, TOKEN, res.Query.Signature,
        res.Query.SecurityToken })
    end)

    it("masks the Authorization value and the token header of a V3 call", function()
      local line, res = echo({ signature_version = "v3" }, true)
      local h = headers_of(res)
      assert.is_truthy(h.authorization:find("ACS3-HMAC-SHA256", 1, true))
      assert.is_truthy(line:find("Authorization: ***", 1, true))
      assert.is_truthy(line:find("x-acs-security-token: ***", 1, true))
      assert_clean(line, { env.fake.ACCESS_KEY_SECRET, TOKEN, h.authorization,
        h.authorization:match("Signature=(%x+)") })
    end)

    it("masks the Authorization value of a ROA call", function()
      local line, res = echo({}, true, { style = "roa", pathname = "/echo", method = "GET" })
      local h = headers_of(res)
      assert.is_truthy(h.authorization:find("^acs "))
      assert.is_truthy(line:find("Authorization: ***", 1, true))
      assert_clean(line, { env.fake.ACCESS_KEY_SECRET, TOKEN, h.authorization,
        h.authorization:match(":(.+)$") })
    end)
  end)
end)
