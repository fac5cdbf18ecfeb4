--- Endpoint resolution (reference/openapi-protocol.md §6): a custom product's fixed endpoint,
-- then the user mapping (endpoints.add), then the product's region map (public network only),
-- then the rule <product>[-<network>][.<region>].aliyuncs.com.
-- Products without an endpoint type follow the regional rule: the Go SDK would ask the
-- location service, which we do not call.
local errors = require("alicloud.errors")
local products = require("alicloud.products")

local M = {}

local NETWORKS = { public = "", vpc = "-vpc", share = "-share", ipv6 = "-ipv6",
  proxy = "-proxy", inner = "-inner", dualstack = "-dualstack" }

local mapping = {} -- "region::product" (lower case) -> host

local function key(region, product)
  return region:lower() .. "::" .. product:lower()
end

-- The name the user mapping is keyed by: a product table's name, or the string as given.
local function product_key(product, fn)
  if type(product) == "table" and type(product.name) == "string" then return product.name end
  if type(product) == "string" and product ~= "" then return product end
  error(fn .. ": product must be a name or a product table, got " .. type(product), 3)
end

local function check_region(region, fn)
  if type(region) ~= "string" or region == "" then
    error(fn .. ": region must be a non-empty string, got " .. type(region), 3)
  end
end

--- Maps (region, product) to host for every client; keys are case-insensitive.
function M.add(region, product, host)
  check_region(region, "endpoints.add")
  local name = product_key(product, "endpoints.add")
  if not products.valid_host(host) then
    error("endpoints.add: host must be a host or host:port without scheme or path, got "
      .. tostring(host), 2)
  end
  mapping[key(region, name)] = host
end

function M.remove(region, product)
  check_region(region, "endpoints.remove")
  mapping[key(region, product_key(product, "endpoints.remove"))] = nil
end

function M.clear()
  mapping = {}
end

local function fail(p, region, why)
  return nil, errors.client(errors.CODES.CAN_NOT_RESOLVE_ENDPOINT, string.format(
    "cannot resolve the endpoint of product %s in region %q: %s", p.name, region or "", why),
    { product = p.name, region = region })
end

--- The host for `product` (name or product table) in `region`, or nil and an error.
-- `network`: nil or "public", "vpc", "share", "ipv6", "proxy", "inner", "dualstack".
function M.resolve(product, region, network)
  local name = product_key(product, "endpoints.resolve")
  if region ~= nil and type(region) ~= "string" then
    error("endpoints.resolve: region must be a string or nil, got " .. type(region), 2)
  end
  if network ~= nil and type(network) ~= "string" then
    error("endpoints.resolve: network must be a string or nil, got " .. type(network), 2)
  end
  local suffix = NETWORKS[(network or "public"):lower()]
  if not suffix then
    error("endpoints.resolve: unknown network " .. network
      .. " (expected public, vpc, share, ipv6, proxy, inner or dualstack)", 2)
  end
  if region == "" then region = nil end
  local p = type(product) == "table" and product or products.get(name)
    or { name = name, code = name, endpoint_map = {} }

  if p.endpoint then return p.endpoint end
  if region then
    if not region:match("^[%w%-]+$") then
      return fail(p, region, "not a valid region id")
    end
    region = region:lower()
    local host = mapping[key(region, name)] or mapping[key(region, p.name)]
      or (p.code and mapping[key(region, p.code)])
    if host then return host end
    if suffix == "" and p.endpoint_map and p.endpoint_map[region] then
      return p.endpoint_map[region]
    end
  end
  -- The wire product code, as the Go SDK does ("R-kvstore" gives r-kvstore.<region>...).
  local code = (p.code or p.name):lower()
  if p.endpoint_type == "central" then
    return code .. suffix .. ".aliyuncs.com"
  end
  if not region then
    return fail(p, region, "the region is empty; set a region (e.g. cn-hangzhou) or an endpoint")
  end
  return code .. suffix .. "." .. region .. ".aliyuncs.com"
end

return M
