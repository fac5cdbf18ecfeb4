-- Plain coroutines, no loop library: promise:await() suspends only its coroutine, and one
-- delivery loop (alicloud.run, dispatch, wait) resumes each exactly once, with its own result.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local runtime = require("alicloud.runtime")

describe("coroutines", function()
  local server, ecs

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(16, 1000)
  end)
  teardown(function()
    ecs:shutdown()
    env.stop()
  end)
  before_each(function() server:reset() end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  -- Collects what reaches alicloud.on_error until the test ends.
  it("runs 200 coroutines on one delivery loop, each resumed once with its own results",
    function()
      server:config{ delay = 0.02 }
      local started, resumed, ps = {}, {}, {}
      for i = 1, 200 do
        ps[i] = alicloud.async(function(n)
          started[n] = true
          local page = ecs:DescribeInstancesAsync({ PageNumber = n, PageSize = 1 }):await()
          local regions = ecs:DescribeRegionsAsync({}):await()
          resumed[n] = (resumed[n] or 0) + 1
          return page.PageNumber * 100 + #regions.Regions.Region
        end, i)
        -- async ran fn up to its first await and returned: the coroutine is suspended
        assert.is_true(started[i])
        assert.are.equal("pending", ps[i]:status())
      end
      assert.is_nil(next(resumed))
      assert.is_true(alicloud.run(30))
      for i = 1, 200 do
        assert.are.equal(1, resumed[i])
        assert.are.equal("fulfilled", ps[i]:status())
        assert.are.equal(i * 100 + 12, (ps[i]:wait()))
      end
      local st = server:stats()
      assert.are.equal(200, st.by_action.DescribeInstances)
      assert.are.equal(200, st.by_action.DescribeRegions)
    end)

  it("suspends only the awaiting coroutine: a fast one finishes while a slow one waits",
    function()
      server:config{ actions = { DescribeInstances = { delay = 5 } } }
      local inner
      local slow = alicloud.async(function()
        inner = ecs:DescribeInstancesAsync({})
        return inner:await()
      end)
      local fast = alicloud.async(function() return ecs:DescribeRegionsAsync({}):await() end)
      local res, err = fast:wait(10)
      assert.is_nil(err)
      assert.are.equal(12, #res.Regions.Region)
      assert.are.equal("pending", slow:status())
      inner:cancel()
      local _, serr = slow:wait(10)
      assert.are.equal("SDK.Cancelled", serr.code)
    end)

  it("resumes a plain coroutine (not started by async) from the delivery", function()
    local got
    local co = coroutine.create(function()
      got = ecs:DescribeRegionsAsync({}):await()
    end)
    assert.is_true(coroutine.resume(co))
    assert.are.equal("suspended", coroutine.status(co))
    assert.is_true(alicloud.run(10))
    assert.are.equal("dead", coroutine.status(co))
    assert.are.equal(12, #got.Regions.Region)
  end)

  it("returns at once, without yielding, when the promise is already settled", function()
    local p = ecs:DescribeRegionsAsync({})
    p:wait()
    local co = coroutine.create(function() return #p:await().Regions.Region end)
    local ok, n = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal(12, n)
    assert.are.equal("dead", coroutine.status(co))
  end)

  it("a spurious resume does not end the await early, and the delivery resumes it once",
    function()
      server:config{ delay = 0.2 }
      local returned = 0
      local p = ecs:DescribeRegionsAsync({})
      local co = coroutine.create(function()
        p:await()
        returned = returned + 1
      end)
      assert.is_true(coroutine.resume(co))
      for _ = 1, 3 do
        assert.is_true(coroutine.resume(co)) -- someone else's scheduler pokes it
        assert.are.equal("suspended", coroutine.status(co))
      end
      assert.are.equal(0, returned)
      assert.is_true(alicloud.run(10))
      assert.are.equal(1, returned)
      assert.are.equal("dead", coroutine.status(co))
    end)

  it("a late wake-up never resumes a coroutine that has moved on", function()
    server:config{ delay = 0.2 }
    local reported = env.capture_errors(finally)
    local p = ecs:DescribeRegionsAsync({})
    local co = coroutine.create(function()
      local _, err = p:await()
      return err.code
    end)
    assert.is_true(coroutine.resume(co))
    p:cancel() -- settled now; the await's wake-up is queued for the next delivery
    local ok, code = coroutine.resume(co) -- but its owner resumes it first
    assert.is_true(ok)
    assert.are.equal("SDK.Cancelled", code)
    assert.are.equal("dead", coroutine.status(co))
    assert.is_true(alicloud.run(10)) -- runs the queued wake-up: it must leave the dead coroutine
    assert.are.same({}, reported)
  end)

  it("tolerates spurious readiness: nothing delivered, the awaiting coroutine stays put",
    function()
      server:config{ delay = 0.3 }
      local fd = alicloud.runtime():pollfd()
      local resumed = 0
      local p = alicloud.async(function()
        local r = ecs:DescribeRegionsAsync({}):await()
        resumed = resumed + 1
        return r
      end)
      runtime.core():wake()
      assert.is_true(env.readable(fd))
      assert.are.equal(0, alicloud.dispatch())
      assert.is_false(env.readable(fd))
      assert.are.equal(0, resumed)
      assert.are.equal("pending", p:status())
      assert.is_true(alicloud.run(10))
      assert.are.equal(1, resumed)
      assert.are.equal("fulfilled", p:status())
    end)

  describe("errors", function()
    it("an error raised after an await rejects the async promise with that error", function()
      local tbl = alicloud.async(function()
        ecs:DescribeRegionsAsync({}):await()
        error({ code = "My.Error", message = "after await" })
      end)
      local str = alicloud.async(function()
        ecs:DescribeRegionsAsync({}):await()
        error("plain string failure")
      end)
      local ok = alicloud.async(function() return ecs:DescribeRegionsAsync({}):await() end)
      local _, e1 = tbl:wait(10)
      assert.are.equal("My.Error", e1.code)
      assert.are.equal("after await", e1.message)
      local _, e2 = str:wait(10)
      assert.are.equal("SDK.HandlerError", e2.code)
      assert.matches("plain string failure", e2.message)
      assert.are.equal(12, #ok:wait(10).Regions.Region) -- the others are unaffected
    end)

    it("`return p:await()` of a failed call rejects with the call's error", function()
      local bad = env.ecs({ credential = env.credential("wrong") })
      bad:enable_async(1, 10)
      local p = alicloud.async(function() return bad:DescribeRegionsAsync({}):await() end)
      local _, err = p:wait(10)
      assert.are.equal("SignatureDoesNotMatch", err.code)
      local none = alicloud.async(function() return nil end) -- nil alone is a result
      assert.is_nil(select(2, none:wait(10)))
      assert.are.equal("fulfilled", none:status())
      bad:shutdown()
    end)

    it("an error in a plain coroutine resumed by the delivery goes to alicloud.on_error",
      function()
        local reported = env.capture_errors(finally)
        local other = 0
        local co = coroutine.create(function()
          ecs:DescribeRegionsAsync({}):await()
          error("boom after await")
        end)
        assert.is_true(coroutine.resume(co))
        for _ = 1, 5 do
          ecs:DescribeRegionsAsync({}, function(res) if res then other = other + 1 end end)
        end
        assert.is_true(alicloud.run(10))
        assert.are.equal(1, #reported)
        assert.matches("boom after await", tostring(reported[1]))
        assert.matches("stack traceback", tostring(reported[1]))
        assert.are.equal(5, other)
        assert.are.equal("dead", coroutine.status(co))
      end)

    it("a yield that is not an await rejects the async promise with SDK.ForeignYield",
      function()
        local reached = false
        local early = alicloud.async(function()
          coroutine.yield("for some other scheduler")
          reached = true
        end)
        assert.are.equal("rejected", early:status())
        assert.are.equal("SDK.ForeignYield", select(2, early:wait()).code)
        local late = alicloud.async(function()
          ecs:DescribeRegionsAsync({}):await()
          coroutine.yield("for some other scheduler")
          reached = true
        end)
        local _, err = late:wait(10)
        assert.are.equal("SDK.ForeignYield", err.code)
        assert.is_false(reached)
      end)
  end)
end)
