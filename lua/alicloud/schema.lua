--- Checking and encoding an action's parameters by its catalogue schema (products.action's
-- `schema`): names are checked before anything is sent, values encoded by kind (list ->
-- Name.1, struct -> Name.Sub, json -> one JSON text, map -> Name.key, scalars as text), and
-- each lands in its position. The rules are in docs/PARAMETERS.md.
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")
local json = require("alicloud.json")
local params = require("alicloud.params")
local products = require("alicloud.products")

local M = {}

local is_json_param = params.is_json_param

--- Names every RPC call may carry besides its action's own: the region and the protocol's
-- own parameters (which the signer adds itself when absent).
M.PROTOCOL = {}
for name in ([[RegionId Action Version Format AccessKeyId SecurityToken BearerToken Signature
  SignatureMethod SignatureVersion SignatureNonce SignatureType Timestamp]]):gmatch("%S+") do
  M.PROTOCOL[name] = true
end

local function invalid(path, fmt, ...)
  error(errors.client(errors.CODES.INVALID_PARAM, string.format("parameter '%s' ", path)
    .. string.format(fmt, ...), { parameter = path }), 0)
end

local sorted_keys = params.sorted_keys

local function describe_value(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

-- A scalar of `kind` as wire text. A table is refused: a string parameter that carries a
-- JSON array (ECS InstanceIds) wants alicloud.as_json(v), the one way to say so.
local function scalar(path, kind, v)
  local t = type(v)
  if t == "table" and not is_json_param(v) then
    invalid(path, "is a %s: a table cannot be sent as one; if it takes a JSON text, "
      .. "pass alicloud.as_json(v)", kind)
  end
  if kind == "integer" then
    if (t == "number" and compat.is_integer(v)) or (t == "string" and v:match("^%-?%d+$")) then
      return params.scalar(v, path)
    end
    invalid(path, "must be an integer, got %s", describe_value(v))
  elseif kind == "float" then
    if t == "number" or (t == "string" and tonumber(v)) then return params.scalar(v, path) end
    invalid(path, "must be a number, got %s", describe_value(v))
  elseif kind == "boolean" then
    if t == "boolean" or v == "true" or v == "false" then return params.scalar(v, path) end
    invalid(path, "must be a boolean, got %s", describe_value(v))
  end
  -- string (and what the catalogue types loosely): text, numbers, booleans, as_json
  if t == "string" or t == "number" or t == "boolean" or is_json_param(v) then
    return params.scalar(v, path)
  end
  invalid(path, "cannot be sent: unsupported type %s", t)
end

local function unknown(path, name, set, where)
  local guess = products.suggest(name, set)
  error(errors.client(errors.CODES.INVALID_PARAM, string.format("%s has no parameter '%s'%s "
    .. "(opts.unchecked = true sends it as it is)", where, path,
    guess and string.format("; did you mean '%s'?", guess) or ""), { parameter = path }), 0)
end

local encode, encode_prefixed -- forward declarations

-- Whether some parameter's wire name starts with `prefix`.
local function has_prefix(schema, prefix)
  for wire in pairs(schema) do
    if wire:sub(1, #prefix) == prefix then return true end
  end
  return false
end

-- The fields of a struct value at `path`; `siblings` (top level only) maps a sub-name to the
-- flat dotted parameter that shares the struct's prefix (SystemDisk.Category beside SystemDisk).
local function encode_struct(out, path, v, fields, ctx, siblings)
  if type(v) ~= "table" or is_json_param(v) or v[1] ~= nil then
    invalid(path, "is a struct: pass a table of its fields { Name = value }")
  end
  for _, k in ipairs(sorted_keys(v)) do
    local sub = path .. "." .. tostring(k)
    local f = fields and fields[k]
    local flat = siblings and siblings[k]
    if f then
      encode(out, sub, v[k], f, ctx)
    elseif flat then
      encode(ctx.outs[flat.position] or out, sub, v[k], flat, ctx)
    elseif siblings and has_prefix(ctx.schema, sub .. ".") then -- deeper flat names
      encode_prefixed(ctx, sub, v[k])
    elseif ctx.checked then
      local set = {}
      for n in pairs(fields or {}) do set[n] = true end
      for n in pairs(siblings or {}) do set[n] = true end
      unknown(sub, tostring(k), set, ctx.where)
    else
      params.flatten_into(out, sub, v[k], json.null)
    end
  end
end

local function encode_list(out, path, v, entry, ctx)
  if type(v) ~= "table" or is_json_param(v) then
    invalid(path, "is a list: pass an array { v1, v2, ... }")
  end
  for _, k in ipairs(sorted_keys(v)) do
    if not compat.is_integer(k) or k < 1 then
      invalid(path, "is a list: key %s is not an index 1, 2, ...", describe_value(k))
    end
    local sub = path .. "." .. string.format("%d", k)
    local item = v[k]
    if item == json.null then -- luacheck: ignore 542
      -- a JSON null item: nothing to send, its number stays taken
    elseif entry.fields then
      encode_struct(out, sub, item, entry.fields, ctx)
    elseif type(item) == "table" and not is_json_param(item) then
      invalid(sub, "is an item of a list of scalars: a table cannot be sent as one")
    else
      out[#out + 1] = { sub, scalar(sub, "string", item) }
    end
  end
end

function encode(out, path, v, entry, ctx, siblings)
  if v == nil or v == json.null then return end
  local kind = entry.kind
  if kind == "list" then
    encode_list(out, path, v, entry, ctx)
  elseif kind == "struct" then
    encode_struct(out, path, v, entry.fields, ctx, siblings)
  elseif kind == "json" then
    local text = v
    if is_json_param(v) then text = json.encode(v.value)
    elseif type(v) ~= "string" then text = json.encode(v) end
    out[#out + 1] = { path, text }
  elseif kind == "map" then
    if type(v) ~= "table" or is_json_param(v) then
      invalid(path, "is a map: pass a table { key = value }")
    end
    params.flatten_into(out, path, v, json.null)
  else
    out[#out + 1] = { path, scalar(path, kind, v) }
  end
end

-- The flat dotted parameters under `name.` (SystemDisk.Category for SystemDisk), by the
-- rest of their name; nil when there are none. Cached per action table.
local function siblings_of(def, name)
  local cache = def._siblings
  if not cache then
    cache = {}
    for wire, entry in pairs(def.schema) do
      local head, rest = wire:match("^([^.]+)%.(.+)$")
      if head then
        cache[head] = cache[head] or {}
        cache[head][rest] = entry
      end
    end
    def._siblings = cache
  end
  return cache[name]
end

-- A table given for a name that is no parameter but the prefix of flat dotted ones (Filter
-- for Filter.1.Key, SystemDisk for SystemDisk.Category): each name it flattens to must be one.
function encode_prefixed(ctx, path, v)
  local entry = ctx.schema[path]
  if entry then
    return encode(ctx.outs[entry.position], path, v, entry, ctx)
  end
  if type(v) ~= "table" or is_json_param(v) then
    return unknown(path, path, ctx.schema, ctx.where)
  end
  for _, k in ipairs(sorted_keys(v)) do
    encode_prefixed(ctx, path .. "." .. tostring(k), v[k])
  end
end

--- Checks and encodes `p` (a call's params) for action table `def` of product `pname`.
-- Returns a table of {name, value} lists by position: Query, Body, Header, Path, and `raw`
-- (name -> the Lua value, for ROA Body parameters, sent as JSON) and `unknown` (name ->
-- value, of names outside the schema when unchecked). Raises (level 0) SDK.InvalidParam.
function M.encode(def, p, pname, checked)
  local outs = { Query = {}, Body = {}, Header = {}, Path = {} }
  local ctx = { schema = def.schema, outs = outs, checked = checked,
    where = pname .. " " .. def.name }
  local roa = def.style == "roa"
  local raw, extra
  for _, k in ipairs(sorted_keys(p)) do
    local v = p[k]
    if type(k) ~= "string" then
      invalid(tostring(k), "is not a name: parameter names are strings")
    end
    local entry = def.schema[k]
    if v == nil or v == json.null then -- luacheck: ignore 542
      -- nothing to send
    elseif entry then
      if roa and entry.position == "Body" then
        raw = raw or {}
        raw[k] = v
      elseif roa and entry.position == "Path" then
        outs.Path[k] = scalar(k, entry.kind, v)
      else
        encode(outs[entry.position], k, v, entry, ctx, siblings_of(def, k))
      end
    elseif M.PROTOCOL[k] and not roa then
      outs.Query[#outs.Query + 1] = { k, scalar(k, "string", v) }
    elseif checked and type(v) == "table" and not is_json_param(v) and siblings_of(def, k) then
      encode_prefixed(ctx, k, v)
    elseif checked then
      unknown(k, k, def.schema, ctx.where)
    else
      extra = extra or {}
      extra[k] = v
    end
  end
  outs.raw, outs.unknown = raw, extra
  return outs
end

return M
