-- Call hooks: `before` at submission and `after` at delivery, on the Lua thread, with what the
-- call did; an error raised in a hook goes to alicloud.on_error and changes nothing else.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("hooks", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function() assert.is_true(alicloud.run(30)) end)

  -- hooks that record what they saw (a copy of info at each call) in `log`
  local function recorder(log)
    local function copy(info)
      local c = {}
      for k, v in pairs(info) do c[k] = v end
      return c
    end
    return {
      before = function(info) log[#log + 1] = { "before", copy(info), info } end,
      after = function(info) log[#log + 1] = { "after", copy(info), info } end,
    }
  end

  it("runs before at submission and after at delivery of an async call", function()
    local log = {}
    local ecs = env.ecs({ hooks = recorder(log) })
    ecs:enable_async(2, 10)
    local p = ecs:DescribeRegionsAsync({})
    assert.are.equal(1, #log)
    assert.are.equal("before", log[1][1])
    assert.are.same({ product = "ecs", action = "DescribeRegions", region = "cn-hangzhou",
      attempts = 0 }, log[1][2])
    -- the worker finishes, but after waits for a delivery
    assert.is_truthy(env.eventually(function() return server:stats().requests == 1 end))
    env.eventually(function() return ecs._pool:undelivered() == 1 end)
    assert.are.equal(1, #log)
    local res = assert(p:wait(10))
    assert.are.equal(2, #log)
    local after = log[2][2]
    assert.are.equal("after", log[2][1])
    assert.are.equal(log[1][3], log[2][3]) -- one info table per call, before to after
    assert.are.equal(1, after.attempts)
    assert.are.equal(200, after.status)
    assert.are.equal(res.RequestId, after.request_id)
    assert.is_nil(after.error)
    assert.is_true(after.timings.total > 0 and after.timings.total < 10)
    assert.is_true(after.timings.queued >= 0 and after.timings.queued <= after.timings.total)
    ecs:shutdown()
  end)

  it("runs around a sync call, after when it returns", function()
    local log = {}
    local res = assert(env.ecs({ hooks = recorder(log) }):DescribeInstances({ PageSize = 3 }))
    assert.are.equal(2, #log)
    assert.are.same({ "before", "after" }, { log[1][1], log[2][1] })
    assert.are.equal("DescribeInstances", log[2][2].action)
    assert.are.equal(res.RequestId, log[2][2].request_id)
    assert.are.equal(alicloud.meta(res).attempts, log[2][2].attempts)
  end)

  it("tells after about errors: the status, the attempts and the error itself", function()
    server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
      times = 2 } } }
    local log = {}
    local ecs = env.ecs({ hooks = recorder(log), retry = { max_attempts = 2, base = 0.01, cap = 0.02 } })
    local _, err = ecs:DescribeRegions({})
    assert.are.equal("ServiceUnavailable", err.code)
    local after = log[2][2]
    assert.are.equal(err, after.error)
    assert.are.equal(503, after.status)
    assert.are.equal(2, after.attempts)
    assert.are.equal(err.request_id, after.request_id)
  end)

  it("sends an error raised in a hook to alicloud.on_error and changes nothing else", function()
    local reported = env.capture_errors(finally)
    local hooks = {
      before = function() error("before broke") end,
      after = function() error("after broke") end,
    }
    -- sync
    local res, err = env.ecs({ hooks = hooks }):DescribeRegions({})
    assert.is_nil(err)
    assert.are.equal(12, #res.Regions.Region)
    assert.are.equal(2, #reported)
    assert.matches("before broke", tostring(reported[1]))
    assert.matches("after broke", tostring(reported[2]))
    -- async: the promise and the callback see the same result
    local ecs = env.ecs({ hooks = hooks })
    ecs:enable_async(2, 10)
    local got
    local p = ecs:DescribeRegionsAsync({}, function(r) got = r end)
    local r2 = assert(p:wait(10))
    assert.is_true(alicloud.run(5))
    assert.are.equal(r2, got)
    assert.are.equal(4, #reported)
    -- a failing call still fails the same way
    server:config{ actions = { DescribeRegions = { status = 400, code = "InvalidParameter",
      times = 1 } } }
    local _, e3 = ecs:DescribeRegionsAsync({}):wait(10)
    assert.are.equal("InvalidParameter", e3.code)
    assert.are.equal(6, #reported)
    ecs:shutdown()
  end)

  it("reports a call refused by a full queue, at the next delivery", function()
    local log = {}
    local ecs = env.ecs({ hooks = recorder(log), queue_full = "reject" })
    ecs:enable_async(1, 1)
    local slow = { headers = { ["x-fake-delay"] = "0.5" } }
    local ps = {}
    for i = 1, 3 do ps[i] = ecs:DescribeRegionsAsync({}, slow) end
    assert.are.equal(3, #log) -- three befores
    local results = alicloud.all_settled(ps):wait(10)
    local refused = 0
    for _, r in ipairs(results) do
      if r.status == "rejected" then
        refused = refused + 1
        assert.are.equal("SDK.TaskQueueFull", r.reason.code)
      end
    end
    assert.is_true(refused >= 1)
    local afters = {}
    for _, l in ipairs(log) do if l[1] == "after" then afters[#afters + 1] = l[2] end end
    assert.are.equal(3, #afters)
    local full = 0
    for _, a in ipairs(afters) do
      if a.error and a.error.code == "SDK.TaskQueueFull" then
        full = full + 1
        assert.are.equal(0, a.attempts)
      end
    end
    assert.are.equal(refused, full)
    ecs:shutdown()
  end)

  it("reports a cancelled call as cancelled", function()
    local log = {}
    local ecs = env.ecs({ hooks = recorder(log) })
    ecs:enable_async(1, 10)
    local p = ecs:DescribeRegionsAsync({}, { headers = { ["x-fake-delay"] = "5" } })
    assert.is_true(p:cancel())
    assert.are.equal(1, #log)
    assert.is_true(alicloud.run(5))
    assert.are.equal(2, #log)
    assert.are.equal("SDK.Cancelled", log[2][2].error.code)
    ecs:shutdown("cancel")
  end)

  it("takes hooks from a config and per call, the call's winning", function()
    local client_log, call_log = {}, {}
    local ecs = env.ecs({ config = alicloud.config():with_hooks(recorder(client_log)) })
    assert(ecs:DescribeRegions({}))
    assert(ecs:DescribeRegions({}, { hooks = recorder(call_log) }))
    assert(ecs:DescribeRegions({}, { hooks = false }))
    assert.are.equal(2, #client_log)
    assert.are.equal(2, #call_log)
  end)

  it("reports a call whose promise nobody kept", function()
    local log = {}
    local ecs = env.ecs({ hooks = recorder(log) })
    ecs:enable_async(2, 10)
    for _ = 1, 3 do ecs:DescribeRegionsAsync({}) end -- promises dropped at once
    collectgarbage()
    collectgarbage()
    assert.is_true(alicloud.run(10))
    local afters = 0
    for _, l in ipairs(log) do
      if l[1] == "after" then
        afters = afters + 1
        assert.are.equal(200, l[2].status)
      end
    end
    assert.are.equal(3, afters)
    ecs:shutdown()
  end)

  it("refuses hooks that are not functions", function()
    assert.has_error(function() env.ecs({ hooks = { before = 1 } }) end)
    assert.has_error(function() env.ecs({ hooks = { around = print } }) end)
    assert.has_error(function() env.ecs({ hooks = print }) end)
  end)

  it("counts and times a fan-out: the metrics example's counters", function()
    local counts, hist = {}, { 0, 0, 0, 0 }
    local bounds = { 0.005, 0.05, 0.5, math.huge }
    local hooks = { after = function(info)
      local key = info.action .. " " .. (info.error and info.error.code or "OK")
      counts[key] = (counts[key] or 0) + 1
      for i, b in ipairs(bounds) do
        if info.timings.total <= b then hist[i] = hist[i] + 1 break end
      end
    end }
    server:config{ actions = { DescribeInstances = { status = 400, code = "InvalidParameter",
      every = 4 } } }
    local ecs = env.ecs({ hooks = hooks, retry = false }) -- a retry would shift `every`
    ecs:enable_async(4, 100)
    for _ = 1, 40 do ecs:DescribeInstancesAsync({}) end
    assert.is_true(alicloud.run(20))
    assert.are.same({ ["DescribeInstances OK"] = 30, ["DescribeInstances InvalidParameter"] = 10 },
      counts)
    assert.are.equal(40, hist[1] + hist[2] + hist[3] + hist[4])
    ecs:shutdown()
  end)
end)
