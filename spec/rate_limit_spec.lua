-- The client-side rate limit: a token bucket per client, taken at every attempt where the call
-- leaves for the network. An async fan-out waits in the pool (holding no worker, never blocking
-- the Lua thread); sync calls wait their turn. Checked against a fake cloud that throttles.
local env = require("spec.support.env")
local alicloud = env.alicloud()

describe("rate limit", function()
  local server

  setup(function()
    server = env.server()
    -- the fake loads its parameter models on the first modeled call (seconds): not in a timing
    assert(env.ecs():DescribeInstances({ PageSize = 1 }))
  end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function()
    alicloud.debug(false)
    assert.is_true(alicloud.run(30))
  end)

  local function fan_out(ecs, n)
    local t0 = env.now()
    local ps = {}
    for i = 1, n do ps[i] = ecs:DescribeInstancesAsync({ PageNumber = i % 3 + 1 }) end
    local submitted = env.now() - t0
    local results = alicloud.all_settled(ps):wait(60)
    return results, submitted, env.now() - t0
  end

  local function failures(results)
    local codes = {}
    for _, r in ipairs(results) do
      if r.status == "rejected" then codes[r.reason.code] = (codes[r.reason.code] or 0) + 1 end
    end
    return codes
  end

  it("keeps a fan-out at the limit: no Throttling answer, about N/rate seconds", function()
    -- the fake's bucket holds 10: room for its own scheduling jitter on a loaded machine, as a
    -- real gateway's per-second window has; what leaves the client is checked below
    server:config{ throttle = { rate = 30, burst = 10 } }
    local sent = {}
    alicloud.debug(function(_, attempt) sent[#sent + 1] = attempt.time end)
    local ecs = env.ecs({ rate_limit = 30, retry = false })
    ecs:enable_async(16, 1000)
    local results, submitted, took = fan_out(ecs, 60)
    alicloud.debug(false)
    assert.are.same({}, failures(results))
    -- when each attempt left: never more than the bucket allows (k + 1 calls span k / rate)
    table.sort(sent)
    assert.are.equal(60, #sent)
    for i = 1, #sent - 10 do
      assert.is_true(sent[i + 10] - sent[i] >= 10 / 30 - 0.01, "calls " .. i .. " to " .. i + 10
        .. " left within " .. (sent[i + 10] - sent[i]) .. " s")
    end
    assert.is_nil(server:stats().errors["Throttling.User"])
    assert.are.equal(60, server:stats().by_action.DescribeInstances)
    assert.is_true(submitted < 0.5, "submitting took " .. submitted .. " s")
    -- 60 tokens at 30/s with a burst of one: the last leaves 59/30 s after the first
    assert.is_true(took >= 59 / 30 - 0.05, "took " .. took .. " s")
    assert.is_true(took < 59 / 30 + 1.5, "took " .. took .. " s")
    ecs:shutdown()
  end)

  it("without it, the same fan-out is throttled by the fake cloud", function()
    server:config{ throttle = { rate = 30, burst = 10 } }
    local ecs = env.ecs({ retry = false })
    ecs:enable_async(16, 1000)
    local results = fan_out(ecs, 60)
    local codes = failures(results)
    assert.is_true((codes["Throttling.User"] or 0) > 10)
    assert.are.equal(codes["Throttling.User"], server:stats().errors["Throttling.User"])
    ecs:shutdown()
  end)

  it("never blocks the Lua thread while calls wait for tokens", function()
    local ecs = env.ecs({ rate_limit = 10 })
    ecs:enable_async(4, 100)
    local done = 0
    for _ = 1, 10 do ecs:DescribeRegionsAsync({}, function() done = done + 1 end) end
    local t0 = env.now()
    local longest, turns = 0, 0
    while done < 10 and env.now() - t0 < 10 do
      local s = env.now()
      alicloud.dispatch()
      longest = math.max(longest, env.now() - s)
      turns = turns + 1
      require("socket").sleep(0.01)
    end
    assert.are.equal(10, done)
    assert.is_true(env.now() - t0 >= 0.85)
    assert.is_true(turns > 40) -- the loop kept turning while the calls waited
    assert.is_true(longest < 0.1, "a dispatch took " .. longest .. " s")
    ecs:shutdown()
  end)

  it("holds no worker while a call waits for its token", function()
    -- one worker; the limited call waits 2 s for its token while an unlimited one runs
    local ecs = env.ecs({ rate_limit = 0.5 })
    ecs:enable_async(1, 10)
    assert(ecs:DescribeRegions({})) -- takes the one token there is
    local t0 = env.now()
    local waiting = ecs:DescribeRegionsAsync({})
    local free = ecs:DescribeRegionsAsync({}, { rate_limit = false })
    assert(free:wait(10))
    assert.is_true(env.now() - t0 < 1, "the free call waited " .. (env.now() - t0) .. " s")
    assert.are.equal("pending", waiting:status())
    assert(waiting:wait(10))
    assert.is_true(env.now() - t0 >= 1.9)
    ecs:shutdown()
  end)

  it("makes sync calls wait their turn, sharing the bucket with async ones", function()
    local ecs = env.ecs({ rate_limit = 10 })
    ecs:enable_async(2, 10)
    local t0 = env.now()
    local ps = {}
    for i = 1, 3 do ps[i] = ecs:DescribeRegionsAsync({}) end
    for _ = 1, 3 do assert(ecs:DescribeRegions({})) end
    assert(alicloud.all(ps):wait(10))
    -- six tokens at 10/s: the last is due 0.5 s after the first
    assert.is_true(env.now() - t0 >= 0.45, "took " .. (env.now() - t0) .. " s")
    ecs:shutdown()
  end)

  it("lets a burst through at once, then the rate", function()
    local ecs = env.ecs({ rate_limit = { rate = 4, burst = 4 } })
    local t0 = env.now()
    for _ = 1, 4 do assert(ecs:DescribeRegions({})) end
    assert.is_true(env.now() - t0 < 0.2, "the burst took " .. (env.now() - t0) .. " s")
    assert(ecs:DescribeRegions({}))
    assert.is_true(env.now() - t0 >= 0.2)
  end)

  it("applies to every attempt, retries included", function()
    server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
      times = 2 } } }
    local ecs = env.ecs({ rate_limit = 5, retry = { base = 0.001, cap = 0.002 } })
    local t0 = env.now()
    local res = assert(ecs:DescribeRegions({}))
    assert.are.equal(3, alicloud.meta(res).attempts)
    assert.is_true(env.now() - t0 >= 0.38, "three attempts took " .. (env.now() - t0) .. " s")
  end)

  it("cancels a call waiting for its token at once", function()
    local ecs = env.ecs({ rate_limit = 0.2 })
    ecs:enable_async(1, 10)
    local first = ecs:DescribeRegionsAsync({})
    local second = ecs:DescribeRegionsAsync({})
    assert(first:wait(10))
    assert.is_true(second:cancel())
    local _, err = second:wait(1)
    assert.are.equal("SDK.Cancelled", err.code)
    ecs:shutdown("cancel")
    assert.are.equal(1, server:stats().requests)
  end)

  -- A call's deadline counts while it waits for its token: it fails then, as any call whose
  -- deadline passes, and is never sent late.
  local function assert_deadline_error(err, took)
    assert.are.equal("SDK.TimeoutError", err.code)
    assert.are.equal("total", err.timeout)
    assert.is_false(err.retryable)
    assert.is_true(took >= 0.28, "failed after " .. took .. " s, before its deadline")
    assert.is_true(took < 0.6, "failed after " .. took .. " s, not at its 0.3 s deadline")
  end

  -- A client allowed `rate` calls a second (burst 1) whose one token a first call just took.
  local function drained(rate)
    local ecs = env.ecs({ rate_limit = { rate = rate, burst = 1 } })
    ecs:enable_async(2, 10)
    assert(ecs:DescribeRegions({}))
    return ecs, env.now()
  end

  local function assert_never_sent_late()
    require("socket").sleep(1.0) -- past when its token would have come (1 s after the first)
    assert.is_true(alicloud.run(5))
    assert.are.equal(1, server:stats().requests)
  end

  it("fails an async call at its deadline while it waits for its token", function()
    local ecs, t0 = drained(1)
    local _, err = ecs:DescribeRegionsAsync({}, { timeout = 0.3 }):wait(5)
    assert_deadline_error(err, env.now() - t0)
    assert.matches("rate limit", err.message)
    assert_never_sent_late()
    ecs:shutdown()
  end)

  it("fails a sync call at its deadline while it waits for its token", function()
    local ecs, t0 = drained(1)
    local res, err = ecs:DescribeRegions({}, { timeout = 0.3 })
    assert.is_nil(res)
    assert_deadline_error(err, env.now() - t0)
    assert_never_sent_late()
    ecs:shutdown()
  end)

  it("still sends a waiting call whose deadline comes after its token", function()
    local ecs, t0 = drained(4)
    assert(ecs:DescribeRegionsAsync({}, { timeout = 1 }):wait(5))
    assert.is_true(env.now() - t0 >= 0.2, "sent after " .. (env.now() - t0) .. " s")
    assert(ecs:DescribeRegions({}, { timeout = 1 }))
    assert.are.equal(3, server:stats().requests)
    ecs:shutdown()
  end)

  it("gives a timed-out or cancelled waiter's place in line to the calls after it", function()
    local ecs, t0 = drained(1)
    -- four places in line (1 to 4 s out) that time out, one cancelled (5 s out)
    local ps = {}
    for i = 1, 4 do ps[i] = ecs:DescribeRegionsAsync({}, { timeout = 0.3 }) end
    local cancelled = ecs:DescribeRegionsAsync({})
    local settled = assert(alicloud.all_settled(ps):wait(5))
    assert.are.same({ ["SDK.TimeoutError"] = 4 }, failures(settled))
    assert.is_true(cancelled:cancel())
    -- the next token is still due 1 s after the first call, not after the places given up
    assert(ecs:DescribeRegionsAsync({}):wait(10))
    local took = env.now() - t0
    assert.is_true(took >= 0.9, "sent after " .. took .. " s, before its token")
    assert.is_true(took < 1.6, "sent after " .. took .. " s, behind the places given up")
    assert.are.equal(2, server:stats().requests)
    ecs:shutdown()
  end)

  it("refuses a bad rate", function()
    for _, bad in ipairs({ 0, -1, "10", { burst = 2 }, { rate = 1, burst = 0.5 }, math.huge }) do
      assert.has_error(function() env.ecs({ rate_limit = bad }) end)
    end
    assert.has_error(function() alicloud.config():with_rate_limit(0) end)
    assert.has_no.errors(function() alicloud.config():with_rate_limit({ rate = 2.5, burst = 3 }) end)
  end)
end)
