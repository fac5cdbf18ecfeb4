--- Credential providers. A provider is an object with :get() returning a snapshot
-- { access_key_id, access_key_secret, security_token, bearer_token, provider, expiration }
-- or nil and an SDK.CredentialsError naming the provider. Client calls take a snapshot on the
-- Lua thread and copy it into the C task; workers never see a provider. Secrets never appear
-- in tostring(), an error or a log line. docs/CREDENTIALS.md has the whole story.
--
-- Every constructor also takes the options in credentials/provider_kit.lua COMMON: `env` (a table or
-- a function standing in for os.getenv), `home`, `clock`, `log`, `refresh_window`,
-- `refresh_backoff`, `sts_endpoint`, `sts_region`, `sts_scheme`, `enable_vpc`,
-- `metadata_endpoint`; the chain and profiles pass them to the providers they build.
local kit = require("alicloud.credentials.provider_kit")
local errors = require("alicloud.errors")
local profile = require("alicloud.credentials.profile")
local remote = require("alicloud.credentials.remote")

local M = {
  ram_role_arn = remote.ram_role_arn,
  ecs_ram_role = remote.ecs_ram_role,
  oidc = remote.oidc,
  uri = remote.uri,
  is = kit.is,
}

local function check_string(v, name, level)
  if type(v) ~= "string" or v == "" then
    error(string.format("%s must be a non-empty string", name), level + 1)
  end
end

--- A long-term AccessKey pair.
function M.access_key(id, secret)
  check_string(id, "access_key_id", 2)
  check_string(secret, "access_key_secret", 2)
  return kit.static("static_ak", { access_key_id = id, access_key_secret = secret })
end

--- Temporary STS credentials (id, secret and security token), never refreshed.
function M.sts(id, secret, token)
  check_string(id, "access_key_id", 2)
  check_string(secret, "access_key_secret", 2)
  check_string(token, "security_token", 2)
  return kit.static("static_sts",
    { access_key_id = id, access_key_secret = secret, security_token = token })
end

--- A bearer token (for the few products that accept one).
function M.bearer(token)
  check_string(token, "bearer_token", 2)
  return kit.static("bearer_token", { bearer_token = token })
end

--- ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (/ _SECURITY_TOKEN), read now.
function M.from_env(opts)
  opts = kit.check(opts, {}, "from_env", 2)
  local getenv = kit.getenv(opts)
  local id, secret = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
  if not id or not secret then
    return nil, kit.fail("env",
      "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set")
  end
  return kit.static("env", { access_key_id = id, access_key_secret = secret,
    security_token = getenv("ALIBABA_CLOUD_SECURITY_TOKEN") })
end

--- from_profile{ path, profile }: a profile of the aliyun CLI's ~/.aliyun/config.json or of
-- the INI file ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE). With a path,
-- the file's content says which kind it is; without, the CLI config is looked at first, then
-- the INI file (the default chain's order). The profile is `profile`, else
-- ALIBABA_CLOUD_PROFILE, else the CLI's "current" / the INI's "default".
function M.from_profile(opts)
  opts = kit.check(opts, { "path", "profile" }, "from_profile", 2)
  local builders = { profile.cli, profile.ini }
  if opts.path then
    local text = kit.read_file(opts.path)
    builders = { text and text:match("^%s*{") and profile.cli or profile.ini }
  end
  local reasons = {}
  for _, build in ipairs(builders) do
    local ok, p, why, absent = pcall(build, opts)
    if ok and p then return p end
    reasons[#reasons + 1] = ok and why or tostring(p)
    if ok and not absent then break end
  end
  return nil, kit.fail("profile", table.concat(reasons, "; "))
end

-- The default chain -------------------------------------------------------------------------

local function oidc_step(opts)
  local getenv = kit.getenv(opts)
  if not (getenv("ALIBABA_CLOUD_ROLE_ARN") and getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
      and getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE")) then
    return nil, "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and "
      .. "ALIBABA_CLOUD_OIDC_TOKEN_FILE are not all set"
  end
  return remote.oidc(kit.inherited(opts))
end

local function uri_step(opts)
  if not kit.getenv(opts)("ALIBABA_CLOUD_CREDENTIALS_URI") then
    return nil, "ALIBABA_CLOUD_CREDENTIALS_URI is not set"
  end
  return remote.uri(kit.inherited(opts))
end

-- The Go SDK's order (openapi-protocol.md §7.2).
local CHAIN = {
  { "env", M.from_env },
  { "oidc_role_arn", oidc_step },
  { "cli_profile", profile.cli },
  { "profile", profile.ini },
  { "ecs_ram_role", function(opts) return remote.ecs_ram_role(kit.inherited(opts)) end },
  { "credential_uri", uri_step },
}

local function new_chain(opts)
  local selected, last_in, last_out

  local function renamed(snap)
    if snap ~= last_in then last_in, last_out = snap, kit.renamed(snap, "default/" .. snap.provider) end
    return last_out
  end

  local function get()
    if selected then
      local snap, err = selected:get()
      if not snap then return nil, err end
      return renamed(snap)
    end
    -- Every provider, in order, each time until one works (the Go SDK remembers the last one
    -- it tried, even when all failed, and then never tries the others again).
    local reasons, lines = {}, {}
    for _, step in ipairs(CHAIN) do
      local ok, p, err = pcall(step[2], opts)
      if not ok then p, err = nil, tostring(p) end
      if p then
        local snap
        snap, err = p:get()
        if snap then
          selected = p
          if opts.log then pcall(opts.log, "default: using " .. p.provider) end
          return renamed(snap)
        end
      end
      local why = type(err) == "table" and tostring(err.message) or tostring(err)
      if why:sub(1, #step[1] + 1) ~= step[1] .. ":" then why = step[1] .. ": " .. why end
      reasons[#reasons + 1] = { provider = step[1], reason = why }
      lines[#lines + 1] = "  " .. why
    end
    return nil, errors.client(errors.CODES.CREDENTIALS,
      "default: no credentials found; tried, in order:\n" .. table.concat(lines, "\n"),
      { provider = "default", reasons = reasons })
  end

  local function describe()
    return selected and ("using " .. tostring(selected)) or "nothing found yet"
  end

  return kit.provider("default", get, describe, function()
    if not selected then return get() end
    local snap, err = selected:refresh()
    if not snap then return nil, err end
    return renamed(snap)
  end)
end

local shared

--- The default chain: env, OIDC, CLI config, INI profile, ECS RAM role, credentials URI. The
-- first provider that gives credentials is kept; until one does, every :get() tries them all
-- again and fails with one SDK.CredentialsError listing why each was skipped (err.reasons).
-- Without options, one shared chain (so clients without a credential share its refreshes).
function M.default(opts)
  if opts == nil then
    shared = shared or new_chain({})
    return shared
  end
  return new_chain(kit.check(opts, {}, "default", 2))
end

return M
