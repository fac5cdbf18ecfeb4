--- Structured errors: every failure is a table with a `code`, readable with tostring().
-- Server errors come from the response body; client errors are raised by the SDK itself.
local core = require("alicloud.core")
local json = require("alicloud.json")

local M = {}

--- The SDK's own codes by name (errors.CODES.TIMEOUT == "SDK.TimeoutError"): the one Lua home
-- of these strings. The C core's come from its table (core.error_codes, csrc/core/task.c);
-- the ones made only here are listed here. Reading a name that is not a code raises.
M.CODES = {
  ASYNC_NOT_ENABLED = "SDK.AsyncFunctionNotEnabled",
  CAN_NOT_RESOLVE_ENDPOINT = "SDK.CanNotResolveEndpoint",
  CREDENTIALS = "SDK.CredentialsError",
  DEADLOCK = "SDK.Deadlock",
  FOREIGN_YIELD = "SDK.ForeignYield",
  HANDLER = "SDK.HandlerError",
  INVALID_ACTION = "SDK.InvalidAction",
  INVALID_PARAM = "SDK.InvalidParam",
  INVALID_PRODUCT = "SDK.InvalidProduct",
  NOT_YIELDABLE = "SDK.NotYieldable",
  TASK_QUEUE_FULL = "SDK.TaskQueueFull",
  WAIT_TIMEOUT = "SDK.WaitTimeout",
  WAITER_TIMEOUT = "SDK.WaiterTimeout",
}
for name, code in pairs(core.error_codes) do M.CODES[name] = code end
setmetatable(M.CODES, { __index = function(_, name)
  error("alicloud.errors: no error code named " .. tostring(name), 2)
end })
local CODES = M.CODES

local Error = {}
Error.__index = Error
Error.__name = "alicloud.Error"

function Error:__tostring()
  local s = string.format("[%s] %s", tostring(self.code), tostring(self.message or ""))
  if self.http_status then s = s .. string.format(" (HTTP %d)", self.http_status) end
  if self.request_id then s = s .. " request id: " .. tostring(self.request_id) end
  if self.recommend then s = s .. "\nrecommend: " .. tostring(self.recommend) end
  return s
end

-- "failed: " .. err and err .. "\n": an error concatenates as its tostring() text.
function Error.__concat(a, b)
  return tostring(a) .. tostring(b)
end

M.Error = Error

function M.is(v)
  return getmetatable(v) == Error
end

--- A new error; `fields` must hold `code` and `message`. `retryable` is the C core's verdict
-- (csrc/core/retry.c) on a call's outcome, false for errors made in Lua.
function M.new(fields)
  assert(fields.code, "error without a code")
  fields.kind = fields.kind or "client"
  if fields.retryable == nil then fields.retryable = false end
  return setmetatable(fields, Error)
end

function M.client(code, message, extra)
  local e = extra or {}
  e.code, e.message, e.kind = code, message, "client"
  return M.new(e)
end

--- Turns any value raised by Lua code (a string, a table) into a structured error.
function M.from_raised(v, code)
  if M.is(v) then return v end
  if type(v) == "table" and v.code then return M.new(v) end
  return M.client(code or CODES.HANDLER, tostring(v), { cause = v })
end

local function excerpt(body)
  body = body or ""
  if #body > 200 then body = body:sub(1, 200) .. "..." end
  return (body:gsub("[%c]", " "))
end
M.excerpt = excerpt

local function xml_field(body, name)
  return body:match("<" .. name .. ">(.-)</" .. name .. ">")
end

local SERVER_STS_MARK = "server string to sign is:"

-- SignatureDoesNotMatch: compare the server's string-to-sign with ours, never the secret.
-- Security and bearer tokens travel inside strings-to-sign; they are not the secret, but they
-- are credentials: masked wherever an error shows a string-to-sign.
local function mask_tokens(s)
  if type(s) ~= "string" then return s end
  s = s:gsub("((%u%l+Token)%%3D)[%w%%%._~%-]-(%%26)", "%1****%3")
  s = s:gsub("((%u%l+Token)%%3D)[%w%%%._~%-]*$", "%1****")
  s = s:gsub("(x%-acs%-security%-token:)[^\n]*", "%1****")
  s = s:gsub("(x%-acs%-bearer%-token:)[^\n]*", "%1****")
  return s
end
M.mask_tokens = mask_tokens

local function diagnose_signature(e, ours)
  local theirs = e.message and e.message:match(SERVER_STS_MARK .. "%s*(.-)%s*$")
  e.message = mask_tokens(e.message)
  if type(e.data) == "table" then e.data.Message = mask_tokens(e.data.Message) end
  e.string_to_sign = mask_tokens(theirs)
  e.client_string_to_sign = mask_tokens(ours)
  if not theirs or not ours then return end
  if theirs == ours then
    e.diagnosis = "wrong_secret"
    e.recommend = "The server computed the same string-to-sign: the AccessKeySecret is wrong."
  else
    e.diagnosis = "signing_difference"
    e.recommend = "The server signed a different string than the client (compare "
      .. "err.string_to_sign with err.client_string_to_sign); this is a signing bug or a proxy "
      .. "that rewrote the request."
  end
end

--- A server error from an HTTP error response (`result` as the C core delivers it).
function M.from_response(result)
  local body = result.body or ""
  local headers = result.headers or {}
  local fields
  local ctype = headers["content-type"] or ""
  if ctype:find("xml", 1, true) or body:match("^%s*<") then
    fields = {
      code = xml_field(body, "Code"), message = xml_field(body, "Message"),
      request_id = xml_field(body, "RequestId"), host_id = xml_field(body, "HostId"),
      recommend = xml_field(body, "Recommend"),
    }
  else
    local doc = json.decode(body)
    if type(doc) == "table" then
      local detail = doc.AccessDeniedDetail
      fields = {
        code = doc.Code or doc.code, message = doc.Message or doc.message,
        request_id = doc.RequestId or doc.requestId or doc.request_id,
        host_id = doc.HostId or doc.hostId, recommend = doc.Recommend or doc.recommend,
        access_denied_detail = detail ~= json.null and detail or nil,
        data = doc,
      }
    end
  end
  fields = fields or {}
  if not fields.code then
    fields.code = CODES.INVALID_RESPONSE
    fields.message = string.format("HTTP %d with a body that is not an error document: %s",
      result.status, excerpt(body))
  end
  fields.kind = "server"
  fields.http_status = result.status
  fields.request_id = fields.request_id or headers["x-acs-request-id"]
  fields.attempts = result.attempts
  fields.retryable = result.retryable or false
  fields.message = fields.message or ""
  local e = M.new(fields)
  if e.code == "SignatureDoesNotMatch" or e.code == "IncompleteSignature" then
    diagnose_signature(e, result.string_to_sign)
  end
  return e
end

--- A client error for a call that ended without a usable HTTP response.
function M.from_transport(result)
  local e = M.client(result.error, result.message,
    { attempts = result.attempts, retryable = result.retryable or false })
  e.timeout = result.timeout
  return e
end

return M
