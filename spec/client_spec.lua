-- Sync calls, results, parameters on the wire, errors and meta, against the fake cloud.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("client", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  describe("sync calls", function()
    it("returns the decoded body with integral numbers as Lua integers", function()
      local res, err = env.ecs():DescribeInstances({ PageSize = 5, PageNumber = 2 })
      assert.is_nil(err)
      assert.are.equal(25, res.TotalCount)
      assert.are.equal("25", tostring(res.TotalCount)) -- not 25.0 on 5.3+
      assert.are.equal(2, res.PageNumber)
      assert.are.equal(5, #res.Instances.Instance)
      assert.are.equal("i-fake000006", res.Instances.Instance[1].InstanceId)
    end)

    it("is the same call as call(action, params) and as the async form", function()
      local ecs = env.ecs()
      local a = ecs:DescribeRegions({})
      local b = ecs:call("DescribeRegions", {})
      ecs:enable_async(1, 10)
      local c = ecs:call_async("DescribeRegions", {}):wait()
      assert.are.same(#a.Regions.Region, #b.Regions.Region)
      assert.are.same(#a.Regions.Region, #c.Regions.Region)
    end)

    it("sends a fresh nonce on every call (the server rejects reused ones)", function()
      local ecs = env.ecs()
      for _ = 1, 20 do assert.is_not_nil((ecs:DescribeRegions({}))) end
      assert.is_nil(server:stats().errors.SignatureNonceUsed)
    end)

    it("reuses one connection for sequential sync calls", function()
      local ecs = env.ecs()
      for _ = 1, 10 do ecs:DescribeRegions({}) end
      -- at most one new connection (an earlier spec's may still be alive), never one per call
      local st = server:stats()
      assert.are.equal(10, st.requests)
      assert.is_true(st.connections <= 1)
    end)

    it("signs with a security token for STS credentials", function()
      server:config{ sts_tokens = { [env.fake.ACCESS_KEY_ID] = "token-1" } }
      local sts = alicloud.credentials.sts(env.fake.ACCESS_KEY_ID, env.fake.ACCESS_KEY_SECRET,
        "token-1")
      local res, err = env.ecs({ credential = sts }):DescribeRegions({})
      assert.is_nil(err)
      assert.is_not_nil(res)
      local _, err2 = env.ecs():DescribeRegions({})
      assert.is_not_nil(err2) -- without the token the fake STS key is refused
    end)
  end)

  describe("parameters on the wire", function()
    local function echo(params)
      local res, err = env.custom():FakeEcho(params)
      assert.is_nil(err)
      return res.Query
    end

    it("flattens lists, lists of tables and nested tables the Alibaba way", function()
      local q = echo({
        InstanceIds = { "i-1", "i-2" },
        Tag = { { Key = "env", Value = "prod" }, { Key = "team", Value = "core" } },
        Filter = { Name = "x", Values = { "a", "b" } },
      })
      assert.are.equal("i-1", q["InstanceIds.1"])
      assert.are.equal("i-2", q["InstanceIds.2"])
      assert.are.equal("env", q["Tag.1.Key"])
      assert.are.equal("core", q["Tag.2.Value"])
      assert.are.equal("x", q["Filter.Name"])
      assert.are.equal("b", q["Filter.Values.2"])
    end)

    it("renders integers without .0, floats exactly, booleans as words, and skips nil",
      function()
        local q = echo({ PageSize = 10, Ratio = 0.5, Big = 2 ^ 40, DryRun = true, Force = false,
          Gone = nil })
        assert.are.equal("10", q.PageSize)
        assert.are.equal("0.5", q.Ratio)
        assert.are.equal("1099511627776", q.Big)
        assert.are.equal("true", q.DryRun)
        assert.are.equal("false", q.Force)
        assert.is_nil(q.Gone)
      end)

    it("carries reserved and non-ASCII characters intact through signing", function()
      local q = echo({ Name = "中 文+~*&=/%", Empty = "" })
      assert.are.equal("中 文+~*&=/%", q.Name)
      assert.are.equal("", q.Empty)
    end)

    it("adds the common parameters and RegionId", function()
      local q = echo({})
      assert.are.equal("FakeEcho", q.Action)
      assert.are.equal("2014-05-26", q.Version)
      assert.are.equal("JSON", q.Format)
      assert.are.equal("cn-hangzhou", q.RegionId)
      assert.are.equal("HMAC-SHA1", q.SignatureMethod)
      assert.are.equal(32, #q.SignatureNonce)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", q.Timestamp)
    end)

    it("sends a User-Agent naming the SDK, with the configured suffix", function()
      local res = env.custom({ user_agent = "myapp/1.2" }):FakeEcho({})
      local lua = _VERSION:match("%d+%.%d+"):gsub("%.", "%%.") -- the interpreter's version
      assert.matches("^AlibabaCloud %(.+; .+%) Lua/" .. lua .. " alicloud/%d+%.%d+%.%d+ myapp/1%.2$",
        res.Headers["user-agent"])
    end)

    it("fails a call with an unsendable parameter as SDK.InvalidParam", function()
      local res, err = env.custom():FakeEcho({ Bad = function() end })
      assert.is_nil(res)
      assert.are.equal("SDK.InvalidParam", err.code)
      assert.matches("Bad", err.message)
      assert.are.equal(0, server:stats().requests)
    end)
  end)

  describe("errors", function()
    it("reports a wrong secret as SignatureDoesNotMatch with the server's string-to-sign",
      function()
        local ecs = env.ecs({ credential = env.credential("not-the-secret") })
        local res, err = ecs:DescribeRegions({})
        assert.is_nil(res)
        assert.are.equal("server", err.kind)
        assert.are.equal("SignatureDoesNotMatch", err.code)
        assert.are.equal(400, err.http_status)
        assert.is_string(err.request_id)
        assert.matches("^POST&%%2F&AccessKeyId%%3Dak%-test", err.string_to_sign)
        assert.are.equal("wrong_secret", err.diagnosis)
        assert.is_false(err.retryable)
        assert.matches("%[SignatureDoesNotMatch%]", tostring(err))
        assert.is_nil(tostring(err):find("not-the-secret", 1, true))
      end)

    it("reports an unknown access key", function()
      local cred = alicloud.credentials.access_key("ak-nobody", "x")
      local _, err = env.ecs({ credential = cred }):DescribeRegions({})
      assert.are.equal("InvalidAccessKeyId.NotFound", err.code)
      assert.are.equal(404, err.http_status)
    end)

    it("carries every field of a service error body", function()
      server:config{ actions = { DescribeRegions = { status = 403, body =
        '{"RequestId":"R-1","HostId":"ecs.aliyuncs.com","Code":"Forbidden.RAM",'
        .. '"Message":"not allowed","Recommend":"https://example.invalid/r",'
        .. '"AccessDeniedDetail":{"PolicyType":"AccountLevelIdentityBasedPolicy"}}' } } }
      local _, err = env.ecs():DescribeRegions({})
      assert.are.equal("Forbidden.RAM", err.code)
      assert.are.equal("not allowed", err.message)
      assert.are.equal("R-1", err.request_id)
      assert.are.equal("ecs.aliyuncs.com", err.host_id)
      assert.are.equal("https://example.invalid/r", err.recommend)
      assert.are.equal("AccountLevelIdentityBasedPolicy", err.access_denied_detail.PolicyType)
      assert.are.equal(403, err.http_status)
    end)

    it("reads XML error bodies", function()
      server:config{ actions = { DescribeRegions = { status = 400, content_type = "text/xml",
        body = "<Error><RequestId>R-2</RequestId><HostId>h</HostId><Code>InvalidParameter</Code>"
          .. "<Message>bad value</Message></Error>" } } }
      local _, err = env.ecs():DescribeRegions({})
      assert.are.equal("InvalidParameter", err.code)
      assert.are.equal("bad value", err.message)
      assert.are.equal("R-2", err.request_id)
    end)

    for name, body in pairs({ ["not JSON"] = "<html>oops</html>", empty = "",
      truncated = '{"RequestId":"x","Regions":' }) do
      it("turns a 200 with a body that is " .. name .. " into SDK.InvalidResponse", function()
        server:config{ actions = { DescribeRegions = { status = 200, body = body,
          content_type = "application/json" } } }
        local _, err = env.ecs():DescribeRegions({})
        assert.are.equal("SDK.InvalidResponse", err.code)
        assert.are.equal(200, err.http_status)
        assert.matches("HTTP 200", err.message)
      end)
    end

    it("reports a refused connection as SDK.ServerUnreachable", function()
      local _, err = env.ecs({ endpoint = "127.0.0.1:1", retry = false }):DescribeRegions({})
      assert.are.equal("SDK.ServerUnreachable", err.code)
      assert.are.equal("client", err.kind)
      assert.are.equal(1, err.attempts)
    end)

    it("raises on misuse: bad options, bad params type, unknown product", function()
      local ecs = env.ecs()
      assert.has_error(function() ecs:DescribeRegions("x") end)
      assert.has_error(function() ecs:DescribeRegions({}, { nonsense = 1 }) end)
      assert.has_error(function() ecs:DescribeRegions({}, { timeout = -1 }) end)
      assert.has_error(function() alicloud.client("no-such-product") end)
      assert.has_error(function() alicloud.client("ecs", { region = 42 }) end)
      assert.has_error(function() alicloud.config({ pool_size = 0 }) end)
      assert.has_error(function() alicloud.config():with_queue_full("sometimes") end)
    end)
  end)

  describe("meta and raw", function()
    it("gives status, headers, request id, attempts and timings", function()
      local res = env.ecs():DescribeRegions({})
      local m = alicloud.meta(res)
      assert.are.equal(200, m.status)
      assert.are.equal(res.RequestId, m.request_id)
      assert.are.equal(res.RequestId, m.headers["x-acs-request-id"])
      assert.are.equal(1, m.attempts)
      assert.is_number(m.timings.total)
    end)

    it("gives the same for an async call's result, after its promise is gone", function()
      local ecs = env.ecs()
      ecs:enable_async(2, 10)
      local res
      ecs:DescribeRegionsAsync({}, function(r) res = r end)
      assert.is_true(alicloud.run(10))
      collectgarbage()
      collectgarbage()
      local m = alicloud.meta(res)
      assert.are.equal(200, m.status)
      assert.are.equal(res.RequestId, m.request_id)
      assert.are.equal(res.RequestId, m.headers["x-acs-request-id"])
      assert.are.equal(1, m.attempts)
      assert.is_true(m.timings.total >= m.timings.queued)
      assert.are.equal(m, alicloud.meta(res)) -- made once
      ecs:shutdown()
    end)

    it("returns the body untouched with raw = true", function()
      local body = env.ecs():DescribeRegions({}, { raw = true })
      assert.is_string(body)
      assert.matches('^{"RequestId"', body)
    end)
  end)

  describe("secrets", function()
    it("masks the security token in a SignatureDoesNotMatch string-to-sign", function()
      server:config{ sts_tokens = { [env.fake.ACCESS_KEY_ID] = "tok-visible-123" } }
      local cred = alicloud.credentials.sts(env.fake.ACCESS_KEY_ID, "wrong-secret",
        "tok-visible-123")
      for _, sig in ipairs({ "v1", "v3" }) do
        local _, err = env.ecs({ credential = cred, signature_version = sig }):DescribeRegions({})
        assert.are.equal("SignatureDoesNotMatch", err.code)
        assert.are.equal("wrong_secret", err.diagnosis)
        for _, s in ipairs({ tostring(err), err.message, err.string_to_sign,
          err.client_string_to_sign, err.data.Message }) do
          assert.is_nil(s:find("tok-visible-123", 1, true), s)
        end
      end
    end)

    it("names the credentials provider in x-acs-credentials-provider", function()
      local res = env.custom():FakeEcho({})
      assert.are.equal("static_ak", res.Headers["x-acs-credentials-provider"])
    end)

    it("never shows the secret in tostring of credentials, clients or errors", function()
      local cred = env.credential("s3cr3t-value")
      local ecs = env.ecs({ credential = cred })
      local _, err = ecs:DescribeRegions({})
      for _, s in ipairs({ tostring(cred), tostring(ecs), tostring(err), tostring(cred:get()) }) do
        assert.is_nil(s:find("s3cr3t-value", 1, true))
      end
      for _, v in pairs(err) do
        if type(v) == "string" then assert.is_nil(v:find("s3cr3t-value", 1, true)) end
      end
    end)
  end)
end)
