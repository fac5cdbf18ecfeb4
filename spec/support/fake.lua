-- Start, control and stop the fake Alibaba Cloud server (fake_cloud.py) from
-- specs and examples.  See spec/support/README.md.
--
--   local fake = require("spec.support.fake")
--   local server = fake.start()          -- server.endpoint == "127.0.0.1:<port>"
--   server:config{ delay = 0.1 }
--   server:stop()

local http = require("socket.http")
local ltn12 = require("ltn12")
local socket = require("socket")
local cjson = require("cjson")

local M = {
  ACCESS_KEY_ID = "ak-test",
  ACCESS_KEY_SECRET = "secret-test",
  OTHER_ACCESS_KEY_ID = "ak-other",
  OTHER_ACCESS_KEY_SECRET = "secret-other",
}

-- fake_cloud.py lives next to this file, wherever the caller's cwd is.
local function script_path()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or nil
  return (dir or "spec/support") .. "/fake_cloud.py"
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

local function my_pid()
  -- /proc/self is the Lua interpreter itself (io.open runs in-process).
  local stat = read_file("/proc/self/stat")
  local pid = stat and tonumber(stat:match("^(%d+)"))
  return assert(pid, "cannot read /proc/self/stat")
end

-- Gone, or a zombie waiting to be reaped: either way it no longer serves.
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return false end
  return stat:match("%) (%a)") ~= "Z"
end

-- Debian's lua-cjson decodes every number as a float under Lua 5.4.
local function integerize(v)
  if type(v) == "number" then
    return math.tointeger(v) or v
  elseif type(v) == "table" then
    for k, x in pairs(v) do v[k] = integerize(x) end
  end
  return v
end

local Server = {}
Server.__index = Server

function Server:request(method, path, body)
  local out = {}
  local headers = nil
  if body then
    headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#body) }
  end
  local ok, code = http.request{
    url = "http://127.0.0.1:" .. self.port .. path,
    method = method,
    headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(out),
  }
  local text = table.concat(out)
  if not ok then error("fake cloud: " .. method .. " " .. path .. " failed: " .. tostring(code), 2) end
  if code ~= 200 then error("fake cloud: " .. method .. " " .. path .. " -> " .. code .. " " .. text, 2) end
  return integerize(cjson.decode(text))
end

function Server:config(tbl)
  return self:request("POST", "/__fake/config", cjson.encode(tbl or {}))
end

function Server:reset()
  return self:request("POST", "/__fake/reset", "{}")
end

function Server:stats()
  return self:request("GET", "/__fake/stats")
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if not self.pid then return end -- attached: whoever started it stops it
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  local deadline = socket.gettime() + 5
  while alive(self.pid) do
    if socket.gettime() > deadline then
      os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
      break
    end
    socket.sleep(0.02)
  end
end

-- opts: python (interpreter, default "python3"), lifetime (seconds),
--       verbose (default: env ALICLOUD_FAKE_VERBOSE=1; logs go to stderr).
function M.start(opts)
  opts = opts or {}
  local verbose = opts.verbose
  if verbose == nil then verbose = os.getenv("ALICLOUD_FAKE_VERBOSE") == "1" end
  local port_file = os.tmpname()
  local log_file = not verbose and os.tmpname() or nil
  local cmd = {
    shell_quote(opts.python or "python3"), shell_quote(script_path()),
    "--host 127.0.0.1 --port 0",
    "--port-file", shell_quote(port_file),
    "--parent-pid", tostring(my_pid()),
  }
  if opts.lifetime then cmd[#cmd + 1] = "--lifetime " .. tonumber(opts.lifetime) end
  if verbose then cmd[#cmd + 1] = "--verbose" end
  -- $! of a backgrounded simple command is the python process itself.
  local line = table.concat(cmd, " ") .. " </dev/null >/dev/null 2>"
    .. (log_file and shell_quote(log_file) or "&2") .. " & echo $!"
  local p = assert(io.popen(line, "r"))
  local pid = tonumber(p:read("l"))
  p:close()

  local function fail(why)
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    local logtext = log_file and read_file(log_file) or ""
    os.remove(port_file)
    if log_file then os.remove(log_file) end
    error("fake cloud did not start: " .. why .. (logtext ~= "" and ("\n" .. logtext) or ""), 3)
  end
  if not pid then fail("no pid from shell") end

  local deadline = socket.gettime() + 10
  local port
  repeat
    port = tonumber((read_file(port_file) or ""):match("^(%d+)"))
    if port then break end
    if not alive(pid) then fail("process exited") end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  if not port then fail("timed out waiting for the port") end
  os.remove(port_file)
  -- python keeps its stderr fd; unlinking now leaves no file behind even if
  -- stop() is never called.  Use ALICLOUD_FAKE_VERBOSE=1 to see the logs.
  if log_file then os.remove(log_file) end

  return setmetatable({
    host = "127.0.0.1",
    port = port,
    endpoint = "127.0.0.1:" .. port,
    pid = pid,
  }, Server)
end

--- A server started outside this process ("127.0.0.1:<port>"), e.g. by with_fake.sh for
-- runs where this process cannot spawn children (ThreadSanitizer breaks /bin/sh).
function M.attach(endpoint)
  local host, port = endpoint:match("^([%d%.]+):(%d+)$")
  assert(host == "127.0.0.1", "the fake cloud only runs on 127.0.0.1")
  return setmetatable({ host = host, port = tonumber(port), endpoint = endpoint }, Server)
end

--- The server named by ALICLOUD_FAKE_ENDPOINT if set, otherwise a new one.
function M.start_or_attach(opts)
  local endpoint = os.getenv("ALICLOUD_FAKE_ENDPOINT")
  if endpoint and endpoint ~= "" then return M.attach(endpoint) end
  return M.start(opts)
end

return M
