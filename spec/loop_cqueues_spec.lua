-- alicloud.loop.cqueues: delivery inside a cqueues controller; promise:await() in a cq:wrap
-- coroutine suspends only that coroutine, and cq:loop() returns once the work is done.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local runtime = require("alicloud.runtime")
local cqueues = require("cqueues")
local adapter = alicloud.loop.cqueues

describe("loop.cqueues", function()
  local server, ecs

  -- cq:loop(), bounded: a guard coroutine that would outlive the work is not an option (the
  -- loop would wait for it), so step with a deadline instead. True when the loop emptied;
  -- otherwise false and the first error cqueues reported.
  local function run_cq(cq, limit)
    local deadline = env.now() + (limit or 30)
    while not cq:empty() do
      if env.now() > deadline then return false, "did not finish" end
      local ok, err = cq:step(0.5)
      if not ok then return false, err end
    end
    return true
  end

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
    adapter.detach()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  it("runs 200 cq:wrap coroutines awaiting calls, each resumed once; cq:loop returns",
    function()
      server:config{ delay = 0.02 }
      local cq = cqueues.new()
      adapter.attach(cq)
      local resumed, got = {}, {}
      for i = 1, 200 do
        cq:wrap(function()
          local page = ecs:DescribeInstancesAsync({ PageNumber = i, PageSize = 1 }):await()
          local regions = ecs:DescribeRegionsAsync({}):await()
          resumed[i] = (resumed[i] or 0) + 1
          got[i] = page.PageNumber * 100 + #regions.Regions.Region
        end)
      end
      assert.is_true(run_cq(cq, 60))
      assert.is_true(cq:loop()) -- and a plain cq:loop() on the emptied controller returns too
      assert.are.equal(0, alicloud.pending())
      for i = 1, 200 do
        assert.are.equal(1, resumed[i])
        assert.are.equal(i * 100 + 12, got[i])
      end
      assert.are.equal(200, server:stats().by_action.DescribeRegions)
    end)

  it("suspends only the awaiting coroutine: the controller runs others meanwhile", function()
    server:config{ actions = { DescribeInstances = { delay = 0.3 } } }
    local cq = cqueues.new()
    adapter.attach(cq)
    local ticks, ticks_at_return = 0, nil
    local done = false
    cq:wrap(function()
      local res = ecs:DescribeInstancesAsync({}):await()
      ticks_at_return = ticks
      done = res ~= nil
    end)
    cq:wrap(function()
      while not done do
        ticks = ticks + 1
        cqueues.sleep(0.01)
      end
    end)
    assert.is_true(run_cq(cq))
    assert.is_true(done)
    assert.is_true(ticks_at_return > 0)
  end)

  it("delivers callbacks inside the controller, and cq:loop() returns when work is done",
    function()
      local cq = cqueues.new()
      adapter.attach(cq)
      local inside, n = {}, 0
      for _ = 1, 20 do
        ecs:DescribeRegionsAsync({}, function(res)
          inside[#inside + 1] = cqueues.running() == cq
          if res then n = n + 1 end
        end)
      end
      assert.is_true(cq:loop())
      assert.are.equal(20, n)
      for i = 1, 20 do assert.is_true(inside[i]) end
      -- idle now: a call started later brings delivery back, and the loop returns again
      local later
      cq:wrap(function() later = ecs:DescribeRegionsAsync({}):await() end)
      assert.is_true(cq:loop())
      assert.are.equal(12, #later.Regions.Region)
      assert.is_true(cq:empty())
    end)

  it("the runtime handle satisfies the cqueues polling protocol", function()
    local cq = cqueues.new()
    local rt = alicloud.runtime()
    local p = ecs:DescribeRegionsAsync({})
    local ready, delivered
    cq:wrap(function()
      ready = cqueues.poll(rt)
      delivered = rt:dispatch()
    end)
    assert.is_true(run_cq(cq))
    assert.are.equal(rt, ready)
    assert.are.equal(1, delivered)
    assert.are.equal("fulfilled", p:status())
  end)

  it("attaching the same controller twice returns the same attachment, one delivery",
    function()
      local cq = cqueues.new()
      local a = adapter.attach(cq)
      assert.is_true(rawequal(a, adapter.attach(cq)))
      assert.are.equal(a, adapter.attached())
      assert.has_error(function() adapter.attach(cqueues.new()) end,
        "alicloud.loop.cqueues: already attached to another controller; detach it first")
      assert.has_error(function() adapter.attach({}) end,
        "alicloud.loop.cqueues.attach: expected a cqueues controller")
      local n = 0
      ecs:DescribeRegionsAsync({}, function() n = n + 1 end)
      adapter.attach(cq)
      assert.are.equal(1, cq:count()) -- one delivery coroutine, however often attached
      assert.is_true(run_cq(cq))
      assert.are.equal(1, n)
    end)

  it("detach mid-await: the awaiting coroutines deliver for themselves, cq:loop returns",
    function()
      server:config{ delay = 0.2 }
      local cq = cqueues.new()
      local att = adapter.attach(cq)
      local got = {}
      for i = 1, 10 do
        cq:wrap(function() got[i] = ecs:DescribeRegionsAsync({}):await() end)
      end
      cq:wrap(function()
        cqueues.sleep(0.05)
        assert(att:detach())
      end)
      assert.is_true(run_cq(cq))
      for i = 1, 10 do assert.are.equal(12, #got[i].Regions.Region) end
      assert.is_false(att:detach())
      assert.is_false(adapter.detach())
      assert.is_nil(adapter.attached())
      -- detached: a callback call no longer brings a delivery coroutine into the controller
      local p = ecs:DescribeRegionsAsync({}, function() end)
      assert.is_true(cq:empty())
      assert.is_true(cq:loop())
      assert.are.equal("pending", p:status())
    end)

  it("await without any attachment polls the runtime itself", function()
    local cq = cqueues.new()
    local got = {}
    for i = 1, 50 do
      cq:wrap(function()
        local page = ecs:DescribeInstancesAsync({ PageNumber = i, PageSize = 1 }):await()
        got[i] = (got[i] or 0) + page.PageNumber
      end)
    end
    assert.is_true(run_cq(cq))
    for i = 1, 50 do assert.are.equal(i, got[i]) end
  end)

  it("tolerates spurious readiness: wake-ups with nothing to deliver resume nobody", function()
    server:config{ delay = 0.3 }
    local reported = env.capture_errors(finally)
    local cq = cqueues.new()
    adapter.attach(cq)
    local resumed, res = 0, nil
    cq:wrap(function()
      res = ecs:DescribeRegionsAsync({}):await()
      resumed = resumed + 1
    end)
    cq:wrap(function()
      for _ = 1, 5 do
        runtime.core():wake()
        cqueues.sleep(0.01)
      end
    end)
    assert.is_true(run_cq(cq))
    assert.are.equal(1, resumed)
    assert.are.equal(12, #res.Regions.Region)
    assert.are.same({}, reported)
    -- idle and attached: a wake-up alone starts no delivery, and the loop still returns
    runtime.core():wake()
    assert.is_true(cq:loop())
    assert.are.equal(0, alicloud.dispatch())
  end)

  describe("errors", function()
    it("an error after an await ends its own coroutine and reaches cq:loop's caller",
      function()
        local cq = cqueues.new()
        adapter.attach(cq)
        local others = 0
        cq:wrap(function()
          ecs:DescribeRegionsAsync({}):await()
          error("boom after await")
        end)
        for _ = 1, 5 do
          cq:wrap(function()
            if ecs:DescribeRegionsAsync({}):await() then others = others + 1 end
          end)
        end
        local ok, err = run_cq(cq)
        assert.is_false(ok)
        assert.matches("boom after await", tostring(err))
        assert.is_true(run_cq(cq)) -- cqueues reports one error per step; the rest carry on
        assert.are.equal(5, others)
      end)

    it("errors in callbacks go to alicloud.on_error and delivery carries on", function()
      local reported = env.capture_errors(finally)
      local cq = cqueues.new()
      adapter.attach(cq)
      local n = 0
      ecs:DescribeRegionsAsync({}, function() error("callback boom") end)
      for _ = 1, 5 do ecs:DescribeRegionsAsync({}, function() n = n + 1 end) end
      assert.is_true(run_cq(cq))
      assert.are.equal(1, #reported)
      assert.matches("callback boom", tostring(reported[1]))
      assert.are.equal(5, n)
    end)

    it("alicloud.async inside cq:wrap awaits fine; a cqueues call inside it is refused",
      function()
        local cq = cqueues.new()
        adapter.attach(cq)
        local good, bad
        cq:wrap(function()
          good = alicloud.async(function() return ecs:DescribeRegionsAsync({}):await() end)
          bad = alicloud.async(function()
            ecs:DescribeRegionsAsync({}):await()
            cqueues.sleep(0.01) -- yields to cqueues from a coroutine cqueues does not run
          end)
          local _, err = bad:await()
          assert(err.code == "SDK.ForeignYield", tostring(err))
        end)
        assert.is_true(run_cq(cq))
        assert.are.equal(12, #good:wait().Regions.Region)
        assert.are.equal("SDK.ForeignYield", select(2, bad:wait()).code)
      end)

    it("a delivery that fails (as on a closed runtime) detaches and reports", function()
      local reported = env.capture_errors(finally)
      local cq = cqueues.new()
      local att = adapter.attach(cq)
      local real = runtime.dispatch
      finally(function() runtime.dispatch = real end)
      runtime.dispatch = function() error("simulated: the runtime is closed") end
      local p = ecs:DescribeRegionsAsync({}, function() end)
      assert.is_true(run_cq(cq))
      runtime.dispatch = real
      assert.is_false(att:detach())
      assert.are.equal(1, #reported)
      assert.matches("delivery failed, detaching.*simulated: the runtime is closed",
        tostring(reported[1]))
      assert.are.equal("pending", p:status()) -- after_each's alicloud.run delivers it
    end)
  end)

  describe("a closed runtime", function()
    it("attach raises a clear error", function()
      local out = env.run_child([[
        local alicloud = require("alicloud")
        require("alicloud.runtime").core():close()
        local ok, err = pcall(alicloud.loop.cqueues.attach, require("cqueues").new())
        io.write(tostring(ok), " ", tostring(err), "\n")
      ]])
      assert.matches("^false .*alicloud runtime is closed", out)
    end)

    it("lua_close inside cq:loop with calls in flight exits promptly, running no callback",
      function()
        server:config{ delay = 30 }
        local t0 = env.now()
        local out, ok, how, code = env.run_child(string.format([[
          local cqueues = require("cqueues")
          local alicloud = require("alicloud")
          local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = %q,
            scheme = "http", credential = alicloud.credentials.access_key(%q, %q) })
          ecs:enable_async(3, 100)
          local cq = cqueues.new()
          alicloud.loop.cqueues.attach(cq)
          for _ = 1, 10 do ecs:DescribeRegionsAsync({}, function() print("callback ran") end) end
          cq:wrap(function() ecs:DescribeRegionsAsync({}):await(); print("await returned") end)
          cq:wrap(function()
            cqueues.sleep(0.1)
            io.write("closing\n")
            -- lua_close from inside the loop; plain 5.1's os.exit exits without closing, so
            -- there the loop ends (with this error) and the interpreter closes it after
            if _VERSION == "Lua 5.1" and not jit then error("closing") else os.exit(0, true) end
          end)
          cq:loop()
        ]], server.endpoint, env.fake.ACCESS_KEY_ID, env.fake.ACCESS_KEY_SECRET))
        assert.are.equal("closing\n", out)
        assert.is_true(ok, string.format("child exited with %s %s", tostring(how), tostring(code)))
        assert.is_true(env.now() - t0 < 20) -- transfers were aborted, not awaited
      end)
  end)
end)
