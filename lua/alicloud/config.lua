--- Client configuration: a plain table of fields, or Go-style chained setters
-- (alicloud.config():with_enable_async(true):with_pool_size(10)).
local compat = require("alicloud.compat")

local M = {}

local Config = {}
Config.__index = Config
Config.__name = "alicloud.Config"

local function check(cond, msg)
  if not cond then error(msg, 4) end
end

local function positive_number(name)
  return function(v) check(type(v) == "number" and v > 0, name .. " must be a positive number") end
end

local function positive_integer(name)
  return function(v)
    check(compat.is_integer(v) and v >= 1, name .. " must be an integer >= 1")
  end
end

local function one_of(name, ...)
  local allowed = { ... }
  return function(v)
    for _, a in ipairs(allowed) do if v == a then return end end
    check(false, string.format("%s must be one of: %s", name, table.concat(allowed, ", ")))
  end
end

local function of_type(name, t)
  return function(v) check(type(v) == t, string.format("%s must be a %s", name, t)) end
end

--- Every field a config (or a client's options, or a call's options) may carry.
M.FIELDS = {
  enable_async = of_type("enable_async", "boolean"),
  pool_size = positive_integer("pool_size"),
  max_task_queue_size = positive_integer("max_task_queue_size"),
  queue_full = one_of("queue_full", "block", "reject"),
  connect_timeout = positive_number("connect_timeout"),
  read_timeout = positive_number("read_timeout"),
  timeout = positive_number("timeout"),
  retry = function(v)
    check(v == false or type(v) == "table", "retry must be a table or false")
  end,
  scheme = one_of("scheme", "https", "http"),
  ca_file = of_type("ca_file", "string"),
  insecure = of_type("insecure", "boolean"),
  proxies = of_type("proxies", "table"),
  https_proxy = of_type("https_proxy", "string"),
  http_proxy = of_type("http_proxy", "string"),
  no_proxy = of_type("no_proxy", "string"),
  signature_version = one_of("signature_version", "v1", "v3"),
  user_agent = of_type("user_agent", "string"),
  max_response_bytes = positive_integer("max_response_bytes"),
}

M.DEFAULTS = {
  enable_async = false,
  pool_size = 5,
  max_task_queue_size = 1000,
  queue_full = "block",
  connect_timeout = 5,
  read_timeout = 10,
  scheme = "https",
  insecure = false,
  max_response_bytes = 64 * 1024 * 1024,
}

--- Raises when `t` holds an unknown field or a bad value (misuse).
function M.validate(t, what)
  for k, v in pairs(t) do
    local f = M.FIELDS[k]
    if not f then error(string.format("%s: unknown config field '%s'", what, tostring(k)), 3) end
    f(v)
  end
end

function M.new(t)
  local c = setmetatable({}, Config)
  if t ~= nil then
    if type(t) ~= "table" then error("config: expected a table", 2) end
    M.validate(t, "config")
    for k, v in pairs(t) do c[k] = v end
  end
  return c
end

function M.is(v)
  return getmetatable(v) == Config
end

-- with_<field>(value) for every field, returning the config for chaining.
for name, validate in pairs(M.FIELDS) do
  Config["with_" .. name] = function(self, v)
    validate(v)
    self[name] = v
    return self
  end
end
-- The Go SDK's name for the pool size.
Config.with_go_routine_pool_size = Config.with_pool_size

--- Merges layers left to right (later wins) over the defaults into a plain table.
function M.merge(...)
  local out = {}
  for k, v in pairs(M.DEFAULTS) do out[k] = v end
  for i = 1, select("#", ...) do
    local layer = select(i, ...)
    if layer then
      for k in pairs(M.FIELDS) do
        if layer[k] ~= nil then out[k] = layer[k] end
      end
    end
  end
  return out
end

return M
