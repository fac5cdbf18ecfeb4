--- The runtime of one Lua state: the C completion queue and pipe, the table of pending calls,
-- the queue of deferred jobs (promise handlers) and the timers that become jobs when due.
-- Everything the Lua side delivers happens here, on the state's own thread, inside dispatch().
local core = require("alicloud.core")
local errors = require("alicloud.errors")
local compat = require("alicloud.compat")
local timers = require("alicloud.timers")

local M = {}

local REGISTRY_KEY = "alicloud.runtime"
local registry = debug.getregistry() -- the same table for the life of the state
local traceback = debug.traceback

local function fresh()
  return {
    core = core.runtime(),
    -- Async calls in flight by slot: small numbers reused as results arrive, so these stay
    -- dense arrays (a table keyed by ever-growing ids would rehash every few calls)
    calls = setmetatable({}, { __mode = "v" }), -- slot -> promise (false once settled early)
    held = {},          -- slot -> that promise while someone will look at it (kept alive)
    free = {}, slots = 0, -- released slots (a stack); slots handed out so far
    observed = {},      -- other promises someone will look at: kept alive until settled
    count = 0,          -- unsettled async calls
    jobs = {}, ja = {}, jb = {}, jhead = 1, jtail = 0, -- job i: jobs[i](ja[i], jb[i])
    timers = timers.new(), -- M.after: due ones become jobs at a delivery
    batch = {},         -- the list core:pop fills, reused from delivery to delivery
    depth = 0,          -- > 0 while dispatching
    host = nil,         -- the alicloud module table (for on_error)
    watchers = {},      -- fn -> true: event-loop adapters told busy/idle (M.watch)
    waiter = nil,       -- how a loop whose thread must not block waits (M.set_waiter)
  }
end

-- After fork() the parent's runtime is not ours: its workers, pipe and pending calls stayed
-- in the parent. The child starts afresh; the parent's calls settle here as closed, so
-- nothing in the child waits for them forever, and handlers already queued still run.
local function after_fork(reg, old)
  local R = fresh()
  R.host, R.waiter = old.host, old.waiter
  R.timers = old.timers -- Lua only: they go on in the child
  for i = old.jhead, old.jtail do
    local t = R.jtail + 1
    R.jobs[t], R.ja[t], R.jb[t] = old.jobs[i], old.ja[i], old.jb[i]
    R.jtail = t
  end
  reg[REGISTRY_KEY] = R
  local orphans = {}
  for _, p in pairs(old.calls) do
    if p then orphans[#orphans + 1] = p end
  end
  for _, p in ipairs(orphans) do
    p:_settle("rejected", errors.client(errors.CODES.CLIENT_CLOSED,
      "the process forked: this call belongs to the parent process"))
  end
  return R
end

-- The runtime, kept in the registry so that reloading the module (busted's insulate) keeps
-- one. Cheap: no fork check (see checked()).
local function state()
  local R = registry[REGISTRY_KEY]
  if not R then
    R = fresh()
    registry[REGISTRY_KEY] = R
  end
  return R
end
M.state = state

-- The runtime at the entry points that touch the C side (submit, dispatch, wait): the one
-- place that checks for a fork.
local function checked()
  local R = state()
  if R.core:forked() then R = after_fork(registry, R) end
  return R
end

function M.set_host(host)
  state().host = host
end

--- alicloud.on_error until the user replaces it: the error to stderr. An adapter with a log
-- of its own (nginx's) puts its handler in place while on_error is still this one.
function M.default_on_error(err)
  io.stderr:write("alicloud: error in a callback: ", tostring(err), "\n")
end

--- Reports an error raised by user code during delivery to alicloud.on_error.
function M.report(err)
  local R = state()
  local handler = R.host and R.host.on_error
  if type(handler) == "function" then
    local ok, e2 = pcall(handler, err)
    if ok then return end
    err = tostring(err) .. "\n(and alicloud.on_error failed: " .. tostring(e2) .. ")"
  end
  io.stderr:write("alicloud: error in a callback: ", tostring(err), "\n")
end

-- Tells the watchers (event-loop adapters) that work appeared on an idle runtime (true), or
-- that a delivery ended with nothing left (false), so loops stay open only while there is work.
local function notify(R, busy)
  for fn in pairs(R.watchers) do
    local ok, err = pcall(fn, busy)
    if not ok then M.report(err) end
  end
end

local function idle(R)
  return R.count == 0 and R.jhead > R.jtail and R.timers.live == 0
end

--- True while calls are pending, jobs are queued or timers set: work a delivery will finish.
function M.busy()
  return not idle(state())
end

--- For event-loop adapters: fn(true) runs when work appears while the runtime was idle
-- (a call registered, a job queued), fn(false) at the end of each delivery that leaves it
-- idle. Returns a function that removes fn.
function M.watch(fn)
  local R = state()
  R.watchers[fn] = true
  return function() R.watchers[fn] = nil end
end

--- For event-loop adapters that own how this thread waits (nginx must never block its worker;
-- Copas resumes only coroutines that yield to it). `w` has any of:
--   wait(done, timeout, p) -> true | nil, err: replaces drive's blocking loop (p: the promise
--     waited for, if any; done nil: until the next delivery or the timeout);
--   await(p, owned) -> true when it suspended this coroutine its own way until p settled, false
--     to leave the await to the promise (owned: an alicloud.async coroutine), nil, err to fail;
--   perform(client, task, raw) -> res | nil, err: runs a sync call instead of this thread.
-- nil removes it. One at a time: installing another while one is set raises.
function M.set_waiter(w)
  local R = state()
  if w ~= nil and R.waiter ~= nil and R.waiter ~= w then
    error("alicloud: another event loop already owns waiting; detach it first", 2)
  end
  R.waiter = w
end

function M.waiter()
  return state().waiter
end

--- Runs fn(a, b) at the next delivery, never now.
function M.defer(fn, a, b)
  local R = state()
  local was_idle = R.count == 0 and R.jhead > R.jtail and R.timers.live == 0 -- idle(R), inlined
  local t = R.jtail + 1
  R.jobs[t], R.ja[t], R.jb[t] = fn, a, b -- three arrays: no table per job
  R.jtail = t
  if R.depth == 0 then R.core:wake() end -- so event loops watching the fd come to deliver
  if was_idle then notify(R, true) end
end

--- Runs fn(a) at the first delivery `seconds` from now or later; returns the timer
-- (timer:cancel()). Delivery (run, wait, dispatch, the loop adapters) waits for it like a call.
function M.after(seconds, fn, a)
  local R = state()
  local was_idle = idle(R)
  local t = R.timers:add(core.now() + seconds, fn, a)
  -- Always wake: a loop polling the fd reads timeout() again and sees the new due time.
  R.core:wake()
  if was_idle then notify(R, true) end
  return t
end

--- Seconds until the earliest timer is due (0 when it is), or nil when no timer is set.
function M.next_due()
  local due = state().timers:next_due()
  if not due then return nil end
  return math.max(0, due - core.now())
end

-- Queues the timers due now as jobs (in due order, after the jobs already queued).
local function fire_due(R)
  local heap = R.timers
  if heap.live == 0 then return end
  local now = core.now()
  local fn, a = heap:pop_due(now)
  while fn do
    local t = R.jtail + 1
    R.jobs[t], R.ja[t] = fn, a
    R.jtail = t
    fn, a = heap:pop_due(now)
  end
end

--- Keeps p alive until it settles: someone observes it (a callback, a handler, a waiter).
function M.observe(p)
  if p._state ~= "pending" then return end
  local slot = p._slot
  if slot then state().held[slot] = p else state().observed[p] = true end
end

function M.forget(p)
  local R, slot = state(), p._slot
  if slot then
    p._slot = nil -- the slot is reused once the call's result arrives
    if R.held[slot] == p then R.held[slot] = nil end
  else
    R.observed[p] = nil
  end
end

--- A slot for an async call about to be submitted (pool:submit carries it to the result).
function M.slot()
  local R = state()
  local free = R.free
  local n = #free
  if n > 0 then
    local slot = free[n]
    free[n] = nil
    return slot
  end
  R.slots = R.slots + 1
  return R.slots
end

local function release(R, slot)
  local free = R.free
  free[#free + 1] = slot
end

--- Gives back a slot whose call was not submitted.
function M.release(slot)
  release(state(), slot)
end

--- Registers an async call: its promise settles when the result for `slot` arrives. The call
-- was just submitted to a pool of this process, made with this process's runtime: no fork
-- check needed. A promise made with a callback is observed from the start (M.observe).
function M.register(slot, p)
  local R = state()
  local was_idle = idle(R)
  R.calls[slot] = p
  p._slot = slot
  if p._cb then R.held[slot] = p end
  R.count = R.count + 1
  if was_idle then notify(R, true) end
end

--- A call settled before its result arrived (cancel): forget it, swallow the result.
function M.settled_early(slot)
  local R = state()
  if R.calls[slot] then
    R.calls[slot] = false
    R.count = R.count - 1
  end
end

local function run_jobs(R)
  local jobs, ja, jb = R.jobs, R.ja, R.jb
  while R.jhead <= R.jtail do
    local h = R.jhead
    local fn, a, b = jobs[h], ja[h], jb[h]
    jobs[h], ja[h], jb[h] = nil, nil, nil
    R.jhead = h + 1
    local ok, err = compat.xpcall(fn, traceback, a, b)
    if not ok then M.report(err) end
  end
  R.jhead, R.jtail = 1, 0 -- start again at 1: the three stay arrays, never hash tables
end

local settle_from_result -- set by the client layer: function(promise, value, plain)

function M.set_settler(fn)
  settle_from_result = fn
end

--- Delivers what is complete; never blocks. Returns how many calls were delivered.
function M.dispatch(max)
  local R = checked()
  max = max or math.huge
  local delivered = 0
  R.depth = R.depth + 1
  local ok, err = pcall(function()
    repeat
      -- a callback forked: this delivery belongs to the parent; the child's next starts afresh
      if R.core:forked() then break end
      -- the shared list only at the outer delivery (a callback may deliver, nested)
      local batch, n = R.core:pop(math.min(256, max - delivered), R.depth == 1 and R.batch or nil)
      local calls = R.calls
      for i = 3, 3 * n, 3 do
        -- a triple: the slot, the value, and whether that value is the decoded body of a
        -- plain success (otherwise it is the raw result table)
        local slot, value, plain = batch[i - 2], batch[i - 1], batch[i]
        batch[i - 1] = false -- the list does not keep the value alive until the next delivery
        local p = calls[slot]
        calls[slot], R.held[slot] = nil, nil
        release(R, slot)
        if p == nil then
          R.count = R.count - 1 -- its promise was collected unobserved: nothing to deliver
        elseif p then
          R.count = R.count - 1
          delivered = delivered + 1
          settle_from_result(p, value, plain)
        end
      end
      fire_due(R)
      run_jobs(R)
    until n == 0 or delivered >= max -- pop's contract: until 0, or a full list (core/notify.h)
  end)
  R.depth = R.depth - 1
  if R.depth == 0 and idle(R) then notify(R, false) end
  if not ok then error(err, 0) end
  return delivered
end

function M.pending()
  return state().count
end

function M.has_jobs()
  local R = state()
  return R.jhead <= R.jtail
end

--- Blocks until the fd is readable or `timeout` seconds pass (nil: no limit), or until the
-- next timer is due, whichever is first; with a waiter, until its next delivery instead.
function M.wait_fd(timeout)
  local R = checked()
  local due = M.next_due()
  if due and (not timeout or due < timeout) then timeout = due end
  local w = R.waiter
  if w and w.wait then return (w.wait(nil, timeout)) end
  return R.core:wait(timeout or -1)
end

--- Delivers until `done()` is true. Returns true, or nil and an error on timeout or when
-- nothing left could make done() true. `p`: the promise waited for, if any (for the waiter).
function M.drive(done, timeout, p)
  local w = state().waiter
  if w and w.wait then return w.wait(done, timeout, p) end
  local deadline = timeout and core.now() + timeout
  M.dispatch()
  while not done() do
    if idle(state()) then
      return nil, errors.client(errors.CODES.DEADLOCK,
        "nothing is pending that could settle this wait")
    end
    local left = deadline and deadline - core.now()
    if left and left <= 0 then
      return nil, errors.client(errors.CODES.WAIT_TIMEOUT,
        string.format("still pending after %.3f s", timeout))
    end
    M.wait_fd(left)
    M.dispatch()
  end
  return true
end

--- alicloud.run([timeout]): delivers until nothing is pending.
function M.run(timeout)
  local ok, err = M.drive(function() return idle(state()) end, timeout)
  if not ok and err.code == errors.CODES.DEADLOCK then return true end
  return ok, err
end

function M.core()
  return checked().core
end

return M
