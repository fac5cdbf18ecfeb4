--- Clients: one product in one region. Actions are called by name (client:DescribeRegions),
-- synchronously on this thread or asynchronously on the client's worker pool.
local core = require("alicloud.core")
local compat = require("alicloud.compat")
local config = require("alicloud.config")
local credentials = require("alicloud.credentials")
local errors = require("alicloud.errors")
local observe = require("alicloud.observe")
local paging = require("alicloud.paging")
local products = require("alicloud.products")
local promise = require("alicloud.promise")
local request = require("alicloud.request")
local response = require("alicloud.response")
local runtime = require("alicloud.runtime")
local waiter = require("alicloud.waiter")

-- the "block" policy's delivery of piled-up results (deliver_piled)
local PILED, PILE_CHECK = 256, 32

local M = {}

-- Lookups go client -> Client (methods) -> actions (client.Foo, client.FooAsync: made on
-- first use, then kept), all plain tables: no Lua function runs for a method or a known action.
local Client = {}
local actions = setmetatable({}, { __index = function(cache, key)
  if type(key) ~= "string" or not key:match("^%u") then return nil end
  local f
  local action = key:match("^(.-)Async$")
  if action and action ~= "" then
    f = function(self, p, opts, cb) return self:call_async(action, p, opts, cb) end
  else
    f = function(self, p, opts) return self:call(key, p, opts) end
  end
  cache[key] = f
  return f
end })
setmetatable(Client, { __index = actions })

local client_mt = { __name = "alicloud.Client", __index = Client }

function client_mt.__tostring(self)
  return string.format("alicloud.Client (%s, %s)", self.product.name, self.region or "-")
end

local CLIENT_OPTS = { region = true, credential = true, config = true, endpoint = true,
  network = true, version = true }

--- alicloud.client(product, opts)
function M.new(product, opts)
  local p
  if type(product) == "string" then
    p = products.get(product)
    if not p then error(string.format("alicloud.client: unknown product '%s'", product), 2) end
  elseif type(product) == "table" then
    p = products.custom(product)
  else
    error("alicloud.client: product must be a name or a table", 2)
  end
  opts = opts or {}
  local inline = request.split_options(opts, CLIENT_OPTS, "alicloud.client", 2)
  if opts.config ~= nil and not config.is(opts.config) and type(opts.config) ~= "table" then
    error("alicloud.client: config must come from alicloud.config()", 2)
  end
  if opts.credential ~= nil and not credentials.is(opts.credential) then
    error("alicloud.client: credential must come from alicloud.credentials", 2)
  end
  for _, k in ipairs({ "region", "endpoint", "network", "version" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      error(string.format("alicloud.client: %s must be a string", k), 2)
    end
  end
  local cfg = opts.config
  if cfg and not config.is(cfg) then cfg = config.new(cfg) end
  local self = setmetatable({
    product = p,
    region = opts.region,
    endpoint = opts.endpoint or p.endpoint,
    network = opts.network,
    version = opts.version,
    credential = opts.credential,
    settings = config.merge(cfg, inline),
    _actions = {}, -- action name -> its catalogue entry, looked up once
  }, client_mt)
  if self.settings.enable_async then
    self:enable_async(self.settings.pool_size, self.settings.max_task_queue_size)
  end
  return self
end

--- Starts the worker pool (the Go SDK's EnableAsync). Returns true when a pool started,
-- false when one is already running.
function Client:enable_async(pool_size, max_task_queue_size)
  pool_size = pool_size or self.settings.pool_size
  max_task_queue_size = max_task_queue_size or self.settings.max_task_queue_size
  if not compat.is_integer(pool_size) or pool_size < 1 then
    error("enable_async: pool_size must be an integer >= 1", 2)
  end
  if not compat.is_integer(max_task_queue_size) or max_task_queue_size < 1 then
    error("enable_async: max_task_queue_size must be an integer >= 1", 2)
  end
  if self._pool and not self._pool:closed() then return false end
  self._pool = core.pool(runtime.core(), pool_size, max_task_queue_size)
  self._pool_size, self._queue_size = pool_size, max_task_queue_size
  -- the "block" policy's bound and room (see submit), fixed with the pool's sizes
  self._bound = pool_size + max_task_queue_size
  self._slack = math.max(1, math.min(pool_size, compat.idiv(max_task_queue_size, 2)))
  self._piled, self._tick = pool_size + PILED, PILE_CHECK
  return true
end

--- Stops the pool: "drain" (default) lets queued calls run; "cancel" rejects them and aborts
-- calls in flight with SDK.Cancelled. Idempotent.
function Client:shutdown(mode)
  mode = mode or "drain"
  if mode ~= "drain" and mode ~= "cancel" then
    error("shutdown: mode must be \"drain\" or \"cancel\"", 2)
  end
  if self._pool then self._pool:shutdown(mode) end
  if mode == "cancel" then runtime.dispatch() end
  return true
end

function Client:async_enabled()
  return self._pool ~= nil and not self._pool:closed()
end

function Client:_credential()
  if not self.credential then
    local c, err = credentials.default()
    if not c then return nil, err end
    self.credential = c
  end
  return self.credential
end

-- Calls ------------------------------------------------------------------------------------

local function perform(self, task, raw)
  local w = runtime.waiter() -- an event loop whose thread must not block runs it (nginx)
  if w and w.perform then return w.perform(self, task, raw) end
  local value, plain = runtime.core():perform(task)
  if plain then return response.remember(value, task) end -- metadata stays with the task
  return response.finish(value, raw)
end

-- A sync call watched by the debug log or hooks (observe.start): told when it returns.
local function perform_watched(self, watch, task, raw)
  if not watch then return perform(self, task, raw) end
  local res, err = perform(self, task, raw)
  observe.finish(watch, res, err)
  return res, err
end

--- A sync call: returns the decoded body, or nil and an error.
function Client:call(action, p, opts)
  if type(action) ~= "string" then error("call: action must be a string", 2) end
  if p ~= nil and type(p) ~= "table" then error("call: params must be a table", 2) end
  local task, err = request.for_action(self, action, p, opts, 2)
  if not task then return nil, err end
  return perform_watched(self, observe.start(self, action, task, opts), task, opts and opts.raw)
end

--- The CommonRequest (the Go SDK's ProcessCommonRequest): any action, RPC or ROA, with
-- query, form, body and headers given explicitly. Returns res, or nil and err.
function Client:request(req)
  local task, err = request.for_common(self, req, 2)
  if not task then return nil, err end
  return perform_watched(self, observe.start(self, req.action, task, req), task, req.raw)
end

local function settle(p, value, plain)
  local res, err
  if plain then -- the decoded body of a 2xx call; its metadata stays with the task
    res = response.remember(value, p._task)
  else
    res, err = response.finish(value, p._raw)
  end
  if res ~= nil then p:_settle("fulfilled", res) else p:_settle("rejected", err) end
  local watch = p._watch
  if watch then
    p._watch = nil
    observe.finish(watch, res, err)
  end
end
runtime.set_settler(settle)

local function rejected(err, cb)
  local p = promise.rejected(err)
  if cb then p:_listen(cb) end
  return p
end

-- Queues a task on the pool per the queue_full policy; returns "ok", "full", "closed" or
-- "forked" (the pool is the parent process's).
-- With "block", the submitter also waits while the pool holds `bound` calls that are not yet
-- delivered (queued, running or finished), delivering meanwhile: memory stays bounded by the
-- queue, however many calls a loop submits and however rarely it dispatches. Once it waits,
-- it waits until `slack` calls have left (a pool's worth, at most half the queue, so the
-- workers never run dry), so that a loop submitting at the bound wakes once per few results,
-- not once per result.
local function submit(pool, task, policy, bound, slot, slack)
  if policy ~= "block" then return pool:submit(task, 0, 0, slot) end
  local st = pool:submit(task, 0, bound, slot)
  while st == "busy" do
    repeat
      if runtime.dispatch() == 0 then runtime.wait_fd(0.05) end
    until pool:undelivered() <= bound - slack or pool:forked() -- a child: its submit says so
    st = pool:submit(task, 0, bound, slot)
  end
  while st == "full" do
    runtime.dispatch()
    st = pool:submit(task, 0.05, 0, slot)
  end
  return st
end

-- With "block", a loop submitting into a deep queue also delivers the results that finished
-- meanwhile, once more than a pool and PILED of them wait (looked at every PILE_CHECK calls):
-- left to pile up until the loop ends, 20,000 finished calls held ~70 MiB, and growing the heap
-- (fresh pages, malloc's slow paths) made every call dearer. Delivered before this call is
-- submitted, so no callback runs inside the call that started it.
local function deliver_piled(client)
  local tick = client._tick - 1
  if tick <= 0 then
    tick = PILE_CHECK
    local pool = client._pool
    if pool:undelivered() - pool:queued() > client._piled then runtime.dispatch() end
  end
  client._tick = tick
end

--- Submits a built task to the pool; returns a promise. `watch`: observe.start's, if any.
function Client:_submit(task, raw, cb, watch)
  if not self._pool then
    return rejected(errors.client(errors.CODES.ASYNC_NOT_ENABLED,
      "Async function is not enabled in client, please invoke 'client:enable_async' first"), cb)
  end
  local policy, bound, slack = self.settings.queue_full, self._bound, self._slack
  if policy == "block" then deliver_piled(self) end
  local slot = runtime.slot()
  local st = submit(self._pool, task, policy, bound, slot, slack)
  if st == "forked" then
    -- threads do not survive fork(): a child process gets a pool of its own, and a runtime
    -- of its own (runtime.core() makes it), from which the call takes its slot
    self._pool = core.pool(runtime.core(), self._pool_size, self._queue_size)
    slot = runtime.slot()
    st = submit(self._pool, task, policy, bound, slot, slack)
  end
  if st ~= "ok" then
    runtime.release(slot)
    local err
    if st == "closed" then
      err = errors.client(errors.CODES.CLIENT_CLOSED,
        "the client was shut down; call enable_async to start a new pool")
    else
      err = errors.client(errors.CODES.TASK_QUEUE_FULL, string.format(
        "the task queue is full (%d queued); retry later or use queue_full = \"block\"",
        self._pool:queued()))
    end
    if watch then observe.finish_later(watch, err) end
    return rejected(err, cb)
  end
  local p = promise.new(task, self, raw, cb)
  p._watch = watch
  runtime.register(slot, p) -- observed (kept alive) when it has a callback
  if watch then runtime.observe(p) end -- hooks and the debug log see it, even if nobody else
  return p
end

--- An async call: returns a promise; `cb(res, err)` runs at a delivery when given.
function Client:call_async(action, p, opts, cb)
  if type(opts) == "function" and cb == nil then opts, cb = nil, opts end
  if type(action) ~= "string" then error("call_async: action must be a string", 2) end
  if p ~= nil and type(p) ~= "table" then error("call_async: params must be a table", 2) end
  if cb ~= nil and type(cb) ~= "function" then error("call_async: callback must be a function", 2) end
  if not self._pool then return self:_submit(nil, nil, cb) end
  local task, err = request.for_action(self, action, p, opts, 2)
  if not task then return rejected(err, cb) end
  return self:_submit(task, opts and opts.raw, cb, observe.start(self, action, task, opts))
end

--- The CommonRequest, async: returns a promise; `cb(res, err)` runs at a delivery.
function Client:request_async(req, cb)
  if cb ~= nil and type(cb) ~= "function" then error("request_async: callback must be a function", 2) end
  if not self._pool then return self:_submit(nil, nil, cb) end
  local task, err = request.for_common(self, req, 2)
  if not task then return rejected(err, cb) end
  return self:_submit(task, req.raw, cb, observe.start(self, req.action, task, req))
end

-- Pages and waiters ------------------------------------------------------------------------

--- An iterator of result pages: `for page, err in client:pages(action, params [, opts])`.
function Client:pages(action, p, opts)
  return paging.pages(self, action, p, opts)
end

--- An iterator of the items of every page, in order.
function Client:items(action, p, opts)
  return paging.items(self, action, p, opts)
end

--- A promise of every item of every page, in order (page-numbered: the rest concurrently).
function Client:all_items_async(action, p, opts)
  return paging.all_items_async(self, action, p, opts)
end

-- Not tail calls: the waiter's misuse errors name our caller, and 5.1 would put a "(tail
-- call)" frame where 5.4 and LuaJIT put none.

--- The first result of `action` for which predicate(res) is true, or nil and an error.
function Client:wait_for(action, p, predicate, opts)
  local res, err = waiter.wait_for(self, action, p, predicate, opts)
  return res, err
end

--- A promise of the same; no thread waits between polls.
function Client:wait_for_async(action, p, predicate, opts)
  local out = waiter.wait_for_async(self, action, p, predicate, opts)
  return out
end

M.Client = Client
return M
