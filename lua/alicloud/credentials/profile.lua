--- Credentials named in files: the INI file ~/.alibabacloud/credentials (credentials-go's
-- "profile") and the aliyun CLI's ~/.aliyun/config.json ("cli_profile").
--
-- Both builders return a provider, or nil, a reason and `absent` (true when the file or the
-- profile simply is not there, so the caller may look elsewhere; false when it is there but
-- unusable). Files are read when the builder runs, not at every call.
local kit = require("alicloud.credentials.provider_kit")
local compat = require("alicloud.compat")
local json = require("alicloud.json")
local remote = require("alicloud.credentials.remote")

local M = {}

-- A non-empty string value, or nil (JSON null, numbers and "" count as absent).
local function val(t, k)
  local v = t[k]
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

-- Runs a provider constructor; its misuse errors (bad values in the file) become reasons.
local function build(constructor, opts)
  local ok, p, err = pcall(constructor, opts)
  if not ok then return nil, (tostring(p):gsub("^[^:]*:%d+: ", "")) end
  if not p then return nil, err.message end
  return p
end

local function static_ak(id, secret, token)
  if not (id and secret and (token or token == nil)) then return nil end
  return kit.static(token and "static_sts" or "static_ak",
    { access_key_id = id, access_key_secret = secret, security_token = token })
end

-- INI -----------------------------------------------------------------------------------------

--- { section = { key = value } }; '#' and ';' start comment lines; values may be quoted.
function M.parse_ini(text)
  local sections, current = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:match("^%s*(.-)%s*$")
    local name = line:match("^%[%s*(.-)%s*%]$")
    if name then
      current = sections[name] or {}
      sections[name] = current
    elseif current and line ~= "" and not line:match("^[#;]") then
      local k, v = line:match("^([^=]-)%s*=%s*(.*)$")
      if k then current[k] = v:match('^"(.*)"$') or v:match("^'(.*)'$") or v end
    end
  end
  return sections
end

--- opts: path (ALIBABA_CLOUD_CREDENTIALS_FILE, ~/.alibabacloud/credentials), profile
-- (ALIBABA_CLOUD_PROFILE, "default"), plus kit.COMMON for the providers it builds.
-- The INI file's section for opts, its path and name; or nil, why, absent (as providers say).
local function ini_section(opts)
  local getenv = kit.getenv(opts)
  local path = opts.path or getenv("ALIBABA_CLOUD_CREDENTIALS_FILE")
  if not path then
    local home = kit.home(opts)
    if not home then return nil, "no home directory to find .alibabacloud/credentials in", true end
    path = home .. "/.alibabacloud/credentials"
  end
  local text = kit.read_file(path)
  if not text then return nil, "no file " .. path, true end
  local name = opts.profile or getenv("ALIBABA_CLOUD_PROFILE") or "default"
  local s = M.parse_ini(text)[name]
  if not s then return nil, string.format("%s has no [%s] section", path, name), true end
  return s, path, name
end

function M.ini(opts)
  local s, path, name = ini_section(opts)
  if not s then return nil, path, name end
  local where = string.format("%s [%s]: ", path, name)
  local kind = val(s, "type")
  local inner, why
  if kind == "access_key" then
    inner = static_ak(val(s, "access_key_id"), val(s, "access_key_secret"))
    why = "access_key needs access_key_id and access_key_secret"
  elseif kind == "ecs_ram_role" then
    inner, why = build(remote.ecs_ram_role, kit.inherited(opts, { role_name = val(s, "role_name") }))
  elseif kind == "ram_role_arn" then
    if val(s, "access_key_id") and val(s, "access_key_secret") and val(s, "role_arn") then
      inner, why = build(remote.ram_role_arn, kit.inherited(opts, {
        access_key_id = val(s, "access_key_id"), access_key_secret = val(s, "access_key_secret"),
        role_arn = val(s, "role_arn"), role_session_name = val(s, "role_session_name"),
        policy = val(s, "policy"), duration = 3600 }))
    else
      why = "ram_role_arn needs access_key_id, access_key_secret and role_arn"
    end
  else
    why = string.format("unsupported type %q (access_key, ecs_ram_role, ram_role_arn)",
      tostring(kind))
  end
  if not inner then return nil, where .. why, false end
  return kit.wrap("profile", inner)
end

-- aliyun CLI config.json ----------------------------------------------------------------------

local function find(conf, name)
  for _, p in ipairs(conf.profiles) do
    if type(p) == "table" and p.name == name then return p end
  end
  return nil
end

-- The provider for CLI profile `name`; ChainableRamRoleArn recurses into source_profile.
local function cli_provider(conf, name, opts, depth)
  if depth > 8 then return nil, "source_profile chain deeper than 8 (a loop?)" end
  local p = find(conf, name)
  if not p then return nil, string.format("no profile %q", tostring(name)), depth == 0 end
  local mode = val(p, "mode")
  local function role(source)
    local duration = compat.tointeger(p.expired_seconds)
    return build(remote.ram_role_arn, kit.inherited(opts, { credential = source,
      role_arn = val(p, "ram_role_arn"), role_session_name = val(p, "ram_session_name"),
      duration = duration and duration > 0 and duration or nil, sts_region = val(p, "sts_region"),
      policy = val(p, "policy"), external_id = val(p, "external_id") }))
  end
  local inner, why
  if mode == "AK" or mode == "StsToken" or mode == "RamRoleArn" then
    local token = nil -- StsToken needs one: false marks it missing
    if mode == "StsToken" then token = val(p, "sts_token") or false end
    inner = static_ak(val(p, "access_key_id"), val(p, "access_key_secret"), token)
    why = mode .. " needs access_key_id, access_key_secret" .. (token ~= nil and " and sts_token" or "")
    if inner and mode == "RamRoleArn" then inner, why = role(inner) end
  elseif mode == "EcsRamRole" then
    inner, why = build(remote.ecs_ram_role, kit.inherited(opts, { role_name = val(p, "ram_role_name") }))
  elseif mode == "OIDC" then
    inner, why = build(remote.oidc, kit.inherited(opts, { role_arn = val(p, "ram_role_arn"),
      oidc_provider_arn = val(p, "oidc_provider_arn"), oidc_token_file = val(p, "oidc_token_file"),
      role_session_name = val(p, "ram_session_name"), sts_region = val(p, "sts_region") }))
  elseif mode == "ChainableRamRoleArn" then
    local source, serr = cli_provider(conf, val(p, "source_profile"), opts, depth + 1)
    if source then inner, why = role(source) else why = "source_profile: " .. serr end
  else
    why = string.format("unsupported mode %q (AK, StsToken, RamRoleArn, EcsRamRole, OIDC, "
      .. "ChainableRamRoleArn)", tostring(mode))
  end
  if not inner then return nil, string.format("profile %q: %s", name, why), false end
  return inner
end

--- opts: path (~/.aliyun/config.json), profile (ALIBABA_CLOUD_PROFILE, else the file's
-- "current"), plus kit.COMMON. Off when ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true.
-- The CLI config for opts, its path and the profile's name; or nil, why, absent.
local function cli_config(opts)
  local getenv = kit.getenv(opts)
  local path = opts.path
  if not path then
    if getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") == "true" then
      return nil, "disabled by ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true", true
    end
    local home = kit.home(opts)
    if not home then return nil, "no home directory to find .aliyun/config.json in", true end
    path = home .. "/.aliyun/config.json"
  end
  local text = kit.read_file(path)
  if not text then return nil, "no file " .. path, true end
  local conf = json.decode(text)
  if type(conf) ~= "table" or type(conf.profiles) ~= "table" then
    return nil, path .. " is not an aliyun CLI config (no \"profiles\" list)", false
  end
  local name = opts.profile or getenv("ALIBABA_CLOUD_PROFILE") or val(conf, "current")
  if not name then return nil, path .. ": no profile given and no \"current\" one", false end
  return conf, path, name
end

function M.cli(opts)
  local conf, path, name = cli_config(opts)
  if not conf then return nil, path, name end
  local inner, why, absent = cli_provider(conf, name, opts, 0)
  if not inner then return nil, path .. ": " .. why, absent end
  return kit.wrap("cli_profile", inner)
end

--- The region_id of the profile from_profile (opts: profile, env, home) finds without a path:
-- the CLI config's when it has the profile, else the INI file's section; nil when none.
function M.region_id(opts)
  local conf, _, name = cli_config(opts)
  local p = conf and find(conf, name)
  if p then return val(p, "region_id") end
  local s = ini_section(opts)
  return s and val(s, "region_id")
end

return M
