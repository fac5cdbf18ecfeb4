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
local proc = require("spec.support.proc")

local M = {
  ACCESS_KEY_ID = "ak-test",
  ACCESS_KEY_SECRET = "secret-test",
  OTHER_ACCESS_KEY_ID = "ak-other",
  OTHER_ACCESS_KEY_SECRET = "secret-other",
}

-- fake_cloud.py and fake_proxy.py live next to this file, wherever the caller's cwd is.
local function script_path(name)
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or nil
  return (dir or "spec/support") .. "/" .. (name or "fake_cloud.py")
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local data = f:read("*a")
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
local compat = require("alicloud.compat")
local function integerize(v)
  if type(v) == "number" then
    return compat.tointeger(v) or v
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
  return self:request("POST", (self.control or "/__fake/") .. "reset", "{}")
end

function Server:stats()
  return self:request("GET", (self.control or "/__fake/") .. "stats")
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.tls_dir then os.execute("rm -rf " .. shell_quote(self.tls_dir)) end
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

-- Helper programs (the python servers, openssl, mktemp) never run under the sanitizer
-- preloaded for the specs (make asan): they are not under test, python starts slowly there,
-- and their own leaks would abort them.
local UNSANITIZED = "env -u LD_PRELOAD"

-- Starts `script` with `args` in the background, tied to this process (--parent-pid); waits
-- for its port file. Returns pid and the port file's lines.
local function spawn(what, opts, script, args)
  local verbose = opts.verbose
  if verbose == nil then verbose = os.getenv("ALICLOUD_FAKE_VERBOSE") == "1" end
  local port_file = os.tmpname()
  local log_file = not verbose and os.tmpname() or nil
  local cmd = {
    UNSANITIZED, shell_quote(opts.python or "python3"), shell_quote(script_path(script)),
    "--port 0",
    "--port-file", shell_quote(port_file),
    "--parent-pid", tostring(my_pid()),
  }
  for _, a in ipairs(args) do cmd[#cmd + 1] = a end
  if opts.lifetime then cmd[#cmd + 1] = "--lifetime " .. tonumber(opts.lifetime) end
  if verbose then cmd[#cmd + 1] = "--verbose" end
  -- $! of a backgrounded simple command is the python process itself.
  local line = table.concat(cmd, " ") .. " </dev/null >/dev/null 2>"
    .. (log_file and shell_quote(log_file) or "&2") .. " & echo $!"
  local p = assert(io.popen(line, "r"))
  local pid = tonumber(p:read("*l"))
  p:close()

  local function fail(why)
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    local logtext = log_file and read_file(log_file) or ""
    os.remove(port_file)
    if log_file then os.remove(log_file) end
    error(what .. " did not start: " .. why .. (logtext ~= "" and ("\n" .. logtext) or ""), 4)
  end
  if not pid then fail("no pid from shell") end

  -- generous: under a preloaded sanitizer on a loaded machine python starts slowly; a
  -- server that dies is seen at once (alive)
  local deadline = socket.gettime() + 30
  local text
  repeat
    text = read_file(port_file)
    if text and text:match("^%d+\n") then break end
    text = nil
    if not alive(pid) then fail("process exited") end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  if not text then fail("timed out waiting for the port") end
  os.remove(port_file)
  -- python keeps its stderr fd; unlinking now leaves no file behind even if
  -- stop() is never called.  Use ALICLOUD_FAKE_VERBOSE=1 to see the logs.
  if log_file then os.remove(log_file) end
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return pid, lines
end

local function run(cmd)
  local ok = proc.execute(UNSANITIZED .. " " .. cmd .. " >/dev/null 2>&1")
  if not ok then error("command failed: " .. cmd, 3) end
end

--- Generates, with the openssl CLI, into a new temporary directory: a test CA (ca.pem) and
-- four server certificates with their keys, for M.start{ tls = true }:
--   trusted     signed by the CA, for IP 127.0.0.1 and DNS localhost
--   untrusted   self-signed, for 127.0.0.1 and localhost
--   wrong_host  signed by the CA, for wrong-host.invalid only
--   expired     signed by the CA, for 127.0.0.1 and localhost, valid only in January 2020
-- Returns the directory and { name = { cert, key } }.
function M.make_certs()
  local p = assert(io.popen(UNSANITIZED .. " mktemp -d /tmp/alicloud-tls.XXXXXX", "r"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  local q = shell_quote
  local function path(name) return dir .. "/" .. name end
  local newkey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
  local function write(name, text)
    local f = assert(io.open(path(name), "w"))
    f:write(text)
    f:close()
  end
  write("server.ext", san .. "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
  write("wrong.ext", "subjectAltName=DNS:wrong-host.invalid\nbasicConstraints=CA:FALSE\n"
    .. "extendedKeyUsage=serverAuth\n")
  write("index.txt", "")
  write("serial", "1000\n")
  write("ca.cnf", table.concat({
    "[ca]", "default_ca = test",
    "[test]", "database = " .. path("index.txt"), "new_certs_dir = " .. dir,
    "certificate = " .. path("ca.pem"), "private_key = " .. path("ca.key"),
    "serial = " .. path("serial"), "default_md = sha256", "policy = any",
    "copy_extensions = none", "unique_subject = no",
    "[any]", "commonName = supplied", "" }, "\n"))
  run(string.format("openssl req -x509 %s -keyout %s -out %s -days 2 -subj '/CN=alicloud test CA'"
    .. " -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'",
    newkey, q(path("ca.key")), q(path("ca.pem"))))
  local function signed(name, cn, ext, dates)
    run(string.format("openssl req %s -keyout %s -out %s -subj '/CN=%s'", newkey,
      q(path(name .. ".key")), q(path(name .. ".csr")), cn))
    if dates then
      run(string.format("openssl ca -batch -notext -config %s -in %s -out %s -extfile %s %s",
        q(path("ca.cnf")), q(path(name .. ".csr")), q(path(name .. ".pem")), q(path(ext)), dates))
    else
      run(string.format("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s"
        .. " -days 2 -extfile %s", q(path(name .. ".csr")), q(path("ca.pem")), q(path("ca.key")),
        q(path(name .. ".pem")), q(path(ext))))
    end
  end
  signed("trusted", "127.0.0.1", "server.ext")
  signed("wrong_host", "wrong-host.invalid", "wrong.ext")
  signed("expired", "127.0.0.1", "server.ext",
    "-startdate 20200101000000Z -enddate 20200131000000Z")
  run(string.format("openssl req -x509 %s -keyout %s -out %s -days 2 -subj '/CN=127.0.0.1'"
    .. " -addext %s", newkey, q(path("untrusted.key")), q(path("untrusted.pem")), q(san)))
  local certs = {}
  for _, name in ipairs({ "trusted", "untrusted", "wrong_host", "expired" }) do
    certs[name] = { cert = path(name .. ".pem"), key = path(name .. ".key") }
  end
  return dir, certs
end

-- opts: python (interpreter, default "python3"), lifetime (seconds),
--       verbose (default: env ALICLOUD_FAKE_VERBOSE=1; logs go to stderr),
--       tls (true: also serve the API over HTTPS, see M.make_certs and server.tls).
function M.start(opts)
  opts = opts or {}
  local args = { "--host 127.0.0.1" }
  local tls_dir, certs
  if opts.tls then
    tls_dir, certs = M.make_certs()
    for name, c in pairs(certs) do
      args[#args + 1] = string.format("--tls %s %s %s", name, shell_quote(c.cert), shell_quote(c.key))
    end
  end
  local pid, lines = spawn("fake cloud", opts, "fake_cloud.py", args)
  local port = tonumber(lines[1])
  local server = setmetatable({
    host = "127.0.0.1",
    port = port,
    endpoint = "127.0.0.1:" .. port,
    pid = pid,
  }, Server)
  if tls_dir then
    server.tls_dir = tls_dir
    server.ca_file = tls_dir .. "/ca.pem"
    server.tls = {}           -- name -> "127.0.0.1:<port>" of that HTTPS listener
    for i = 2, #lines do
      local name, p = lines[i]:match("^tls (%S+) (%d+)$")
      if name then server.tls[name] = "127.0.0.1:" .. p end
    end
  end
  return server
end

--- A loopback HTTP proxy (fake_proxy.py): CONNECT tunnels and absolute-form requests, counted.
-- opts: python, lifetime, verbose. proxy.url is "http://127.0.0.1:<port>".
function M.start_proxy(opts)
  opts = opts or {}
  local pid, lines = spawn("fake proxy", opts, "fake_proxy.py", {})
  local port = tonumber(lines[1])
  return setmetatable({
    host = "127.0.0.1",
    port = port,
    endpoint = "127.0.0.1:" .. port,
    url = "http://127.0.0.1:" .. port,
    pid = pid,
    control = "/__proxy/",
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
