--- Providers whose credentials come over the network and expire: ram_role_arn (STS
-- AssumeRole, signed, through this SDK), oidc (AssumeRoleWithOIDC, unsigned), ecs_ram_role
-- (the instance metadata service) and uri (a credentials URI). Each is a session provider
-- (session.lua) around a fetch function. Constructors raise on misuse and return nil, err
-- when something that may come from the environment is missing.
local kit = require("alicloud.credentials.provider_kit")
local session = require("alicloud.credentials.session")
local errors = require("alicloud.errors")
local plain_http = require("alicloud.plain_http")
local json = require("alicloud.json")

local M = {}

local STS_VERSION = "2015-04-01"
M.METADATA_ENDPOINT = "http://100.100.100.200"

local function pe(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function form(t)
  local keys, out = {}, {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = pe(k) .. "=" .. pe(t[k]) end
  return table.concat(out, "&")
end

-- The credentials in an answer (STS "Credentials", the metadata or URI document).
local function credentials_from(c, what, need_expiration)
  if type(c) ~= "table" then return nil, what .. " answered without credentials" end
  local exp = kit.parse_time(c.Expiration)
  if not exp and (need_expiration or c.Expiration ~= nil) then
    return nil, what .. " answered no readable Expiration (want 2006-01-02T15:04:05Z)"
  end
  return { access_key_id = c.AccessKeyId, access_key_secret = c.AccessKeySecret,
    security_token = c.SecurityToken, expiration = exp }
end

local function json_answer(res, what)
  local doc = json.decode(res.body or "")
  if type(doc) ~= "table" then return nil, what .. " answered a body that is not a JSON object" end
  return doc
end

-- The STS host (and region) from sts_endpoint, sts_region / ALIBABA_CLOUD_STS_REGION and
-- enable_vpc / ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED, as the Go SDK resolves it.
local function sts_host(opts, getenv)
  local region = opts.sts_region or getenv("ALIBABA_CLOUD_STS_REGION")
  if opts.sts_endpoint then return opts.sts_endpoint, region end
  if not region then return "sts.aliyuncs.com", nil end
  local vpc = opts.enable_vpc
  if vpc == nil then vpc = getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") == "true" end
  return string.format("sts%s.%s.aliyuncs.com", vpc and "-vpc" or "", region), region
end

local function session_name(opts, getenv)
  return opts.role_session_name or getenv("ALIBABA_CLOUD_ROLE_SESSION_NAME")
    or string.format("alicloud-lua-%d", os.time())
end

-- RAM role ARN ------------------------------------------------------------------------------

local RAM_ROLE_OPTS = { "access_key_id", "access_key_secret", "security_token", "credential",
  "role_arn", "role_session_name", "duration", "policy", "external_id", "connect_timeout",
  "read_timeout" }

--- ram_role_arn{ role_arn, credential | access_key_id + access_key_secret [+ security_token],
-- role_session_name, duration (3600), policy, external_id, sts_endpoint, sts_region,
-- sts_scheme, enable_vpc, connect_timeout (5), read_timeout (10), ... }
function M.ram_role_arn(opts)
  opts = kit.check(opts, RAM_ROLE_OPTS, "ram_role_arn", 2)
  local getenv = kit.getenv(opts)
  local source = opts.credential
  if not source then
    if not (opts.access_key_id and opts.access_key_secret) then
      error("ram_role_arn: give credential (a provider) or access_key_id and access_key_secret", 2)
    end
    source = kit.static(opts.security_token and "static_sts" or "static_ak", {
      access_key_id = opts.access_key_id, access_key_secret = opts.access_key_secret,
      security_token = opts.security_token })
  end
  local name = "ram_role_arn/" .. source.provider
  local role_arn = opts.role_arn or getenv("ALIBABA_CLOUD_ROLE_ARN")
  if not role_arn then
    return nil, kit.fail(name, "no role_arn (option or ALIBABA_CLOUD_ROLE_ARN)")
  end
  local host, region = sts_host(opts, getenv)
  local params = { RoleArn = role_arn, RoleSessionName = session_name(opts, getenv),
    DurationSeconds = opts.duration or 3600, Policy = opts.policy, ExternalId = opts.external_id }
  local client
  local function fetch()
    -- required here, not at load: alicloud.client requires this module's parent
    client = client or require("alicloud.client").new("sts", { endpoint = host, region = region,
      scheme = opts.sts_scheme or "https", credential = source,
      connect_timeout = opts.connect_timeout or 5, read_timeout = opts.read_timeout or 10 })
    local res, err = client:AssumeRole(params)
    if not res then return nil, "AssumeRole failed: " .. kit.describe_error(err) end
    return credentials_from(res.Credentials, "AssumeRole", true)
  end
  return session.new(name, fetch, opts)
end

-- OIDC --------------------------------------------------------------------------------------

local OIDC_OPTS = { "role_arn", "oidc_provider_arn", "oidc_token_file", "role_session_name",
  "duration", "policy", "connect_timeout", "read_timeout" }

--- oidc{ role_arn, oidc_provider_arn, oidc_token_file (each defaults to its ALIBABA_CLOUD_*
-- variable), role_session_name, duration, policy, sts_endpoint, sts_region, sts_scheme, ... }
-- The token file is read again on every refresh (Kubernetes rotates it).
function M.oidc(opts)
  opts = kit.check(opts, OIDC_OPTS, "oidc", 2)
  local getenv = kit.getenv(opts)
  local name = "oidc_role_arn"
  local role_arn = opts.role_arn or getenv("ALIBABA_CLOUD_ROLE_ARN")
  local provider_arn = opts.oidc_provider_arn or getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
  local token_file = opts.oidc_token_file or getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
  local missing = {}
  if not role_arn then missing[#missing + 1] = "role_arn (ALIBABA_CLOUD_ROLE_ARN)" end
  if not provider_arn then
    missing[#missing + 1] = "oidc_provider_arn (ALIBABA_CLOUD_OIDC_PROVIDER_ARN)"
  end
  if not token_file then missing[#missing + 1] = "oidc_token_file (ALIBABA_CLOUD_OIDC_TOKEN_FILE)" end
  if #missing > 0 then return nil, kit.fail(name, "not configured: no " .. table.concat(missing, ", ")) end
  local host = sts_host(opts, getenv)
  local url = (opts.sts_scheme or "https") .. "://" .. host .. "/?"
  local session_name_ = session_name(opts, getenv)

  local function fetch()
    local token, ferr = kit.read_file(token_file)
    if not token then return nil, "cannot read the OIDC token file: " .. tostring(ferr) end
    token = token:match("^%s*(.-)%s*$")
    if token == "" then return nil, "the OIDC token file " .. token_file .. " is empty" end
    -- AssumeRoleWithOIDC is not signed: the OIDC token is the proof.
    local query = form({ Action = "AssumeRoleWithOIDC", Format = "JSON", Version = STS_VERSION,
      Timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    local res, err = plain_http.request({ url = url .. query, method = "POST",
      headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" },
      body = form({ RoleArn = role_arn, OIDCProviderArn = provider_arn, OIDCToken = token,
        RoleSessionName = session_name_, DurationSeconds = opts.duration or 3600,
        Policy = opts.policy }),
      connect_timeout = opts.connect_timeout or 5, read_timeout = opts.read_timeout or 10 })
    if res and res.status ~= 200 then res, err = nil, errors.from_response(res) end
    if not res then
      return nil, kit.scrub("AssumeRoleWithOIDC failed: " .. kit.describe_error(err), token)
    end
    local doc, why = json_answer(res, "AssumeRoleWithOIDC")
    if not doc then return nil, why end
    return credentials_from(doc.Credentials, "AssumeRoleWithOIDC", true)
  end
  return session.new(name, fetch, opts)
end

-- ECS RAM role (instance metadata) ----------------------------------------------------------

local ECS_OPTS = { "role_name", "imdsv1_disabled", "metadata_token_ttl", "connect_timeout",
  "read_timeout" }
local TOKEN_PATH = "/latest/api/token"
local ROLES_PATH = "/latest/meta-data/ram/security-credentials/"

--- ecs_ram_role{ role_name (ALIBABA_CLOUD_ECS_METADATA; discovered when absent),
-- metadata_endpoint (http://100.100.100.200), imdsv1_disabled (ALIBABA_CLOUD_IMDSV1_DISABLED),
-- metadata_token_ttl (21600), connect_timeout (1), read_timeout (1), ... }
-- Nil, err when ALIBABA_CLOUD_ECS_METADATA_DISABLED=true.
function M.ecs_ram_role(opts)
  opts = kit.check(opts, ECS_OPTS, "ecs_ram_role", 2)
  local getenv = kit.getenv(opts)
  local name = "ecs_ram_role"
  if getenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED") == "true" then
    return nil, kit.fail(name, "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true")
  end
  local endpoint = (opts.metadata_endpoint or M.METADATA_ENDPOINT):gsub("/$", "")
  local role = opts.role_name or getenv("ALIBABA_CLOUD_ECS_METADATA")
  local v1_disabled = opts.imdsv1_disabled
  if v1_disabled == nil then v1_disabled = getenv("ALIBABA_CLOUD_IMDSV1_DISABLED") == "true" end
  local ttl = tostring(opts.metadata_token_ttl or 21600)

  local function metadata(method, path, headers, what)
    local res, err = plain_http.request({ url = endpoint .. path, method = method, headers = headers,
      connect_timeout = opts.connect_timeout or 1, read_timeout = opts.read_timeout or 1 })
    if not res then
      return nil, string.format("%s: the metadata server at %s did not answer: %s", what, endpoint,
        kit.describe_error(err))
    end
    return res
  end

  local function fetch()
    -- IMDSv2 first. Fall back to v1 only if a server answered (an old one without the token
    -- API): when nothing answers, a v1 request would only wait out another timeout.
    local res, why = metadata("PUT", TOKEN_PATH,
      { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = ttl }, "IMDSv2 token")
    if not res then return nil, why end
    local headers = {}
    if res.status == 200 and res.body ~= "" then
      headers["X-aliyun-ecs-metadata-token"] = res.body
    elseif v1_disabled then
      return nil, string.format("the IMDSv2 token request got HTTP %d and IMDSv1 is disabled "
        .. "(ALIBABA_CLOUD_IMDSV1_DISABLED)", res.status)
    end
    local role_name = role
    if not role_name then
      res, why = metadata("GET", ROLES_PATH, headers, "role discovery")
      if not res then return nil, why end
      role_name = res.status == 200 and res.body:match("^%s*(%S+)")
      if not role_name then
        return nil, string.format("no RAM role is attached to this instance (HTTP %d from %s)",
          res.status, ROLES_PATH)
      end
    end
    res, why = metadata("GET", ROLES_PATH .. pe(role_name), headers, "role credentials")
    if not res then return nil, why end
    if res.status ~= 200 then
      return nil, string.format("the credentials of role %s: HTTP %d", role_name, res.status)
    end
    local doc
    doc, why = json_answer(res, "the metadata server")
    if not doc then return nil, why end
    if doc.Code ~= "Success" then
      return nil, "the metadata server answered Code " .. tostring(doc.Code) .. " for role " .. role_name
    end
    return credentials_from(doc, "the metadata server", true)
  end
  return session.new(name, fetch, opts)
end

-- Credentials URI ---------------------------------------------------------------------------

--- uri{ url (ALIBABA_CLOUD_CREDENTIALS_URI), connect_timeout (5), read_timeout (10), ... }:
-- GET url -> { AccessKeyId, AccessKeySecret, SecurityToken, Expiration }. Messages show the
-- URL without its query (which may carry a token).
function M.uri(opts)
  if type(opts) == "string" then opts = { url = opts } end
  opts = kit.check(opts, { "url", "connect_timeout", "read_timeout" }, "uri", 2)
  local getenv = kit.getenv(opts)
  local name = "credential_uri"
  local url = opts.url or getenv("ALIBABA_CLOUD_CREDENTIALS_URI")
  if not url then return nil, kit.fail(name, "no url (option or ALIBABA_CLOUD_CREDENTIALS_URI)") end
  local shown = url:gsub("[?#].*$", "")
  if not url:match("^https?://") then return nil, kit.fail(name, "not an http(s) URL: " .. shown) end

  local function fetch()
    local res, err = plain_http.request({ url = url, connect_timeout = opts.connect_timeout or 5,
      read_timeout = opts.read_timeout or 10 })
    if not res then return nil, shown .. " did not answer: " .. kit.describe_error(err) end
    if res.status ~= 200 then return nil, string.format("%s answered HTTP %d", shown, res.status) end
    local doc, why = json_answer(res, shown)
    if not doc then return nil, why end
    if doc.Code ~= nil and doc.Code ~= "Success" then
      return nil, shown .. " answered Code " .. tostring(doc.Code)
    end
    return credentials_from(doc, shown, false)
  end
  return session.new(name, fetch, opts)
end

return M
