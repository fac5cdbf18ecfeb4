-- alicloud.loop.copas: delivery inside Copas; await in a Copas coroutine suspends only it.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local runtime = require("alicloud.runtime")
local socket = require("socket")

-- Debian packages lua-copas (pure Lua) for Lua 5.1 and 5.2 only; on 5.3 and 5.4 the same
-- file runs from the 5.1 tree (its only dependencies, LuaSocket and coxpcall, are there).
local function on_path(name)
  for template in package.path:gmatch("[^;]+") do
    local f = io.open((template:gsub("%?", name)), "r")
    if f then
      f:close()
      return true
    end
  end
  return false
end
if not on_path("copas") then
  package.path = package.path .. ";/usr/share/lua/5.1/?.lua"
end
-- Copas 1.x refuses to load after socket.http (it wraps LuaSocket's protect for coroutines);
-- the fake cloud's control client loaded it, and runs outside coroutines, where that is moot.
local http = package.loaded["socket.http"]
package.loaded["socket.http"] = nil
local copas = require("copas")
package.loaded["socket.http"] = http
local copas_loop = alicloud.loop.copas

describe("loop.copas", function()
  local server, ecs

  -- Copas steps until done() (Copas 1.x's loop never returns); false when `limit` passed.
  local function step_until(done, limit)
    local deadline = socket.gettime() + (limit or 30)
    while not done() do
      if socket.gettime() > deadline then return false end
      copas.step(0.05)
    end
    return true
  end

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(16, 1000)
  end)
  teardown(function()
    if ecs then ecs:shutdown() end
    env.stop()
  end)
  before_each(function() server:reset() end)
  after_each(function()
    copas_loop.detach()
    assert.is_nil(runtime.waiter())
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  it("delivers 100 awaiting Copas coroutines and 30 callbacks, each exactly once", function()
    server:config{ delay = 0.02 }
    copas_loop.attach(copas)
    local resumed, results, called, ended = {}, {}, 0, 0
    for i = 1, 100 do
      local n = i
      copas.addthread(function()
        local page = ecs:DescribeInstancesAsync({ PageNumber = n, PageSize = 1 }):await()
        local regions, err = ecs:DescribeRegionsAsync({}):await()
        assert(regions, err)
        resumed[n] = (resumed[n] or 0) + 1
        results[n] = page.PageNumber * 100 + #regions.Regions.Region
        ended = ended + 1
      end)
    end
    for _ = 1, 30 do
      ecs:DescribeRegionsAsync({}, function(res) if res then called = called + 1 end end)
    end
    assert.is_true(step_until(function() return ended == 100 and called == 30 end))
    for _ = 1, 5 do copas.step(0.01) end -- nothing more arrives, nothing runs twice
    assert.are.equal(30, called)
    for i = 1, 100 do
      assert.are.equal(1, resumed[i])
      assert.are.equal(i * 100 + 12, results[i])
    end
    assert.are.equal(0, alicloud.pending())
    assert.are.equal(130, server:stats().by_action.DescribeRegions)
    assert.are.equal(100, server:stats().by_action.DescribeInstances)
  end)

  it("suspends only the awaiting coroutine: other Copas sockets are served meanwhile",
    function()
      server:config{ delay = 0.5 }
      copas_loop.attach(copas)
      -- a Copas echo server on loopback and a client coroutine that talks to it
      local listener = assert(socket.bind("127.0.0.1", 0))
      local _, port = listener:getsockname()
      copas.addserver(listener, function(skt)
        local conn = copas.wrap(skt)
        while true do
          local line = conn:receive("*l")
          if not line then return end
          conn:send(line .. "\n")
        end
      end)
      local t0 = socket.gettime()
      local awaited_at, echoes, echoed_at
      copas.addthread(function()
        local res = ecs:DescribeRegionsAsync({}):await()
        if res then awaited_at = socket.gettime() - t0 end
      end)
      copas.addthread(function()
        local skt = socket.tcp()
        assert(copas.connect(skt, "127.0.0.1", port))
        local conn = copas.wrap(skt)
        echoes = 0
        for i = 1, 20 do
          conn:send("ping " .. i .. "\n")
          if conn:receive("*l") == "ping " .. i then echoes = echoes + 1 end
        end
        echoed_at = socket.gettime() - t0
        skt:close()
      end)
      assert.is_true(step_until(function() return awaited_at ~= nil and echoed_at ~= nil end))
      listener:close()
      assert.are.equal(20, echoes)
      assert.is_true(echoed_at < 0.4, "echoes took " .. echoed_at .. " s") -- during the 0.5 s call
      assert.is_true(awaited_at >= 0.45, "await returned after " .. awaited_at .. " s")
    end)

  it("await returns nil, err for a failed call; errors in callbacks go to on_error", function()
    local reported = env.capture_errors(finally)
    copas_loop.attach(copas)
    server:config{ actions = { DescribeRegions = { status = 403, code = "Forbidden.RAM" } } }
    local code, done
    copas.addthread(function()
      local res, err = ecs:DescribeRegionsAsync({}):await()
      code = res == nil and err.code
      done = true
    end)
    ecs:DescribeInstancesAsync({}, function() error("callback boom") end)
    local fine = false
    ecs:DescribeInstancesAsync({}, function(res) fine = res ~= nil end)
    assert.is_true(step_until(function() return done and fine and #reported > 0 end))
    for _ = 1, 5 do copas.step(0.01) end -- nothing more is reported
    assert.are.equal("Forbidden.RAM", code)
    assert.are.equal(1, #reported)
    assert.matches("callback boom", tostring(reported[1]))
  end)

  it("the delivery coroutine lives only while calls are pending", function()
    local att = copas_loop.attach(copas)
    assert.is_false(att.running) -- idle: attaching alone starts nothing
    -- Copas 1.x runs a new coroutine at once, up to its first wait: on a busy machine the
    -- result may already be there, and then the delivery coroutine has come and gone
    local p = ecs:DescribeRegionsAsync({})
    assert.is_true(att.running or p:status() == "fulfilled")
    assert.is_true(step_until(function() return p:status() ~= "pending" end))
    copas.step(0) -- the delivery coroutine sees the idle runtime and ends
    assert.is_false(att.running)
    assert.are.equal("fulfilled", p:status())
    local q = ecs:DescribeRegionsAsync({}) -- work again after idle: a new one starts
    assert.is_true(att.running or q:status() == "fulfilled")
    assert.is_true(step_until(function() return q:status() ~= "pending" end))
  end)

  it("attaching twice returns the same attachment; detach leaves awaiting coroutines to deliver "
    .. "for themselves", function()
    server:config{ delay = 0.2 }
    local att = copas_loop.attach(copas)
    assert.is_true(rawequal(att, copas_loop.attach()))
    assert.are.equal(att, copas_loop.attached())
    assert.has_error(function() copas_loop.attach({ addthread = print, receive = print }) end,
      "alicloud.loop.copas: already attached to another copas; detach it first")
    local got
    copas.addthread(function() got = ecs:DescribeRegionsAsync({}):await() end)
    copas.step(0)
    assert.is_true(att:detach())
    assert.is_false(copas_loop.detach())
    assert.matches("detached", tostring(att))
    assert.is_true(step_until(function() return got ~= nil end))
    assert.are.equal(12, #got.Regions.Region)
  end)

  it("alicloud.async inside Copas is delivered like any other coroutine", function()
    copas_loop.attach(copas)
    local p = alicloud.async(function()
      local a = ecs:DescribeRegionsAsync({}):await()
      local b = ecs:DescribeRegionsAsync({}):await()
      return #a.Regions.Region + #b.Regions.Region
    end)
    assert.is_true(step_until(function() return p:status() ~= "pending" end))
    assert.are.equal(24, (p:wait()))
  end)
end)
