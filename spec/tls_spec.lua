-- HTTPS against the fake cloud's TLS listeners, with certificates made at test time by the
-- openssl CLI (spec/support/fake.lua, make_certs): a test CA and a certificate it signed for
-- 127.0.0.1 ("trusted"), a self-signed one ("untrusted"), one for another host name
-- ("wrong_host") and an expired one ("expired"). Promises: docs/RELIABILITY.md, "TLS".
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("TLS", function()
  local server

  setup(function() server = env.server({ tls = true }) end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  local fast = { max_attempts = 3, base = 0.001, cap = 0.01 }

  local function https(listener, opts)
    local o = { endpoint = server.tls[listener], scheme = "https", retry = fast }
    for k, v in pairs(opts or {}) do o[k] = v end
    return env.ecs(o)
  end

  local function requests() return server:stats().requests end

  it("verifies the server against ca_file and works", function()
    local ecs = https("trusted", { ca_file = server.ca_file })
    local res, err = ecs:DescribeRegions({})
    assert.is_nil(err)
    assert.are.equal(12, #res.Regions.Region)
    -- and keeps the TLS connection for the next call
    assert.is_not_nil((ecs:DescribeInstances({})))
    local st = server:stats()
    assert.are.equal(2, st.requests)
    assert.are.equal(1, st.connections)
  end)

  it("works async, every call settling once", function()
    local ecs = https("trusted", { ca_file = server.ca_file })
    ecs:enable_async(4, 100)
    local ps = {}
    for i = 1, 20 do ps[i] = ecs:DescribeRegionsAsync({}) end
    local res, err = alicloud.all(ps):wait(30)
    assert.is_nil(err)
    assert.are.equal(20, #res)
    assert.are.equal(20, server:stats().by_action.DescribeRegions)
    ecs:shutdown()
  end)

  -- listener, ca_file, what libcurl's reason says
  local BAD = {
    { "trusted", false, "local issuer", "a CA the system does not know" },
    { "untrusted", true, "self.signed", "a self-signed certificate" },
    { "wrong_host", true, "subject name", "a certificate for another host name" },
    { "expired", true, "expired", "an expired certificate" },
  }
  for _, b in ipairs(BAD) do
    local listener, with_ca, reason, what = b[1], b[2], b[3], b[4]
    it("refuses " .. what .. " with SDK.TLSError and the reason, never retried", function()
      local ecs = https(listener, { ca_file = with_ca and server.ca_file or nil })
      local res, err = ecs:DescribeRegions({})
      assert.is_nil(res)
      assert.are.equal("SDK.TLSError", err.code)
      assert.matches(reason, err.message)
      assert.is_false(err.retryable)
      assert.are.equal(1, err.attempts)        -- even for a read-only call
      assert.are.equal(0, requests())          -- nothing reached the API
    end)
  end

  it("a ca_file that does not exist is SDK.TLSError", function()
    local _, err = https("trusted", { ca_file = "/nonexistent/ca.pem" }):DescribeRegions({})
    assert.are.equal("SDK.TLSError", err.code)
    assert.are.equal(1, err.attempts)
  end)

  it("connect_timeout covers the TLS handshake", function()
    -- the kernel accepts the TCP connection; nobody ever answers the ClientHello
    local mute = env.mute_listener()
    local t0 = env.now()
    local _, err = env.ecs({ endpoint = mute.endpoint, scheme = "https", connect_timeout = 0.3,
      read_timeout = 5, retry = false }):DescribeRegions({})
    local took = env.now() - t0
    mute.close()
    assert.are.equal("SDK.TimeoutError", err.code)
    assert.are.equal("connect", err.timeout)
    assert.is_true(took < 2, "took " .. took)
  end)

  it("faults over TLS are reported as over plain HTTP", function()
    local ecs = https("trusted", { ca_file = server.ca_file, retry = false })
    local function with(mode)
      local _, err = ecs:DescribeRegions({}, { headers = { ["x-fake-fault"] = mode } })
      return err.code
    end
    assert.are.equal("SDK.ServerUnreachable", with("reset"))
    assert.are.equal("SDK.ServerUnreachable", with("drop"))
    assert.are.equal("SDK.InvalidResponse", with("truncate"))
    assert.are.equal("SDK.InvalidResponse", with("close_after_headers"))
    assert.are.equal("SDK.InvalidResponse", with("invalid_json"))
    assert.are.equal("ServiceUnavailable", with("503"))
  end)

  describe("insecure = true", function()
    -- The warning goes to the process's stderr once: watch it from a child lua5.4, which
    -- makes one call per endpoint in FAKE_ENDPOINTS, each on a new client, then an async one.
    local CHILD = [[
      local alicloud = require("alicloud")
      local function client(endpoint)
        return alicloud.client({ name = "fake", version = "2014-05-26", style = "rpc",
          endpoint = endpoint }, { region = "cn-hangzhou", retry = false,
          insecure = os.getenv("INSECURE") == "1",
          credential = alicloud.credentials.access_key("ak-test", "secret-test") })
      end
      local first
      for endpoint in os.getenv("FAKE_ENDPOINTS"):gmatch("[^,]+") do
        first = first or endpoint
        local r, e = client(endpoint):DescribeRegions({})
        print(r and "ok" or e.code)
      end
      local c = client(first)
      c:enable_async(1, 1)
      local r, e = c:DescribeRegionsAsync({}):wait(10)
      print(r and "ok" or e.code)
    ]]

    local function endpoints()
      return table.concat({ server.tls.untrusted, server.tls.wrong_host, server.tls.expired }, ",")
    end

    it("works with an untrusted, a wrong-host and an expired certificate, and says so once",
      function()
        local out, err, ok = env.run_lua(CHILD, { FAKE_ENDPOINTS = endpoints(), INSECURE = "1" })
        assert.is_true(ok, err)
        assert.are.equal("ok\nok\nok\nok\n", out)
        local n = select(2, err:gsub("insecure", "%0"))
        assert.are.equal(1, n, err)
        assert.matches("NOT verified", err)
        assert.are.equal(4, server:stats().by_action.DescribeRegions)
      end)

    it("without it, the same calls fail with SDK.TLSError and nothing is printed", function()
      local out, err, ok = env.run_lua(CHILD, { FAKE_ENDPOINTS = endpoints(), INSECURE = "0" })
      assert.is_true(ok, err)
      assert.are.equal("SDK.TLSError\nSDK.TLSError\nSDK.TLSError\nSDK.TLSError\n", out)
      assert.are.equal("", err)
      assert.are.equal(0, server:stats().requests)
    end)
  end)
end)
