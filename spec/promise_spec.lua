-- Promises over real async calls: chaining, combinators, coroutines, and the rules that
-- handlers run at delivery and settle exactly once.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("promises", function()
  local server, ecs

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(4, 100)
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

  it("chains next, catch and finally", function()
    local order = {}
    local p = ecs:DescribeInstancesAsync({ PageSize = 3 })
      :next(function(res) order[#order + 1] = "next"; return res.TotalCount end)
      :next(function(n) order[#order + 1] = "n=" .. n; error("stop here") end)
      :catch(function(e) order[#order + 1] = "catch"; return e.message end)
      :finally(function() order[#order + 1] = "finally" end)
    local msg = p:wait(10)
    assert.matches("stop here", msg)
    assert.are.same({ "next", "n=25", "catch", "finally" }, order)
  end)

  it("follows a promise returned by a handler", function()
    local p = ecs:DescribeRegionsAsync({}):next(function()
      return ecs:DescribeInstancesAsync({ PageSize = 1 })
    end)
    local res = p:wait(10)
    assert.are.equal(25, res.TotalCount)
  end)

  it("passes a service error to on_err with its code", function()
    local bad = env.ecs({ credential = env.credential("wrong") })
    bad:enable_async(1, 10)
    local code = bad:DescribeRegionsAsync({}):next(nil, function(e) return e.code end):wait(10)
    assert.are.equal("SignatureDoesNotMatch", code)
    bad:shutdown()
  end)

  it("runs handlers attached to a settled promise at the next delivery, not at once", function()
    local p = ecs:DescribeRegionsAsync({})
    p:wait(10)
    local ran = false
    p:next(function() ran = true end)
    assert.is_false(ran)
    alicloud.dispatch()
    assert.is_true(ran)
  end)

  it("all: results in order; rejects on the first failure", function()
    local ps = {}
    for i = 1, 5 do ps[i] = ecs:DescribeInstancesAsync({ PageSize = i }) end
    local res = alicloud.all(ps):wait(10)
    for i = 1, 5 do assert.are.equal(i, res[i].PageSize) end
    local failing = env.ecs({ credential = env.credential("wrong") })
    failing:enable_async(1, 10)
    local _, err = alicloud.all({ ecs:DescribeRegionsAsync({}), failing:DescribeRegionsAsync({}) })
      :wait(10)
    assert.are.equal("SignatureDoesNotMatch", err.code)
    failing:shutdown()
    assert.are.same({}, alicloud.all({}):wait())
  end)

  it("all_settled reports each outcome; race follows the first to settle", function()
    local never = env.ecs()
    local settled = alicloud.all_settled({ ecs:DescribeRegionsAsync({}),
      never:DescribeRegionsAsync({}) }):wait(10)
    assert.are.equal("fulfilled", settled[1].status)
    assert.are.equal("rejected", settled[2].status)
    assert.are.equal("SDK.AsyncFunctionNotEnabled", settled[2].reason.code)
    server:config{ actions = { DescribeInstances = { delay = 0.5 } } }
    local winner = alicloud.race({ ecs:DescribeInstancesAsync({}), ecs:DescribeRegionsAsync({}) })
      :wait(10)
    assert.is_not_nil(winner.Regions)
  end)

  it("raises on misuse of the combinators and handlers", function()
    assert.has_error(function() alicloud.all({ 1 }) end)
    assert.has_error(function() alicloud.race("x") end)
    local p = ecs:DescribeRegionsAsync({})
    assert.has_error(function() p:next(42) end)
    assert.has_error(function() p:finally() end)
    p:wait()
  end)

  describe("coroutines", function()
    it("await suspends only its coroutine; many coroutines run on one delivery loop",
      function()
        local done = {}
        local ps = {}
        for i = 1, 20 do
          ps[i] = alicloud.async(function(n)
            local a = ecs:DescribeInstancesAsync({ PageSize = 2 }):await()
            local b = ecs:DescribeRegionsAsync({}):await()
            done[n] = true
            return a.PageSize + #b.Regions.Region
          end, i)
        end
        local res = alicloud.all(ps):wait(20)
        for i = 1, 20 do
          assert.is_true(done[i])
          assert.are.equal(14, res[i])
        end
      end)

    it("await returns nil, err for a failed call, and an error in the coroutine rejects",
      function()
        local bad = env.ecs({ credential = env.credential("wrong") })
        bad:enable_async(1, 10)
        local p = alicloud.async(function()
          local res, err = bad:DescribeRegionsAsync({}):await()
          assert(res == nil)
          error({ code = "My.Error", message = "after " .. err.code })
        end)
        local _, err = p:wait(10)
        assert.are.equal("My.Error", err.code)
        assert.are.equal("after SignatureDoesNotMatch", err.message)
        bad:shutdown()
      end)

    it("await outside a coroutine is wait", function()
      local res = ecs:DescribeRegionsAsync({}):await()
      assert.are.equal(12, #res.Regions.Region)
    end)
  end)

  it("tostring says what it is and its state", function()
    local p = ecs:DescribeRegionsAsync({})
    assert.matches("alicloud.Promise %(pending%)", tostring(p))
    p:wait()
    assert.matches("fulfilled", tostring(p))
  end)
end)
