-- client:wait_for and client:wait_for_async against an instance of the fake cloud's fleet that
-- goes from Starting to Running after a delay the spec sets; and the runtime timers under the
-- async waiter (no thread waits; run, wait, the runtime handle and the loop adapters honour them).
local env = require("spec.support.env")
local alicloud = env.alicloud()
local core = require("alicloud.core")
local runtime = require("alicloud.runtime")
local waiter = require("alicloud.waiter")

local IDS = { InstanceIds = '["i-fake000001"]' }

local function running(res)
  return res.Instances.Instance[1].Status == "Running"
end

describe("waiters", function()
  local server, ecs

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(4, 100)
    -- the fake reads its parameter schemas on its first API request (a second or more under
    -- load): before any instance's clock starts
    assert(ecs:DescribeRegions({}))
  end)
  teardown(function()
    ecs:shutdown()
    env.stop()
  end)
  before_each(function()
    server:reset()
    server:config{ instances = { count = 3, status = "Starting", running_after = 0.8 } }
  end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
    assert.is_false(runtime.busy())
  end)

  describe("wait_for (sync)", function()
    it("polls until the instance is Running", function()
      local t0 = core.now()
      local res, err = ecs:wait_for("DescribeInstances", IDS, running, { interval = 0.1 })
      local took = core.now() - t0
      assert.is_nil(err)
      assert.are.equal("Running", res.Instances.Instance[1].Status)
      assert.are.equal("i-fake000001", res.Instances.Instance[1].InstanceId)
      assert.is_true(took >= 0.75, took)
      local polls = server:stats().by_action.DescribeInstances
      assert.is_true(polls >= 2, polls) -- it did poll again: the first saw Starting
      assert.is_true(polls <= 10, polls) -- pauses of 0.075..0.1 s and growing
    end)

    it("returns at once when the first result already satisfies the predicate", function()
      server:config{ instances = { status = "Running" } }
      local res = assert(ecs:wait_for("DescribeInstances", IDS, running))
      assert.are.equal("Running", res.Instances.Instance[1].Status)
      assert.are.equal(1, server:stats().by_action.DescribeInstances)
    end)

    it("times out with SDK.WaiterTimeout when the condition never holds", function()
      server:config{ instances = { status = "Pending" } }
      local t0 = core.now()
      local res, err = ecs:wait_for("DescribeInstances", IDS, running,
        { interval = 0.1, timeout = 0.5 })
      local took = core.now() - t0
      assert.is_nil(res)
      assert.are.equal("SDK.WaiterTimeout", err.code)
      assert.are.equal("client", err.kind)
      assert.matches("DescribeInstances", err.message)
      assert.are.equal("Pending", err.last_result.Instances.Instance[1].Status)
      assert.are.equal(server:stats().by_action.DescribeInstances, err.polls)
      assert.is_true(err.polls >= 2, err.polls)
      assert.is_true(took >= 0.5 and took < 10, took)
    end)

    it("reports the predicate's error instead of swallowing it", function()
      local res, err = ecs:wait_for("DescribeInstances", IDS, function() error("boom") end)
      assert.is_nil(res)
      assert.are.equal("SDK.HandlerError", err.code)
      assert.matches("boom", err.message)
      assert.are.equal(1, server:stats().by_action.DescribeInstances)
    end)

    it("ends with the error of a failed poll", function()
      server:config{ actions = { DescribeInstances = { status = 403, code = "Forbidden.Fake",
        every = 2, times = 1 } } }
      local _, err = ecs:wait_for("DescribeInstances", IDS, running, { interval = 0.05 })
      assert.are.equal("Forbidden.Fake", err.code)
      assert.are.equal(2, server:stats().by_action.DescribeInstances)
    end)

    it("passes opts.call to every poll", function()
      local _, err = ecs:wait_for("DescribeInstances", IDS, running,
        { call = { headers = { ["x-fake-fault"] = "503" }, retry = false } })
      assert.are.equal("ServiceUnavailable", err.code)
      assert.are.equal(1, err.attempts)
    end)

    it("delivers other async results while it pauses", function()
      local delivered = 0
      for _ = 1, 3 do
        ecs:DescribeRegionsAsync({}, function(r) if r then delivered = delivered + 1 end end)
      end
      assert(ecs:wait_for("DescribeInstances", IDS, running, { interval = 0.1 }))
      assert.are.equal(3, delivered)
    end)

    it("raises on misuse before sending anything", function()
      local cases = {
        { { "DescribeInstances", IDS, "Running" }, "predicate must be a function" },
        { { 7, IDS, running }, "action must be a string" },
        { { "DescribeInstances", 5, running }, "params must be a table" },
        { { "DescribeInstances", IDS, running, { interval = -1 } }, "interval must be" },
        { { "DescribeInstances", IDS, running, { interval = 0 } }, "interval must be" },
        { { "DescribeInstances", IDS, running, { interval = 0 / 0 } }, "interval must be" },
        { { "DescribeInstances", IDS, running, { timeout = "10" } }, "timeout must be" },
        { { "DescribeInstances", IDS, running, { timeout = math.huge } }, "timeout must be" },
        { { "DescribeInstances", IDS, running, { interval = 5, max_interval = 1 } },
          "max_interval %(1%) must be >= interval %(5%)" },
        { { "DescribeInstances", IDS, running, { intervall = 1 } }, "unknown option 'intervall'" },
        { { "DescribeInstances", IDS, running, { call = 1 } }, "opts.call must be a table" },
      }
      for _, c in ipairs(cases) do
        for _, method in ipairs({ "wait_for", "wait_for_async" }) do
          -- called from this line (not by pcall, nor as a tail call), as an application would
          local ok, err = pcall(function()
            ecs[method](ecs, require("alicloud.compat").unpack(c[1], 1, 4))
          end)
          assert.is_false(ok)
          assert.matches(c[2], err)
          assert.matches("waiter_spec.lua", err) -- pointing at the caller
        end
      end
      assert.are.equal(0, server:stats().requests)
    end)
  end)

  describe("pauses", function()
    it("grow from interval by half each poll, up to max_interval, jittered below", function()
      local w = waiter.check("A", {}, running, { interval = 2, max_interval = 5 }, "t", 1)
      assert.are.equal(2, waiter.pause(w, 1, 0))
      assert.are.equal(3, waiter.pause(w, 2, 0))
      assert.are.equal(4.5, waiter.pause(w, 3, 0))
      assert.are.equal(5, waiter.pause(w, 4, 0))
      assert.are.equal(5, waiter.pause(w, 40, 0))
      local r = waiter.pause(w, 40, 0.999)
      assert.is_true(r > 3.7 and r < 5)
    end)

    it("default to 2 s, up to 30 s, for 600 s", function()
      local w = waiter.check("A", {}, running, nil, "t", 1)
      assert.are.same({ interval = 2, max_interval = 30, timeout = 600 },
        { interval = w.interval, max_interval = w.max_interval, timeout = w.timeout })
    end)
  end)

  describe("wait_for_async", function()
    it("resolves once Running, while other callbacks keep being delivered", function()
      local t0 = core.now()
      local p = ecs:wait_for_async("DescribeInstances", IDS, running, { interval = 0.1 })
      assert.is_true(core.now() - t0 < 0.4) -- it returned at once, long before Running
      assert.are.equal("pending", p:status())
      local ticks = 0
      local function tick()
        ticks = ticks + 1
        if p:status() == "pending" then ecs:DescribeRegionsAsync({}, tick) end
      end
      tick()
      local res, err = p:wait(30)
      assert.is_nil(err)
      assert.are.equal("Running", res.Instances.Instance[1].Status)
      assert.is_true(core.now() - t0 >= 0.75)
      -- one chain of calls ran all along: the waiter held no thread and no delivery
      assert.is_true(ticks > 2, ticks)
    end)

    it("works in a coroutine with await, driven by alicloud.run", function()
      local status
      alicloud.async(function()
        local res = ecs:wait_for_async("DescribeInstances", IDS, running,
          { interval = 0.1 }):await()
        status = res.Instances.Instance[1].Status
      end)
      assert.is_nil(status)
      assert.is_true(alicloud.run(30))
      assert.are.equal("Running", status)
    end)

    it("between polls the runtime handle's timeout() is the next poll's due time", function()
      local p = ecs:wait_for_async("DescribeInstances", IDS, running, { interval = 0.3 })
      local h = alicloud.runtime()
      local due = env.eventually(function()
        alicloud.dispatch()
        local t = h:timeout()
        return t and t > 0 and t
      end)
      assert.is_truthy(due)
      assert.is_true(due <= 0.3, due)
      assert.is_true(alicloud.runtime():timeout() <= due)
      assert.are.equal(0, alicloud.pending()) -- no call in flight: only the timer waits
      assert.is_true(runtime.busy())
      assert(p:wait(30))
    end)

    it("rejects with SDK.WaiterTimeout", function()
      server:config{ instances = { status = "Pending" } }
      local p = ecs:wait_for_async("DescribeInstances", IDS, running,
        { interval = 0.05, timeout = 0.3 })
      local _, err = p:wait(30)
      assert.are.equal("SDK.WaiterTimeout", err.code)
      assert.are.equal(server:stats().by_action.DescribeInstances, err.polls)
    end)

    it("rejects with the predicate's error", function()
      local _, err = ecs:wait_for_async("DescribeInstances", IDS,
        function() error({ code = "My.Check", message = "not like this" }) end):wait(30)
      assert.are.equal("My.Check", err.code)
    end)

    it("rejects with a failed poll's structured error", function()
      server:config{ actions = { DescribeInstances = { status = 403, code = "Forbidden.Fake",
        every = 3, times = 1 } } }
      local _, err = ecs:wait_for_async("DescribeInstances", IDS, running,
        { interval = 0.05 }):wait(30)
      assert.are.equal("Forbidden.Fake", err.code)
      assert.are.equal("server", err.kind)
      assert.are.equal(3, server:stats().by_action.DescribeInstances)
    end)

    it("cancel() stops the polls", function()
      local p = ecs:wait_for_async("DescribeInstances", IDS, running, { interval = 0.05 })
      assert.is_truthy(env.eventually(function()
        alicloud.dispatch()
        return (server:stats().by_action.DescribeInstances or 0) >= 2
      end))
      assert.is_true(p:cancel())
      assert.are.equal("SDK.Cancelled", select(2, p:wait()).code)
      assert.is_true(alicloud.run(5))
      local polls = server:stats().by_action.DescribeInstances
      local t = core.now()
      while core.now() - t < 0.3 do alicloud.dispatch() end
      assert.are.equal(polls, server:stats().by_action.DescribeInstances)
      assert.is_false(runtime.busy())
    end)

    it("settles exactly once, through the callback of a promise chained on it", function()
      local seen = 0
      local p = ecs:wait_for_async("DescribeInstances", IDS, running, { interval = 0.1 })
      p:next(function() seen = seen + 1 end, function() seen = seen + 1 end)
      p:finally(function() seen = seen + 1 end)
      assert.is_true(alicloud.run(30))
      assert.are.equal(2, seen)
    end)

    it("rejects with SDK.AsyncFunctionNotEnabled on a client without a pool", function()
      local _, err = env.ecs():wait_for_async("DescribeInstances", IDS, running):wait(5)
      assert.are.equal("SDK.AsyncFunctionNotEnabled", err.code)
    end)
  end)

  describe("inside event loops", function()
    it("luv: uv.run() wakes for the waiter's timers and returns once it resolved", function()
      local uv = require("luv")
      local luv = alicloud.loop.luv
      luv.attach(uv)
      local status, hung = nil, false
      ecs:wait_for_async("DescribeInstances", IDS, running, { interval = 0.1 })
        :next(function(res) status = res.Instances.Instance[1].Status end)
      local guard = uv.new_timer()
      uv.update_time() -- the loop's cached time is as old as its last run
      guard:start(20000, 0, function() hung = true; uv.stop() end)
      guard:unref()
      uv.run()
      guard:close()
      luv.detach()
      uv.run()
      assert.is_false(hung, "uv.run() still running after 20 s")
      assert.are.equal("Running", status)
      assert.is_true(server:stats().by_action.DescribeInstances >= 2)
    end)

    it("cqueues: cq:loop() wakes for the waiter's timers; await suspends one coroutine", function()
      local cqueues = require("cqueues")
      local adapter = alicloud.loop.cqueues
      local cq = cqueues.new()
      adapter.attach(cq)
      local status
      cq:wrap(function()
        local res = ecs:wait_for_async("DescribeInstances", IDS, running,
          { interval = 0.1 }):await()
        status = res.Instances.Instance[1].Status
      end)
      local t0 = core.now()
      assert.is_true(cq:loop(20))
      adapter.detach()
      assert.are.equal("Running", status)
      assert.is_true(core.now() - t0 < 10)
    end)

    it("cqueues without an attachment: the awaiting coroutine wakes for the timers itself",
      function()
        local cqueues = require("cqueues")
        assert.is_nil(alicloud.loop.cqueues.attached())
        local cq = cqueues.new()
        local status
        cq:wrap(function()
          local res = ecs:wait_for_async("DescribeInstances", IDS, running,
            { interval = 0.1 }):await()
          status = res.Instances.Instance[1].Status
        end)
        assert.is_true(cq:loop(20))
        assert.are.equal("Running", status)
      end)
  end)

  describe("runtime timers", function()
    it("run in due order, ties in the order set, cancelled ones never", function()
      local order = {}
      runtime.after(0.06, function(a) order[#order + 1] = a end, "c")
      runtime.after(0.02, function(a) order[#order + 1] = a end, "a")
      runtime.after(0.02, function(a) order[#order + 1] = a end, "b")
      local t = runtime.after(0.04, function(a) order[#order + 1] = a end, "x")
      assert.is_true(t:cancel())
      assert.is_false(t:cancel())
      assert.are.same({}, order) -- never inside the call that set them
      assert.is_true(alicloud.run(5))
      assert.are.same({ "a", "b", "c" }, order)
    end)

    it("never run before they are due, and alicloud.run() waits for them", function()
      local t0, at = core.now(), nil
      runtime.after(0.2, function() at = core.now() end)
      alicloud.dispatch()
      assert.is_nil(at)
      assert.is_true(alicloud.run(5))
      assert.is_true(at - t0 >= 0.2)
      assert.is_true(at - t0 < 1)
    end)
  end)
end)
