-- Proxies: the https_proxy / http_proxy / no_proxy options (or a proxies table), and the
-- environment variables libcurl reads when no option is given. A loopback proxy
-- (spec/support/fake_proxy.py) counts CONNECT tunnels and forwarded absolute-form requests;
-- the fake cloud counts what arrived. "api.localhost" is a loopback name (libcurl resolves
-- *.localhost itself) that lets no_proxy suffixes be tested. Promises: docs/RELIABILITY.md.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("proxies", function()
  local server, proxy

  setup(function()
    server = env.server({ tls = true })
    proxy = env.proxy()
  end)
  teardown(function() env.stop() end)
  before_each(function()
    server:reset()
    proxy:reset()
  end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  local function ecs(opts)
    local o = { retry = false }
    for k, v in pairs(opts or {}) do o[k] = v end
    return env.ecs(o)
  end

  local function https(opts)
    local o = { endpoint = server.tls.trusted, scheme = "https", ca_file = server.ca_file }
    for k, v in pairs(opts or {}) do o[k] = v end
    return ecs(o)
  end

  local function named(opts)  -- the plain listener under the name api.localhost
    local o = { endpoint = "api.localhost:" .. server.port }
    for k, v in pairs(opts or {}) do o[k] = v end
    return ecs(o)
  end

  local function ok(client)
    local res, err = client:DescribeRegions({})
    assert.is_nil(err)
    assert.are.equal(12, #res.Regions.Region)
  end

  local function via_proxy()
    local st = proxy:stats()
    return st.forwarded + st.tunnels
  end

  it("http_proxy: an http:// call is forwarded by the proxy", function()
    ok(ecs({ http_proxy = proxy.url }))
    local st = proxy:stats()
    assert.are.equal(1, st.forwarded)
    assert.are.equal(0, st.tunnels)
    assert.are.equal(1, st.by_target[server.endpoint])
    assert.are.equal(1, server:stats().by_action.DescribeRegions)
  end)

  it("https_proxy: an https:// call goes through a CONNECT tunnel, verified end to end",
    function()
      local client = https({ https_proxy = proxy.url })
      ok(client)
      ok(client)
      local st = proxy:stats()
      assert.are.equal(1, st.tunnels)              -- the tunnel is kept alive for the next call
      assert.are.equal(1, st.by_target[server.tls.trusted])
      assert.are.equal(2, server:stats().by_action.DescribeRegions)
      -- through the tunnel the certificate is still checked
      local _, err = ecs({ endpoint = server.tls.untrusted, scheme = "https",
        ca_file = server.ca_file, https_proxy = proxy.url }):DescribeRegions({})
      assert.are.equal("SDK.TLSError", err.code)
      assert.are.equal(2, proxy:stats().tunnels)
    end)

  it("the proxies table form works the same", function()
    ok(ecs({ proxies = { http = proxy.url } }))
    ok(https({ proxies = { https = proxy.url } }))
    local st = proxy:stats()
    assert.are.equal(1, st.forwarded)
    assert.are.equal(1, st.tunnels)
  end)

  it("each scheme uses its own proxy only", function()
    ok(https({ http_proxy = proxy.url }))       -- https call, only an http proxy: direct
    ok(ecs({ https_proxy = proxy.url }))        -- http call, only an https proxy: direct
    assert.are.equal(0, via_proxy())
    assert.are.equal(2, server:stats().by_action.DescribeRegions)
  end)

  it("async calls through the proxy all settle once", function()
    local client = ecs({ http_proxy = proxy.url })
    client:enable_async(4, 100)
    local settled, ps = {}, {}
    for i = 1, 24 do
      ps[i] = client:DescribeRegionsAsync({}, function() settled[i] = (settled[i] or 0) + 1 end)
    end
    local res, err = alicloud.all(ps):wait(30)
    assert.is_nil(err)
    assert.are.equal(24, #res)
    for i = 1, 24 do assert.are.equal(1, settled[i]) end
    assert.are.equal(24, proxy:stats().forwarded)
    client:shutdown()
  end)

  it("a proxy that is down is SDK.ServerUnreachable, retried (nothing was sent)", function()
    local _, err = env.custom({ http_proxy = "http://127.0.0.1:1",
      retry = { max_attempts = 3, base = 0.001, cap = 0.01 } }):CreateInstance({})
    assert.are.equal("SDK.ServerUnreachable", err.code)
    assert.are.equal(3, err.attempts)
    assert.are.equal(0, server:stats().requests)
  end)

  describe("no_proxy", function()
    -- entry list, proxied?
    local CASES = {
      { "localhost", false, "a parent domain" },
      { ".localhost", false, "a parent domain with a leading dot" },
      { "api.localhost", false, "the host itself" },
      { "example.com, localhost", false, "a list (with spaces)" },
      { "calhost", true, "a string that ends the name but is not a domain suffix" },
      { "api\\.local.*", true, "a regular expression (not supported: suffixes only)" },
      { "*.localhost", true, "a glob (not supported: suffixes only)" },
      { "other.localhost", true, "another host of the same domain" },
    }
    for _, c in ipairs(CASES) do
      local list, proxied, what = c[1], c[2], c[3]
      it(string.format("%q (%s) %s", list, what, proxied and "does not match" or "bypasses"),
        function()
          ok(named({ http_proxy = proxy.url, no_proxy = list }))
          assert.are.equal(proxied and 1 or 0, via_proxy())
          assert.are.equal(1, server:stats().by_action.DescribeRegions)
        end)
    end

    it("applies to https (no tunnel) and in the proxies table", function()
      ok(https({ https_proxy = proxy.url, no_proxy = "127.0.0.1" }))
      ok(named({ proxies = { http = proxy.url, no_proxy = "localhost" } }))
      assert.are.equal(0, via_proxy())
    end)
  end)

  describe("environment variables (no proxy option given)", function()
    -- libcurl reads them itself; a child lua5.4 gets them in its environment.
    local CHILD = [[
      local alicloud = require("alicloud")
      local o = { region = "cn-hangzhou", retry = false, scheme = os.getenv("SCHEME"),
        ca_file = os.getenv("CA_FILE"), http_proxy = os.getenv("OPT_HTTP_PROXY"),
        credential = alicloud.credentials.access_key("ak-test", "secret-test") }
      local c = alicloud.client({ name = "fake", version = "2014-05-26", style = "rpc",
        endpoint = os.getenv("FAKE_ENDPOINT") }, o)
      local r, e = c:DescribeRegions({})
      print(r and "ok" or (e.code .. " " .. e.message))
    ]]
    local function child(vars)
      -- start from a clean slate whatever the parent's environment holds
      local all = { http_proxy = false, https_proxy = false, HTTPS_PROXY = false,
        no_proxy = false, NO_PROXY = false, all_proxy = false, ALL_PROXY = false,
        SCHEME = "http", FAKE_ENDPOINT = server.endpoint }
      for k, v in pairs(vars) do all[k] = v end
      local out, err, status = env.run_lua(CHILD, all)
      assert.is_true(status, err)
      return out
    end

    it("http_proxy is used for http:// calls", function()
      assert.are.equal("ok\n", child({ http_proxy = proxy.url }))
      assert.are.equal(1, proxy:stats().forwarded)
    end)

    it("https_proxy and HTTPS_PROXY are used for https:// calls", function()
      for _, name in ipairs({ "https_proxy", "HTTPS_PROXY" }) do
        assert.are.equal("ok\n", child({ [name] = proxy.url, SCHEME = "https",
          FAKE_ENDPOINT = server.tls.trusted, CA_FILE = server.ca_file }))
      end
      assert.are.equal(2, proxy:stats().tunnels)
    end)

    it("all_proxy and ALL_PROXY are used for http:// calls, with the whole URL", function()
      -- alicloud hands libcurl the path and query apart when nothing proxies a call; a
      -- forwarding proxy must still get the absolute form (the fake proxy refuses others)
      for _, name in ipairs({ "all_proxy", "ALL_PROXY" }) do
        assert.are.equal("ok\n", child({ [name] = proxy.url }))
      end
      assert.are.equal(2, proxy:stats().forwarded)
      assert.are.equal(2, server:stats().by_action.DescribeRegions)
    end)

    it("no_proxy and NO_PROXY are host suffixes", function()
      for _, name in ipairs({ "no_proxy", "NO_PROXY" }) do
        assert.are.equal("ok\n", child({ http_proxy = proxy.url, [name] = "localhost",
          FAKE_ENDPOINT = "api.localhost:" .. server.port }))
      end
      assert.are.equal(0, via_proxy())
      assert.are.equal(2, server:stats().by_action.DescribeRegions)
    end)

    it("an option wins over the environment", function()
      -- the environment names a proxy that is down; the option names ours
      assert.are.equal("ok\n", child({ http_proxy = "http://127.0.0.1:1",
        OPT_HTTP_PROXY = proxy.url }))
      assert.are.equal(1, proxy:stats().forwarded)
    end)
  end)
end)
