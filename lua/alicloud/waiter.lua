--- Waiters: call an action again and again until a predicate holds on its result, with a
-- growing, jittered pause between polls, up to a timeout. The sync form pauses on a runtime
-- timer (delivering other results meanwhile); the async form pauses on a timer too, so no
-- thread waits at all.
local core = require("alicloud.core")
local errors = require("alicloud.errors")
local promise = require("alicloud.promise")
local runtime = require("alicloud.runtime")

local M = {}

M.DEFAULTS = { interval = 2, max_interval = 30, timeout = 600 }
local GROWTH = 1.5  -- each pause is this much longer than the one before, up to max_interval
local JITTER = 0.25 -- a pause is shortened by up to this fraction, at random

local OPTS = { interval = true, max_interval = true, timeout = true, call = true }

local function number(v, name, what, level, allow_zero)
  if type(v) ~= "number" or v ~= v or v == math.huge or v < 0 or (v == 0 and not allow_zero) then
    error(string.format("%s: %s must be a finite number of seconds %s 0, got %s", what, name,
      allow_zero and ">=" or ">", tostring(v)), level + 1)
  end
  return v
end

--- Checks the arguments of wait_for / wait_for_async (raising on misuse); returns the
-- waiter's settings { interval, max_interval, timeout, call }.
function M.check(action, params, predicate, opts, what, level)
  if type(action) ~= "string" then error(what .. ": action must be a string", level + 1) end
  if params ~= nil and type(params) ~= "table" then
    error(what .. ": params must be a table", level + 1)
  end
  if type(predicate) ~= "function" then
    error(what .. ": predicate must be a function(res) -> true when done", level + 1)
  end
  if opts ~= nil and type(opts) ~= "table" then error(what .. ": opts must be a table", level + 1) end
  opts = opts or {}
  for k in pairs(opts) do
    if not OPTS[k] then
      error(string.format("%s: unknown option '%s' (interval, max_interval, timeout; per-call "
        .. "options go in opts.call)", what, tostring(k)), level + 1)
    end
  end
  if opts.call ~= nil and type(opts.call) ~= "table" then
    error(what .. ": opts.call must be a table of per-call options", level + 1)
  end
  local interval = opts.interval == nil and M.DEFAULTS.interval
    or number(opts.interval, "interval", what, level + 1)
  local max_interval = opts.max_interval == nil and math.max(interval, M.DEFAULTS.max_interval)
    or number(opts.max_interval, "max_interval", what, level + 1)
  if max_interval < interval then
    error(string.format("%s: max_interval (%s) must be >= interval (%s)", what,
      tostring(max_interval), tostring(interval)), level + 1)
  end
  local timeout = opts.timeout == nil and M.DEFAULTS.timeout
    or number(opts.timeout, "timeout", what, level + 1, true)
  return { interval = interval, max_interval = max_interval, timeout = timeout, call = opts.call }
end

--- The pause after poll number `n` (1, 2, ...): interval * GROWTH^(n-1) up to max_interval,
-- shortened by up to JITTER at random (so that many waiters spread out), never above
-- max_interval. `r` in [0, 1) is the random draw.
function M.pause(w, n, r)
  local base = math.min(w.max_interval, w.interval * GROWTH ^ (n - 1))
  return base * (1 - JITTER * r)
end

local function timed_out(action, w, polls, last)
  return errors.client(errors.CODES.WAITER_TIMEOUT, string.format(
    "%s: the condition was not met within %.3g s (%d polls)", action, w.timeout, polls),
    { polls = polls, last_result = last })
end

-- Runs the predicate; true, or false, or nil and the error it raised.
local function holds(predicate, res)
  local ok, v = pcall(predicate, res)
  if not ok then
    return nil, errors.from_raised(v, errors.CODES.HANDLER)
  end
  return v and true or false
end

--- client:wait_for: the first result the predicate accepts, or nil and an error (the failed
-- poll's, the predicate's, or SDK.WaiterTimeout).
function M.wait_for(client, action, params, predicate, opts)
  local w = M.check(action, params, predicate, opts, "wait_for", 3)
  local deadline = core.now() + w.timeout
  local polls = 0
  while true do
    polls = polls + 1
    local res, err = client:call(action, params, w.call)
    if res == nil then return nil, err end
    local done, perr = holds(predicate, res)
    if perr then return nil, perr end
    if done then return res end
    local left = deadline - core.now()
    if left <= 0 then return nil, timed_out(action, w, polls, res) end
    -- a timer, not a sleep: results of other async calls are delivered meanwhile
    local rang = false
    runtime.after(math.min(M.pause(w, polls, math.random()), left), function() rang = true end)
    runtime.drive(function() return rang end)
  end
end

--- client:wait_for_async: a promise of the same. Between polls only a runtime timer waits;
-- the promise settles once (cancelling it stops the polls).
function M.wait_for_async(client, action, params, predicate, opts)
  local w = M.check(action, params, predicate, opts, "wait_for_async", 3)
  local out = promise.new()
  local deadline = core.now() + w.timeout
  local polls = 0
  local timer, call -- what is under way: the next poll's timer, or the poll in flight
  local poll

  local function landed(res, err)
    call = nil
    if out:status() ~= "pending" then return end
    if res == nil then return out:_settle("rejected", err) end
    local done, perr = holds(predicate, res)
    if perr then return out:_settle("rejected", perr) end
    if done then return out:_settle("fulfilled", res) end
    local left = deadline - core.now()
    if left <= 0 then return out:_settle("rejected", timed_out(action, w, polls, res)) end
    timer = runtime.after(math.min(M.pause(w, polls, math.random()), left), poll)
  end

  function poll()
    timer = nil
    if out:status() ~= "pending" then return end
    polls = polls + 1
    local ok, p = pcall(client.call_async, client, action, params, w.call, landed)
    if not ok then return out:_settle("rejected", errors.from_raised(p)) end
    call = p
  end

  -- the first poll now, so that misuse the call itself finds (bad parameters) raises here
  polls = 1
  call = client:call_async(action, params, w.call, landed)
  -- settled from outside (cancelled): stop what is under way
  out:_on_settle(function()
    if timer then timer:cancel() end
    if call then call:cancel() end
  end)
  return out
end

return M
