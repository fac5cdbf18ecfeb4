--- The command line's parameters: each `--Name value` arrives as a string; the catalogue's kind
-- of the parameter says what Lua value the call takes (an integer, a boolean, a list decoded
-- from JSON, ...), and numbered names (`--Tag.1.Key k`) become the nested tables that are
-- flattened back to those names on the wire. Without a catalogue entry a value stays a string,
-- which is its wire form already.
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")
local json = require("alicloud.json")
local products = require("alicloud.products")

local M = {}

--- The schema of an action ({ wire name = { name, kind, position, fields } }), or nil.
function M.schema(product, action)
  local p = products.get(product)
  if not p or not action then return nil end
  local def = products.action(p, action)
  return def and def.schema
end

local function invalid(name, why)
  return errors.client(errors.CODES.INVALID_PARAM, string.format("--%s: %s", name, why),
    { parameter = name })
end

local function decode(name, v, what)
  local value, why = json.decode(v)
  if value == nil then return nil, invalid(name, what .. " must be JSON (" .. tostring(why) .. ")") end
  return value
end

-- A value of `kind` from the string given.
local function coerce(name, v, kind)
  if kind == "integer" then
    local n = compat.tointeger(tonumber(v))
    if not n then return nil, invalid(name, "must be an integer, got '" .. v .. "'") end
    return n
  elseif kind == "float" then
    local n = tonumber(v)
    if not n then return nil, invalid(name, "must be a number, got '" .. v .. "'") end
    return n
  elseif kind == "boolean" then
    if v == "true" then return true elseif v == "false" then return false end
    return nil, invalid(name, "must be true or false, got '" .. v .. "'")
  elseif kind == "list" then
    if v:match("^%s*%[") then return decode(name, v, "a list") end
    return { v } -- one item
  elseif kind == "struct" or kind == "map" then
    return decode(name, v, "a " .. kind)
  elseif kind == "json" then
    return decode(name, v, "a JSON parameter")
  end
  return v
end

-- Sets t[path...] = value, making the tables between; numbered segments index lists.
local function set_path(t, segments, value, name)
  for i = 1, #segments - 1 do
    local k = segments[i]
    local nxt = t[k]
    if nxt == nil then
      nxt = {}
      t[k] = nxt
    elseif type(nxt) ~= "table" then
      return invalid(name, "conflicts with another parameter")
    end
    t = nxt
  end
  t[segments[#segments]] = value
end

local function segments_of(dotted)
  local out = {}
  for s in dotted:gmatch("[^%.]+") do
    out[#out + 1] = compat.tointeger(tonumber(s)) or s
  end
  return out
end

-- The kind of a nested segment path below `entry` (list items, struct fields, map values).
local function nested_kind(entry, segments)
  for i = 2, #segments do
    if not entry then return nil end
    local seg = segments[i]
    if type(seg) == "number" then
      if entry.kind ~= "list" then return nil end
      if not entry.fields then return i == #segments and "string" or nil end
      entry = { kind = "struct", fields = entry.fields } -- the item
    elseif entry.kind == "map" then
      return i == #segments and "string" or nil
    else
      entry = entry.fields and entry.fields[seg]
    end
  end
  return entry and entry.kind
end

--- The params table for `names` (in the order given) and `values` (name -> string).
-- Returns params, or nil and an SDK.InvalidParam error.
function M.build(product, action, names, values)
  local schema = M.schema(product, action) or {}
  local p = {}
  for _, name in ipairs(names) do
    local v = values[name]
    local entry = schema[name]
    local value, err
    if entry then -- a wire name as the catalogue has it, dots and all
      value, err = coerce(name, v, entry.kind)
      if err then return nil, err end
      p[name] = value
    else
      local segments = segments_of(name)
      local kind = #segments > 1 and nested_kind(schema[segments[1]], segments) or nil
      value, err = coerce(name, v, kind)
      if err then return nil, err end
      err = set_path(p, segments, value, name)
      if err then return nil, err end
    end
  end
  return p
end

--- The listing `--help` prints: alicloud.describe's. Raises on an unknown product or action.
function M.describe(product, action)
  local d, err = require("alicloud").describe(product, action)
  if not d then error(tostring(err), 0) end
  return tostring(d)
end

return M
