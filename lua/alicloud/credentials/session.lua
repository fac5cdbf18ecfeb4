--- Temporary credentials that refresh themselves: the engine under ram_role_arn, oidc,
-- ecs_ram_role and uri. `fetch()` gets new credentials from wherever they come from.
--
-- Rules (docs/CREDENTIALS.md):
-- * Fresh credentials are served as they are. Within the refresh window before they expire
--   they are stale: the :get() that finds them so refreshes, synchronously, and every later
--   :get() sees the new ones.
-- * One refresh at a time. Client calls take their snapshot with :get() on the Lua thread, and
--   a refresh blocks that thread, so nothing else can ask while it runs; 100 async calls that
--   find the credentials stale cause one request. A flag guards against re-entry anyway (a
--   source provider or a log function calling back into this one).
-- * The window is `refresh_window` (default 180 s, the Go SDK's) but never more than half the
--   credentials' lifetime, so short-lived credentials are not refreshed on every call.
-- * A failed refresh keeps serving credentials that have not expired yet. The next attempt
--   waits refresh_backoff * 2^(failures-1) seconds (default 1 s, capped at 60 s), so a
--   failing STS or metadata server is not hammered; expired credentials (or none) with a
--   failed refresh give an SDK.CredentialsError naming the provider and the last failure.
local kit = require("alicloud.credentials.provider_kit")

local M = { WINDOW = 180, BACKOFF = 1, BACKOFF_CAP = 60 }

local function nonempty(v) return type(v) == "string" and v ~= "" end

--- A refreshing provider. fetch() returns { access_key_id, access_key_secret, security_token,
-- expiration (epoch seconds, nil for never) } or nil and a message that holds no secret.
-- opts: clock, log, refresh_window, refresh_backoff (see kit.COMMON).
function M.new(name, fetch, opts)
  local clock = opts.clock or os.time
  local window = opts.refresh_window or M.WINDOW
  local backoff = opts.refresh_backoff or M.BACKOFF
  local cap = math.max(M.BACKOFF_CAP, backoff)
  local log = opts.log

  local snap, expires, fresh_until          -- what we serve, and until when
  local failures, retry_at, last_err = 0, -math.huge, nil
  local refreshing = false

  local function note(fmt, ...)
    if log then pcall(log, string.format(fmt, ...)) end
  end

  local function refresh()
    refreshing = true
    local ok, c, why = pcall(fetch)
    refreshing = false
    local now = clock()
    if not ok then
      why = "refresh raised an error: " .. tostring(c)
    elseif c then
      local exp = c.expiration
      if not (nonempty(c.access_key_id) and nonempty(c.access_key_secret)
          and nonempty(c.security_token)) then
        why = "the answer lacks AccessKeyId, AccessKeySecret or SecurityToken"
      elseif exp and exp <= now then
        why = "the credentials received had already expired (Expiration " .. kit.format_time(exp) .. ")"
      else
        snap = kit.snapshot(name, c)
        expires = exp or math.huge
        fresh_until = exp and exp - math.min(window, (exp - now) / 2) or math.huge
        failures, retry_at, last_err = 0, -math.huge, nil
        note("%s: new credentials, access key id %s, expire %s", name, kit.mask(c.access_key_id),
          exp and kit.format_time(exp) or "never")
        return true
      end
    end
    failures = failures + 1
    retry_at = now + math.min(cap, backoff * 2 ^ (failures - 1))
    last_err = why or "no credentials"
    note("%s: refresh failed (%d in a row; next attempt in %.1f s): %s", name, failures,
      retry_at - now, last_err)
    return false
  end

  -- What get() answers once any refresh is done.
  local function answer()
    local now = clock()
    if snap and now < expires then return snap end
    local why = last_err or "a refresh is in progress"
    if retry_at > now then why = why .. string.format(" (next attempt in %.1f s)", retry_at - now) end
    if snap then
      return nil, kit.fail(name, string.format(
        "the credentials expired at %s and could not be refreshed: %s", kit.format_time(expires), why))
    end
    return nil, kit.fail(name, why)
  end

  local function get()
    if snap and clock() < fresh_until then return snap end
    if not refreshing and clock() >= retry_at then refresh() end
    return answer()
  end

  -- provider:refresh(): new credentials now, or the failure (get() still serves the old ones).
  local function force()
    if refreshing then return answer() end
    if refresh() then return snap end
    return nil, kit.fail(name, last_err)
  end

  local function describe()
    if not snap then return "no credentials yet" end
    return string.format("access key id %s, expires %s", kit.mask(snap.access_key_id),
      expires == math.huge and "never" or kit.format_time(expires))
  end

  return kit.provider(name, get, describe, force)
end

return M
