-- Process and memory safety: fork() and the response size limit.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local posix = require("spec_fork")

describe("process safety", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function() assert.is_true(alicloud.run(30)) end)

  -- Runs fn in a forked child; returns the child's exit code (0 when fn returned true).
  local function in_child(fn)
    local pid = posix.fork()
    if pid == 0 then
      local ok, res = pcall(fn)
      if not ok then io.stderr:write("child failed: ", tostring(res), "\n") end
      posix._exit(ok and res and 0 or 1)
    end
    return posix.waitpid(pid)
  end

  it("a forked child gets a fresh pool; the parent's pool is untouched", function()
    server:config{ delay = 0.05, actions = { DescribeInstances = { delay = 1 } } }
    local ecs = env.ecs()
    ecs:enable_async(2, 10)
    assert.is_not_nil((ecs:DescribeRegionsAsync({}):wait(10)))
    -- a call in flight in the parent while it forks: at the server, its engine waiting for
    -- the reply (forked while libcurl was still writing the request, the child would hold
    -- a buffer only the engine thread's stack pointed to, which valgrind calls lost)
    local inflight = ecs:DescribeInstancesAsync({})
    assert.is_truthy(env.eventually(function() return server:stats().current == 1 end))
    local code = in_child(function()
      local ps = {}
      for i = 1, 6 do ps[i] = ecs:DescribeRegionsAsync({}) end
      local res = alicloud.all(ps):wait(10)
      local sync = ecs:DescribeRegions({})
      -- the parent's call does not continue here: it settles, it never hangs
      local _, err = inflight:wait(10)
      if not (res ~= nil and #res == 6 and sync ~= nil and err ~= nil) then
        error(string.format("in the child: all %s (%s), sync %s, parent's call %s",
          tostring(res and #res), tostring(select(2, alicloud.all(ps):wait(0))), tostring(sync),
          tostring(err)))
      end
      return true
    end)
    assert.are.equal(0, code)
    assert.are.equal(25, inflight:wait(10).TotalCount)
    local after = alicloud.all({ ecs:DescribeRegionsAsync({}), ecs:DescribeRegionsAsync({}) })
      :wait(10)
    assert.are.equal(2, #after)
    -- 1 before the fork, 6 + 1 sync in the child, 2 after
    assert.are.equal(10, server:stats().by_action.DescribeRegions)
  end)

  it("a call waiting at the block policy's bound goes on in a child forked meanwhile",
    function()
      -- the parent's calls are waiting to retry when it forks, not in a transfer: a worker
      -- mid-transfer leaves memory only its stack points to, which the child cannot free
      server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
        times = 5, headers = { ["Retry-After"] = "3" } } } }
      local ecs = env.ecs({ retry = { max_attempts = 2 } })
      ecs:enable_async(2, 4) -- "block": at most 6 calls undelivered, then a call waits
      local pid
      local function calls()
        -- the pool at its bound: one quick call finished, not yet delivered, and 5 waiting
        -- 3 s to retry
        local quick = ecs:DescribeInstancesAsync({})
        assert(env.readable(alicloud.runtime():pollfd(), 10))
        for i = 1, 5 do -- one at a time: the queue never fills (a full one delivers)
          ecs:DescribeRegionsAsync({})
          assert(env.eventually(function()
            local st = server:stats()
            return st.by_action.DescribeRegions == i and st.current == 0
          end, 10))
        end
        -- rejected at once (a misspelt action): its callback runs at the next delivery, the
        -- one inside the 7th call's wait, right after the quick call's result, and forks
        -- there. The child wakes up in the middle of that delivery and that wait, with 5 of
        -- the parent's calls that will never be delivered in it.
        ecs:DescribeRegionAsync({}, function()
          pid = posix.fork()
          if pid == 0 then posix.alarm(20) end -- stuck, it dies rather than hang the suite
        end)
        local seventh = ecs:DescribeInstancesAsync({})
        return quick:status() == "fulfilled" and seventh:wait(20)
      end
      local ok, res = pcall(calls)
      if pid == 0 then
        if not ok then io.stderr:write("child failed: ", tostring(res), "\n") end
        posix._exit(ok and res and 0 or 1) -- the child's 7th call, on a pool of its own
      end
      assert.is_true(ok, res)
      assert.is_not_nil(res)
      assert.is_not_nil(pid)
      assert.are.equal(0, posix.waitpid(pid))
    end)

  it("fails a response over max_response_bytes cleanly", function()
    local res, err = env.ecs({ max_response_bytes = 200, retry = false }):DescribeRegions({})
    assert.is_nil(res)
    assert.are.equal("SDK.ResponseTooLarge", err.code)
    assert.matches("200", err.message)
    -- the next call on the same thread is unaffected
    assert.is_not_nil(env.ecs():DescribeRegions({}))
  end)
end)
