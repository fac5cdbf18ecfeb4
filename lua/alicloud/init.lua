--- alicloud: Alibaba Cloud OpenAPI from Lua 5.4, synchronously or asynchronously on worker
-- threads in C. See README.md for a tour and DESIGN.md (shared) for the contract.
local core = require("alicloud.core")
local client = require("alicloud.client")
local compat = require("alicloud.compat")
local config = require("alicloud.config")
local credentials = require("alicloud.credentials")
local endpoints = require("alicloud.endpoints")
local errors = require("alicloud.errors")
local promise = require("alicloud.promise")
local response = require("alicloud.response")
local runtime = require("alicloud.runtime")

local alicloud = {
  VERSION = core.version,
  credentials = credentials,
  endpoints = endpoints,
  errors = errors,
  all = promise.all,
  all_settled = promise.all_settled,
  race = promise.race,
  meta = response.meta,
  pending = runtime.pending,
}

--- alicloud.config([table]) -> a config with chained with_* setters.
function alicloud.config(t)
  return config.new(t)
end

--- alicloud.client(product, opts) -> a client for one product in one region.
function alicloud.client(product, opts)
  return client.new(product, opts)
end

--- Delivers what is complete without blocking; returns how many calls were delivered.
function alicloud.dispatch(max)
  if max ~= nil and (not compat.is_integer(max) or max < 1) then
    error("dispatch: max must be a positive integer", 2)
  end
  return runtime.dispatch(max)
end

--- Blocks, delivering, until nothing is pending. Returns true, or nil and an SDK.WaitTimeout
-- error when `timeout` seconds pass first.
function alicloud.run(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("run: timeout must be a number of seconds", 2)
  end
  return runtime.run(timeout)
end

--- Runs fn(...) in a coroutine, where promise:await() suspends it; returns a promise of its
-- first result (rejected when fn raises or returns nil, err). See docs/EVENT_LOOPS.md.
function alicloud.async(fn, ...)
  if type(fn) ~= "function" then error("async: fn must be a function", 2) end
  return promise.async(fn, ...)
end

-- The object event loops watch: the cqueues polling protocol plus dispatch.
local Runtime = {}
Runtime.__index = Runtime
Runtime.__name = "alicloud.RuntimeHandle"

function Runtime.pollfd() return runtime.core():fd() end
function Runtime.events() return "r" end
--- 0 when deferred work is ready now, else the seconds until the next timer is due, else nil
-- (wait for the fd).
function Runtime.timeout()
  if runtime.has_jobs() then return 0 end
  return runtime.next_due()
end
function Runtime.dispatch(_, max) return alicloud.dispatch(max) end
function Runtime.pending() return runtime.pending() end

local handle = setmetatable({}, Runtime)

--- alicloud.runtime() -> the object to watch: :pollfd(), :events(), :timeout(), :dispatch().
function alicloud.runtime()
  return handle
end

--- Receives errors raised by callbacks and handlers during delivery. Replace it freely.
alicloud.on_error = runtime.default_on_error

--- alicloud.debug(true | false | 2 | fn [, level]): the debug log, one line per attempt
-- (ALICLOUD_DEBUG=1 or 2 at require time does the same). Returns the level in force.
function alicloud.debug(v, level)
  return require("alicloud.observe").set(v, level)
end

alicloud.signer = require("alicloud.signer")
alicloud.as_json = require("alicloud.params").as_json
alicloud.describe = require("alicloud.describe").describe

--- alicloud.loop.luv, alicloud.loop.cqueues: event-loop adapters, loaded on first use.
alicloud.loop = setmetatable({}, { __index = function(t, name)
  local adapter = require("alicloud.loop." .. name)
  rawset(t, name, adapter)
  return adapter
end })

runtime.set_host(alicloud)
return alicloud
