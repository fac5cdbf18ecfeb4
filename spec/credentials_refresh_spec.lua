-- Refreshing temporary credentials: once, before they expire, under 100 concurrent async
-- calls; failed refreshes with unexpired and with expired credentials; and secrets that never
-- show in errors, tostring, logs or a dump of the objects. Refreshes are counted at the fake
-- cloud. Most specs move a virtual clock (the `clock` option) instead of sleeping: the fake
-- still accepts the credentials, and "stale" and "expired" are decided on our side.
local env = require("spec.support.env")
local http = require("alicloud.plain_http")
local alicloud = env.alicloud()
local credentials = alicloud.credentials
local fake = env.fake

local ROLE = "acs:ram::1234567890123456:role/spec-role"
local STS_FAILS = { actions = { AssumeRole = { status = 500, code = "InternalError", times = 1000 } } }
local STS_WORKS = { actions = { AssumeRole = require("cjson").null } }

describe("credential refresh", function()
  local server, real_request = nil, http.request
  local clock -- seconds added to real time, as our providers see it

  setup(function()
    server = env.server()
    http.request = function(t)
      assert(not tostring(t.url):find("100.100.100.200", 1, true),
        "a spec reached for the real metadata server")
      return real_request(t)
    end
  end)
  teardown(function()
    http.request = real_request
    env.stop()
  end)
  before_each(function()
    server:reset()
    clock = 0
  end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  local function now() return env.now() + clock end

  local function role(extra)
    local o = { access_key_id = fake.ACCESS_KEY_ID, access_key_secret = fake.ACCESS_KEY_SECRET,
      role_arn = ROLE, sts_endpoint = server.endpoint, sts_scheme = "http", env = {}, clock = now }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(credentials.ram_role_arn(o))
  end

  local function ecs_role(extra)
    local o = { metadata_endpoint = "http://" .. server.endpoint, role_name = "fake-ecs-role",
      env = {}, clock = now }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(credentials.ecs_ram_role(o))
  end

  local function async_client(cred)
    local ecs = env.ecs({ credential = cred })
    ecs:enable_async(8, 200)
    return ecs
  end

  -- n concurrent async calls; returns how many succeeded and the errors of the others.
  local function fan_out(ecs, n)
    local ps = {}
    for i = 1, n do ps[i] = ecs:DescribeRegionsAsync({}) end
    local settled = assert(alicloud.all_settled(ps):wait(60))
    local ok, errs = 0, {}
    for _, r in ipairs(settled) do
      if r.status == "fulfilled" then ok = ok + 1 else errs[#errs + 1] = r.reason end
    end
    return ok, errs
  end

  local function assume_roles() return server:stats().by_action.AssumeRole or 0 end

  describe("before expiry", function()
    it("serves fresh credentials without asking STS again", function()
      local p = role()
      local ecs = async_client(p)
      assert.are.equal(100, (fan_out(ecs, 100)))
      assert.are.equal(1, assume_roles())
      ecs:shutdown()
    end)

    it("refreshes stale credentials with exactly one AssumeRole under 100 async calls", function()
      local p = role()
      local ecs = async_client(p)
      local old = assert(p:get())
      clock = old.expiration - env.now() - 100 -- 100 s left: inside the 180 s window
      assert.are.equal(100, (fan_out(ecs, 100)))
      local st = server:stats()
      assert.are.equal(2, st.by_action.AssumeRole)
      local new = assert(p:get())
      assert.are.not_equal(old.access_key_id, new.access_key_id)
      assert.are.equal(100, st.sts.used[new.access_key_id]) -- every call got the new ones
      assert.is_nil(st.sts.used[old.access_key_id])
      ecs:shutdown()
    end)

    it("signs with the new credentials once they rotate under a client already calling", function()
      local p = role()
      local ecs = async_client(p)
      assert.are.equal(10, (fan_out(ecs, 10))) -- the client now holds a template for these
      local old = assert(p:get())
      clock = old.expiration - env.now() - 100
      assert.are.equal(10, (fan_out(ecs, 10)))
      local new = assert(p:get())
      assert.are.not_equal(old.access_key_id, new.access_key_id)
      local used = server:stats().sts.used
      assert.are.equal(10, used[old.access_key_id])
      assert.are.equal(10, used[new.access_key_id])
      ecs:shutdown()
    end)

    it("refreshes ECS role credentials with exactly one metadata request under 100 calls", function()
      local p = ecs_role()
      local ecs = async_client(p)
      local old = assert(p:get())
      clock = old.expiration - env.now() - 60
      assert.are.equal(100, (fan_out(ecs, 100)))
      local m = server:stats().metadata
      assert.are.equal(2, m.credential_requests)
      assert.are.equal(2, m.token_requests)
      assert.are.not_equal(old.access_key_id, p:get().access_key_id)
      ecs:shutdown()
    end)

    it("does so in real time with credentials that live 2 s, and the old ones then expire", function()
      server:config({ sts_duration = 2 })
      local p = role({ clock = env.now })
      local ecs = async_client(p)
      local old = assert(p:get())
      -- half the lifetime is the window, so a 2 s credential is not refreshed on every call
      assert.are.equal(20, (fan_out(ecs, 20)))
      assert.are.equal(1, assume_roles())
      local stale_at = old.expiration - (old.expiration - env.now()) / 2
      while env.now() < stale_at + 0.05 do require("socket").sleep(0.05) end
      assert.are.equal(100, (fan_out(ecs, 100)))
      assert.are.equal(2, assume_roles())
      -- the fake cloud refuses credentials past their Expiration
      local kept = credentials.sts(old.access_key_id, old.access_key_secret, old.security_token)
      while env.now() < old.expiration + 0.05 do require("socket").sleep(0.05) end
      local _, err = env.ecs({ credential = kept }):DescribeRegions({})
      assert.are.equal("InvalidSecurityToken.Expired", err.code)
      ecs:shutdown()
    end)

    it("takes a wider window as an option", function()
      local p = role({ refresh_window = 600 })
      local old = assert(p:get())
      clock = old.expiration - env.now() - 500
      assert.are_not.equal(old.access_key_id, assert(p:get()).access_key_id)
      assert.are.equal(2, assume_roles())
      local q = role() -- the default 180 s: 500 s left is still fresh
      local first = assert(q:get())
      assert.are.equal(first, assert(q:get()))
      assert.are.equal(3, assume_roles())
    end)
  end)

  describe("when a refresh fails", function()
    it("keeps serving unexpired credentials and retries after a backoff, not per call", function()
      local p = role()
      local ecs = async_client(p)
      local old = assert(p:get())
      server:config(STS_FAILS)
      clock = old.expiration - env.now() - 100
      assert.are.equal(100, (fan_out(ecs, 100))) -- served with the old credentials
      assert.are.equal(2, assume_roles())          -- one failed attempt, not 100
      assert.are.equal(100, server:stats().sts.used[old.access_key_id])
      clock = clock + 0.5
      assert.are.equal(10, (fan_out(ecs, 10)))
      assert.are.equal(2, assume_roles())          -- still backing off (1 s)
      clock = clock + 0.6
      assert(p:get())
      assert.are.equal(3, assume_roles())          -- tried again, failed again: now 2 s
      clock = clock + 1.5
      assert(p:get())
      assert.are.equal(3, assume_roles())
      server:config(STS_WORKS)
      clock = clock + 0.6
      local new = assert(p:get())
      assert.are.equal(4, assume_roles())
      assert.are_not.equal(old.access_key_id, new.access_key_id)
      ecs:shutdown()
    end)

    it("fails calls with SDK.CredentialsError naming the provider once they have expired", function()
      local p = role()
      local ecs = async_client(p)
      local old = assert(p:get())
      server:config(STS_FAILS)
      clock = old.expiration - env.now() + 1
      local ok, errs = fan_out(ecs, 100)
      assert.are.equal(0, ok)
      assert.are.equal(100, #errs)
      for _, err in ipairs(errs) do
        assert.are.equal("SDK.CredentialsError", err.code)
        assert.matches("^ram_role_arn/static_ak: the credentials expired at %S+ and could not be "
          .. "refreshed: AssumeRole failed: %[InternalError%]", err.message)
      end
      local _, err = ecs:DescribeRegions({})
      assert.are.equal("SDK.CredentialsError", err.code)
      assert.are.equal(2, assume_roles())            -- one attempt for all of them
      assert.is_nil(server:stats().by_action.DescribeRegions) -- nothing was sent unsigned
      ecs:shutdown()
    end)

    it("names the metadata service's failure for an ECS role", function()
      local p = ecs_role()
      local old = assert(p:get())
      server:config({ actions = { ["GET /latest/meta-data/ram/security-credentials/{role}"] =
        { status = 500, times = 1000 } } })
      clock = old.expiration - env.now() + 1
      local _, err = env.ecs({ credential = p }):DescribeRegions({})
      assert.are.equal("SDK.CredentialsError", err.code)
      assert.matches("^ecs_ram_role: the credentials expired at .*role fake%-ecs%-role: HTTP 500",
        err.message)
    end)

    it("makes one request for 100 calls when there never were credentials", function()
      server:config(STS_FAILS)
      local ecs = async_client(role())
      local ok, errs = fan_out(ecs, 100)
      assert.are.equal(0, ok)
      assert.are.equal("SDK.CredentialsError", errs[100].code)
      assert.matches("next attempt in", errs[100].message)
      assert.are.equal(1, assume_roles())
      ecs:shutdown()
    end)
  end)

  describe("secrets", function()
    -- Everything a program could print or inspect: tostring, error fields, log lines, and a
    -- walk over the tables (fields and metatables, as inspect or a debugger shows them).
    local function dump(v, out, seen)
      out, seen = out or {}, seen or {}
      out[#out + 1] = tostring(v)
      if type(v) ~= "table" or seen[v] then return out end
      seen[v] = true
      for k, x in next, v do dump(k, out, seen); dump(x, out, seen) end
      local mt = getmetatable(v)
      if type(mt) == "table" then dump(mt, out, seen) end
      return out
    end

    it("never appear in errors, tostring, log lines or a dump of the objects", function()
      local logs = {}
      local function log(line) logs[#logs + 1] = line end
      local static = credentials.access_key(fake.ACCESS_KEY_ID, fake.ACCESS_KEY_SECRET)
      local good = role({ log = log })
      local snap = assert(good:get())
      -- a wrong secret with a token: the server's string-to-sign would carry the token
      local bad_source = credentials.sts(fake.ACCESS_KEY_ID, "wrong-secret-value", "source-token-value")
      local bad = role({ credential = bad_source, role_arn = "r", role_session_name = "s", log = log })
      local _, bad_err = bad:get()
      server:config(STS_FAILS)
      clock = snap.expiration - env.now() + 1
      local _, expired_err = good:get()
      local _, call_err = env.ecs({ credential = good }):DescribeRegions({})
      local chain = credentials.default({ env = { HOME = "/nonexistent",
        ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" } })
      local _, chain_err = chain:get()

      local secrets = { fake.ACCESS_KEY_SECRET, "wrong-secret-value", snap.access_key_secret,
        snap.security_token, "source-token-value" }
      local out = dump({ static, static:get(), good, snap, bad, bad_source, bad_err, expired_err,
        call_err, chain, chain_err, logs })
      assert.is_true(#logs >= 3)
      assert.matches("SignatureDoesNotMatch", bad_err.message)
      local text = table.concat(out, "\n")
      for _, secret in ipairs(secrets) do
        assert.is_nil(text:find(secret, 1, true), "leaked: " .. secret:sub(1, 3) .. "...")
      end
      -- and what is shown still helps
      assert.matches("ram_role_arn/static_ak, access key id STS%.%*%*%*%*", tostring(good))
      assert.matches("new credentials, access key id STS%.%*%*%*%*", logs[1])
    end)
  end)
end)
