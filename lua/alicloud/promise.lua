--- Promises for async calls. Handlers always run at a delivery (dispatch, run, wait or an
-- event-loop adapter), never inside the call that registered them. `:next` because `then`
-- is a keyword.
local runtime = require("alicloud.runtime")
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")

local M = {}

local Promise = {}
Promise.__index = Promise
Promise.__name = "alicloud.Promise"

function Promise:__tostring()
  return string.format("alicloud.Promise (%s)", self._state)
end

function M.is(v)
  return getmetatable(v) == Promise
end

--- A pending promise; `task` (C task), `client`, `raw` and the callback `cb` are set for
-- async calls (the runtime keeps a promise with a callback alive: M.register).
function M.new(task, client, raw, cb)
  -- the fields a call's promise gets, named so that the table is sized once
  return setmetatable({ _state = "pending", _task = task, _client = client, _raw = raw,
    _cb = cb, _value = nil, _slot = nil, _watch = nil }, Promise)
end

function M.rejected(err)
  local p = M.new()
  p:_settle("rejected", err)
  return p
end

function M.resolved(v)
  local p = M.new()
  p:_settle("fulfilled", v)
  return p
end

-- Runs a user callback(res, err) for a settled promise; an error goes to alicloud.on_error.
local function run_callback(callback, p)
  local ok, err
  if p._state == "fulfilled" then
    ok, err = compat.xpcall(callback, debug.traceback, p._value, nil)
  else
    ok, err = compat.xpcall(callback, debug.traceback, nil, p._value)
  end
  if not ok then runtime.report(err) end
end

-- Queues callback(res, err) for a settled promise: the job runner's xpcall is the callback's
-- (an error goes to alicloud.on_error), so no wrapper runs per call.
local function defer_callback(callback, state, value)
  if state == "fulfilled" then
    runtime.defer(callback, value, nil)
  else
    runtime.defer(callback, nil, value)
  end
end

--- Settles once; later calls do nothing. Handlers are deferred to the next delivery.
function Promise:_settle(state, value)
  if self._state ~= "pending" then return false end
  self._state, self._value = state, value
  self._client = nil
  local handlers = self._handlers
  if handlers then self._handlers = nil end
  runtime.forget(self)
  if self._cb then defer_callback(self._cb, state, value) end
  if handlers then
    for i = 1, #handlers do runtime.defer(handlers[i], state, value) end
  end
  return true
end

-- Settles with `v`, adopting it when it is itself a promise.
function Promise:_resolve(v)
  if M.is(v) then
    v:_on_settle(function(state, value) self:_settle(state, value) end)
  else
    self:_settle("fulfilled", v)
  end
end

--- Calls h(state, value) at a delivery once settled (or at the next one if already settled).
function Promise:_on_settle(h)
  if self._state == "pending" then
    local handlers = self._handlers
    if not handlers then
      handlers = {}
      self._handlers = handlers
    end
    handlers[#handlers + 1] = h
    runtime.observe(self)
  else
    runtime.defer(h, self._state, self._value)
  end
end


--- A user callback(res, err); an error it raises goes to alicloud.on_error. The first one of
-- a pending promise is kept in a field (no closure per call: the common case of the
-- callback form).
function Promise:_listen(callback)
  if self._state ~= "pending" then
    defer_callback(callback, self._state, self._value)
  elseif self._cb == nil then
    self._cb = callback
    runtime.observe(self)
  else
    self:_on_settle(function() run_callback(callback, self) end)
  end
end

function Promise:status()
  return self._state
end

--- Blocks this thread (delivering other completions meanwhile) until settled or `timeout`
-- seconds pass. Returns res, or nil and err; on timeout err.code is SDK.WaitTimeout and the
-- promise stays pending.
function Promise:wait(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("wait: timeout must be a number of seconds", 2)
  end
  local ok, err = runtime.drive(function() return self._state ~= "pending" end, timeout, self)
  if not ok then return nil, err end
  if self._state == "fulfilled" then return self._value end
  return nil, self._value
end

-- Coroutines suspended in a plain await yield AWAIT; `waiting` maps each to the promise it
-- awaits, so a late or duplicate wake-up never resumes a coroutine that has moved on.
local AWAIT = setmetatable({}, { __name = "alicloud.await" })
local waiting = setmetatable({}, { __mode = "k" })
local owned = setmetatable({}, { __mode = "k" }) -- coroutine started by M.async -> its promise
-- Plain Lua 5.1 cannot yield across xpcall: there M.async's function is the coroutine's body
-- and step settles its promise when it ends (coroutine -> function(ok, res, err)).
local finishers = setmetatable({}, { __mode = "k" })

-- Resumes co until it awaits, ends or fails. Nobody else resumes a coroutine that M.async
-- started, so a yield there that is not an await would leave it stuck: its promise rejects.
local function step(co, ...)
  local ok, v, e = coroutine.resume(co, ...)
  local finish = finishers[co]
  if finish and (not ok or coroutine.status(co) == "dead") then
    finishers[co] = nil
    return finish(ok, (not ok and type(v) == "string") and debug.traceback(co, v) or v, e)
  end
  if not ok then
    runtime.report(type(v) == "string" and debug.traceback(co, v) or v)
  elseif v ~= AWAIT and owned[co] and coroutine.status(co) == "suspended" then
    owned[co]:_settle("rejected", errors.client(errors.CODES.FOREIGN_YIELD,
      "the coroutine yielded outside await (a call of another scheduler, such as cqueues?); "
      .. "alicloud.async only resumes awaits"))
    compat.close_coroutine(co)
  end
end

--- Inside a coroutine: suspends it until settled (driven by alicloud.run, wait or an
-- adapter), then returns res, or nil and err. Outside one: the same as wait().
function Promise:await()
  local co, main = compat.running()
  local w = self._state == "pending" and runtime.waiter()
  if w and w.await then -- an event loop that suspends coroutines its own way (nginx, Copas)
    local handled, err = w.await(self, owned[co] ~= nil)
    if handled == nil and err ~= nil then return nil, err end
    if handled then return self:_outcome() end
  end
  if main or not compat.isyieldable() then return self:wait() end
  if self._state == "pending" then
    -- A bare yield in a cqueues-managed coroutine would go to cqueues: its adapter waits there.
    local cqueues = package.loaded.cqueues
    if type(cqueues) == "table" and select(2, cqueues.running()) then
      require("alicloud.loop.cqueues").await(self)
    else
      waiting[co] = self
      self:_on_settle(function()
        if waiting[co] == self and coroutine.status(co) == "suspended" then
          waiting[co] = nil
          step(co)
        end
      end)
      repeat coroutine.yield(AWAIT) until self._state ~= "pending"
      waiting[co] = nil
    end
  end
  return self:_outcome()
end

-- res, or nil and err (pending: nil, nil).
function Promise:_outcome()
  if self._state == "fulfilled" then return self._value end
  return nil, self._value
end

--- alicloud.async: runs fn(...) in a coroutine, at once until its first await. The promise
-- fulfils with fn's first result; it rejects when fn raises or returns nil, err (so that
-- `return p:await()` passes a failure on).
function M.async(fn, ...)
  local p = M.new()
  local function finish(ok, r, e)
    if not ok then
      p:_settle("rejected", errors.from_raised(r))
    elseif r == nil and e ~= nil then
      p:_settle("rejected", errors.from_raised(e))
    else
      p:_resolve(r)
    end
  end
  local co
  if compat.yield_across_pcall then
    co = coroutine.create(function(...) finish(xpcall(fn, debug.traceback, ...)) end)
  else
    co = coroutine.create(fn)
    finishers[co] = finish
  end
  owned[co] = p
  step(co, ...)
  return p
end

--- p:next(on_ok [, on_err]) -> a new promise settled by the handler's result. A handler that
-- raises rejects the new promise; one that returns a promise is followed.
function Promise:next(on_ok, on_err)
  if on_ok ~= nil and type(on_ok) ~= "function" then error("next: on_ok must be a function", 2) end
  if on_err ~= nil and type(on_err) ~= "function" then
    error("next: on_err must be a function", 2)
  end
  local child = M.new()
  self:_on_settle(function(state, value)
    local handler = state == "fulfilled" and on_ok or on_err
    if not handler then
      child:_settle(state, value)
      return
    end
    local ok, r = pcall(handler, value) -- the raised value becomes the rejection, as raised
    if ok then child:_resolve(r) else child:_settle("rejected", errors.from_raised(r)) end
  end)
  return child
end

function Promise:catch(fn)
  return self:next(nil, fn)
end

function Promise:finally(fn)
  if type(fn) ~= "function" then error("finally: fn must be a function", 2) end
  return self:next(function(v)
    fn()
    return v
  end, function(e)
    fn()
    return M.rejected(e)
  end)
end

--- Cancels a pending call: queued, it never runs; in flight, its transfer is aborted.
-- Returns true if it was pending; it is then rejected with SDK.Cancelled.
function Promise:cancel()
  if self._state ~= "pending" then return false end
  local task = self._task
  if task then
    task:cancel()
    if self._slot then runtime.settled_early(self._slot) end
  end
  local err = errors.client(errors.CODES.CANCELLED, "the call was cancelled")
  self:_settle("rejected", err)
  local watch = self._watch -- hooks and the debug log (alicloud.observe)
  if watch then
    self._watch = nil
    watch.cancelled(watch, err)
  end
  return true
end

-- Combinators ------------------------------------------------------------------------

local function check_list(list, name)
  if type(list) ~= "table" then error(name .. ": expected a list of promises", 3) end
  for i = 1, #list do
    if not M.is(list[i]) then error(string.format("%s: item %d is not a promise", name, i), 3) end
  end
end

--- Fulfils with the list of results when all fulfil; rejects with the first rejection.
function M.all(list)
  check_list(list, "all")
  local out, left = M.new(), #list
  local results = {}
  if left == 0 then out:_settle("fulfilled", results) end
  for i = 1, #list do
    list[i]:_on_settle(function(state, value)
      if state == "rejected" then
        out:_settle("rejected", value)
        return
      end
      results[i] = value
      left = left - 1
      if left == 0 then out:_settle("fulfilled", results) end
    end)
  end
  return out
end

--- Fulfils with { {status=, value=|reason=}, ... } once every promise settled.
function M.all_settled(list)
  check_list(list, "all_settled")
  local out, left = M.new(), #list
  local results = {}
  if left == 0 then out:_settle("fulfilled", results) end
  for i = 1, #list do
    list[i]:_on_settle(function(state, value)
      results[i] = state == "fulfilled" and { status = state, value = value }
        or { status = state, reason = value }
      left = left - 1
      if left == 0 then out:_settle("fulfilled", results) end
    end)
  end
  return out
end

--- Settles like the first promise to settle.
function M.race(list)
  check_list(list, "race")
  local out = M.new()
  for i = 1, #list do
    list[i]:_on_settle(function(state, value) out:_settle(state, value) end)
  end
  return out
end

M.Promise = Promise
return M
