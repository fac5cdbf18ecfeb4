-- Lifetimes: a client collected with calls in flight, and a Lua state closed with calls in
-- flight (a child process of the suite's Lua), must stop and join the workers, abort the
-- transfers, free everything and run no Lua.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local proc = require("spec.support.proc")

local function child_command(script)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(script)
  f:close()
  local lua = proc.lua
  local prefix = ""
  if os.getenv("ALICLOUD_VALGRIND_CHILD") then
    prefix = "valgrind -q --error-exitcode=99 --leak-check=full "
      .. "--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "
      .. "--suppressions=spec/support/valgrind.supp "
  end
  return prefix .. lua .. " " .. path .. " 2>&1", path
end

-- A child script: `body` after the lines that load this checkout's alicloud and make `ecs`, a
-- client of the fake cloud `server`.
local function with_client(server, body)
  return string.format([[
    package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
    package.cpath = %q .. package.cpath
    local alicloud = require("alicloud")
    local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = %q, scheme = "http",
      credential = alicloud.credentials.access_key(%q, %q) })
]], package.cpath:match("^[^;]*;") or "", server.endpoint, env.fake.ACCESS_KEY_ID,
    env.fake.ACCESS_KEY_SECRET) .. body
end

describe("lifetime", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  it("a client collected with calls in flight aborts them and joins its workers", function()
    server:config{ delay = 5 }
    -- held until the server sees the calls (a collection while waiting, on a slow machine or
    -- under valgrind, would otherwise take the client before its workers got there)
    local holder = {}
    do
      local ecs = env.ecs()
      ecs:enable_async(4, 100)
      for _ = 1, 20 do ecs:DescribeRegionsAsync({}) end
      holder.ecs = ecs
    end
    assert.is_truthy(env.eventually(function() return server:stats().current == 4 end))
    assert.is_true(holder.ecs:async_enabled())
    holder.ecs = nil
    local t0 = env.now()
    collectgarbage()
    collectgarbage()
    -- the collector joined the workers: their transfers were aborted, not waited for
    assert.is_true(env.now() - t0 < 3)
    assert.is_true(alicloud.run(10))
    assert.are.equal(0, alicloud.pending())
    assert.are.equal(4, server:stats().by_action.DescribeRegions)
  end)

  it("a call someone still observes keeps its client alive until it settles", function()
    server:config{ delay = 0.2 }
    local got
    do
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      ecs:DescribeRegionsAsync({}, function(res) got = res end)
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(alicloud.run(10))
    assert.are.equal(12, #got.Regions.Region)
  end)

  it("lua_close with calls queued and in flight exits cleanly and promptly", function()
    server:config{ delay = 30 }
    local cmd, path = child_command(with_client(server, [[
      ecs:enable_async(3, 100)
      for _ = 1, 30 do ecs:DescribeRegionsAsync({}, function() print("callback ran") end) end
      local t0 = os.time()
      while alicloud.pending() > 0 and os.time() - t0 < 1 do alicloud.dispatch() end
      io.write("closing\n")
      -- the script ends: the interpreter's lua_close runs the finalizers, which must stop and
      -- join the workers (os.exit(0, true) would too, but not on 5.1)
    ]]))
    local t0 = env.now()
    local out, ok, how, code = proc.read(cmd)
    os.remove(path)
    assert.are.equal("closing\n", out)
    assert.is_true(ok, string.format("child exited with %s %s", tostring(how), tostring(code)))
    -- far sooner than the server would answer: transfers were aborted, not awaited
    assert.is_true(env.now() - t0 < 20)
  end)

  it("os.exit without closing the state, calls in flight, stops the workers before exit's " ..
    "clean-ups", function()
    -- exit() runs OpenSSL's and libcurl's clean-ups while the state (and its pools) stay
    -- open: unless the core stops the threads first, threads signing and sending calls crash
    -- in freed state. The race is timing-dependent, so several children try it.
    local cmd, path = child_command(with_client(server, [[
      ecs:enable_async(8, 5000)
      for _ = 1, 4000 do ecs:DescribeRegionsAsync({}, function() end) end
      local t0 = os.clock()
      while os.clock() - t0 < 0.02 do alicloud.dispatch() end
      io.write("exiting\n")
      io.stdout:flush()
      os.exit(0)
    ]]))
    local t0 = env.now()
    for run = 1, 6 do
      local out, ok, how, code = proc.read(cmd)
      assert.are.equal("exiting\n", out, "run " .. run)
      assert.is_true(ok, string.format("run %d: child exited with %s %s", run, tostring(how),
        tostring(code)))
    end
    os.remove(path)
    assert.is_true(env.now() - t0 < 30)
  end)
end)
