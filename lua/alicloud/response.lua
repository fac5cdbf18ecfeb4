--- Turns what the C core delivers into a result table or a structured error, on the Lua
-- thread. A 2xx JSON body arrives already parsed by the worker (`doc`); headers arrive as one
-- packed string and are unpacked only when someone asks (alicloud.meta, an error).
local errors = require("alicloud.errors")
local json = require("alicloud.json")

local M = {}

-- res -> the raw result it came from, or the task of an async call, which makes that raw result
-- (without the body) on demand
local results = setmetatable({}, { __mode = "k" })

--- The response headers of a raw result as a table (lower-case names), unpacked once.
function M.headers(result)
  local h = result.headers
  if h then return h end
  h = {}
  local raw = result.headers_raw
  if raw then
    for name, value in raw:gmatch("(%Z+)%z(%Z*)%z") do h[name] = value end
  end
  result.headers = h
  return h
end

local function invalid(result, why)
  return errors.client(errors.CODES.INVALID_RESPONSE, string.format("HTTP %d with %s", result.status, why),
    { http_status = result.status, attempts = result.attempts,
      request_id = M.headers(result)["x-acs-request-id"] })
end

--- Returns res, or nil and err.
function M.finish(result, raw)
  if result.error then return nil, errors.from_transport(result) end
  local status = result.status
  if status < 200 or status >= 300 then
    M.headers(result)
    return nil, errors.from_response(result)
  end
  if raw then return result.body end
  local doc = result.doc
  if doc == nil then
    -- the worker could not parse it: say why, with lua-cjson's reason and an excerpt
    local body = result.body or ""
    local v, why = json.decode(body)
    if body == "" then return nil, invalid(result, "an empty body") end
    return nil, invalid(result, "a body that is not a JSON object (" ..
      tostring(why or type(v)) .. "): " .. errors.excerpt(body))
  end
  if type(doc) ~= "table" then
    return nil, invalid(result, "a body that is not a JSON object: " .. tostring(doc))
  end
  results[doc] = result
  return doc
end

--- For a plain success delivered as its decoded body: where its metadata is, when asked.
-- Returns res.
function M.remember(res, task)
  results[res] = task
  return res
end

--- alicloud.meta(res) -> { status, headers, request_id, attempts, timings } or nil.
function M.meta(res)
  local result = results[res]
  if not result then return nil end
  if type(result) == "userdata" then
    result = result:result()
    results[res] = result
  end
  local m = result.meta
  if not m then
    local headers = M.headers(result)
    m = {
      status = result.status,
      headers = headers,
      request_id = res.RequestId or res.requestId or res.request_id or headers["x-acs-request-id"],
      attempts = result.attempts,
      timings = { queued = result.queued, total = result.total },
    }
    result.meta = m
  end
  return m
end

return M
