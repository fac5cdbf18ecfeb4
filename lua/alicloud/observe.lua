--- What calls do, told on the Lua thread: the debug log (one line per attempt, ALICLOUD_DEBUG
-- or alicloud.debug), call hooks (`before` at submission, `after` at delivery) and the
-- client's rate limit. Attempts are recorded in C by whichever thread ran them
-- (core.observe, core.attempts); the lines are written here, at delivery, so no worker ever
-- touches Lua. Calls that nobody watches pay one table lookup.
local compat = require("alicloud.compat")
local core = require("alicloud.core")
local runtime = require("alicloud.runtime")

local M = {}

-- "1", "2" (or any other non-empty value but "0"/"false": 1) -> the level
local function level_of(v)
  if v == nil or v == "" or v == "0" or v == "false" then return 0 end
  return v == "2" and 2 or 1
end

local level = level_of(os.getenv("ALICLOUD_DEBUG"))
local sink = nil -- a function(line, attempt) or nil for stderr

--- alicloud.debug(true | false | 2 | fn [, level]): true logs to stderr (level 1), 2 adds
-- the query and headers, fn receives each line instead (and the attempt's record), false
-- stops. Returns the level now in force.
function M.set(v, lvl)
  if lvl ~= nil and lvl ~= 1 and lvl ~= 2 then error("debug: level must be 1 or 2", 3) end
  if v == false then
    level, sink = 0, nil
  elseif v == true or v == 1 or v == 2 then
    level, sink = lvl or (v == 2 and 2 or 1), nil
  elseif type(v) == "function" then
    level, sink = lvl or 1, v
  else
    error("debug: expected true, false, 1, 2 or a function", 3)
  end
  return level
end

function M.level()
  return level
end

-- ISO 8601 in UTC with milliseconds.
local function stamp(t)
  local whole = math.floor(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", math.floor((t - whole) * 1000))
end

--- The debug line of one attempt (`a` from core.attempts; `list` its list).
function M.line(product, action, list, i)
  local a = list[i]
  local outcome
  if a.status and a.code then
    outcome = a.status .. " " .. a.code
  else
    outcome = tostring(a.status or a.code or "-")
  end
  local s = string.format("alicloud: %s %s %s %s %s %s attempt=%d ms=%.1f request_id=%s",
    stamp(a.time), product, action or "-", list.method, list.host, outcome, i, a.ms,
    a.request_id or "-")
  if a.detail then
    local query, headers = a.detail:match("^(.-)\n(.*)$")
    s = s .. " query=" .. (query or "") .. " headers={" .. (headers or "") .. "}"
  end
  return s
end

local function write(w, list)
  for i = 1, #list do
    local line = M.line(w.info.product, w.info.action, list, i)
    if w.sink then
      local ok, err = pcall(w.sink, line, list[i])
      if not ok then runtime.report(err) end
    else
      io.stderr:write(line, "\n")
    end
  end
  if list.dropped > 0 then
    local line = string.format("alicloud: %s %s: %d more attempts not recorded",
      w.info.product, w.info.action or "-", list.dropped)
    if w.sink then pcall(w.sink, line, nil) else io.stderr:write(line, "\n") end
  end
end

local function call_hook(fn, info)
  local ok, err = compat.xpcall(fn, debug.traceback, info)
  if not ok then runtime.report(err) end
end

--- A rate limit's {rate, burst}: a number of calls per second, or { rate =, burst = }.
function M.rate_of(v)
  if type(v) == "number" then return v, 1 end
  return v.rate, v.burst or 1
end

-- The client's bucket for a rate limit setting: one per distinct setting, shared by its calls.
local function limiter_for(client, setting)
  local rate, burst = M.rate_of(setting)
  local key = rate .. "/" .. burst
  local limiters = client._limiters
  if not limiters then
    limiters = {}
    client._limiters = limiters
  end
  local l = limiters[key]
  if not l then
    l = core.ratelimit(rate, burst)
    limiters[key] = l
  end
  return l
end

--- Before a call's task is submitted or performed: puts it under the rate limit, asks for its
-- attempts to be recorded and runs the `before` hook. Returns the call's watch, or nil when
-- nobody watches it.
function M.start(client, action, task, opts)
  local s = client.settings
  local hooks, limit
  if opts then hooks, limit = opts.hooks, opts.rate_limit end
  if hooks == nil then hooks = s.hooks end
  if limit == nil then limit = s.rate_limit end
  local limiter = limit and limiter_for(client, limit) or nil
  if level == 0 and not hooks then
    if limiter then core.observe(task, 0, limiter) end
    return nil
  end
  core.observe(task, level, limiter)
  local info = { product = client.product.name, action = action, region = client.region,
    attempts = 0 }
  local w = { task = task, info = info, hooks = hooks, level = level, sink = sink,
    cancelled = M.cancelled }
  if hooks and hooks.before then call_hook(hooks.before, info) end
  return w
end

--- At delivery (sync: when the call returns): writes the debug lines and runs `after`.
-- `cancelled`: the call was settled by cancel while a worker may still hold it, so its
-- record is not read.
function M.finish(w, res, err, cancelled)
  local info = w.info
  local r
  if not cancelled and w.task then r = w.task:result() end
  if r and w.level > 0 then
    local list = core.attempts(w.task)
    if list then write(w, list) end
  end
  local after = w.hooks and w.hooks.after
  if not after then return end
  info.attempts = r and r.attempts or nil
  info.status = r and r.status or (err and err.http_status) or nil
  info.timings = r and { queued = r.queued, total = r.total } or nil
  info.error = err
  if err then
    info.request_id = err.request_id
  elseif type(res) == "table" then
    info.request_id = res.RequestId or res.requestId or res.request_id
  end
  if info.request_id == nil and r and r.headers_raw then
    info.request_id = r.headers_raw:match("x%-acs%-request%-id%z(%Z*)")
  end
  call_hook(after, info)
end

--- The same, at the next delivery: a call refused before it ran (queue full, closed client)
-- or cancelled.
function M.finish_later(w, err, cancelled)
  runtime.defer(function() M.finish(w, nil, err, cancelled) end)
end

--- For promise:cancel (which cannot require this module: it comes first).
function M.cancelled(w, err)
  M.finish_later(w, err, true)
end

return M
