-- The protocol end to end: each API style x each signature version x sync/async, the
-- CommonRequest, path and parameter encoding, all verified by the fake cloud's own signers.
local env = require("spec.support.env")
local alicloud = env.alicloud()

-- Runs `fn(client)` as a sync call or through the pool, returning res, err either way.
local function runner(mode)
  if mode == "sync" then
    return function(client, action, params) return client[action](client, params) end
  end
  return function(client, action, params)
    client:enable_async(2, 10)
    return client[action .. "Async"](client, params):wait(10)
  end
end

describe("protocol", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function() assert.is_true(alicloud.run(10)) end)

  local function cs(opts)
    local o = { region = "cn-hangzhou", credential = env.credential(),
      endpoint = server.endpoint, scheme = "http" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return alicloud.client("cs", o)
  end

  for _, sig in ipairs({ "v1", "v3" }) do
    for _, mode in ipairs({ "sync", "async" }) do
      local call = runner(mode)
      local label = string.format("signature %s, %s: ", sig, mode)

      it(label .. "RPC action with flattened parameters", function()
        local res, err = call(env.ecs({ signature_version = sig }), "DescribeInstances",
          { PageSize = 3, PageNumber = 2 })
        assert.is_nil(err)
        assert.are.equal(25, res.TotalCount)
        assert.are.equal(2, res.PageNumber)
        assert.are.equal(3, #res.Instances.Instance)
      end)

      it(label .. "ROA GET with a path parameter found in the catalogue", function()
        local list = cs({ signature_version = sig }):request({ action = "DescribeClusters",
          pathname = "/clusters" })
        local id = list.clusters[1].cluster_id
        local res, err = call(cs({ signature_version = sig }), "DescribeClusterDetail",
          { ClusterId = id })
        assert.is_nil(err)
        assert.are.equal(id, res.cluster_id)
        assert.are.equal(1, server:stats().by_action["GET /clusters/{id}"])
      end)

      it(label .. "ROA POST with a JSON body", function()
        local res, err = call(cs({ signature_version = sig }), "CreateCluster",
          { name = "demo", cluster_type = "ManagedKubernetes", tags = { { key = "k" } } })
        assert.is_nil(err)
        assert.matches("^c%-fake", res.cluster_id)
      end)

      it(label .. "ROA service error keeps its code, status and request id", function()
        local _, err = call(cs({ signature_version = sig }), "DescribeClusterDetail",
          { ClusterId = "c-missing" })
        assert.are.equal("ErrorClusterNotFound", err.code)
        assert.are.equal(404, err.http_status)
        assert.is_string(err.request_id)
      end)

      it(label .. "STS credentials sign with the security token", function()
        server:config{ sts_tokens = { [env.fake.ACCESS_KEY_ID] = "tok-" .. sig } }
        local cred = alicloud.credentials.sts(env.fake.ACCESS_KEY_ID, env.fake.ACCESS_KEY_SECRET,
          "tok-" .. sig)
        local _, err = call(env.ecs({ signature_version = sig, credential = cred }),
          "DescribeRegions", {})
        assert.is_nil(err)
        local _, err2 = call(cs({ signature_version = sig, credential = cred }), "CreateCluster",
          { name = "x" })
        assert.is_nil(err2)
      end)

      it(label .. "a wrong secret is diagnosed without the secret", function()
        local _, err = call(cs({ signature_version = sig, credential = env.credential("nope") }),
          "CreateCluster", { name = "x" })
        assert.are.equal("SignatureDoesNotMatch", err.code)
        assert.are.equal("wrong_secret", err.diagnosis)
        assert.is_nil(tostring(err):find("nope", 1, true))
      end)
    end

    describe("CommonRequest, signature " .. sig, function()
      local function echo(req, style)
        req.action = req.action or "FakeEcho"
        req.signature_version = sig
        req.style = style
        local res, err = env.custom():request(req)
        assert.is_nil(err)
        return res
      end

      it("RPC: query, form and headers travel where asked", function()
        local res = echo({ query = { Q = "in query", L = { "a", "b" } }, form = { F = "in form" },
          headers = { ["x-acs-custom"] = "h1" } }, "rpc")
        assert.are.equal("in query", res.Query.Q)
        assert.are.equal("b", res.Query["L.2"])
        assert.are.equal("in form", res.Form.F)
        assert.is_nil(res.Query.F)
        assert.are.equal("h1", res.Headers["x-acs-custom"])
        assert.are.equal(sig == "v3" and "v3" or "rpc", res.Style)
        assert.are.equal("FakeEcho", res.Headers["x-acs-action"])
      end)

      it("ROA: path parameters and query values are encoded, and signed as sent", function()
        local res = echo({ pathname = "/items/[Id]/a b", path_params = { Id = "x/y z+é" },
          query = { filter = "a b&c=d", empty = "" }, method = "GET" }, "roa")
        assert.are.equal("/items/x%2Fy%20z%2B%C3%A9/a%20b", res.Path)
        assert.are.equal("a b&c=d", res.Query.filter)
        assert.are.equal("", res.Query.empty)
        assert.are.equal(sig == "v3" and "v3" or "roa", res.Style)
      end)

      it("ROA: a table body is JSON, a string body is sent as is", function()
        local res = echo({ pathname = "/x", method = "POST", body = { a = 1, b = { true } } }, "roa")
        assert.are.same({ a = 1, b = { true } }, require("alicloud.json").decode(res.Body))
        assert.matches("^application/json", res.Headers["content-type"])
        res = echo({ pathname = "/x", method = "PUT", body = "raw bytes",
          content_type = "text/plain" }, "roa")
        assert.are.equal("raw bytes", res.Body)
        assert.are.equal("PUT", res.Method)
        assert.are.equal("text/plain", res.Headers["content-type"])
      end)

      it("async and with a callback", function()
        local client = env.custom({ signature_version = sig })
        client:enable_async(1, 10)
        local got
        local p = client:request_async({ action = "FakeEcho", query = { N = 7 } },
          function(res) got = res end)
        local res = p:wait(10)
        assert.are.equal("7", res.Query.N)
        assert.are.equal(res, got)
      end)
    end)
  end

  describe("one client, one connection, calls of every shape in turn", function()
    -- a worker (and the runtime, for sync calls) keeps its libcurl options, and the buffer it
    -- reads bodies into, from call to call of the same client, setting each call's own: none
    -- of one call's may reach the next (a raw call keeps its body, the next reads afresh)
    local SEQUENCE = {
      { style = "roa", pathname = "/a", method = "POST", body = { n = 1 }, want = "POST" },
      { style = "roa", pathname = "/b", method = "GET", query = { q = "1" }, want = "GET" },
      { style = "roa", pathname = "/c", method = "PUT", body = "raw", want = "PUT" },
      { style = "roa", pathname = "/d", method = "DELETE", want = "DELETE" },
      { style = "roa", pathname = "/e", method = "GET", want = "GET" },
      { style = "rpc", form = { F = "f" }, want = "POST" },
      { style = "roa", pathname = "/r", method = "GET", raw = true, want = "GET" },
      { style = "roa", pathname = "/f", method = "GET", want = "GET" },
    }
    local function check(i, res)
      local c = SEQUENCE[i]
      if c.raw then
        assert.are.equal("string", type(res), "call " .. i)
        res = require("alicloud.json").decode(res)
      end
      assert.are.equal(c.want, res.Method, "call " .. i)
      if c.style == "roa" then assert.are.equal(c.pathname, res.Path, "call " .. i) end
      local body = c.body == nil and "" or type(c.body) == "string" and c.body
        or require("alicloud.json").encode(c.body)
      if c.form then
        assert.are.equal("f", res.Form.F, "call " .. i)
      else
        assert.are.equal(body, res.Body or "", "call " .. i)
      end
      assert.are.equal(c.query and "1" or nil, res.Query.q, "call " .. i)
    end
    local function request(i)
      local c = SEQUENCE[i]
      return { action = "FakeEcho", style = c.style, pathname = c.pathname, method = c.method,
        body = c.body, query = c.query, form = c.form, raw = c.raw }
    end

    -- checked once all calls are done: no later call may have changed an earlier result
    it("sync", function()
      local client = env.custom()
      local results = {}
      for i = 1, #SEQUENCE do
        local res, err = client:request(request(i))
        assert.is_nil(err)
        results[i] = res
      end
      for i = 1, #SEQUENCE do check(i, results[i]) end
    end)

    it("async, on a pool of one", function()
      local client = env.custom()
      client:enable_async(1, 10)
      local results = {}
      for i = 1, #SEQUENCE do
        local res, err = client:request_async(request(i)):wait(10)
        assert.is_nil(err)
        results[i] = res
      end
      for i = 1, #SEQUENCE do check(i, results[i]) end
      client:shutdown()
    end)
  end)

  describe("parameters", function()
    it("sends a JSON-typed parameter as one string", function()
      local res = env.custom():FakeEcho({ Tags = alicloud.as_json({ { Key = "k", Value = "v" } }) })
      assert.are.same({ { Key = "k", Value = "v" } }, require("alicloud.json").decode(res.Query.Tags))
      assert.is_nil(res.Query["Tags.1.Key"])
    end)

    it("uses a newer API version when the client asks", function()
      local res = env.custom({ version = "2099-01-01" }):FakeEcho({})
      assert.are.equal("2099-01-01", res.Query.Version)
    end)
  end)

  describe("actions", function()
    it("fails a misspelt action at once with SDK.InvalidAction and a suggestion", function()
      local res, err = env.ecs():DescribeRegion({})
      assert.is_nil(res)
      assert.are.equal("SDK.InvalidAction", err.code)
      assert.matches("did you mean DescribeRegions", err.message)
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local _, aerr = ecs:DescribeRegionAsync({}):wait()
      assert.are.equal("SDK.InvalidAction", aerr.code)
      assert.are.equal(0, server:stats().requests)
    end)

    it("reports a missing ROA path parameter as SDK.InvalidParam", function()
      local _, err = cs():DescribeClusterDetail({})
      assert.are.equal("SDK.InvalidParam", err.code)
      assert.matches("ClusterId", err.message)
    end)

    it("raises on a malformed CommonRequest (misuse)", function()
      local c = env.custom()
      assert.has_error(function() c:request("x") end)
      assert.has_error(function() c:request({ style = "soap", action = "A" }) end)
      assert.has_error(function() c:request({ style = "rpc" }) end)
      assert.has_error(function() c:request({ action = "A", bogus = 1 }) end)
      assert.has_error(function()
        c:request({ style = "roa", pathname = "/x", signature_version = "v3" })
      end)
    end)

    it("finds every product by name, with ROA methods and paths from the catalogue", function()
      local c = alicloud.client("cs", { region = "cn-beijing", credential = env.credential() })
      assert.are.equal("CS", c.product.code)
      assert.are.equal("cs.cn-beijing.aliyuncs.com", alicloud.endpoints.resolve("cs", "cn-beijing"))
    end)
  end)
end)
