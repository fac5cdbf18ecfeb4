--- What every credential provider shares: the provider object, snapshots that keep their
-- secrets out of sight, option checking, the (injectable) environment, times and errors.
--
-- Secrets live only in closures, never in table fields, so printing or dumping a provider or
-- a snapshot (tostring, inspect, a busted diff, a debugger's locals view) shows none of them.
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")

local M = {}

--- "LTAI****wxyz": enough of an access key id to tell keys apart, never a secret.
function M.mask(id)
  if type(id) ~= "string" or id == "" then return "-" end
  if #id > 12 then return id:sub(1, 4) .. "****" .. id:sub(-4) end
  return id:sub(1, 2) .. "****"
end

-- Snapshots ---------------------------------------------------------------------------------

-- What tostring shows of a set of credentials.
local function who(c)
  if c.access_key_id then return "access key id " .. M.mask(c.access_key_id) end
  return c.bearer_token and "bearer token" or "empty"
end

local SNAPSHOT_NAME = "alicloud.CredentialSnapshot"

--- An immutable snapshot { access_key_id, access_key_secret, security_token, bearer_token,
-- provider, expiration } as client calls copy into C tasks. The table itself is empty: reads
-- go through __index, pairs() lists only the id, the provider and the expiration.
function M.snapshot(provider, c)
  local shown = { provider = provider, access_key_id = c.access_key_id, expiration = c.expiration }
  local private = { access_key_secret = c.access_key_secret, security_token = c.security_token,
    bearer_token = c.bearer_token }
  local label = string.format("alicloud.CredentialSnapshot (%s, %s)", provider, who(c))
  return setmetatable({}, {
    __name = SNAPSHOT_NAME,
    __index = function(_, k)
      local v = shown[k]
      if v == nil then v = private[k] end
      return v
    end,
    __pairs = function() return next, shown, nil end,
    __newindex = function() error("credential snapshots are read-only", 2) end,
    __tostring = function() return label end,
  })
end

--- The same credentials under another provider name ("default/" .. name, ...).
function M.renamed(snap, provider)
  return M.snapshot(provider, { access_key_id = snap.access_key_id,
    access_key_secret = snap.access_key_secret, security_token = snap.security_token,
    bearer_token = snap.bearer_token, expiration = snap.expiration })
end

-- Providers ---------------------------------------------------------------------------------

local Provider = {}
Provider.__index = Provider
Provider.__name = "alicloud.Credential"
M.Provider = Provider

function Provider:__tostring()
  local more = self._describe and self._describe()
  return string.format("alicloud.Credential (%s%s)", self.provider, more and (", " .. more) or "")
end

--- Current credentials: a snapshot, or nil and an SDK.CredentialsError naming the provider.
function Provider:get()
  return self._get()
end

--- Fetches new credentials now, whatever the state (static providers just answer).
function Provider:refresh()
  return (self._refresh or self._get)()
end

--- A provider named `name` whose :get() is get(); describe() adds to tostring (no secrets).
function M.provider(name, get, describe, refresh)
  return setmetatable({ provider = name, _get = get, _describe = describe, _refresh = refresh },
    Provider)
end

--- A provider that always answers the same credentials.
function M.static(name, c)
  local snap, label = M.snapshot(name, c), who(c)
  return M.provider(name, function() return snap end, function() return label end)
end

--- Another provider's credentials under "prefix/<its name>" (profile/…, cli_profile/…).
function M.wrap(prefix, inner)
  local last_in, last_out
  local function get()
    local snap, err = inner:get()
    if not snap then return nil, err end
    if snap ~= last_in then last_in, last_out = snap, M.renamed(snap, prefix .. "/" .. snap.provider) end
    return last_out
  end
  return M.provider(prefix .. "/" .. inner.provider, get,
    function() return "via " .. tostring(inner) end, function()
      local snap, err = inner:refresh()
      if not snap then return nil, err end
      return get()
    end)
end

function M.is(v)
  return type(v) == "table" and type(v.get) == "function"
end

-- Errors ------------------------------------------------------------------------------------

--- The one error every provider failure becomes; `name` is the provider, first in the message.
function M.fail(name, message)
  return errors.client("SDK.CredentialsError", name .. ": " .. message, { provider = name })
end

--- `s` with every given secret replaced by ****, for messages built from remote answers.
function M.scrub(s, ...)
  s = tostring(s)
  for i = 1, select("#", ...) do
    local secret = select(i, ...)
    if type(secret) == "string" and #secret >= 4 then
      local from = 1
      repeat
        local a, b = s:find(secret, from, true)
        if a then s = s:sub(1, a - 1) .. "****" .. s:sub(b + 1); from = a + 4 end
      until not a
    end
  end
  return s
end

--- One line about a failed call (server or transport error), without string-to-sign echoes
-- (an RPC string-to-sign holds the caller's security token).
function M.describe_error(err)
  if type(err) ~= "table" then return tostring(err) end
  local msg = tostring(err.message or "")
  msg = msg:gsub("%s*server string to sign is:.*$", ""):gsub("[%c]", " ")
  if #msg > 300 then msg = msg:sub(1, 300) .. "..." end
  local s = string.format("[%s] %s", tostring(err.code), msg)
  if err.http_status then s = s .. string.format(" (HTTP %d)", err.http_status) end
  if err.request_id then s = s .. " request id " .. tostring(err.request_id) end
  return s
end

-- Options, environment, files ---------------------------------------------------------------

local function positive(v) return type(v) == "number" and v > 0 end

local CHECKS = {
  env = { function(v) return type(v) == "table" or type(v) == "function" end,
    "a table of variables or a function(name)" },
  home = { function(v) return type(v) == "string" end, "a string" },
  clock = { function(v) return type(v) == "function" end, "a function returning epoch seconds" },
  log = { function(v) return type(v) == "function" end, "a function(message)" },
  refresh_window = { function(v) return type(v) == "number" and v >= 0 end, "a number >= 0" },
  refresh_backoff = { positive, "a positive number of seconds" },
  connect_timeout = { positive, "a positive number of seconds" },
  read_timeout = { positive, "a positive number of seconds" },
  sts_scheme = { function(v) return v == "http" or v == "https" end, "\"http\" or \"https\"" },
  enable_vpc = { function(v) return type(v) == "boolean" end, "a boolean" },
  duration = { function(v) return compat.is_integer(v) and v >= 900 end,
    "an integer >= 900 (seconds)" },
  metadata_endpoint = { function(v) return type(v) == "string" and v:match("^https?://[^/]+/?$") end,
    "a URL such as http://100.100.100.200" },
  metadata_token_ttl = { function(v) return compat.is_integer(v) and v >= 1 and v <= 21600 end,
    "an integer from 1 to 21600" },
  imdsv1_disabled = { function(v) return type(v) == "boolean" end, "a boolean" },
  credential = { M.is, "a credential provider" },
}

--- Options every provider accepts (and the chain and profiles pass down to what they build).
M.COMMON = { "env", "home", "clock", "log", "refresh_window", "refresh_backoff",
  "sts_endpoint", "sts_region", "sts_scheme", "enable_vpc", "metadata_endpoint" }

--- Checks `opts` against the option names in `allowed` (plus COMMON); misuse raises at `level`.
function M.check(opts, allowed, what, level)
  level = (level or 2) + 1
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(what .. ": options must be a table", level) end
  local ok = {}
  for _, k in ipairs(allowed) do ok[k] = true end
  for _, k in ipairs(M.COMMON) do ok[k] = true end
  for k, v in pairs(opts) do
    if not ok[k] then error(string.format("%s: unknown option '%s'", what, tostring(k)), level) end
    local c = CHECKS[k]
    if c and not c[1](v) then
      error(string.format("%s: %s must be %s", what, k, c[2]), level)
    elseif not c and type(v) ~= "string" then
      error(string.format("%s: %s must be a string", what, k), level)
    end
  end
  return opts
end

--- The options in `opts` that providers built on our behalf inherit.
function M.inherited(opts, extra)
  local out = {}
  for _, k in ipairs(M.COMMON) do out[k] = opts[k] end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

--- getenv(name) -> a non-empty value or nil, from opts.env (a table or a function) or the
-- process environment. Specs inject env because Lua cannot set environment variables.
function M.getenv(opts)
  local env = opts and opts.env
  local raw = type(env) == "table" and function(k) return env[k] end or env or os.getenv
  return function(name)
    local v = raw(name)
    if v == nil or v == "" then return nil end
    return tostring(v)
  end
end

function M.home(opts)
  local getenv = M.getenv(opts)
  return opts.home or getenv("HOME") or getenv("USERPROFILE")
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a") -- "*a": 5.1's spelling, still read by 5.3+
  f:close()
  return data
end

-- Times -------------------------------------------------------------------------------------

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
local idiv = compat.idiv

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = idiv(y >= 0 and y or y - 399, 400)
  local yoe = y - era * 400
  local doy = idiv(153 * (m + (m > 2 and -3 or 9)) + 2, 5) + d - 1
  local doe = yoe * 365 + idiv(yoe, 4) - idiv(yoe, 100) + doy
  return era * 146097 + doe - 719468
end

--- "2006-01-02T15:04:05Z" (fractional seconds allowed) -> epoch seconds, or nil.
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, frac = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d)(%.?%d*)Z$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  return t
end

function M.format_time(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

return M
