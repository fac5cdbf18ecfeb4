--- alicloud.describe(product [, action]): the catalogue's schema as plain tables, for people
-- (tostring lists it) and for tools (a CLI's --help). Tables are fresh copies: change them
-- freely.
local errors = require("alicloud.errors")
local products = require("alicloud.products")

local M = {}

local Product = { __name = "alicloud.ProductDescription" }
local Action = { __name = "alicloud.ActionDescription" }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- A schema level (wire name -> entry) as a list sorted by name: { name, kind, position,
-- fields = (the same, for struct kinds and list items that are structs) }.
local function param_list(level)
  if not level then return nil end
  local out = {}
  for _, name in ipairs(sorted_keys(level)) do
    local e = level[name]
    out[#out + 1] = { name = e.name, kind = e.kind, position = e.position,
      fields = param_list(e.fields) }
  end
  return out
end

local function copy(t)
  if not t then return nil end
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function lines_of(list, depth, out)
  for _, p in ipairs(list) do
    local label = string.rep("  ", depth) .. p.name .. (p.kind == "list" and p.fields and ".N"
      or "")
    out[#out + 1] = (string.format("  %-44s %-8s %s", label, p.kind, p.position or "")
      :gsub("%s+$", ""))
    if p.fields then lines_of(p.fields, depth + 1, out) end
  end
end

function Action.__tostring(d)
  local out = { string.format("%s %s (API %s, %s %s%s)%s", d.product, d.name, d.version,
    d.style, d.method, d.path and (" " .. d.path) or "", d.read_only and ", read-only" or "") }
  local pg = d.paging
  if pg and pg.style == "token" then
    out[#out + 1] = string.format("paging: by token (%s in, %s out), items %s", pg.token_in,
      pg.token_out, pg.items)
  elseif pg then
    out[#out + 1] = "paging: by page (PageNumber, PageSize), items " .. pg.items
  end
  if d.params then
    out[#out + 1] = "parameters (name, kind, position; fields indented):"
    lines_of(d.params, 0, out)
  else
    out[#out + 1] = "parameters: none listed in the catalogue (names are sent unchecked)"
  end
  return table.concat(out, "\n")
end

function Product.__tostring(d)
  local out = { string.format("%s (code %s, API %s, %s, %d actions):", d.name, d.code,
    d.version, d.style, #d.actions) }
  for _, a in ipairs(d.actions) do out[#out + 1] = "  " .. a end
  return table.concat(out, "\n")
end

local function describe_action(p, name)
  local a, _, msg = products.action(p, name)
  if not a then return nil, errors.client(errors.CODES.INVALID_ACTION, msg) end
  return setmetatable({ product = p.name, name = a.name, version = a.version or p.version,
    method = a.method, style = a.style, path = a.path, read_only = a.read_only,
    paging = copy(a.paging), params = param_list(a.schema) }, Action)
end

--- The description of a product (its actions) or of one of its actions (version, method,
-- parameters with kind, position and nested fields, paging). Returns it, or nil and an
-- SDK.InvalidProduct / SDK.InvalidAction error (with a "did you mean").
function M.describe(product, action)
  if type(product) ~= "string" then
    error("describe: product must be a name (string), got " .. type(product), 2)
  end
  if action ~= nil and type(action) ~= "string" then
    error("describe: action must be a string, got " .. type(action), 2)
  end
  local p = products.get(product)
  if not p then
    local set = {}
    for _, n in ipairs(products.names()) do set[n] = true end
    local guess = products.suggest(product, set)
    return nil, errors.client(errors.CODES.INVALID_PRODUCT, string.format("no product %q in the catalogue%s",
      product, guess and string.format("; did you mean %q?", guess) or ""))
  end
  if action then return describe_action(p, action) end
  local versions = {}
  for i, v in ipairs(p.versions) do versions[i] = v end
  return setmetatable({ name = p.name, code = p.code, version = p.version, versions = versions,
    style = p.style, endpoint_type = p.endpoint_type, actions = products.action_names(p) },
    Product)
end

return M
