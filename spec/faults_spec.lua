-- Each fault mode of the fake cloud, over real sockets: the error the user sees, and whether
-- alicloud retried it, counted at the server. Read-only calls are DescribeRegions (served);
-- calls that change state are CreateInstance on a product the catalogue does not know, which
-- the fake does not serve: InvalidAction.NotFound after a fault proves a retry reached it.
-- Fault modes: spec/support/README.md, "Fault modes"; promises: docs/RELIABILITY.md.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local socket = require("socket")

describe("faults", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  local fast = { max_attempts = 3, base = 0.001, cap = 0.01 }

  local function count(action) return server:stats().by_action[action] or 0 end

  local function fault(mode) return { headers = { ["x-fake-fault"] = mode } } end

  -- A client whose calls start on a connection of their own (a new pool's): a reused one may
  -- still carry junk that the previous fault sent late, which alicloud rightly re-sends on a
  -- fresh connection once, and that re-send would count as an attempt here.
  local function fresh_client()
    local ecs = env.ecs({ retry = fast })
    ecs:enable_async(1, 10)
    return ecs
  end

  -- code: what the user sees; ro / create: retried for a read-only call / a create call;
  -- nil: the documents leave it open (see below).
  local MODES = {
    { mode = "drop", code = "SDK.ServerUnreachable", ro = true, create = false,
      what = "the connection closed before any response" },
    { mode = "reset", code = "SDK.ServerUnreachable", ro = true, create = false,
      what = "a TCP reset before any response" },
    { mode = "close_after_headers", code = "SDK.InvalidResponse", create = false,
      what = "headers with a Content-Length, then the connection closed" },
    { mode = "truncate", code = "SDK.InvalidResponse", create = false,
      what = "a body shorter than its Content-Length, then the connection closed" },
    { mode = "short_length", code = "SDK.InvalidResponse", create = false,
      what = "a Content-Length smaller than the body" },
    { mode = "invalid_json", code = "SDK.InvalidResponse", ro = false, create = false,
      what = "HTTP 200 with a body that is not JSON", status = 200 },
    { mode = "500", code = "InternalError", ro = true, create = false, status = 500,
      what = "HTTP 500" },
    { mode = "502", code = "BadGateway", ro = true, create = false, status = 502,
      what = "HTTP 502" },
    { mode = "503", code = "ServiceUnavailable", ro = true, create = true, status = 503,
      what = "HTTP 503 ServiceUnavailable" },
    { mode = "504", code = "GatewayTimeout", ro = true, create = false, status = 504,
      what = "HTTP 504" },
    { mode = "throttling", code = "Throttling", ro = true, create = true, status = 400,
      what = "Throttling without rate-limit headers" },
    { mode = "throttling_hint:0.01", code = "Throttling.User", ro = true, create = true,
      status = 400, what = "Throttling.User with an x-ratelimit-user-api hint" },
  }

  for _, m in ipairs(MODES) do
    describe(m.what .. " (" .. m.mode .. ")", function()
      it("is " .. m.code .. " on every attempt of a read-only call"
        .. (m.ro == nil and "" or (m.ro and ", retried" or ", not retried")), function()
        local res, err = fresh_client():DescribeRegionsAsync({}, fault(m.mode)):wait(30)
        assert.is_nil(res)
        assert.are.equal(m.code, err.code)
        if m.status then assert.are.equal(m.status, err.http_status) end
        -- the server saw every attempt (and maybe more: libcurl may resend a read-only
        -- request on a new connection when a reused one died without a reply)
        assert.is_true(count("DescribeRegions") >= err.attempts)
        if m.ro ~= nil then assert.are.equal(m.ro and 3 or 1, err.attempts) end
        assert.is_true(err.attempts >= 1)
        assert.is_true(server:stats().faults[m.mode:match("^[^:]+")] >= err.attempts)
      end)

      it("on a create call is " .. (m.create and "retried" or "never sent twice"), function()
        server:config{ actions = { CreateInstance = { fault = m.mode, times = 1 } } }
        local _, err = env.custom({ retry = fast }):CreateInstance({})
        if m.create then
          assert.are.equal("InvalidAction.NotFound", err.code)   -- the retry reached it
          assert.are.equal(2, err.attempts)
          assert.are.equal(2, count("CreateInstance"))
        else
          assert.are.equal(m.code, err.code)
          assert.are.equal(1, err.attempts)
          assert.are.equal(1, count("CreateInstance"))
        end
      end)

      if m.ro then
        it("once, then a read-only call's retry succeeds", function()
          server:config{ actions = { DescribeRegions = { fault = m.mode, times = 1 } } }
          local res, err = fresh_client():DescribeRegionsAsync({}):wait(30)
          assert.is_nil(err)
          assert.are.equal(12, #res.Regions.Region)
          assert.are.equal(2, alicloud.meta(res).attempts)
          assert.are.equal(2, count("DescribeRegions"))
        end)
      end

      it("does not leak into the next call on the same client", function()
        -- a few rounds: whether leftover bytes are read with the body is a matter of timing
        local ecs = env.ecs({ retry = false })
        for _ = 1, 10 do
          local _, err = ecs:DescribeRegions({}, fault(m.mode))
          assert.are.equal(m.code, err.code)
          local res, err2 = ecs:DescribeRegions({})
          assert.is_nil(err2)
          assert.are.equal(12, #res.Regions.Region)
        end
      end)

      it("settles every async call once, with the same error", function()
        local ecs = env.ecs({ retry = false })
        ecs:enable_async(4, 100)
        local settled, got, want, ps = {}, {}, {}, {}
        for i = 1, 12 do
          local opts = i % 2 == 0 and fault(m.mode) or nil
          want[i] = i % 2 == 0 and m.code or "ok"
          ps[i] = ecs:DescribeRegionsAsync({}, opts, function(res, err)
            settled[i] = (settled[i] or 0) + 1
            got[i] = res and "ok" or err.code
          end)
        end
        assert.is_not_nil(alicloud.all_settled(ps):wait(30))
        for i = 1, 12 do assert.are.equal(1, settled[i]) end
        assert.are.same(want, got)
        ecs:shutdown()
      end)
    end)
  end

  describe("messages", function()
    it("an invalid JSON body says HTTP 200 and shows an excerpt", function()
      local _, err = env.ecs({ retry = false }):DescribeRegions({}, fault("invalid_json"))
      assert.are.equal("client", err.kind)
      assert.matches("HTTP 200", err.message)
      assert.matches("RegionId", err.message, 1, true)
    end)

    it("a truncated body says the HTTP response was invalid", function()
      local _, err = env.ecs({ retry = false }):DescribeRegions({}, fault("truncate"))
      assert.matches("invalid HTTP response", err.message)
    end)

    it("a throttling error is marked retryable, an invalid response is not", function()
      local _, e1 = env.ecs({ retry = false }):DescribeRegions({}, fault("throttling"))
      assert.is_true(e1.retryable)
      local _, e2 = env.ecs({ retry = false }):DescribeRegions({}, fault("invalid_json"))
      assert.is_false(e2.retryable)
    end)
  end)

  describe("throttling hints", function()
    it("a TimeLeft hint is a floor for the wait before the next attempt", function()
      server:config{ actions = { DescribeRegions = { fault = "throttling_hint:0.3", times = 1 } } }
      local t0 = env.now()
      local res = env.ecs({ retry = { base = 0.001, cap = 1 } }):DescribeRegions({})
      assert.is_not_nil(res)
      assert.is_true(env.now() - t0 >= 0.3)
    end)

    it("without headers, throttling backs off on the slower schedule, within its bound",
      function()
        -- base 0.01 → throttled base 0.05; before attempt 2 the wait is at most 0.05 s
        server:config{ actions = { DescribeRegions = { fault = "throttling", times = 1 } } }
        local t0 = env.now()
        local res = env.ecs({ retry = { base = 0.01, cap = 1 } }):DescribeRegions({})
        assert.is_not_nil(res)
        assert.is_true(env.now() - t0 < 1)
        assert.are.equal(2, alicloud.meta(res).attempts)
      end)
  end)

  describe("per N-th request", function()
    it("every = k faults each k-th matching request, times = n stops after n faults", function()
      server:config{ actions = { DescribeRegions = { fault = "503", every = 3, times = 2 } } }
      local ecs = env.ecs({ retry = false })
      local codes = {}
      for i = 1, 9 do
        local _, err = ecs:DescribeRegions({})
        codes[i] = err and err.code or "ok"
      end
      assert.are.same({ "ok", "ok", "ServiceUnavailable", "ok", "ok", "ServiceUnavailable",
        "ok", "ok", "ok" }, codes)
      assert.are.equal(2, server:stats().faults["503"])
    end)

    it("an unknown fault mode is a loud 400 InvalidFault", function()
      local _, err = env.ecs({ retry = false }):DescribeRegions({}, fault("no-such-mode"))
      assert.are.equal("InvalidFault", err.code)
      assert.matches("unknown fault mode", err.message)
    end)
  end)

  describe("timeouts", function()
    it("connect: a connect that never completes is SDK.TimeoutError 'connect', retried", function()
      -- A listening socket with a backlog of 0 and its one queue slot taken, never accepted:
      -- Linux drops further SYNs, so libcurl's connect waits until connect_timeout.
      local hole = env.blackhole()
      local t0 = env.now()
      local _, err = env.custom({ endpoint = hole.endpoint, connect_timeout = 0.2,
        retry = fast }):CreateInstance({})
      local took = env.now() - t0
      hole.close()
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("connect", err.timeout)
      -- the server never saw it, so even a create call is retried
      assert.are.equal(3, err.attempts)
      assert.is_true(took >= 0.55 and took < 3, "took " .. took)
    end)

    it("read: no byte before the headers for read_timeout; retried only when read-only",
      function()
        local _, err = env.ecs({ read_timeout = 0.2, retry = fast })
          :DescribeRegions({}, fault("delay:1"))
        assert.are.equal("SDK.TimeoutError", err.code)
        assert.are.equal("read", err.timeout)
        assert.are.equal(3, err.attempts)
        assert.are.equal(3, count("DescribeRegions"))
        local _, err2 = env.custom({ read_timeout = 0.2, retry = fast })
          :CreateInstance({}, fault("delay:1"))
        assert.are.equal("read", err2.timeout)
        assert.are.equal(1, err2.attempts)
        assert.are.equal(1, count("CreateInstance"))
      end)

    it("read: a pause in the middle of the body longer than read_timeout", function()
      local t0 = env.now()
      local _, err = env.ecs({ read_timeout = 0.2, retry = false })
        :DescribeRegions({}, fault("body_delay:2"))
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("read", err.timeout)
      assert.is_true(env.now() - t0 < 1.5)
    end)

    it("read_timeout is silence, not duration: a slow answer with short pauses succeeds",
      function()
        -- 0.35 s before the headers and 0.35 s mid-body: 0.7 s in all, never 0.6 s silent
        local res, err = env.ecs({ read_timeout = 0.6, retry = false }):DescribeRegions({},
          { headers = { ["x-fake-delay"] = "0.35", ["x-fake-fault"] = "body_delay:0.35" } })
        assert.is_nil(err)
        assert.are.equal(12, #res.Regions.Region)
      end)

    it("read: a stalled request times out as 'read'; the server stays responsive", function()
      local ecs = env.ecs({ read_timeout = 0.3, retry = false })
      ecs:enable_async(2, 10)
      local stalled = ecs:DescribeRegionsAsync({}, fault("stall"))
      -- while one request stalls, others are served
      assert.is_truthy(env.eventually(function() return server:stats().current == 1 end))
      local res = ecs:DescribeInstancesAsync({}):wait(5)
      assert.are.equal(25, res.TotalCount)
      local _, err = stalled:wait(5)
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("read", err.timeout)
      -- the stall ends once the client gives up
      assert.is_truthy(env.eventually(function() return server:stats().current == 0 end))
      ecs:shutdown()
    end)

    it("total: a stall past the call's deadline is 'total', on time", function()
      local t0 = env.now()
      local _, err = env.ecs({ timeout = 0.4, read_timeout = 5, retry = fast })
        :DescribeRegions({}, fault("stall"))
      local took = env.now() - t0
      assert.are.equal("SDK.TimeoutError", err.code)
      assert.are.equal("total", err.timeout)
      assert.is_true(took >= 0.35 and took < 1.5, "took " .. took)
      assert.are.equal(1, err.attempts)
    end)

    it("a refused connection is SDK.ServerUnreachable, never a timeout", function()
      local _, err = env.custom({ endpoint = "127.0.0.1:1", retry = false }):CreateInstance({})
      assert.are.equal("SDK.ServerUnreachable", err.code)
      assert.is_nil(err.timeout)
    end)
  end)

  describe("reset isolates tests", function()
    it("requests still sleeping from before a reset count neither in current nor max",
      function()
        local ecs = env.ecs({ retry = false })
        ecs:enable_async(3, 10)
        local old = {}
        for i = 1, 3 do
          old[i] = ecs:DescribeRegionsAsync({}, { headers = { ["x-fake-delay"] = "5" } })
        end
        assert.is_truthy(env.eventually(function() return server:stats().current == 3 end))
        for i = 1, 3 do old[i]:cancel() end
        server:reset()
        local st = server:stats()
        assert.are.equal(0, st.current)
        assert.are.equal(0, st.max_concurrent)
        assert.are.equal(0, st.requests)
        local ps = {}
        for i = 1, 2 do
          ps[i] = ecs:DescribeRegionsAsync({}, { headers = { ["x-fake-delay"] = "0.2" } })
        end
        assert.is_not_nil(alicloud.all(ps):wait(10))
        st = server:stats()
        assert.are.equal(2, st.max_concurrent)
        assert.are.equal(2, st.requests)
        assert.are.equal(2, st.by_action.DescribeRegions)
        assert.are.equal(0, st.current)
        ecs:shutdown()
      end)

    it("a reset wakes a sleeping or stalled handler, which closes its connection", function()
      -- raw sockets: the fault applies to unsigned requests too (they get an error body)
      local function open(header)
        local c = assert(socket.tcp())
        c:settimeout(5)
        assert(c:connect("127.0.0.1", server.port))
        assert(c:send("GET /?Action=DescribeRegions HTTP/1.1\r\nHost: x\r\n" .. header
          .. "\r\n\r\n"))
        return c
      end
      local sleeping = open("x-fake-delay: 30")
      local stalled = open("x-fake-fault: stall")
      assert.is_truthy(env.eventually(function() return server:stats().current == 2 end))
      local t0 = env.now()
      server:reset()
      for _, c in ipairs({ sleeping, stalled }) do
        local data, why, partial = c:receive("*a")
        assert.are.equal("", data or partial)   -- nothing was sent
        assert.are.equal("closed", why)         -- and the connection closed
        c:close()
      end
      assert.is_true(env.now() - t0 < 2)
    end)
  end)
end)
