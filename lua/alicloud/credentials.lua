--- Credential providers. A provider is an object with :get() returning a snapshot table
-- { access_key_id, access_key_secret, security_token, bearer_token, provider } or nil, err.
-- Snapshots go to the C core; the secret never appears in tostring() or in an error.
local errors = require("alicloud.errors")

local M = {}

local Provider = {}
Provider.__index = Provider
Provider.__name = "alicloud.Credential"

function Provider:__tostring()
  local id = self._id and (self._id:sub(1, 4) .. "****") or "-"
  return string.format("alicloud.Credential (%s, access key id %s)", self.provider, id)
end

function Provider:get()
  return self._snapshot
end

local function check_string(v, name, level)
  if type(v) ~= "string" or v == "" then
    error(string.format("%s must be a non-empty string", name), level + 1)
  end
end

local function static(provider, snapshot)
  snapshot.provider = provider
  return setmetatable({ provider = provider, _id = snapshot.access_key_id,
    _snapshot = setmetatable(snapshot, { __tostring = function() return "<credentials>" end }) },
    Provider)
end

--- A long-term AccessKey pair.
function M.access_key(id, secret)
  check_string(id, "access_key_id", 2)
  check_string(secret, "access_key_secret", 2)
  return static("static_ak", { access_key_id = id, access_key_secret = secret })
end

--- Temporary STS credentials (id, secret and security token).
function M.sts(id, secret, token)
  check_string(id, "access_key_id", 2)
  check_string(secret, "access_key_secret", 2)
  check_string(token, "security_token", 2)
  return static("static_sts",
    { access_key_id = id, access_key_secret = secret, security_token = token })
end

--- A bearer token (for the few products that accept one).
function M.bearer(token)
  check_string(token, "bearer_token", 2)
  return static("bearer_token", { bearer_token = token })
end

--- ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (/ _SECURITY_TOKEN) from the environment.
function M.from_env()
  local id = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
  local secret = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
  local token = os.getenv("ALIBABA_CLOUD_SECURITY_TOKEN")
  if not id or id == "" or not secret or secret == "" then
    return nil, errors.client("SDK.CredentialsError",
      "environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set")
  end
  if token and token ~= "" then return M.sts(id, secret, token) end
  return M.access_key(id, secret)
end

--- The default chain. For now: the environment.
function M.default()
  local p, err = M.from_env()
  if p then return p end
  return nil, errors.client("SDK.CredentialsError",
    "no credentials found by the default chain: " .. err.message)
end

function M.is(v)
  return type(v) == "table" and type(v.get) == "function"
end

return M
