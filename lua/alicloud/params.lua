--- Parameter flattening the Alibaba way: lists become Name.1, Name.2 (1-based); tables
-- become Name.Field; booleans and numbers become strings; nil is skipped; integers never
-- render as 1.0.
local compat = require("alicloud.compat")
local json = require("alicloud.json")

local M = {}

--- JSON-typed parameters: alicloud.as_json(v) sends v as one JSON-encoded string.
local JsonParam = { __name = "alicloud.JsonParam" }

function M.as_json(v)
  return setmetatable({ value = v }, JsonParam)
end

local function scalar(v, name)
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return v and "true" or "false" end
  if getmetatable(v) == JsonParam then return json.encode(v.value) end
  if t == "number" then
    local i = compat.tointeger(v)
    if i then return string.format("%d", i) end
    if v ~= v or v == math.huge or v == -math.huge then
      error(string.format("parameter '%s' is not a finite number", name), 0)
    end
    local s = string.format("%.14g", v)
    if tonumber(s) ~= v then s = string.format("%.17g", v) end
    return s
  end
  error(string.format("parameter '%s' has unsupported type %s", name, t), 0)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta == "number" end
    return a < b
  end)
  return keys
end

local function flatten_into(out, prefix, v, null)
  if v == nil or v == null then return end
  if type(v) ~= "table" or getmetatable(v) == JsonParam then
    out[#out + 1] = { prefix, scalar(v, prefix) }
    return
  end
  for _, k in ipairs(sorted_keys(v)) do
    if type(k) ~= "string" and not compat.tointeger(k) then
      error(string.format("parameter '%s' has a key of type %s", prefix, type(k)), 0)
    end
    local name = prefix == "" and tostring(k) or prefix .. "." .. scalar(k, prefix)
    flatten_into(out, name, v[k], null)
  end
end

M.scalar = scalar
M.flatten_into = flatten_into
--- A table's keys in the order parameters are sent: numbers first, then strings, each sorted.
M.sorted_keys = sorted_keys

--- True when `v` came from as_json.
function M.is_json_param(v)
  return getmetatable(v) == JsonParam
end

--- Flattens a params table into a list of {name, value} string pairs, sorted by name within
-- each level. Raises (level 0 message) on values that cannot be sent.
function M.flatten(params, null)
  local out = {}
  if params == nil then return out end
  if type(params) ~= "table" then error("params must be a table", 0) end
  if next(params) == nil then return out end
  flatten_into(out, "", params, null)
  return out
end

return M
