--- Clients: one product in one region. Actions are called by name (client:DescribeRegions),
-- synchronously on this thread or asynchronously on the client's worker pool.
local core = require("alicloud.core")
local config = require("alicloud.config")
local credentials = require("alicloud.credentials")
local endpoints = require("alicloud.endpoints")
local errors = require("alicloud.errors")
local params = require("alicloud.params")
local products = require("alicloud.products")
local promise = require("alicloud.promise")
local response = require("alicloud.response")
local runtime = require("alicloud.runtime")
local json = require("alicloud.json")

local M = {}

local VERSION = core.version
local sysname, machine = core.platform()
local BASE_USER_AGENT = string.format("AlibabaCloud (%s; %s) Lua/%s alicloud/%s",
  sysname, machine, _VERSION:match("%d+%.%d+") or "5.4", VERSION)

local Client = {}
local action_cache = {}

local client_mt = { __name = "alicloud.Client" }

function client_mt.__index(_, key)
  local m = Client[key]
  if m ~= nil then return m end
  if type(key) ~= "string" or not key:match("^%u") then return nil end
  local f = action_cache[key]
  if not f then
    local action = key:match("^(.-)Async$")
    if action and action ~= "" then
      f = function(self, p, opts, cb) return self:call_async(action, p, opts, cb) end
    else
      f = function(self, p, opts) return self:call(key, p, opts) end
    end
    action_cache[key] = f
  end
  return f
end

function client_mt.__tostring(self)
  return string.format("alicloud.Client (%s, %s)", self.product.name, self.region or "-")
end

local CLIENT_OPTS = { region = true, credential = true, config = true, endpoint = true,
  network = true }
local CALL_OPTS = { method = true, headers = true, raw = true, endpoint = true }

local function check_opts(opts, allowed, what, level)
  if opts == nil then return end
  if type(opts) ~= "table" then error(what .. ": options must be a table", level + 1) end
  local inline = {}
  for k, v in pairs(opts) do
    if config.FIELDS[k] then
      inline[k] = v
    elseif not allowed[k] then
      error(string.format("%s: unknown option '%s'", what, tostring(k)), level + 1)
    end
  end
  config.validate(inline, what)
  return inline
end

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
  local inline = check_opts(opts, CLIENT_OPTS, "alicloud.client", 2)
  if opts.config ~= nil and not config.is(opts.config) and type(opts.config) ~= "table" then
    error("alicloud.client: config must come from alicloud.config()", 2)
  end
  if opts.credential ~= nil and not credentials.is(opts.credential) then
    error("alicloud.client: credential must come from alicloud.credentials", 2)
  end
  if opts.region ~= nil and type(opts.region) ~= "string" then
    error("alicloud.client: region must be a string", 2)
  end
  local cfg = opts.config
  if cfg and not config.is(cfg) then cfg = config.new(cfg) end
  local self = setmetatable({
    product = p,
    region = opts.region,
    endpoint = opts.endpoint or p.endpoint,
    network = opts.network,
    credential = opts.credential,
    settings = config.merge(cfg, inline),
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
  if math.type(pool_size) ~= "integer" or pool_size < 1 then
    error("enable_async: pool_size must be an integer >= 1", 2)
  end
  if math.type(max_task_queue_size) ~= "integer" or max_task_queue_size < 1 then
    error("enable_async: max_task_queue_size must be an integer >= 1", 2)
  end
  if self._pool and not self._pool:closed() then return false end
  self._pool = core.pool(runtime.core(), pool_size, max_task_queue_size)
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

-- Request building ----------------------------------------------------------------------

local function header_pairs(h)
  local out = {}
  if h == nil then return out end
  if type(h) ~= "table" then error("headers must be a table", 0) end
  for k, v in pairs(h) do
    if type(k) == "number" and type(v) == "table" then
      out[#out + 1] = { tostring(v[1]), tostring(v[2]) }
    else
      out[#out + 1] = { tostring(k), tostring(v) }
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

local function proxy_for(settings, scheme)
  local proxies = settings.proxies
  if not proxies then return nil, nil end
  return proxies[scheme] or proxies[scheme .. "_proxy"], proxies.no_proxy
end

-- The transport part of a task, from merged settings.
local function transport(spec, s)
  spec.connect_timeout = s.connect_timeout
  spec.read_timeout = s.read_timeout
  spec.timeout = s.timeout
  spec.insecure = s.insecure
  spec.ca_file = s.ca_file
  spec.max_response_bytes = s.max_response_bytes
  spec.proxy, spec.no_proxy = proxy_for(s, spec.scheme)
  local retry = s.retry
  if retry == false then
    spec.max_attempts = 1
  else
    retry = retry or {}
    spec.max_attempts = retry.max_attempts or 3
    spec.backoff_base = retry.base
    spec.backoff_cap = retry.cap
    spec.retry_unsafe = retry.unsafe and true or false
  end
  spec.user_agent = BASE_USER_AGENT .. (s.user_agent and (" " .. s.user_agent) or "")
end

local function add_credentials(spec, cred)
  local snap, err = cred:get()
  if not snap then return nil, err end
  spec.access_key_id = snap.access_key_id
  spec.access_key_secret = snap.access_key_secret
  spec.security_token = snap.security_token
  spec.bearer_token = snap.bearer_token
  return spec
end

function Client:_credential()
  if not self.credential then
    local c, err = credentials.default()
    if not c then return nil, err end
    self.credential = c
  end
  return self.credential
end

function Client:_host(opts)
  local host = opts and opts.endpoint or self.endpoint
  if host then return host end
  return endpoints.resolve(self.product, self.region, self.network)
end

-- Substitutes [Name] in a ROA path pattern with encoded values taken from params.
local function roa_path(pattern, p)
  return (pattern:gsub("%[([%w_]+)%]", function(name)
    local v = p[name]
    if v == nil then error(string.format("missing path parameter '%s'", name), 0) end
    return (tostring(v):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
  end))
end

-- Builds the task spec for an action call, or returns nil, err for runtime failures.
function Client:_spec(action, p, opts)
  local inline = check_opts(opts, CALL_OPTS, action, 4) or {}
  local s = config.merge(self.settings, inline)
  local def, suggestion = products.action(self.product, action)
  if not def then
    return nil, errors.client("SDK.InvalidAction", string.format("%s has no action '%s'%s",
      self.product.name, action, suggestion and ("; did you mean " .. suggestion .. "?") or ""))
  end
  local host, herr = self:_host(opts)
  if not host then return nil, herr end
  local cred, cerr = self:_credential()
  if not cred then return nil, cerr end
  local spec = {
    style = def.style, signature_version = s.signature_version or self.product.signature_version,
    scheme = s.scheme, host = host, action = action, version = self.product.version,
    method = (opts and opts.method or def.method or "POST"):upper(),
    read_only = def.read_only, headers = header_pairs(opts and opts.headers),
  }
  if spec.read_only == nil then spec.read_only = products.is_read_only(action) end
  local ok, err = pcall(function()
    if def.style == "roa" then
      p = p or {}
      spec.path = roa_path(def.path or "/", p)
      local body, query = {}, {}
      for k, v in pairs(p) do
        local where = def.params and def.params[k]
        if where == "Query" then query[k] = v
        elseif where == "Header" then spec.headers[#spec.headers + 1] = { k, tostring(v) }
        elseif where ~= "Path" then body[k] = v end
      end
      spec.query = params.flatten(query, json.null)
      if next(body) then
        spec.body = json.encode(body.body or body)
        spec.content_type = "application/json"
      end
    else
      spec.path = "/"
      spec.query = params.flatten(p, json.null)
      if self.region and not (p and p.RegionId) then
        spec.query[#spec.query + 1] = { "RegionId", self.region }
      end
    end
  end)
  if not ok then return nil, errors.client("SDK.InvalidParam", tostring(err)) end
  transport(spec, s)
  return add_credentials(spec, cred)
end

-- Calls ------------------------------------------------------------------------------------

--- A sync call: returns the decoded body, or nil and an error.
function Client:call(action, p, opts)
  if type(action) ~= "string" then error("call: action must be a string", 2) end
  if p ~= nil and type(p) ~= "table" then error("call: params must be a table", 2) end
  local spec, err = self:_spec(action, p, opts)
  if not spec then return nil, err end
  local result = runtime.core():perform(core.task(spec))
  return response.finish(result, opts and opts.raw)
end

local function settle(p, result)
  local res, err = response.finish(result, p._raw)
  if res ~= nil then p:_settle("fulfilled", res) else p:_settle("rejected", err) end
end
runtime.set_settler(settle)

local function rejected(err, cb)
  local p = promise.rejected(err)
  if cb then p:_listen(cb) end
  return p
end

-- Queues a task on the pool per the queue_full policy; returns "ok", "full" or "closed".
local function submit(pool, task, policy)
  local st = pool:submit(task, 0)
  while st == "full" and policy == "block" do
    runtime.dispatch() -- deliver finished calls while waiting, so memory stays bounded
    st = pool:submit(task, 0.05)
  end
  return st
end

--- Submits a built spec to the pool; returns a promise.
function Client:_submit(spec, raw, cb)
  if not self._pool then
    return rejected(errors.client("SDK.AsyncFunctionNotEnabled",
      "Async function is not enabled in client, please invoke 'client:enable_async' first"), cb)
  end
  local task = core.task(spec)
  local st = submit(self._pool, task, self.settings.queue_full)
  if st == "closed" then
    return rejected(errors.client("SDK.ClientClosed",
      "the client was shut down; call enable_async to start a new pool"), cb)
  elseif st == "full" then
    return rejected(errors.client("SDK.TaskQueueFull", string.format(
      "the task queue is full (%d queued); retry later or use queue_full = \"block\"",
      self._pool:queued())), cb)
  end
  local p = promise.new(task, self)
  p._raw = raw
  runtime.register(task:id(), p)
  if cb then p:_listen(cb) end
  return p
end

--- An async call: returns a promise; `cb(res, err)` runs at a delivery when given.
function Client:call_async(action, p, opts, cb)
  if type(opts) == "function" and cb == nil then opts, cb = nil, opts end
  if type(action) ~= "string" then error("call_async: action must be a string", 2) end
  if p ~= nil and type(p) ~= "table" then error("call_async: params must be a table", 2) end
  if cb ~= nil and type(cb) ~= "function" then error("call_async: callback must be a function", 2) end
  if not self._pool then return self:_submit(nil, nil, cb) end
  local spec, err = self:_spec(action, p, opts)
  if not spec then return rejected(err, cb) end
  return self:_submit(spec, opts and opts.raw, cb)
end

M.Client = Client
return M
