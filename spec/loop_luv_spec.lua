-- alicloud.loop.luv: delivery inside a luv loop, which it holds open only while there is
-- work, so uv.run() returns by itself once every call is delivered.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local runtime = require("alicloud.runtime")
local uv = require("luv")
local luv = alicloud.loop.luv

describe("loop.luv", function()
  local server, ecs

  -- uv.run(), bounded: an unreferenced timer (it does not hold the loop open) stops a loop
  -- that would otherwise never return. True when uv.run returned by itself.
  local function run_uv(limit)
    local hung = false
    local guard = uv.new_timer()
    guard:start(math.floor((limit or 30) * 1000), 0, function()
      hung = true
      uv.stop()
    end)
    guard:unref()
    uv.run()
    guard:close()
    uv.run() -- lets the guard's close finish
    return not hung
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
    luv.detach()
    uv.run() -- finishes the poll handle's close
    assert.is_false(uv.loop_alive())
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  it("delivers 200 awaiting coroutines and 50 callbacks inside uv.run, each exactly once",
    function()
      server:config{ delay = 0.02 }
      luv.attach(uv)
      local resumed, ps, called = {}, {}, 0
      for i = 1, 200 do
        ps[i] = alicloud.async(function(n)
          local page = ecs:DescribeInstancesAsync({ PageNumber = n, PageSize = 1 }):await()
          local regions = ecs:DescribeRegionsAsync({}):await()
          resumed[n] = (resumed[n] or 0) + 1
          return page.PageNumber * 100 + #regions.Regions.Region
        end, i)
      end
      for _ = 1, 50 do
        ecs:DescribeRegionsAsync({}, function(res) if res then called = called + 1 end end)
      end
      assert.is_true(run_uv(60)) -- returned by itself: nothing else held the loop
      assert.are.equal(0, alicloud.pending())
      assert.are.equal(50, called)
      for i = 1, 200 do
        assert.are.equal(1, resumed[i])
        assert.are.equal("fulfilled", ps[i]:status())
        assert.are.equal(i * 100 + 12, (ps[i]:wait()))
      end
      assert.are.equal(250, server:stats().by_action.DescribeRegions)
    end)

  it("holds the loop open only while calls are pending", function()
    luv.attach(uv)
    assert.is_false(uv.loop_alive()) -- idle: attaching alone keeps nothing running
    local p = ecs:DescribeRegionsAsync({})
    assert.is_true(uv.loop_alive())
    assert.is_true(run_uv(30))
    assert.are.equal("fulfilled", p:status())
    assert.is_false(uv.loop_alive())
    local q = ecs:DescribeRegionsAsync({}) -- work again after idle: held open again
    assert.is_true(uv.loop_alive())
    assert.is_true(run_uv(30))
    assert.are.equal("fulfilled", q:status())
  end)

  it("holds the loop open again for calls started inside it, down a chain of callbacks",
    function()
      luv.attach(uv)
      local order = {}
      local t = uv.new_timer()
      t:start(20, 0, function()
        t:close()
        ecs:DescribeRegionsAsync({}, function()
          order[#order + 1] = "first"
          alicloud.async(function()
            ecs:DescribeRegionsAsync({}):await()
            order[#order + 1] = "second"
          end)
        end)
      end)
      assert.is_true(run_uv(30))
      assert.are.same({ "first", "second" }, order)
    end)

  it("attaching twice returns the same attachment, with one poll handle", function()
    local a = luv.attach(uv)
    assert.are.equal(a, luv.attach())   -- the default is require("luv"): the same module
    assert.is_true(rawequal(a, luv.attach(uv)))
    assert.are.equal(a, luv.attached())
    local polls = 0
    uv.walk(function(h) if h:get_type() == "poll" and not h:is_closing() then polls = polls + 1 end end)
    assert.are.equal(1, polls)
    assert.has_error(function() luv.attach({}) end,
      "alicloud.loop.luv: already attached to another luv; detach it first")
    local n = 0
    ecs:DescribeRegionsAsync({}, function() n = n + 1 end)
    assert.is_true(run_uv(30))
    assert.are.equal(1, n)
  end)

  it("detach stops delivery in the loop and lets it go; attaching again starts afresh",
    function()
      server:config{ delay = 0.1 }
      local att = luv.attach(uv)
      local p = ecs:DescribeRegionsAsync({})
      assert.is_true(att:detach())
      assert.is_false(att:detach())
      assert.is_false(luv.detach())
      assert.is_nil(luv.attached())
      assert.matches("detached", tostring(att))
      assert.is_true(run_uv(30))
      assert.is_false(uv.loop_alive()) -- the pending call no longer holds the loop
      local fd = alicloud.runtime():pollfd()
      assert.is_true(env.readable(fd, 10)) -- the result arrives...
      local t = uv.new_timer()
      t:start(50, 0, function() t:close() end)
      assert.is_true(run_uv(30)) -- ...and a running loop leaves it alone
      assert.are.equal("pending", p:status())
      local again = luv.attach(uv)
      assert.are_not.equal(att, again)
      local t2 = uv.new_timer()
      t2:start(1, 0, function() t2:close() end) -- idle runtime; run the loop once anyway
      assert.is_true(run_uv(30))
      assert.are.equal("fulfilled", p:status())
    end)

  it("tolerates spurious readiness: a wake-up with nothing to deliver changes nothing",
    function()
      server:config{ delay = 0.3 }
      local reported = env.capture_errors(finally)
      local att = luv.attach(uv)
      local fd = alicloud.runtime():pollfd()
      local t = uv.new_timer()
      t:start(10, 0, function() runtime.core():wake() end)
      local t2 = uv.new_timer()
      t2:start(100, 0, function() t2:close() end) -- keeps the idle loop running past the wake
      assert.is_true(run_uv(30))
      t:close()
      assert.is_false(env.readable(fd)) -- the adapter came, delivered nothing, drained the pipe
      assert.are.equal(att, luv.attached())
      -- and with a coroutine awaiting: woken for nothing, it is still resumed once, with its result
      local resumed = 0
      local p = alicloud.async(function()
        local r = ecs:DescribeRegionsAsync({}):await()
        resumed = resumed + 1
        return r
      end)
      for _ = 1, 3 do runtime.core():wake() end
      assert.is_true(run_uv(30))
      assert.are.equal(1, resumed)
      assert.are.equal(12, #p:wait().Regions.Region)
      assert.are.same({}, reported)
    end)

  it("errors inside awaited coroutines and callbacks reach their place; the loop goes on",
    function()
      local reported = env.capture_errors(finally)
      luv.attach(uv)
      local rejected = alicloud.async(function()
        ecs:DescribeRegionsAsync({}):await()
        error({ code = "My.Error", message = "in luv" })
      end)
      local co = coroutine.create(function()
        ecs:DescribeRegionsAsync({}):await()
        error("plain coroutine boom")
      end)
      assert.is_true(coroutine.resume(co))
      ecs:DescribeRegionsAsync({}, function() error("callback boom") end)
      local fine = 0
      for _ = 1, 5 do
        ecs:DescribeRegionsAsync({}, function(res) if res then fine = fine + 1 end end)
      end
      -- luv ends the process on an error escaping a callback: still being here is the point
      assert.is_true(run_uv(30))
      assert.are.equal("My.Error", select(2, rejected:wait()).code)
      local text = ""
      for _, e in ipairs(reported) do text = text .. tostring(e) .. "\n" end
      assert.are.equal(2, #reported)
      assert.matches("callback boom", text)
      assert.matches("plain coroutine boom", text)
      assert.are.equal(5, fine)
    end)

  it("a delivery that fails (as on a closed runtime) detaches instead of ending the process",
    function()
      local reported = env.capture_errors(finally)
      local att = luv.attach(uv)
      local real = runtime.dispatch
      finally(function() runtime.dispatch = real end)
      runtime.dispatch = function() error("simulated: the runtime is closed") end
      local p = ecs:DescribeRegionsAsync({})
      assert.is_true(run_uv(30)) -- neither spinning on the readable fd nor exiting
      runtime.dispatch = real
      assert.is_nil(luv.attached())
      assert.is_false(att:detach())
      assert.are.equal(1, #reported)
      assert.matches("delivery failed, detaching.*simulated: the runtime is closed",
        tostring(reported[1]))
      assert.are.equal("pending", p:status()) -- after_each's alicloud.run delivers it
    end)

  describe("a closed runtime", function()
    it("attach raises a clear error", function()
      local out = env.run_child([[
        local alicloud = require("alicloud")
        require("alicloud.runtime").core():close()
        local ok, err = pcall(alicloud.loop.luv.attach, require("luv"))
        io.write(tostring(ok), " ", tostring(err), "\n")
      ]])
      assert.matches("^false .*alicloud runtime is closed", out)
    end)

    it("lua_close inside uv.run with calls in flight exits promptly, running no callback",
      function()
        server:config{ delay = 30 }
        local t0 = env.now()
        local out, ok, how, code = env.run_child(string.format([[
          local uv = require("luv")
          local alicloud = require("alicloud")
          local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = %q,
            scheme = "http", credential = alicloud.credentials.access_key(%q, %q) })
          ecs:enable_async(3, 100)
          alicloud.loop.luv.attach(uv)
          for _ = 1, 10 do ecs:DescribeRegionsAsync({}, function() print("callback ran") end) end
          local t = uv.new_timer()
          t:start(100, 0, function()
            io.write("closing\n")
            -- lua_close from inside the loop; plain 5.1's os.exit exits without closing, so
            -- there the loop stops and the interpreter closes it as the script ends
            if _VERSION == "Lua 5.1" and not jit then uv.stop() else os.exit(0, true) end
          end)
          uv.run()
        ]], server.endpoint, env.fake.ACCESS_KEY_ID, env.fake.ACCESS_KEY_SECRET))
        assert.are.equal("closing\n", out)
        assert.is_true(ok, string.format("child exited with %s %s", tostring(how), tostring(code)))
        assert.is_true(env.now() - t0 < 20) -- transfers were aborted, not awaited
      end)
  end)
end)
