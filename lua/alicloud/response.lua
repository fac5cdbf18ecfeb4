--- Turns what the C core delivers (status, headers, body or a transport error) into a result
-- table or a structured error, on the Lua thread. alicloud.meta(res) finds the HTTP details.
local errors = require("alicloud.errors")
local json = require("alicloud.json")

local M = {}

local metas = setmetatable({}, { __mode = "k" })

--- Returns res, or nil and err.
function M.finish(result, raw)
  if result.error then return nil, errors.from_transport(result) end
  local status = result.status
  if status < 200 or status >= 300 then return nil, errors.from_response(result) end
  if raw then return result.body end
  local body = result.body
  local doc, why = json.decode(body)
  if type(doc) ~= "table" then
    why = body == "" and "an empty body" or ("a body that is not a JSON object (" ..
      tostring(why or type(doc)) .. "): " .. errors.excerpt(body))
    return nil, errors.client("SDK.InvalidResponse",
      string.format("HTTP %d with %s", status, why),
      { http_status = status, attempts = result.attempts,
        request_id = result.headers and result.headers["x-acs-request-id"] })
  end
  local headers = result.headers or {}
  metas[doc] = {
    status = status,
    headers = headers,
    request_id = doc.RequestId or doc.requestId or doc.request_id or headers["x-acs-request-id"],
    attempts = result.attempts,
    timings = { queued = result.queued, total = result.total },
  }
  return doc
end

--- alicloud.meta(res) -> { status, headers, request_id, attempts, timings } or nil.
function M.meta(res)
  return metas[res]
end

return M
