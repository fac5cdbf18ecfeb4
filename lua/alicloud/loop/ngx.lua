--- alicloud.loop.ngx: delivers results inside an nginx worker (lua-nginx-module, OpenResty).
--   init_worker_by_lua_block { require("alicloud").loop.ngx.attach() }
-- From the first call on, a delivery timer (ngx.timer.at) reads a cosocket connected to a
-- unix socket of the runtime, which gets a byte whenever results arrive (core/wake.h): nginx's
-- own event loop wakes it, with no polling. When the worker shuts down (reload, stop) it ends
-- once nothing is pending, so it never holds the worker up longer than the calls do.
-- In a request, p:await(), p:wait(), alicloud.run() and sync calls wait on an ngx.semaphore
-- that the delivery posts, suspending only that request; where nginx cannot yield (init, set,
-- header/body filters, log) they fail with SDK.NotYieldable instead of blocking the worker.
local core = require("alicloud.core")
local errors = require("alicloud.errors")
local attachment = require("alicloud.loop.attachment")
local promise = require("alicloud.promise")
local runtime = require("alicloud.runtime")

local M = {}

-- Phases where a request or timer may yield to nginx (semaphores, cosockets, ngx.sleep).
local YIELDABLE = { rewrite = true, server_rewrite = true, access = true, content = true,
  timer = true, ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true }

-- ms: the delivery timer only looks at ngx.worker.exiting() then, in case nginx does not run
-- the sentinel below at shutdown; calls have timeouts of their own
local READ_TIMEOUT = 10000
-- s: a pending timer that nginx runs early ("premature") when the worker starts to shut down
local SENTINEL_DELAY = 3600
local RESTART_DELAY = 0.05 -- s before a delivery timer that lost its socket starts again
local POLL_INTERVAL = 0.002 -- s, when the socket cannot be made (see poll)

local function ngx_api()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.timer) ~= "table" or type(ngx.socket) ~= "table" then
    return nil
  end
  return ngx
end

local function not_yieldable(why)
  return nil, errors.client(errors.CODES.NOT_YIELDABLE, "alicloud: cannot wait here without blocking "
    .. "the nginx worker (" .. why .. "); wait in rewrite, access, content or a timer, "
    .. "or pass a callback")
end

-- nil, or why the current code cannot wait by yielding to nginx.
local function why_not_yieldable(ngx)
  local phase = ngx.get_phase()
  if not YIELDABLE[phase] then return "the " .. phase .. " phase" end
  if runtime.state().depth > 0 then
    -- a callback or handler runs inside the delivery: waiting there would stop it
    return "inside a delivery: start a timer (ngx.timer.at) to wait from a callback"
  end
  return nil
end

local start -- the delivery timer (below)

-- Wakes the waits that are not tied to one promise (alicloud.run, room in a full queue).
local function broadcast(att)
  local list = att.waiters
  if next(list) == nil then return end
  att.waiters = {}
  for sema in pairs(list) do sema:post(1) end
end

-- True while alicloud.on_error is the default (runtime.default_on_error), not the user's.
local function default_on_error(host)
  return host.on_error == runtime.default_on_error
end

-- What every adapter's attachment shares. Detaching ends the delivery timer, wakes the waits
-- not tied to a promise (the others end at their timeout), cancels the sync-call pool and puts
-- the default on_error back if it is still the adapter's.
local kind = attachment.kind{ name = "alicloud.loop.ngx",
  release = function(att)
    if att.running then runtime.core():wake_shutdown() end -- its socket reads end-of-file
    broadcast(att)
    if att.pool then att.pool:shutdown("cancel") end
    local host = att.host
    if host and host.on_error == att.on_error then host.on_error = att.default_on_error end
  end }

local function exiting(att)
  return att.exiting or att.ngx.worker.exiting()
end

-- Without its socket (say TMPDIR is not writable), the delivery timer still delivers, by
-- looking every POLL_INTERVAL while calls are pending, and says so once.
local function poll(att, why)
  if not att.warned then
    att.warned = true
    runtime.report("alicloud.loop.ngx: no delivery socket (" .. tostring(why) .. "); polling every "
      .. POLL_INTERVAL * 1000 .. " ms while calls are pending")
  end
  while not att.closed and runtime.busy() do
    local ok, err = pcall(runtime.dispatch)
    if not ok then
      kind.failed(att, err)
      break
    end
    broadcast(att)
    if not runtime.busy() then break end
    att.ngx.sleep(POLL_INTERVAL)
  end
  att.running = false -- the next call tries the socket again
end

-- The delivery timer: one at a time. It stays (connecting costs a few syscalls) until the
-- worker shuts down and nothing is pending.
local function deliver(_, att)
  local ngx = att.ngx
  local rt = runtime.core()
  local sock = ngx.socket.tcp()
  local listener, err = rt:wake_listen()
  local ok = listener ~= nil
  if ok then
    ok, err = sock:connect("unix:" .. listener:path())
    if ok then ok, err = listener:accept(rt) else listener:close() end
  end
  if not ok then return poll(att, err) end
  sock:settimeouts(1000, 1000, READ_TIMEOUT)
  local lost
  while not att.closed do
    att.delivering = true
    local dok, derr = pcall(runtime.dispatch) -- first, what came before the socket did
    att.delivering = false
    if not dok then
      kind.failed(att, derr)
      break
    end
    broadcast(att)
    if exiting(att) and not runtime.busy() then break end
    local data, rerr = sock:receiveany(4096)
    if not data and rerr ~= "timeout" then
      lost = rerr
      break
    end
  end
  sock:close()
  att.running = false
  if lost and not att.closed then
    runtime.report("alicloud.loop.ngx: the delivery socket failed: " .. tostring(lost))
    if runtime.busy() then start(att, RESTART_DELAY) end
  end
end

-- Run early when the worker starts to shut down: the delivery timer, waiting on its socket,
-- is woken to see that and end once nothing is pending.
local function sentinel(premature, att)
  if att.closed then return end
  if not premature then
    att.ngx.timer.at(SENTINEL_DELAY, sentinel, att)
    return
  end
  att.exiting = true
  if att.running then runtime.core():wake() end
end

start = function(att, delay)
  if att.running or att.closed then return end
  local ok, err = att.ngx.timer.at(delay or 0, deliver, att)
  if ok then
    att.running = true
  else
    runtime.report("alicloud.loop.ngx: cannot start the delivery timer: " .. tostring(err))
  end
end

local function on_busy(att, busy)
  if busy then
    start(att)
  elseif att.running and not att.delivering and exiting(att) then
    -- shutting down, idle after a delivery outside the timer (a request dispatched): the
    -- timer may be waiting on its socket; a wake-up byte lets it see that and end
    runtime.core():wake()
  end
end

local function deadlock()
  return nil, errors.client(errors.CODES.DEADLOCK, "nothing is pending that could settle this wait")
end

-- The waiter's wait: until done() (nil: the next delivery), suspending this request on a
-- semaphore posted by the delivery. `p`: the promise waited for, which posts it itself.
local function wait(att, done, timeout, p)
  local ngx = att.ngx
  if done and done() then return true end
  local why = why_not_yieldable(ngx)
  if why then
    -- Only the block policy's wait for queue room comes without done(): nothing to deliver
    -- it here, so it waits on the pipe, bounded, as outside nginx.
    if done == nil then return runtime.core():wait(timeout or 0) end
    return not_yieldable(why)
  end
  local deadline = timeout and ngx.now() + timeout
  local sema = require("ngx.semaphore").new()
  if p then p:_on_settle(function() sema:post(1) end) end
  repeat
    if not runtime.busy() then
      if done == nil then return true end
      return deadlock()
    end
    start(att) -- normally running already (busy)
    local left = deadline and deadline - ngx.now()
    if left and left <= 0 then
      if done == nil then return true end
      return nil, errors.client(errors.CODES.WAIT_TIMEOUT,
        string.format("still pending after %.3f s", timeout))
    end
    if not p then att.waiters[sema] = true end
    sema:wait(left or READ_TIMEOUT / 1000)
    if done == nil then return true end
  until done()
  return true
end

-- A sync call in nginx: an async call on the client's pool (or the attachment's, for a
-- client without one) and a wait for it.
local function perform(att, client, task, raw)
  local why = why_not_yieldable(att.ngx)
  if why then return not_yieldable(why) end
  local p
  if client:async_enabled() then
    p = client:_submit(task, raw)
  else
    if not att.pool then
      att.pool = core.pool(runtime.core(), att.pool_size, att.max_task_queue_size)
    end
    local slot = runtime.slot()
    local st = att.pool:submit(task, 0, 0, slot)
    if st ~= "ok" then
      runtime.release(slot)
      return nil, errors.client(errors.CODES.TASK_QUEUE_FULL, string.format(
        "the sync call pool of alicloud.loop.ngx is %s (%d queued)", st, att.pool:queued()))
    end
    p = promise.new(task, client, raw)
    runtime.register(slot, p)
  end
  return p:wait()
end

--- attach([opts]) -> the attachment, in init_worker_by_lua* (or later in the worker).
-- opts: pool_size (8) and max_task_queue_size (1000) of the pool that runs sync calls of
-- clients without a pool of their own. Attaching again returns the same attachment.
function M.attach(opts)
  local ngx = ngx_api()
  if not ngx then error("alicloud.loop.ngx.attach: not inside nginx's Lua module", 2) end
  if opts ~= nil and type(opts) ~= "table" then
    error("alicloud.loop.ngx.attach: opts must be a table", 2)
  end
  opts = opts or {}
  for _, k in ipairs({ "pool_size", "max_task_queue_size" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v % 1 ~= 0) then
      error("alicloud.loop.ngx.attach: " .. k .. " must be an integer >= 1", 2)
    end
  end
  local att = kind.claim()
  if att then return att end
  att = { ngx = ngx, running = false, delivering = false, waiters = {},
    pool_size = opts.pool_size or 8, max_task_queue_size = opts.max_task_queue_size or 1000 }
  att.waiter = {
    wait = function(done, timeout, p) return wait(att, done, timeout, p) end,
    await = function(p)
      local ok, err = wait(att, function() return p._state ~= "pending" end, nil, p)
      if not ok then return nil, err end
      return true
    end,
    perform = function(client, task, raw) return perform(att, client, task, raw) end,
  }
  kind.install(att, on_busy) -- raises if another loop owns waiting (Copas)
  -- Callback errors to the error log, unless the user has an on_error of their own. (The
  -- default writes to stderr, which nginx leaves where it started.)
  local host = runtime.state().host
  if host and default_on_error(host) then
    att.host, att.default_on_error = host, host.on_error
    att.on_error = function(err)
      ngx.log(ngx.ERR, "alicloud: error in a callback: ", tostring(err))
    end
    host.on_error = att.on_error
  end
  local ok, err = ngx.timer.at(SENTINEL_DELAY, sentinel, att)
  if not ok then error("alicloud.loop.ngx.attach: cannot start a timer: " .. tostring(err), 2) end
  if runtime.busy() then start(att) end
  return att
end

--- attached() -> the current attachment, or nil. detach() -> detaches it; true if there was one.
M.attached, M.detach = kind.attached, kind.detach

return M
