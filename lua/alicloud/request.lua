--- Turns a call (an action by name, or a CommonRequest) into a C task: everything the core
-- needs, as plain strings and numbers, so a worker never touches Lua. What the calls of a
-- client share (host, credentials, transport) is a template, copied into C once per client
-- and credential snapshot; core.task(template, call) adds the call's own fields. The fields
-- of both are the task description, listed in csrc/lua/task_description.h.
local core = require("alicloud.core")
local config = require("alicloud.config")
local endpoints = require("alicloud.endpoints")
local errors = require("alicloud.errors")
local json = require("alicloud.json")
local params = require("alicloud.params")
local products = require("alicloud.products")
local schema = require("alicloud.schema")

local M = {}

local sysname, machine = core.platform()
M.USER_AGENT = string.format("AlibabaCloud (%s; %s) Lua/%s alicloud/%s",
  sysname, machine, _VERSION:match("%d+%.%d+") or "5.4", core.version)

-- Options a call may carry besides the config fields.
M.CALL_OPTS = { method = true, headers = true, raw = true, endpoint = true, body = true,
  unchecked = true }
-- Fields of a CommonRequest besides the config fields.
M.REQUEST_FIELDS = { action = true, version = true, method = true, style = true, pathname = true,
  path_params = true, query = true, body = true, form = true, headers = true, raw = true,
  endpoint = true, content_type = true }

--- Splits a table into config fields (validated) and the rest (checked against `allowed`).
-- Raises on misuse.
function M.split_options(opts, allowed, what, level)
  if opts == nil then return {} end
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

local provider_lists = {} -- provider name -> { its header pair } (read-only, shared by calls)

-- The headers of a call without the caller's: the Go SDK's x-acs-credentials-provider.
local function provider_list(provider)
  local list = provider_lists[provider]
  if not list then
    list = { { "x-acs-credentials-provider", provider } }
    provider_lists[provider] = list
  end
  return list
end

local function by_name(a, b) return a[1] < b[1] end

-- The caller's headers as sorted pairs, plus the Go SDK's x-acs-credentials-provider.
local function header_pairs(h, provider)
  local out = { provider and provider_list(provider)[1] or nil }
  if h == nil then return out end
  if type(h) ~= "table" then error("headers must be a table", 0) end
  for k, v in pairs(h) do
    if type(k) == "number" and type(v) == "table" then
      out[#out + 1] = { tostring(v[1]), tostring(v[2]) }
    else
      out[#out + 1] = { tostring(k), tostring(v) }
    end
  end
  if #out > 1 then table.sort(out, by_name) end
  return out
end

-- The proxy for a scheme and the no_proxy list, from the options; nil leaves libcurl to the
-- environment (https_proxy, HTTPS_PROXY, http_proxy, no_proxy, NO_PROXY).
local function proxy_for(s, scheme)
  local proxies = s.proxies or {}
  local proxy = s[scheme .. "_proxy"] or proxies[scheme] or proxies[scheme .. "_proxy"]
  return proxy, s.no_proxy or proxies.no_proxy
end

local warned_insecure = false

local function warn_insecure()
  if warned_insecure then return end
  warned_insecure = true
  io.stderr:write("alicloud: insecure = true: TLS certificates are NOT verified "
    .. "(anyone on the path can read and change these calls)\n")
end

-- The transport part of a spec, from merged settings.
local function transport(spec, s)
  spec.scheme = s.scheme
  spec.connect_timeout = s.connect_timeout
  spec.read_timeout = s.read_timeout
  spec.timeout = s.timeout
  spec.insecure = s.insecure
  if s.insecure then warn_insecure() end
  spec.ca_file = s.ca_file
  spec.max_response_bytes = s.max_response_bytes
  spec.proxy, spec.no_proxy = proxy_for(s, spec.scheme)
  local retry = s.retry
  if retry == false then
    spec.max_attempts = 1
  else
    retry = retry or {}
    -- the policy's defaults live in the C core (csrc/core/retry.h): core.defaults
    spec.max_attempts = retry.max_attempts or core.defaults.max_attempts
    spec.backoff_base = retry.base or core.defaults.backoff_base
    spec.backoff_cap = retry.cap or core.defaults.backoff_cap
    spec.retry_unsafe = retry.unsafe and true or false
  end
  spec.user_agent = M.USER_AGENT .. (s.user_agent and (" " .. s.user_agent) or "")
end

-- The fields every request of a client shares for one set of settings: computed once for
-- the client's own settings (calls without per-call options), per call otherwise.
local function common(client, s)
  local cached = client._common
  if cached and s == client.settings then return cached end
  local c = {
    signature_version = s.signature_version or client.product.signature_version,
    version = client.version or client.product.version,
  }
  transport(c, s)
  if s == client.settings then client._common = c end
  return c
end

-- The template for host, credentials and transport: what every request needs. Returns the
-- template, the common fields and the credentials' provider name; nil, err on runtime failures.
-- The client keeps the one for its own settings, rebuilt when the host or the credential
-- snapshot changes (providers hand out a new, immutable snapshot when credentials rotate).
local function base(client, s, endpoint)
  local host = endpoint or client.endpoint or client._host
  if not host then
    local herr
    host, herr = endpoints.resolve(client.product, client.region, client.network)
    if not host then return nil, herr end
    client._host = host -- region, product and network are fixed for a client
  end
  local cred, cerr = client:_credential()
  if not cred then return nil, cerr end
  local snap, err = cred:get()
  if not snap then return nil, err end
  local c = common(client, s)
  local t = client._template
  if t and t.common == c and t.host == host and t.snap == snap then
    return t.core, c, t.provider
  end
  local spec = { host = host, access_key_id = snap.access_key_id,
    access_key_secret = snap.access_key_secret, security_token = snap.security_token,
    bearer_token = snap.bearer_token }
  for k, v in next, c do spec[k] = v end
  local provider = snap.provider
  local tmpl = core.template(spec)
  if s == client.settings then
    client._template = { core = tmpl, common = c, host = host, snap = snap, provider = provider }
  end
  return tmpl, c, provider
end

-- Settings for one call: the client's own unless the call overrides config fields.
local function settings_for(client, opts, what, level)
  if opts == nil then return client.settings end
  local inline = M.split_options(opts, M.CALL_OPTS, what, level + 1)
  if next(inline) == nil then return client.settings end
  return config.merge(client.settings, inline)
end

local function encode_segment(v)
  return (tostring(v):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

--- A decoded path with [Name] placeholders filled from `values`, every segment
-- percent-encoded. Raises (level 0) on a missing placeholder value.
function M.encode_path(pattern, values)
  return (pattern:gsub("[^/]+", function(segment)
    local out, pos = {}, 1
    for first, name, after in segment:gmatch("()%[([%w_%-%.]+)%]()") do
      local v = values and values[name]
      if v == nil then error(string.format("missing path parameter '%s'", name), 0) end
      out[#out + 1] = encode_segment(segment:sub(pos, first - 1))
      out[#out + 1] = encode_segment(v)
      pos = after
    end
    out[#out + 1] = encode_segment(segment:sub(pos))
    return table.concat(out)
  end))
end

local function body_of(value)
  if type(value) == "string" then return value, nil end
  return json.encode(value), "application/json"
end

-- What a call raised while being built (unsendable parameters), as SDK.InvalidParam.
local function invalid_param(err)
  if errors.is(err) then return err end
  return errors.client(errors.CODES.INVALID_PARAM, tostring(err))
end


-- Where a ROA action's params go: the catalogue's positions; unknown ones in the body when
-- the method carries one, otherwise in the query. Returns query, body, content_type.
local function place_roa_params(headers, def, p, method)
  local body, query = {}, {}
  local has_body = method ~= "GET" and method ~= "HEAD" and method ~= "DELETE"
  for k, v in pairs(p) do
    local where = def.params and def.params[k]
    if where == "Query" or (where == nil and not has_body) then
      query[k] = v
    elseif where == "Header" then
      headers[#headers + 1] = { k, params.scalar(v, k) }
    elseif where == "Body" or (where == nil and has_body) then
      body[k] = v
    end
  end
  if next(body) then return params.flatten(query, json.null), body_of(body) end
  return params.flatten(query, json.null)
end

-- The RegionId parameter of a region's RPC calls, alone and as the whole query of a call
-- without params (read-only, shared by calls: C copies them, nothing appends to them).
local region_pairs, region_queries = {}, {}
local NO_HEADERS = {}

local function region_pair(region)
  local pair = region_pairs[region]
  if not pair then
    pair = { "RegionId", region }
    region_pairs[region] = pair
    region_queries[region] = { pair }
  end
  return pair
end

local function append(list, more)
  for i = 1, #more do list[#list + 1] = more[i] end
  return list
end

-- The parts of a call whose action has a schema: names checked (unless `checked` is false),
-- values encoded by kind, each in its position. Returns headers, path, query, form, body,
-- content_type; raises (level 0) on unsendable parameters.
local function typed_parts(def, product, method, p, checked, headers, region)
  local o = schema.encode(def, p, product, checked)
  if #o.Header > 0 then append(headers, o.Header) end
  local query, form, body, content_type = o.Query, nil, nil, nil
  local extra = o.unknown
  if def.style == "roa" then
    local path = M.encode_path(def.path or "/", o.Path)
    local raw = o.raw
    if extra then -- names outside the schema, placed as for an action without one
      local has_body = method ~= "GET" and method ~= "HEAD" and method ~= "DELETE"
      if has_body then
        raw = raw or {}
        for k, v in pairs(extra) do raw[k] = v end
      else
        append(query, params.flatten(extra, json.null))
      end
    end
    if raw then body, content_type = body_of(raw) end
    return headers, path, query, nil, body, content_type
  end
  if extra then append(query, params.flatten(extra, json.null)) end
  if region and p.RegionId == nil then query[#query + 1] = region_pair(region) end
  if #o.Body > 0 then form = o.Body end
  return headers, "/", query, form, body, content_type
end

-- The parts of client:Action(p, opts) that come from the params: headers, path, query, form,
-- body and content type. Raises (level 0) on unsendable parameters.
local function action_parts(def, product, method, p, opts, checked, region, provider)
  local headers
  if opts.headers == nil and (def.style ~= "roa" and not def.schema) then
    headers = provider and provider_list(provider) or NO_HEADERS -- shared: nothing adds to it
  else
    headers = header_pairs(opts.headers, provider)
  end
  local path, query, form, body, content_type = "/"
  if def.schema and p ~= nil and next(p) ~= nil then
    headers, path, query, form, body, content_type = typed_parts(def, product, method, p,
      checked, headers, region)
  elseif def.style == "roa" then
    p = p or {}
    path = M.encode_path(def.path or "/", p)
    query, body, content_type = place_roa_params(headers, def, p, method)
  elseif region and not (p and p.RegionId) then
    if p == nil or next(p) == nil then
      region_pair(region)
      query = region_queries[region] -- the usual DescribeX({})
    else
      query = params.flatten(p, json.null)
      query[#query + 1] = region_pair(region)
    end
  else
    query = params.flatten(p, json.null)
  end
  if opts.body ~= nil then body, content_type = body_of(opts.body) end
  return headers, path, query, form, body, content_type
end

local NO_OPTS = {}
local read_only_actions = {} -- action name -> products.is_read_only(name), computed once
-- The description of for_action's calls, refilled for each (core.task copies it into C at
-- once): no table to allocate and collect per call (docs/PERFORMANCE.md).
local action_call = {}

--- The task for client:Action(params, opts). Returns task, or nil and err.
function M.for_action(client, action, p, opts, level)
  local s = client.settings
  if opts == nil then
    opts = NO_OPTS
  else
    s = settings_for(client, opts, action, level + 1)
  end
  local actions = client._actions
  local def = actions[action]
  if not def then
    local suggestion
    def, suggestion = products.action(client.product, action)
    if not def then
      return nil, errors.client(errors.CODES.INVALID_ACTION, string.format("%s has no action '%s'%s",
        client.product.name, action, suggestion and ("; did you mean " .. suggestion .. "?") or ""))
    end
    actions[action] = def
  end
  local tmpl, err, provider = base(client, s, opts.endpoint)
  if not tmpl then return nil, err end
  local read_only = def.read_only
  if read_only == nil then
    read_only = read_only_actions[action]
    if read_only == nil then
      read_only = products.is_read_only(action)
      read_only_actions[action] = read_only
    end
  end
  local method = opts.method and opts.method:upper()
    or def.method or (def.style == "roa" and "GET" or "POST")
  local checked = not opts.unchecked and s.check_params ~= false
  local ok, headers, path, query, form, body, content_type = pcall(action_parts, def,
    client.product.name, method, p, opts, checked, client.region, provider)
  if not ok then return nil, invalid_param(headers) end
  local call = action_call
  call.style, call.action, call.method, call.path = def.style, action, method, path
  -- each action with its own version, unless the client pinned one
  call.version = not client.version and def.version or nil
  call.query, call.form, call.headers = query, form, headers
  call.body, call.content_type = body, content_type
  call.read_only, call.raw = read_only, opts.raw
  local task = core.task(tmpl, call)
  -- not kept alive until the next call
  call.query, call.form, call.headers, call.body = nil, nil, nil, nil
  return task
end

--- The task for client:request(req), the CommonRequest. Returns task, or nil and err.
function M.for_common(client, req, level)
  if type(req) ~= "table" then error("request: expected a table", level + 1) end
  local inline = M.split_options(req, M.REQUEST_FIELDS, "request", level + 1)
  local s = next(inline) == nil and client.settings or config.merge(client.settings, inline)
  local style = req.style or (req.pathname and "roa") or client.product.style or "rpc"
  if style ~= "rpc" and style ~= "roa" then error("request: style must be rpc or roa", level + 1) end
  if style == "rpc" and type(req.action) ~= "string" then
    error("request: an RPC request needs an action", level + 1)
  end
  for _, k in ipairs({ "action", "version", "method", "pathname", "content_type" }) do
    if req[k] ~= nil and type(req[k]) ~= "string" then
      error(string.format("request: %s must be a string", k), level + 1)
    end
  end
  local tmpl, c, provider = base(client, s, req.endpoint)
  if not tmpl then return nil, c end
  if c.signature_version == "v3" and type(req.action) ~= "string" then
    error("request: V3 signing needs an action (it is signed as x-acs-action)", level + 1)
  end
  local call = { style = style, action = req.action, version = req.version, raw = req.raw }
  call.method = (req.method or (style == "roa" and "GET" or "POST")):upper()
  -- the action decides (in RPC any action may go over GET); a ROA request without one: GET
  if req.action then
    call.read_only = products.is_read_only(req.action)
  else
    call.read_only = call.method == "GET"
  end
  local ok, berr = pcall(function()
    call.headers = header_pairs(req.headers, provider)
    call.path = style == "roa" and M.encode_path(req.pathname or "/", req.path_params) or "/"
    call.query = params.flatten(req.query, json.null)
    if style == "rpc" and client.region and not (req.query and req.query.RegionId) then
      call.query[#call.query + 1] = { "RegionId", client.region }
    end
    if req.form ~= nil then call.form = params.flatten(req.form, json.null) end
    if req.body ~= nil then call.body, call.content_type = body_of(req.body) end
    if req.content_type then call.content_type = req.content_type end
  end)
  if not ok then return nil, invalid_param(berr) end
  return core.task(tmpl, call)
end

return M
