-- Retries, backoff and deadlines, counted at the fake cloud: what is retried, what never is,
-- and every call still settles once with an error that says what happened.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local core = require("alicloud.core")

describe("retries", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function() assert.is_true(alicloud.run(30)) end)

  local fast = { base = 0.01, cap = 0.05 }

  local function count(action) return server:stats().by_action[action] or 0 end

  local function fail_next(action, n, extra)
    local o = { status = 503, code = "ServiceUnavailable", message = "busy", times = n }
    for k, v in pairs(extra or {}) do o[k] = v end
    server:config{ actions = { [action] = o } }
  end

  it("retries 503 ServiceUnavailable and succeeds, re-signing each attempt", function()
    fail_next("DescribeRegions", 2)
    local res, err = env.ecs({ retry = fast }):DescribeRegions({})
    assert.is_nil(err)
    assert.are.equal(3, alicloud.meta(res).attempts)
    assert.are.equal(3, count("DescribeRegions"))
    assert.is_nil(server:stats().errors.SignatureNonceUsed)
  end)

  for _, code in ipairs({ "Throttling", "Throttling.User", "Throttling.Api" }) do
    it("retries " .. code .. ", even for an action that changes state", function()
      fail_next("CreateInstance", 1, { status = 400, code = code })
      local _, err = env.custom({ retry = fast }):CreateInstance({})
      -- the fake does not serve CreateInstance: reaching it at all proves the retry
      assert.are.equal("InvalidAction.NotFound", err.code)
      assert.are.equal(2, err.attempts)
      assert.are.equal(2, count("CreateInstance"))
    end)
  end

  it("gives up after max_attempts with the last error and the attempt count", function()
    fail_next("DescribeRegions", 10)
    local _, err = env.ecs({ retry = { max_attempts = 4, base = 0.01, cap = 0.02 } })
      :DescribeRegions({})
    assert.are.equal("ServiceUnavailable", err.code)
    assert.are.equal(4, err.attempts)
    assert.is_true(err.retryable)
    assert.are.equal(4, count("DescribeRegions"))
  end)

  it("retries other 5xx only for read-only actions", function()
    server:config{ actions = {
      DescribeRegions = { status = 500, code = "InternalError", times = 1 },
      CreateInstance = { status = 500, code = "InternalError", times = 1 },
    } }
    local ok = env.ecs({ retry = fast }):DescribeRegions({})
    assert.is_not_nil(ok)
    assert.are.equal(2, count("DescribeRegions"))
    local _, err = env.custom({ retry = fast }):CreateInstance({})
    assert.are.equal("InternalError", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, count("CreateInstance"))
  end)

  it("retries a create call's 5xx when the call opts in with retry.unsafe", function()
    server:config{ actions = { CreateInstance = { status = 502, code = "BadGateway", times = 1 } } }
    local _, err = env.custom({ retry = { unsafe = true, base = 0.01, cap = 0.02 } })
      :CreateInstance({})
    assert.are.equal("InvalidAction.NotFound", err.code)
    assert.are.equal(2, count("CreateInstance"))
  end)

  it("never resends a create call whose connection dropped after sending", function()
    server:config{ actions = { CreateInstance = { drop = true, times = 1 } } }
    local _, err = env.custom({ retry = fast }):CreateInstance({})
    assert.are.equal("SDK.ServerUnreachable", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, count("CreateInstance"))
  end)

  it("resends a read-only call whose connection dropped", function()
    server:config{ actions = { DescribeRegions = { drop = true, times = 1 } } }
    local res, err = env.ecs({ retry = fast }):DescribeRegions({})
    assert.is_nil(err)
    assert.are.equal(2, alicloud.meta(res).attempts)
  end)

  it("retries a refused connection (the server never saw it)", function()
    local _, err = env.custom({ endpoint = "127.0.0.1:1", retry = fast }):CreateInstance({})
    assert.are.equal("SDK.ServerUnreachable", err.code)
    assert.are.equal(3, err.attempts)
  end)

  it("does not retry client errors, and retry = false turns retries off", function()
    fail_next("DescribeRegions", 1, { status = 400, code = "InvalidParameter" })
    local _, err = env.ecs({ retry = fast }):DescribeRegions({})
    assert.are.equal("InvalidParameter", err.code)
    assert.are.equal(1, err.attempts)
    fail_next("DescribeRegions", 1)
    local _, err2 = env.ecs({ retry = false }):DescribeRegions({})
    assert.are.equal("ServiceUnavailable", err2.code)
    assert.are.equal(1, err2.attempts)
  end)

  it("honours Retry-After, and gives up when it asks for far longer than the policy",
    function()
      fail_next("DescribeRegions", 1, { headers = { ["Retry-After"] = "0.3" } })
      local t0 = env.now()
      local res = env.ecs({ retry = { base = 0.001, cap = 1 } }):DescribeRegions({})
      assert.is_not_nil(res)
      assert.is_true(env.now() - t0 >= 0.3)
      fail_next("DescribeRegions", 1, { headers = { ["Retry-After"] = "600" } })
      local _, err = env.ecs({ retry = { base = 0.001, cap = 1 } }):DescribeRegions({})
      assert.are.equal("ServiceUnavailable", err.code)
      assert.are.equal(1, err.attempts)
    end)

  it("honours a throttling TimeLeft hint from x-ratelimit-user-api (milliseconds)", function()
    fail_next("DescribeRegions", 1, { status = 400, code = "Throttling.Api",
      headers = { ["x-ratelimit-user-api"] = "Limit:10,Remain:0,TimeLeft:300,Reset:1" } })
    local t0 = env.now()
    assert.is_not_nil(env.ecs({ retry = { base = 0.001, cap = 1 } }):DescribeRegions({}))
    assert.is_true(env.now() - t0 >= 0.3)
  end)

  describe("deadline", function()
    it("covers every attempt and backoff: the call ends on time as SDK.TimeoutError", function()
      server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
        delay = 0.2 } } }
      local t0 = env.now()
      local _, err = env.ecs({ timeout = 0.5, retry = { max_attempts = 50, base = 0.01,
        cap = 0.02 } }):DescribeRegions({})
      local took = env.now() - t0
      assert.is_true(took < 2, "took " .. took)
      assert.is_true(err.attempts >= 2)
      assert.is_true(err.code == "SDK.TimeoutError" or err.code == "ServiceUnavailable")
    end)

    it("a total timeout on a slow answer says it was the deadline", function()
      server:config{ delay = 2 }
      local _, err = env.ecs({ timeout = 0.3, retry = false }):DescribeRegions({})
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("total", err.timeout)
    end)

    it("a read timeout says so, and per-call values do not leak into the next call", function()
      local ecs = env.ecs({ retry = false })
      local _, err = ecs:DescribeRegions({}, { read_timeout = 0.2,
        headers = { ["x-fake-delay"] = "1" } })
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("read", err.timeout)
      local res, err2 = ecs:DescribeRegions({}, { headers = { ["x-fake-delay"] = "0.5" } })
      assert.is_nil(err2)
      assert.is_not_nil(res)
    end)
  end)

  describe("async", function()
    it("a call backing off holds no worker: later calls run meanwhile", function()
      fail_next("DescribeRegions", 1, { headers = { ["Retry-After"] = "0.6" } })
      local ecs = env.ecs({ retry = { base = 0.001, cap = 1 } })
      ecs:enable_async(1, 10)
      local order = {}
      local a = ecs:DescribeRegionsAsync({}, function() order[#order + 1] = "retried" end)
      local b = ecs:DescribeInstancesAsync({}, function() order[#order + 1] = "other" end)
      alicloud.all({ a, b }):wait(10)
      assert.are.same({ "other", "retried" }, order)
      assert.are.equal(2, alicloud.meta(a:wait()).attempts)
    end)

    it("cancelling a call that waits to retry settles it at once", function()
      fail_next("DescribeRegions", 5, { headers = { ["Retry-After"] = "2" } })
      local ecs = env.ecs({ retry = { base = 0.001, cap = 2 } })
      ecs:enable_async(1, 10)
      local p = ecs:DescribeRegionsAsync({})
      assert.is_truthy(env.eventually(function() return count("DescribeRegions") == 1 end))
      local t0 = env.now()
      assert.is_true(p:cancel())
      assert.are.equal("SDK.Cancelled", select(2, p:wait()).code)
      -- the worker is free for other work right away
      assert.is_not_nil((ecs:DescribeInstancesAsync({}):wait(5)))
      assert.is_true(env.now() - t0 < 1.5)
      assert.are.equal(1, count("DescribeRegions"))
    end)

    it("shutdown(\"cancel\") settles calls waiting to retry", function()
      fail_next("DescribeRegions", 5, { headers = { ["Retry-After"] = "2" } })
      local ecs = env.ecs({ retry = { base = 0.001, cap = 2 } })
      ecs:enable_async(1, 10)
      local p = ecs:DescribeRegionsAsync({})
      assert.is_truthy(env.eventually(function() return count("DescribeRegions") == 1 end))
      ecs:shutdown("cancel")
      assert.are.equal("SDK.Cancelled", select(2, p:wait(5)).code)
    end)
  end)

  describe("backoff maths", function()
    it("is full jitter under an exponential cap, slower when throttled, never below a hint",
      function()
        for attempt = 2, 12 do
          local ceiling = math.min(5, 0.1 * 2 ^ (attempt - 2))
          for _, r in ipairs({ 0, 0.25, 0.5, 0.999 }) do
            local w = core.backoff(0.1, 5, false, attempt, 0, r)
            assert.is_true(w >= 0 and w <= ceiling + 1e-9)
            assert.is_true(math.abs(w - ceiling * r) < 1e-9)
          end
          assert.is_true(core.backoff(0.1, 5, true, attempt, 0, 0.999)
            >= core.backoff(0.1, 5, false, attempt, 0, 0.999))
        end
        assert.are.equal(3, core.backoff(0.1, 5, false, 2, 3, 0.5))
      end)
  end)
end)
