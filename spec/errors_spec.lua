-- Structured errors: their codes' one home (errors.CODES, the C core's part from
-- core.error_codes), `retryable` as the C core's retry verdict on the call's outcome
-- (observed against the fake cloud), and concatenation.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local core = require("alicloud.core")
local errors = require("alicloud.errors")

describe("errors", function()
  local server
  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  describe("concatenation", function()
    local err = errors.client(errors.CODES.TIMEOUT, "no answer", { attempts = 2 })

    it("works on either side, as tostring(err)", function()
      assert.are.equal("failed: " .. tostring(err), "failed: " .. err)
      assert.are.equal(tostring(err) .. "!", err .. "!")
      assert.are.equal("a " .. tostring(err) .. " b", "a " .. err .. " b")
      assert.are.equal("1" .. tostring(err), 1 .. err)
      assert.are.equal(tostring(err) .. tostring(err), err .. err)
      assert.matches("^failed: %[SDK%.TimeoutError%] no answer", "failed: " .. err)
    end)

    it("works on errors the calls return", function()
      local _, e = env.ecs({ credential = env.credential("zq-not-the-secret"), retry = false })
        :DescribeRegions({})
      assert.matches("^call: %[SignatureDoesNotMatch%]", "call: " .. e)
      assert.is_nil(("call: " .. e):find("zq-not-the-secret", 1, true))
    end)
  end)

  describe("codes", function()
    it("has the C core's codes from the core itself", function()
      local n = 0
      for name, code in pairs(core.error_codes) do
        n = n + 1
        assert.are.equal(code, errors.CODES[name])
      end
      assert.are.equal(8, n)
      assert.are.equal("SDK.TimeoutError", errors.CODES.TIMEOUT)
      assert.are.equal("SDK.ServerUnreachable", errors.CODES.SERVER_UNREACHABLE)
    end)

    it("raises on a name that is not a code", function()
      assert.has_error(function() return errors.CODES.TIMEOUT_ERROR end,
        "alicloud.errors: no error code named TIMEOUT_ERROR")
    end)

    it("is what a transport failure reports", function()
      local _, err = env.custom({ endpoint = "127.0.0.1:1", retry = false }):CreateInstance({})
      assert.are.equal(errors.CODES.SERVER_UNREACHABLE, err.code)
    end)

    it("knows every SDK.* literal still written in lua/", function()
      local known = {}
      for _, code in pairs(errors.CODES) do known[code] = true end
      local p = assert(io.popen("find lua -name '*.lua'"))
      local seen = 0
      for path in p:lines() do
        local f = assert(io.open(path))
        local text = f:read("*a")
        f:close()
        for code in text:gmatch('"(SDK%.[%w%.]+)"') do
          seen = seen + 1
          assert.is_true(known[code] or false, path .. " writes an unknown code " .. code)
        end
      end
      p:close()
      assert.is_true(seen > 0) -- errors.lua's own list at least
    end)
  end)

  describe("retryable is the core's retry verdict", function()
    local function fail_with(action, status, code)
      server:config{ actions = { [action] = { status = status, code = code, times = 1 } } }
    end

    it("throttling: retryable even when retries are off", function()
      fail_with("DescribeRegions", 400, "Throttling.User")
      local _, err = env.ecs({ retry = false }):DescribeRegions({})
      assert.are.equal("Throttling.User", err.code)
      assert.is_true(err.retryable)
    end)

    it("another 5xx: retryable for a read-only action, not for one that changes state",
      function()
        fail_with("DescribeRegions", 500, "InternalError")
        local _, e1 = env.ecs({ retry = false }):DescribeRegions({})
        assert.are.equal("InternalError", e1.code)
        assert.is_true(e1.retryable)
        fail_with("CreateInstance", 500, "InternalError")
        local _, e2 = env.custom({ retry = false }):CreateInstance({})
        assert.are.equal("InternalError", e2.code)
        assert.is_false(e2.retryable)
      end)

    it("a read timeout: retryable only for a read-only action", function()
      local delay = { headers = { ["x-fake-fault"] = "delay:1" } }
      local _, e1 = env.ecs({ read_timeout = 0.2, retry = false }):DescribeRegions({}, delay)
      assert.are.equal("read", e1.timeout)
      assert.is_true(e1.retryable)
      local _, e2 = env.custom({ read_timeout = 0.2, retry = false }):CreateInstance({}, delay)
      assert.are.equal("read", e2.timeout)
      assert.is_false(e2.retryable)
    end)

    it("the call's deadline: not retryable", function()
      local stall = { headers = { ["x-fake-fault"] = "stall" } }
      local _, err = env.ecs({ timeout = 0.3, read_timeout = 5, retry = false })
        :DescribeRegions({}, stall)
      assert.are.equal("total", err.timeout)
      assert.is_false(err.retryable)
    end)

    it("errors made in Lua are not retryable", function()
      local _, err = env.ecs():NoSuchAction({})
      assert.are.equal(errors.CODES.INVALID_ACTION, err.code)
      assert.is_false(err.retryable)
    end)
  end)

  describe("retry defaults", function()
    it("come from the core: a client without a retry policy makes core.defaults attempts",
      function()
        assert.are.equal(3, core.defaults.max_attempts) -- DESIGN.md: "default 3"
        server:config{ actions = { DescribeRegions = { status = 503, code = "ServiceUnavailable",
          times = 10 } } }
        local _, err = env.ecs():DescribeRegions({})
        assert.are.equal(core.defaults.max_attempts, err.attempts)
        assert.are.equal(core.defaults.max_attempts, server:stats().by_action.DescribeRegions)
        assert.is_true(alicloud.run(5))
      end)
  end)
end)
