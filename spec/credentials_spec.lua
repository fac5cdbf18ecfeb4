-- Credential providers against the fake cloud's STS and instance metadata service, profiles
-- and the default chain in a temporary HOME. Environment variables are injected with the
-- `env` option (Lua cannot set them), and no spec may reach the real metadata address.
local env = require("spec.support.env")
local http = require("alicloud.plain_http")
local alicloud = env.alicloud()
local credentials = alicloud.credentials
local fake = env.fake

local ROLE = "acs:ram::1234567890123456:role/spec-role"
local OIDC_PROVIDER = "acs:ram::1234567890123456:oidc-provider/spec"

describe("credentials", function()
  local server, metadata, dirs, real_request = nil, nil, {}, http.request

  setup(function()
    server = env.server()
    metadata = "http://" .. server.endpoint
    -- Every spec passes a loopback metadata_endpoint; this catches one that forgets.
    http.request = function(t)
      assert(not tostring(t.url):find("100.100.100.200", 1, true),
        "a spec reached for the real metadata server")
      return real_request(t)
    end
  end)
  teardown(function()
    http.request = real_request
    for _, d in ipairs(dirs) do os.execute("rm -rf '" .. d .. "'") end
    env.stop()
  end)
  before_each(function() server:reset() end)

  local function tmpdir()
    local d = os.tmpname()
    os.remove(d)
    assert(os.execute("mkdir -p '" .. d .. "'"))
    dirs[#dirs + 1] = d
    return d
  end

  local function write(path, text)
    assert(os.execute("mkdir -p '" .. path:match("^(.*)/[^/]*$") .. "'"))
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    return path
  end

  -- An injected environment: a fresh HOME, the metadata service off unless a spec turns it
  -- on, and nothing from the real environment.
  local function environment(vars)
    local e = { HOME = tmpdir(), ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" }
    for k, v in pairs(vars or {}) do e[k] = v or nil end
    return e
  end

  local function sts_opts(extra)
    local o = { access_key_id = fake.ACCESS_KEY_ID, access_key_secret = fake.ACCESS_KEY_SECRET,
      role_arn = ROLE, sts_endpoint = server.endpoint, sts_scheme = "http", env = {} }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  -- The credential works against the fake ECS API (which knows what STS issued).
  local function works(cred)
    local res, err = env.ecs({ credential = cred }):DescribeRegions({})
    assert.is_nil(err)
    return res
  end

  describe("static", function()
    it("answers snapshots whose secrets are not fields", function()
      local p = credentials.sts("LTAI5tFakeKeyId0001", "the-secret-value", "the-token-value")
      local snap = assert(p:get())
      assert.are.equal("LTAI5tFakeKeyId0001", snap.access_key_id)
      assert.are.equal("the-secret-value", snap.access_key_secret)
      assert.are.equal("the-token-value", snap.security_token)
      assert.are.equal("static_sts", snap.provider)
      for k in pairs(snap) do assert.is_not.equal("access_key_secret", k) end
      assert.has_error(function() snap.access_key_id = "x" end)
      assert.are.equal(snap, p:get()) -- the same snapshot every time
      assert.are.equal("bearer_token", credentials.bearer("bearer-value"):get().provider)
    end)

    it("raises on misuse", function()
      assert.has_error(function() credentials.access_key("id") end)
      assert.has_error(function() credentials.sts("id", "secret", 3) end)
      assert.has_error(function() credentials.ram_role_arn({ role_arn = ROLE }) end)
      assert.has_error(function() credentials.ram_role_arn(sts_opts({ duration = 60 })) end)
      assert.has_error(function() credentials.ecs_ram_role({ metadata_endpoint = "100.100.100.200" }) end)
      assert.has_error(function() credentials.oidc({ rolearn = ROLE }) end)
    end)
  end)

  describe("from_env", function()
    it("reads the access key, and the token when there is one", function()
      local p = assert(credentials.from_env({ env = { ALIBABA_CLOUD_ACCESS_KEY_ID = fake.ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET = fake.ACCESS_KEY_SECRET } }))
      assert.are.equal("env", p:get().provider)
      assert.is_nil(p:get().security_token)
      works(p)
      local s = assert(credentials.from_env({ env = { ALIBABA_CLOUD_ACCESS_KEY_ID = "a",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET = "b", ALIBABA_CLOUD_SECURITY_TOKEN = "c" } }))
      assert.are.equal("c", s:get().security_token)
    end)

    it("fails with SDK.CredentialsError when the variables are not set", function()
      local p, err = credentials.from_env({ env = { ALIBABA_CLOUD_ACCESS_KEY_ID = "a" } })
      assert.is_nil(p)
      assert.are.equal("SDK.CredentialsError", err.code)
      assert.matches("^env: ", err.message)
    end)
  end)

  describe("ram_role_arn", function()
    it("calls AssumeRole, signed, with every option, and the credentials work", function()
      local p = assert(credentials.ram_role_arn(sts_opts({ role_session_name = "spec-session",
        duration = 1800, policy = '{"Statement":[]}', external_id = "ext-1" })))
      local snap = assert(p:get())
      assert.are.equal("ram_role_arn/static_ak", snap.provider)
      assert.matches("^STS%.", snap.access_key_id)
      assert.is_string(snap.security_token)
      assert.is_true(snap.expiration > os.time() + 1700)
      works(p)
      local st = server:stats()
      assert.are.equal(1, st.by_action.AssumeRole)
      assert.are.same({ RoleArn = ROLE, RoleSessionName = "spec-session", DurationSeconds = "1800",
        Policy = '{"Statement":[]}', ExternalId = "ext-1" }, {
        RoleArn = st.sts.last_request.RoleArn, RoleSessionName = st.sts.last_request.RoleSessionName,
        DurationSeconds = st.sts.last_request.DurationSeconds, Policy = st.sts.last_request.Policy,
        ExternalId = st.sts.last_request.ExternalId })
      assert.is_not_nil(st.sts.last_request.AccessKeyId) -- it was signed by the source key
    end)

    it("takes the role and session name from the environment", function()
      local o = sts_opts({ env = { ALIBABA_CLOUD_ROLE_ARN = ROLE .. "-env",
        ALIBABA_CLOUD_ROLE_SESSION_NAME = "env-session" } })
      o.role_arn = nil
      assert(assert(credentials.ram_role_arn(o)):get())
      local last = server:stats().sts.last_request
      assert.are.equal(ROLE .. "-env", last.RoleArn)
      assert.are.equal("env-session", last.RoleSessionName)
      o.env = {}
      local p, err = credentials.ram_role_arn(o)
      assert.is_nil(p)
      assert.matches("role_arn", err.message)
    end)

    it("chains: a role assumed with another role's credentials", function()
      local first = assert(credentials.ram_role_arn(sts_opts()))
      local second = assert(credentials.ram_role_arn({ credential = first, role_arn = ROLE .. "-2",
        sts_endpoint = server.endpoint, sts_scheme = "http", env = {} }))
      local snap = assert(second:get())
      assert.are.equal("ram_role_arn/ram_role_arn/static_ak", snap.provider)
      assert.are.not_equal(first:get().access_key_id, snap.access_key_id)
      works(second)
      assert.are.equal(2, server:stats().by_action.AssumeRole)
    end)

    it("fails with SDK.CredentialsError naming the provider and the STS error", function()
      local p = assert(credentials.ram_role_arn(sts_opts({ access_key_secret = "wrong-secret" })))
      local snap, err = p:get()
      assert.is_nil(snap)
      assert.are.equal("SDK.CredentialsError", err.code)
      assert.matches("^ram_role_arn/static_ak: AssumeRole failed: %[SignatureDoesNotMatch%]", err.message)
      assert.is_nil(err.message:find("string to sign", 1, true))
    end)
  end)

  describe("ecs_ram_role", function()
    local function ecs_role(extra)
      local o = { metadata_endpoint = metadata, env = {} }
      for k, v in pairs(extra or {}) do o[k] = v end
      return assert(credentials.ecs_ram_role(o))
    end

    it("gets an IMDSv2 token first, discovers the role, and the credentials work", function()
      local p = ecs_role()
      local snap = assert(p:get())
      assert.are.equal("ecs_ram_role", snap.provider)
      works(p)
      assert.are.same({ requests = 3, token_requests = 1, role_requests = 1, credential_requests = 1,
        v1_requests = 0, rejected = 0 }, server:stats().metadata)
    end)

    it("uses role_name (or ALIBABA_CLOUD_ECS_METADATA) without discovery", function()
      assert(ecs_role({ role_name = "fake-ecs-role" }):get())
      assert(ecs_role({ env = { ALIBABA_CLOUD_ECS_METADATA = "fake-ecs-role" } }):get())
      local m = server:stats().metadata
      assert.are.equal(0, m.role_requests)
      assert.are.equal(2, m.credential_requests)
      local _, err = ecs_role({ role_name = "other-role" }):get()
      assert.matches("role other%-role: HTTP 404", err.message)
    end)

    it("works where IMDSv2 is required", function()
      server:config({ metadata = { v2 = "required" } })
      assert(ecs_role():get())
      assert.are.equal(0, server:stats().metadata.rejected)
    end)

    it("falls back to IMDSv1 when the server has no token API", function()
      server:config({ metadata = { v2 = "disabled" } })
      assert(ecs_role():get())
      local m = server:stats().metadata
      assert.are.equal(1, m.token_requests)
      assert.are.equal(2, m.v1_requests)
    end)

    it("does not fall back when IMDSv1 is disabled (option or environment)", function()
      server:config({ metadata = { v2 = "disabled" } })
      for _, p in ipairs({ ecs_role({ imdsv1_disabled = true }),
        ecs_role({ env = { ALIBABA_CLOUD_IMDSV1_DISABLED = "true" } }) }) do
        local snap, err = p:get()
        assert.is_nil(snap)
        assert.matches("^ecs_ram_role: the IMDSv2 token request got HTTP 404 and IMDSv1 is disabled",
          err.message)
      end
      assert.are.equal(0, server:stats().metadata.v1_requests)
    end)

    it("is off when ALIBABA_CLOUD_ECS_METADATA_DISABLED=true", function()
      local p, err = credentials.ecs_ram_role({ metadata_endpoint = metadata,
        env = { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" } })
      assert.is_nil(p)
      assert.matches("ALIBABA_CLOUD_ECS_METADATA_DISABLED", err.message)
      assert.are.equal(0, server:stats().metadata.requests)
    end)

    it("says so when no role is attached, or nothing answers (within the 1 s timeouts)", function()
      server:config({ metadata = { role = require("cjson").null } })
      local _, err = ecs_role():get()
      assert.matches("no RAM role is attached", err.message)
      server:config({ actions = { ["GET /latest/meta-data/ram/security-credentials/{role}"] =
        { delay = 3 } } })
      local t0 = env.now()
      _, err = ecs_role({ role_name = "fake-ecs-role" }):get()
      assert.is_true(env.now() - t0 < 2.5)
      assert.matches("role credentials: the metadata server at http://127%.0%.0%.1:%d+ did not answer",
        err.message)
      _, err = ecs_role({ metadata_endpoint = "http://127.0.0.1:1" }):get()
      assert.matches("IMDSv2 token: the metadata server at http://127%.0%.0%.1:1 did not answer", err.message)
    end)
  end)

  describe("oidc", function()
    local function oidc(token_file, extra)
      local o = { role_arn = ROLE, oidc_provider_arn = OIDC_PROVIDER, oidc_token_file = token_file,
        sts_endpoint = server.endpoint, sts_scheme = "http", env = {} }
      for k, v in pairs(extra or {}) do o[k] = v end
      return assert(credentials.oidc(o))
    end

    it("calls AssumeRoleWithOIDC unsigned, and the credentials work", function()
      local file = write(tmpdir() .. "/token", "oidc-token-A\n")
      server:config({ oidc_token = "oidc-token-A" })
      local p = oidc(file, { role_session_name = "oidc-session", duration = 900 })
      local snap = assert(p:get())
      assert.are.equal("oidc_role_arn", snap.provider)
      works(p)
      local last = server:stats().sts.last_request
      assert.is_nil(last.Signature)
      assert.are.equal(OIDC_PROVIDER, last.OIDCProviderArn)
      assert.are.equal("oidc-session", last.RoleSessionName)
      assert.are.equal("900", last.DurationSeconds)
    end)

    it("reads the token file again on every refresh", function()
      local file = write(tmpdir() .. "/token", "oidc-token-A")
      server:config({ oidc_token = "oidc-token-A" })
      local p = oidc(file)
      local first = assert(p:get())
      server:config({ oidc_token = "oidc-token-B" }) -- the token was rotated
      local _, err = p:refresh()
      assert.matches("AuthenticationFail%.OIDCToken%.Invalid", err.message)
      assert.is_nil(err.message:find("oidc-token-A", 1, true))
      write(file, "oidc-token-B")
      local second = assert(p:refresh())
      assert.are.not_equal(first.access_key_id, second.access_key_id)
    end)

    it("takes its settings from the environment, and lists what is missing", function()
      local file = write(tmpdir() .. "/token", "t")
      local p = assert(credentials.oidc({ sts_endpoint = server.endpoint, sts_scheme = "http",
        env = { ALIBABA_CLOUD_ROLE_ARN = ROLE, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = OIDC_PROVIDER,
          ALIBABA_CLOUD_OIDC_TOKEN_FILE = file } }))
      assert(p:get())
      local none, err = credentials.oidc({ env = { ALIBABA_CLOUD_ROLE_ARN = ROLE } })
      assert.is_nil(none)
      assert.matches("oidc_provider_arn %(ALIBABA_CLOUD_OIDC_PROVIDER_ARN%), oidc_token_file", err.message)
      local _, ferr = oidc(tmpdir() .. "/missing"):get()
      assert.matches("cannot read the OIDC token file", ferr.message)
    end)
  end)

  describe("uri", function()
    -- The metadata credentials path answers the same document a credentials URI does.
    local function url() return metadata .. "/latest/meta-data/ram/security-credentials/fake-ecs-role" end

    it("GETs the credentials document, and the credentials work", function()
      local p = assert(credentials.uri({ url = url() }))
      assert.are.equal("credential_uri", p:get().provider)
      works(p)
      local q = assert(credentials.uri({ env = { ALIBABA_CLOUD_CREDENTIALS_URI = url() } }))
      assert(q:get())
      assert.are.equal(2, server:stats().metadata.credential_requests)
    end)

    it("fails with the URL (not its query) and the status", function()
      local p = assert(credentials.uri({ url = metadata .. "/latest/nothing?token=hidden-value" }))
      local _, err = p:get()
      assert.matches("^credential_uri: http://127%.0%.0%.1:%d+/latest/nothing answered HTTP 404", err.message)
      assert.is_nil(err.message:find("hidden-value", 1, true))
      assert.is_nil((credentials.uri({ env = {} })))
    end)
  end)

  describe("from_profile", function()
    local INI = [[
# comment
[default]
type = access_key
access_key_id = ak-test
access_key_secret = secret-test

[role]
type = ram_role_arn
access_key_id = ak-test
access_key_secret = secret-test
role_arn = acs:ram::1234567890123456:role/ini-role
role_session_name = ini-session

[ecs]
type = ecs_ram_role
role_name = fake-ecs-role

[rsa]
type = rsa_key_pair
]]

    local CLI = [[{
  "current": "ak",
  "profiles": [
    { "name": "ak", "mode": "AK", "access_key_id": "ak-test", "access_key_secret": "secret-test" },
    { "name": "sts", "mode": "StsToken", "access_key_id": "ak-test",
      "access_key_secret": "secret-test", "sts_token": "cli-token" },
    { "name": "role", "mode": "RamRoleArn", "access_key_id": "ak-test",
      "access_key_secret": "secret-test", "ram_role_arn": "acs:ram::1234567890123456:role/cli-role",
      "ram_session_name": "cli-session", "expired_seconds": 900 },
    { "name": "ecs", "mode": "EcsRamRole", "ram_role_name": "fake-ecs-role" },
    { "name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "role",
      "ram_role_arn": "acs:ram::1234567890123456:role/chained" },
    { "name": "loop", "mode": "ChainableRamRoleArn", "source_profile": "loop",
      "ram_role_arn": "acs:ram::1234567890123456:role/loop" },
    { "name": "odd", "mode": "External" }
  ]
}]]

    local function profile(opts)
      opts.sts_endpoint, opts.sts_scheme = server.endpoint, "http"
      opts.metadata_endpoint = metadata
      opts.env = opts.env or environment({ ALIBABA_CLOUD_ECS_METADATA_DISABLED = false })
      return credentials.from_profile(opts)
    end

    it("reads the INI file's types access_key, ram_role_arn and ecs_ram_role", function()
      local path = write(tmpdir() .. "/credentials", INI)
      local ak = assert(profile({ path = path }))
      assert.are.equal("profile/static_ak", ak:get().provider)
      works(ak)
      local role = assert(profile({ path = path, profile = "role" }))
      assert.are.equal("profile/ram_role_arn/static_ak", role:get().provider)
      works(role)
      local last = server:stats().sts.last_request
      assert.are.equal("ini-session", last.RoleSessionName)
      assert.are.equal("3600", last.DurationSeconds)
      local ecs = assert(profile({ path = path, profile = "ecs" }))
      assert.are.equal("profile/ecs_ram_role", ecs:get().provider)
      local none, err = profile({ path = path, profile = "rsa" })
      assert.is_nil(none)
      assert.matches('unsupported type "rsa_key_pair"', err.message)
    end)

    it("finds the INI file through ALIBABA_CLOUD_CREDENTIALS_FILE and ALIBABA_CLOUD_PROFILE", function()
      local path = write(tmpdir() .. "/elsewhere.ini", INI)
      local p = assert(profile({ env = environment({ ALIBABA_CLOUD_CREDENTIALS_FILE = path,
        ALIBABA_CLOUD_PROFILE = "role" }) }))
      assert.are.equal("profile/ram_role_arn/static_ak", p:get().provider)
    end)

    it("reads the CLI config's modes", function()
      local path = write(tmpdir() .. "/config.json", CLI)
      local cases = { ak = "cli_profile/static_ak", sts = "cli_profile/static_sts",
        role = "cli_profile/ram_role_arn/static_ak", ecs = "cli_profile/ecs_ram_role",
        chain = "cli_profile/ram_role_arn/ram_role_arn/static_ak" }
      for name, provider in pairs(cases) do
        local p = assert(profile({ path = path, profile = name }))
        local snap = assert(p:get())
        assert.are.equal(provider, snap.provider)
        if name ~= "sts" then works(p) end
      end
      assert.are.equal("cli-token", assert(profile({ path = path, profile = "sts" })):get().security_token)
      assert.are.equal("cli_profile/static_ak", assert(profile({ path = path })):get().provider) -- current
      local _, err = profile({ path = path, profile = "loop" })
      assert.matches("deeper than 8", err.message)
      _, err = profile({ path = path, profile = "odd" })
      assert.matches('unsupported mode "External"', err.message)
    end)

    it("looks at ~/.aliyun/config.json first, then ~/.alibabacloud/credentials", function()
      local e = environment({ ALIBABA_CLOUD_PROFILE = "role", ALIBABA_CLOUD_ECS_METADATA_DISABLED = false })
      write(e.HOME .. "/.alibabacloud/credentials", INI)
      assert.are.equal("profile/ram_role_arn/static_ak", assert(profile({ env = e })):get().provider)
      write(e.HOME .. "/.aliyun/config.json", CLI)
      assert.are.equal("cli_profile/ram_role_arn/static_ak", assert(profile({ env = e })):get().provider)
      local none, err = profile({ env = environment() })
      assert.is_nil(none)
      assert.matches("no file .*/%.aliyun/config%.json; no file .*/%.alibabacloud/credentials", err.message)
    end)
  end)

  describe("default chain", function()
    local function chain(vars, home_files)
      local e = environment(vars)
      for path, text in pairs(home_files or {}) do write(e.HOME .. "/" .. path, text) end
      return credentials.default({ env = e, sts_endpoint = server.endpoint, sts_scheme = "http",
        metadata_endpoint = metadata }), e
    end

    local INI = "[default]\ntype = access_key\naccess_key_id = ak-other\naccess_key_secret = secret-other\n"
    local CLI = '{"current":"p","profiles":[{"name":"p","mode":"AK","access_key_id":"ak-test",'
      .. '"access_key_secret":"secret-test"}]}'
    local ENV = { ALIBABA_CLOUD_ACCESS_KEY_ID = "ak-test", ALIBABA_CLOUD_ACCESS_KEY_SECRET = "secret-test" }

    local function with(...)
      local out = {}
      for _, t in ipairs({ ... }) do for k, v in pairs(t) do out[k] = v end end
      return out
    end

    it("follows the Go SDK's order: env, OIDC, CLI config, INI profile, ECS role, URI", function()
      local token = write(tmpdir() .. "/token", "t")
      local OIDC = { ALIBABA_CLOUD_ROLE_ARN = ROLE, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = OIDC_PROVIDER,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE = token }
      local URI = { ALIBABA_CLOUD_CREDENTIALS_URI = metadata
        .. "/latest/meta-data/ram/security-credentials/fake-ecs-role" }
      local ECS = { ALIBABA_CLOUD_ECS_METADATA_DISABLED = false }
      local FILES = { [".aliyun/config.json"] = CLI, [".alibabacloud/credentials"] = INI }
      local cases = {
        { with(ENV, OIDC, ECS, URI), FILES, "default/env" },
        { with(OIDC, ECS, URI), FILES, "default/oidc_role_arn" },
        { with(ECS, URI), FILES, "default/cli_profile/static_ak" },
        { with(ECS, URI), { [".alibabacloud/credentials"] = INI }, "default/profile/static_ak" },
        { with(ECS, URI), {}, "default/ecs_ram_role" },
        { URI, {}, "default/credential_uri" },
      }
      for _, case in ipairs(cases) do
        local p = chain(case[1], case[2])
        local snap, err = p:get()
        assert.is_nil(err)
        assert.are.equal(case[3], snap.provider)
        works(p)
      end
    end)

    it("skips the CLI config when ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true", function()
      local p = chain({ ALIBABA_CLOUD_CLI_PROFILE_DISABLED = "true" },
        { [".aliyun/config.json"] = CLI, [".alibabacloud/credentials"] = INI })
      assert.are.equal("default/profile/static_ak", assert(p:get()).provider)
    end)

    it("fails with one error listing why each was skipped, and tries them all again next time",
      function()
        local p, e = chain()
        local snap, err = p:get()
        assert.is_nil(snap)
        assert.are.equal("SDK.CredentialsError", err.code)
        assert.matches("^default: no credentials found", err.message)
        local names = {}
        for i, r in ipairs(err.reasons) do
          names[i] = r.provider
          assert.matches("^" .. r.provider:gsub("_", "%%_") .. ": ", r.reason)
          assert.is_truthy(err.message:find(r.reason, 1, true))
        end
        assert.are.same({ "env", "oidc_role_arn", "cli_profile", "profile", "ecs_ram_role",
          "credential_uri" }, names)
        assert.matches("ALIBABA_CLOUD_ECS_METADATA_DISABLED", err.reasons[5].reason)
        -- The Go SDK would now only ever try the URI provider again.
        write(e.HOME .. "/.alibabacloud/credentials", INI)
        assert.are.equal("default/profile/static_ak", assert(p:get()).provider)
      end)

    it("keeps the provider it found", function()
      local p, e = chain({}, { [".alibabacloud/credentials"] = INI })
      assert(p:get())
      write(e.HOME .. "/.aliyun/config.json", CLI) -- would come first, but the choice is made
      assert.are.equal("default/profile/static_ak", assert(p:get()).provider)
      assert.matches("using alicloud.Credential %(profile/static_ak", tostring(p))
    end)

    it("is what a client without a credential uses, one chain for all of them", function()
      assert.are.equal(credentials.default(), credentials.default())
      local ecs = alicloud.client("ecs", { region = "cn-hangzhou", endpoint = server.endpoint,
        scheme = "http" })
      local res, err = ecs:DescribeRegions({})
      -- whatever this machine's environment holds, the call went through the chain
      assert.is_true(res ~= nil or err.code == "SDK.CredentialsError" or err.kind == "server")
    end)
  end)
end)
