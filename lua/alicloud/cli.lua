--- The `alicloud` command line (bin/alicloud): one call, every item of a paged action, or a
-- bulk file of calls run concurrently, their results printed as JSON.
--   alicloud <product> <Action> [--Name value ...] [options]
local alicloud = require("alicloud")
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")
local json = require("alicloud.json")
local params = require("alicloud.cli_params")
local profile = require("alicloud.credentials.profile")

local M = {}

M.USAGE = [[
usage: alicloud <product> <Action> [--Name value ...] [options]
       alicloud <product> <Action> --help      the action's parameters
       alicloud <product> --help               the product's actions

Parameters: --Name value or --Name=value; a list, struct or map parameter takes JSON
(--InstanceId '["i-1","i-2"]') or numbered names (--Tag.1.Key k --Tag.1.Value v); other
values are sent as typed. A name without a capital (--page_size) is a parameter when the
action lists it and is not one of the options below; give one that is in a --bulk line.

options:
  --region R                 region (default: $ALIBABA_CLOUD_REGION_ID, else the profile's
                             region_id, else cn-hangzhou)
  --endpoint HOST[:PORT]     send to this host instead of the product's endpoint
  --scheme http|https        (default https)
  --profile P                credentials and region_id from profile P of ~/.aliyun/config.json
                             or ~/.alibabacloud/credentials (default: the credentials chain,
                             and the region_id of $ALIBABA_CLOUD_PROFILE or the file's default)
  --signature-version v1|v3  (default: the product's)
  --all-pages                every item of a paged action, one JSON line each
  --bulk FILE                one parameter object (JSON) per line of FILE ("-": stdin); writes
                             one line per input line, in order: {"ok": ...} or {"error": {...}}
  --concurrency N            calls in flight in bulk mode (default 10)
  --rate R                   at most R calls per second (any mode)
  --progress                 a progress bar on stderr in bulk mode (default: when a terminal)
  --version                  the module's version and the Lua running it

Exit status: 0 on success; 1 when a call (or a bulk line) failed; 2 on a usage error;
130 when a bulk run was interrupted (SIGINT): what was done is printed first.
]]

-- Options that take a value, and flags.
local VALUED = { region = true, endpoint = true, scheme = true, profile = true,
  ["signature-version"] = true, bulk = true, concurrency = true, rate = true }
local FLAGS = { ["all-pages"] = true, progress = true, help = true, version = true }

-- Does the action's schema list parameter `name` (or the first segment of a dotted one)? For the
-- names that do not start with a capital (ROA's task_id, page_size): they read like options.
local function listed(product, action, name)
  if not (product and action) then return false end
  local ok, schema = pcall(params.schema, product, action)
  return ok and schema ~= nil and (schema[name] or schema[name:match("^[^%.]+")]) ~= nil
end

--- Parses argv into { product, action, params (strings by dotted name, in order), options };
-- returns nil and a message on a usage error.
function M.parse(argv)
  local o = { names = {}, values = {}, opt = {} }
  local positional = {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-h" then a = "--help" end
    local name, inline = a:match("^%-%-([^=]+)=(.*)$")
    if not name then name = a:match("^%-%-(.+)$") end
    if not name then
      positional[#positional + 1] = a
    elseif name:match("^%u") or (not FLAGS[name] and not VALUED[name]
        and listed(positional[1], positional[2], name)) then -- a parameter
      local v = inline
      if v == nil then
        i = i + 1
        v = argv[i]
        if v == nil then return nil, "--" .. name .. " needs a value" end
      end
      if o.values[name] == nil then o.names[#o.names + 1] = name end
      o.values[name] = v
    elseif FLAGS[name] then
      if inline ~= nil then return nil, "--" .. name .. " takes no value" end
      o.opt[name] = true
    elseif VALUED[name] then
      local v = inline
      if v == nil then
        i = i + 1
        v = argv[i]
        if v == nil then return nil, "--" .. name .. " needs a value" end
      end
      if v == "" then return nil, "--" .. name .. " needs a value" end
      o.opt[name] = v
    else
      return nil, "unknown option --" .. name
    end
    i = i + 1
  end
  if #positional > 2 then return nil, "unexpected argument '" .. positional[3] .. "'" end
  o.product, o.action = positional[1], positional[2]
  local opt = o.opt
  if opt.scheme and opt.scheme ~= "http" and opt.scheme ~= "https" then
    return nil, "--scheme must be http or https"
  end
  if opt["signature-version"] and opt["signature-version"] ~= "v1"
      and opt["signature-version"] ~= "v3" then
    return nil, "--signature-version must be v1 or v3"
  end
  if opt.concurrency then
    local n = compat.tointeger(tonumber(opt.concurrency))
    if not n or n < 1 or n > 1024 then return nil, "--concurrency must be an integer 1..1024" end
    opt.concurrency = n
  end
  if opt.rate then
    local r = tonumber(opt.rate)
    if not r or r <= 0 or r == math.huge then return nil, "--rate must be a positive number" end
    opt.rate = r
  end
  if opt.bulk and opt["all-pages"] then return nil, "--bulk and --all-pages do not go together" end
  return o
end

-- The region variables the aliyun CLI reads, in its order (less its bare REGION_ID and REGION).
local REGION_VARS = { "ALIBABA_CLOUD_REGION_ID", "ALIBABACLOUD_REGION_ID", "ALICLOUD_REGION_ID" }

local function nonempty(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

--- The region_id of profile `name` (else $ALIBABA_CLOUD_PROFILE, else the file's default one),
-- the profile credentials.from_profile would take. nil when there is none.
function M.profile_region(name, getenv)
  return profile.region_id({ profile = nonempty(name), env = getenv })
end

--- The region for parsed options and where it came from: --region, else the environment, else
-- the profile's region_id, else cn-hangzhou. Flag over environment over file, as the README says.
function M.region(o, getenv)
  getenv = getenv or os.getenv
  if o.opt.region then return o.opt.region, "--region" end
  for _, k in ipairs(REGION_VARS) do
    local r = nonempty(getenv(k))
    if r then return r, "$" .. k end
  end
  local r = M.profile_region(o.opt.profile, getenv)
  if r then return r, "the profile's region_id" end
  return "cn-hangzhou", "the default"
end

--- The client for parsed options; raises (a usage error) on an unknown product.
function M.client(o)
  local opt = o.opt
  local region, from = M.region(o)
  -- it becomes part of a host name: refuse what would send the call somewhere odd
  if not region:match("^[%w][%w%-]*$") then
    error(string.format("region '%s' (%s) is not a region id such as cn-hangzhou", region, from), 0)
  end
  local copts = {
    region = region,
    endpoint = opt.endpoint,
    scheme = opt.scheme,
    signature_version = opt["signature-version"],
    rate_limit = opt.rate,
  }
  if opt.profile then
    local cred, err = alicloud.credentials.from_profile({ profile = opt.profile })
    if not cred then return nil, err end
    copts.credential = cred
  end
  return alicloud.client(o.product, copts)
end

--- A settled call as a bulk output line's table: { ok = res } or { error = {...} }.
function M.error_table(err)
  -- a raised value, not an error table: the code errors.from_raised gives it
  if type(err) ~= "table" then return { code = errors.CODES.HANDLER, message = tostring(err) } end
  local e = {}
  for _, k in ipairs({ "code", "message", "kind", "http_status", "request_id", "host_id",
    "recommend", "retryable", "attempts", "parameter" }) do
    e[k] = err[k]
  end
  return e
end

local function write_error(err)
  io.stderr:write("alicloud: ", tostring(err), "\n")
end

-- --help for a product or an action: the catalogue's listing.
local function help(o)
  if not o.product then
    io.stdout:write(M.USAGE)
    return 0
  end
  local ok, listing = pcall(params.describe, o.product, o.action)
  if not ok or not listing then
    io.stderr:write("alicloud: ", tostring(ok and "no description" or listing), "\n")
    return 2
  end
  io.stdout:write(listing, listing:sub(-1) == "\n" and "" or "\n")
  return 0
end

local function single(client, o, p)
  local res, err = client:call(o.action, p)
  if not res then
    write_error(err)
    return 1
  end
  io.stdout:write(json.encode(res), "\n")
  return 0
end

local function all_pages(client, o, p)
  for item, err in client:items(o.action, p) do
    if not item then
      write_error(err)
      return 1
    end
    io.stdout:write(json.encode(item), "\n")
  end
  return 0
end

--- Runs the command line with `argv` (a list of strings); returns the exit status.
function M.main(argv)
  local o, why = M.parse(argv)
  if not o then
    io.stderr:write("alicloud: ", why, "\n", M.USAGE)
    return 2
  end
  if o.opt.help then return help(o) end
  if o.opt.version then -- which Lua bin/alicloud picked, for a bug report
    local jit = rawget(_G, "jit")
    io.stdout:write("alicloud ", alicloud.VERSION, " (", jit and jit.version or _VERSION, ")\n")
    return 0
  end
  if not o.product or not o.action then
    io.stderr:write(M.USAGE)
    return 2
  end
  local made, client, cerr = pcall(M.client, o)
  if not made then
    io.stderr:write("alicloud: ", tostring(client):gsub("^[^:]*:%d+: ", ""), "\n")
    return 2
  end
  if not client then
    write_error(cerr)
    return 1
  end
  if o.opt.bulk then return require("alicloud.cli_bulk").run(client, o) end
  local p, perr = params.build(o.product, o.action, o.names, o.values)
  if not p then
    write_error(perr)
    return 1
  end
  if o.opt["all-pages"] then return all_pages(client, o, p) end
  return single(client, o, p)
end

return M
