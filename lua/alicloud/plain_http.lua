--- Plain, unsigned HTTP through the C core, on the calling thread: for the few endpoints
-- that are not OpenAPI (instance metadata, credential URIs). Same libcurl path, timeouts and
-- TLS handling as API calls; no retries.
local core = require("alicloud.core")
local errors = require("alicloud.errors")
local response = require("alicloud.response")
local runtime = require("alicloud.runtime")

local M = {}

local function header_list(h)
  local out = {}
  for k, v in pairs(h or {}) do out[#out + 1] = { tostring(k), tostring(v) } end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

--- t: url, method ("GET"), headers, body, timeout / connect_timeout / read_timeout (seconds),
-- ca_file, insecure. Returns { status, headers, body, retryable } (retryable: the core's
-- verdict, for errors.from_response), or nil and a structured error.
function M.request(t)
  if type(t) ~= "table" or type(t.url) ~= "string" then
    error("plain_http.request: expected a table with a url", 2)
  end
  local scheme, host, path = t.url:match("^(https?)://([^/?#]+)([^#]*)$")
  if not scheme then
    return nil, errors.client(errors.CODES.INVALID_PARAM, "not an http(s) URL: " .. t.url)
  end
  if path == "" then path = "/" end
  local task = core.task({
    signature_version = "none", style = "roa", scheme = scheme, host = host, path = path,
    method = (t.method or "GET"):upper(), headers = header_list(t.headers), body = t.body,
    connect_timeout = t.connect_timeout, read_timeout = t.read_timeout, timeout = t.timeout,
    ca_file = t.ca_file, insecure = t.insecure, max_attempts = 1, raw = true,
  })
  local result = runtime.core():perform(task)
  if result.error then return nil, errors.from_transport(result) end
  return { status = result.status, headers = response.headers(result), body = result.body,
    retryable = result.retryable or false }
end

return M
