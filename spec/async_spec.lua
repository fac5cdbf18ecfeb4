-- The async engine end to end: pool concurrency, queue bounds, delivery rules, exactly-once
-- settlement, waiting, cancellation and shutdown — all against the fake cloud over sockets.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("async calls", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  describe("pool", function()
    for _, n in ipairs({ 1, 3, 8 }) do
      it("runs exactly pool_size = " .. n .. " requests at once", function()
        server:config{ delay = 0.15 }
        local ecs = env.ecs()
        ecs:enable_async(n, 100)
        local ps = {}
        for i = 1, n * 3 do ps[i] = ecs:DescribeRegionsAsync({}) end
        local res, err = alicloud.all(ps):wait(30)
        assert.is_nil(err)
        assert.are.equal(n * 3, #res)
        local st = server:stats()
        assert.are.equal(n, st.max_concurrent)
        assert.are.equal(n * 3, st.by_action.DescribeRegions)
        ecs:shutdown()
      end)
    end

    it("carries pool_size calls at once on a thread per core, not a thread per call", function()
      local function threads()
        local f = assert(io.open("/proc/self/status"))
        local n = tonumber(f:read("*a"):match("Threads:%s*(%d+)"))
        f:close()
        return n
      end
      -- the cores online, as the pool counts them (no shell: none runs under TSan)
      local f = assert(io.open("/sys/devices/system/cpu/online"))
      local cores = 0
      for range in f:read("*l"):gmatch("[^,]+") do
        local lo, hi = range:match("^(%d+)-(%d+)$")
        cores = cores + (lo and tonumber(hi) - tonumber(lo) + 1 or 1)
      end
      f:close()
      -- each call held long enough to see all 64 at the server at once, even under TSan
      server:config{ delay = 6 }
      local ecs = env.ecs()
      local before = threads()
      ecs:enable_async(64, 100)
      local ps = {}
      for i = 1, 64 do ps[i] = ecs:DescribeRegionsAsync({}) end
      assert.is_truthy(env.eventually(function() return server:stats().current == 64 end, 30))
      assert.is_true(threads() - before <= math.min(cores, 64))
      local res, err = alicloud.all(ps):wait(30)
      assert.is_nil(err)
      assert.are.equal(64, #res)
      assert.are.equal(64, server:stats().max_concurrent)
      ecs:shutdown()
    end)

    it("takes its size from the config (the Go SDK's WithEnableAsync)", function()
      server:config{ delay = 0.1 }
      local cfg = alicloud.config():with_enable_async(true):with_pool_size(2)
        :with_max_task_queue_size(50)
      local ecs = env.ecs({ config = cfg })
      local ps = {}
      for i = 1, 6 do ps[i] = ecs:DescribeRegionsAsync({}) end
      assert.is_not_nil((alicloud.all(ps):wait(30)))
      assert.are.equal(2, server:stats().max_concurrent)
    end)
  end)

  describe("queue bound", function()
    it("rejects the call past the bound with SDK.TaskQueueFull and loses nothing", function()
      server:config{ delay = 0.3 }
      local ecs = env.ecs({ queue_full = "reject" })
      ecs:enable_async(1, 2)
      local first = ecs:DescribeRegionsAsync({})
      -- once the worker holds the first call, the queue has room for exactly two more
      assert.is_truthy(env.eventually(function() return server:stats().current == 1 end))
      local second = ecs:DescribeRegionsAsync({})
      local third = ecs:DescribeRegionsAsync({})
      local fourth = ecs:DescribeRegionsAsync({})
      assert.are.equal("rejected", fourth:status())
      local _, err = fourth:wait()
      assert.are.equal("SDK.TaskQueueFull", err.code)
      for _, p in ipairs({ first, second, third }) do
        local res, e = p:wait(10)
        assert.is_nil(e)
        assert.are.equal(12, #res.Regions.Region)
      end
      assert.are.equal(3, server:stats().by_action.DescribeRegions)
    end)

    it("with \"block\", a loop submitting 20x the queue size settles every call", function()
      server:config{ delay = 0.005 }
      local ecs = env.ecs()
      ecs:enable_async(2, 5)
      local ok, settled = 0, 0
      for _ = 1, 100 do
        ecs:DescribeRegionsAsync({}, function(res, err)
          settled = settled + 1
          if res and not err then ok = ok + 1 end
        end)
        -- undelivered calls never exceed the bound: pool 2 + queue 5
        assert.is_true(alicloud.pending() <= 7)
      end
      assert.is_true(alicloud.run(60))
      assert.are.equal(100, settled)
      assert.are.equal(100, ok)
      assert.are.equal(100, server:stats().by_action.DescribeRegions)
    end)

    it("with \"block\" and a deep queue, the submitting loop delivers what piles up", function()
      local core = require("alicloud.core")
      local ecs = env.ecs()
      ecs:enable_async(4, 5000)
      local n, own_inside, early, settled, worst = 600, 0, 0, 0, 0
      local inside -- the number of the call being submitted, or 0 between calls
      for i = 1, n do
        inside = i
        ecs:DescribeRegionsAsync({}, function(res, err)
          assert.is_nil(err)
          assert.is_table(res)
          if inside == i then own_inside = own_inside + 1 end
          if inside > 0 then early = early + 1 end
          settled = settled + 1
        end)
        inside = 0
        -- a loop that does some work per call, long enough for the workers to take one more
        -- call (one more finished) whatever their speed (valgrind), or 50 ms
        local started = alicloud.pending() - ecs._pool:queued()
        local t = core.now() + 0.05
        while alicloud.pending() - ecs._pool:queued() <= started and core.now() < t do end
        -- finished and not yet delivered: what the queue alone would let grow to n
        local piled = alicloud.pending() - ecs._pool:queued()
        if piled > worst then worst = piled end
      end
      assert.is_true(alicloud.run(60))
      assert.are.equal(n, settled)
      assert.are.equal(0, own_inside) -- never a call's own callback inside that call
      assert.is_true(early > 0)      -- results were delivered while the loop ran
      assert.is_true(worst <= 4 + 256 + 32 + 64, "piled up to " .. worst)
      assert.are.equal(n, server:stats().by_action.DescribeRegions)
    end)
  end)

  describe("delivery", function()
    it("runs callbacks on the Lua thread, during delivery, never inside the call", function()
      local ecs = env.ecs()
      ecs:enable_async(2, 10)
      local inside_call, ran_inside, ran = false, false, 0
      local main = coroutine.running() -- nil on 5.1 and LuaJIT: the main thread
      local function cb()
        if inside_call then ran_inside = true end
        assert.are.equal(main, (coroutine.running()))
        ran = ran + 1
      end
      inside_call = true
      ecs:DescribeRegionsAsync({}, cb)
      local p = alicloud.client("ecs", { region = "cn-hangzhou", credential = env.credential(),
        endpoint = server.endpoint, scheme = "http" }):DescribeRegionsAsync({}, cb)
      inside_call = false
      -- the second call was rejected at once (no pool), yet its callback waits for delivery
      assert.are.equal("rejected", p:status())
      assert.are.equal(0, ran)
      assert.is_true(alicloud.run(10))
      assert.are.equal(2, ran)
      assert.is_false(ran_inside)
    end)

    it("settles 10,000 calls exactly once each", function()
      local ecs = env.ecs()
      ecs:enable_async(8, 1000)
      local seen, total, failures = {}, 0, 0
      for i = 1, 10000 do
        ecs:DescribeRegionsAsync({}, function(res, err)
          seen[i] = (seen[i] or 0) + 1
          total = total + 1
          if err or not res then failures = failures + 1 end
        end)
      end
      assert.is_true(alicloud.run(120))
      assert.are.equal(10000, total)
      assert.are.equal(0, failures)
      for i = 1, 10000 do assert.are.equal(1, seen[i]) end
      ecs:shutdown()
    end)

    it("passes an error raised in a callback to alicloud.on_error and delivers the rest",
      function()
        local ecs = env.ecs()
        ecs:enable_async(2, 10)
        local reported, delivered = {}, 0
        local saved = alicloud.on_error
        alicloud.on_error = function(e) reported[#reported + 1] = e end
        ecs:DescribeRegionsAsync({}, function() error("boom in callback") end)
        for _ = 1, 5 do
          ecs:DescribeRegionsAsync({}, function(res) if res then delivered = delivered + 1 end end)
        end
        assert.is_true(alicloud.run(10))
        alicloud.on_error = saved
        assert.are.equal(1, #reported)
        assert.matches("boom in callback", tostring(reported[1]))
        assert.are.equal(5, delivered)
      end)

    it("makes the runtime fd readable when results wait, and dispatch drains it", function()
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local rt = alicloud.runtime()
      local fd = rt:pollfd()
      assert.are.equal("r", rt:events())
      alicloud.dispatch()
      assert.is_false(env.readable(fd))
      local p = ecs:DescribeRegionsAsync({})
      assert.is_true(env.readable(fd, 10))
      assert.are.equal("pending", p:status()) -- nothing is delivered behind our back
      assert.are.equal(1, rt:dispatch())
      assert.are.equal("fulfilled", p:status())
      assert.is_false(env.readable(fd))
    end)

    it("treats a spurious wake-up as nothing to deliver, without blocking", function()
      local t0 = env.now()
      assert.are.equal(0, alicloud.dispatch())
      assert.are.equal(0, alicloud.dispatch())
      assert.is_true(env.now() - t0 < 1)
    end)

    it("delivers at most `max` calls per dispatch and keeps the fd readable for the rest",
      function()
        local ecs = env.ecs()
        ecs:enable_async(4, 10)
        local ps = {} -- held, so the calls stay observable (see lifetime_spec)
        for i = 1, 4 do ps[i] = ecs:DescribeRegionsAsync({}) end
        assert.is_truthy(env.eventually(function()
          return server:stats().by_action.DescribeRegions == 4 and server:stats().current == 0
        end))
        local fd = alicloud.runtime():pollfd()
        local delivered = 0
        while alicloud.pending() > 0 do
          -- results left in the queue after a partial dispatch keep the fd readable
          assert.is_true(env.readable(fd, 5))
          local n = alicloud.dispatch(1)
          assert.is_true(n <= 1)
          delivered = delivered + n
        end
        assert.are.equal(4, delivered)
        for i = 1, 4 do assert.are.equal("fulfilled", ps[i]:status()) end
      end)

    it("wakes the fd for every result while workers finish during deliveries, and leaves it " ..
      "quiet once all are delivered", function()
        -- eight workers push while the Lua thread pops, in deliveries of every size: a lost
        -- wake-up leaves the fd unreadable with results waiting, a stray byte leaves it
        -- readable at the end
        local ecs = env.ecs()
        ecs:enable_async(8, 400)
        local fd = alicloud.runtime():pollfd()
        local seen, twice = {}, 0
        for i = 1, 300 do
          ecs:DescribeRegionsAsync({}, function(res, err)
            assert(res, err)
            if seen[i] then twice = twice + 1 end
            seen[i] = true
          end)
        end
        local round = 0
        while alicloud.pending() > 0 do
          assert.is_true(env.readable(fd, 10))
          round = round + 1
          if round % 3 == 0 then alicloud.dispatch() else alicloud.dispatch(round % 7 + 1) end
        end
        local count = 0
        for _ in pairs(seen) do count = count + 1 end
        assert.are.equal(300, count)
        assert.are.equal(0, twice)
        assert.is_false(env.readable(fd))
      end)
  end)

  describe("wait", function()
    it("returns the result, or SDK.WaitTimeout leaving the promise pending", function()
      server:config{ delay = 0.4 }
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local p = ecs:DescribeRegionsAsync({})
      local res, err = p:wait(0.05)
      assert.is_nil(res)
      assert.are.equal("SDK.WaitTimeout", err.code)
      assert.are.equal("pending", p:status())
      res, err = p:wait()
      assert.is_nil(err)
      assert.are.equal(12, #res.Regions.Region)
      assert.are.equal("fulfilled", p:status())
    end)

    it("raises on a timeout that is not a number", function()
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local p = ecs:DescribeRegionsAsync({})
      assert.has_error(function() p:wait("soon") end)
      p:wait()
    end)
  end)

  describe("cancel", function()
    it("cancels a queued call: it rejects with SDK.Cancelled and never reaches the server",
      function()
        server:config{ delay = 0.3 }
        local ecs = env.ecs()
        ecs:enable_async(1, 10)
        local running = ecs:DescribeRegionsAsync({})
        local queued = ecs:DescribeInstancesAsync({})
        assert.is_true(queued:cancel())
        assert.are.equal("rejected", queued:status())
        assert.is_false(queued:cancel())
        local _, err = queued:wait()
        assert.are.equal("SDK.Cancelled", err.code)
        assert.is_not_nil((running:wait()))
        assert.is_true(alicloud.run(10))
        assert.is_nil(server:stats().by_action.DescribeInstances)
      end)

    it("aborts a call in flight at once", function()
      server:config{ delay = 5 }
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local p = ecs:DescribeRegionsAsync({})
      assert.is_truthy(env.eventually(function() return server:stats().current == 1 end))
      local t0 = env.now()
      assert.is_true(p:cancel())
      local _, err = p:wait()
      assert.are.equal("SDK.Cancelled", err.code)
      -- the worker is free again well before the server would have answered
      server:config{ delay = 0 }
      local res = ecs:DescribeRegionsAsync({}):wait(10)
      assert.is_not_nil(res)
      assert.is_true(env.now() - t0 < 3)
    end)

    it("a cancelled call's late completion settles nothing else, as later calls reuse its place",
      function()
        -- the runtime files each call in flight under a small number that is reused once its
        -- completion arrives; cancelled calls' completions still arrive later, mixed with others
        server:config{ delay = 0.02 }
        local ecs = env.ecs()
        ecs:enable_async(3, 100)
        local settled, got, ps = {}, {}, {}
        for round = 1, 3 do
          for i = 1, 20 do
            local k = (round - 1) * 20 + i
            local cb = function(res, err)
              settled[k] = (settled[k] or 0) + 1
              got[k] = err and err.code or (res.Regions and "regions")
                or (res.Instances and "instances")
            end
            ps[k] = k % 2 == 0 and ecs:DescribeRegionsAsync({}, cb)
              or ecs:DescribeInstancesAsync({}, cb)
            if k % 3 == 0 then assert.is_true(ps[k]:cancel()) end
          end
          alicloud.dispatch()
        end
        assert.is_true(alicloud.run(30))
        for k = 1, 60 do
          assert.are.equal(1, settled[k], "call " .. k)
          local want = k % 3 == 0 and "SDK.Cancelled" or k % 2 == 0 and "regions" or "instances"
          assert.are.equal(want, got[k], "call " .. k)
        end
      end)
  end)

  describe("shutdown", function()
    it("drain: queued calls still run; later calls get SDK.ClientClosed", function()
      server:config{ delay = 0.05 }
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local ps = {}
      for i = 1, 4 do ps[i] = ecs:DescribeRegionsAsync({}) end
      assert.is_true(ecs:shutdown())
      assert.is_true(ecs:shutdown()) -- idempotent
      local after = ecs:DescribeRegionsAsync({})
      local _, err = after:wait()
      assert.are.equal("SDK.ClientClosed", err.code)
      local res = alicloud.all(ps):wait(10)
      assert.are.equal(4, #res)
      assert.are.equal(4, server:stats().by_action.DescribeRegions)
    end)

    it("cancel: queued and in-flight calls reject with SDK.Cancelled", function()
      server:config{ delay = 5 }
      local ecs = env.ecs()
      ecs:enable_async(2, 10)
      local ps = {}
      for i = 1, 6 do ps[i] = ecs:DescribeRegionsAsync({}) end
      assert.is_truthy(env.eventually(function() return server:stats().current == 2 end))
      local t0 = env.now()
      ecs:shutdown("cancel")
      ecs:shutdown("cancel")
      local settled = alicloud.all_settled(ps):wait(10)
      for i = 1, 6 do
        assert.are.equal("rejected", settled[i].status)
        assert.are.equal("SDK.Cancelled", settled[i].reason.code)
      end
      assert.is_true(env.now() - t0 < 3)
      assert.are.equal(2, server:stats().by_action.DescribeRegions)
    end)

    it("enable_async after shutdown starts a fresh pool", function()
      local ecs = env.ecs()
      assert.is_true(ecs:enable_async(2, 10))
      assert.is_false(ecs:enable_async(2, 10)) -- already running: left as it is
      ecs:shutdown()
      assert.are.equal("SDK.ClientClosed", select(2, ecs:DescribeRegionsAsync({}):wait()).code)
      assert.is_true(ecs:enable_async(3, 10))
      assert.is_not_nil((ecs:DescribeRegionsAsync({}):wait(10)))
    end)

    it("rejects bad modes as misuse", function()
      assert.has_error(function() env.ecs():shutdown("now") end)
    end)
  end)

  describe("without enable_async", function()
    it("rejects with the Go SDK's SDK.AsyncFunctionNotEnabled, callback included", function()
      local ecs = env.ecs()
      local got
      local p = ecs:DescribeRegionsAsync({}, function(_, err) got = err end)
      assert.is_nil(got)
      local _, err = p:wait()
      assert.are.equal("SDK.AsyncFunctionNotEnabled", err.code)
      assert.are.equal(err, got)
      assert.are.equal(0, server:stats().requests)
    end)
  end)
end)
