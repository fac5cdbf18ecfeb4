-- A real nginx with its Lua module, started by a spec on loopback: a generated nginx.conf in
-- a temporary prefix, a free port, the master in the foreground of a background shell
-- (daemon off), its error log read back. nginx loads alicloud from this tree's LuaJIT build
-- (build-luajit/, `make LUA=luajit all`), as lua-nginx-module runs LuaJIT.
--
--   local nginx = require("spec.support.nginx")
--   local srv = nginx.start{ http = "...", workers = 1 }   -- @PORT@ in the text: its port
--   srv:get("/path") -> status, body, seconds;  srv:reload();  srv:stop()
local socket = require("socket")

local M = {}

local MODULES = "/usr/share/nginx/modules"

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Helper programs never run under the sanitizer preloaded for the specs (make asan): their
-- own leaks would abort them (as in fake.lua).
local UNSANITIZED = "env -u LD_PRELOAD "

local function shell(cmd)
  local p = assert(io.popen(UNSANITIZED .. cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match("%) (%a)") ~= "Z"
end
M.alive = alive

--- The Threads: line of /proc/<pid>/status, or nil when the process is gone.
function M.threads(pid)
  local status = read_file("/proc/" .. pid .. "/status")
  return status and tonumber(status:match("\nThreads:%s*(%d+)"))
end

-- A port nothing listens on now (the kernel's choice for port 0).
local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

local ROOT = shell("id -u"):match("^0%s*$") ~= nil

local function repo_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/spec/support/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then dir = shell("pwd"):gsub("%s+$", "") .. "/" .. dir end
  return dir
end

local Nginx = {}
Nginx.__index = Nginx

--- The error log so far.
function Nginx:log()
  return read_file(self.prefix .. "/error.log") or ""
end

--- The worker processes' pids (children of the master), sorted.
function Nginx:workers()
  local pids = {}
  for pid in shell("ls /proc"):gmatch("%d+") do
    local stat = read_file("/proc/" .. pid .. "/stat")
    local ppid = stat and tonumber(stat:match("%) %a (%d+)"))
    if ppid == self.pid and alive(pid) then pids[#pids + 1] = tonumber(pid) end
  end
  table.sort(pids)
  return pids
end

--- Opens a request without reading the answer: returns the connected socket.
function Nginx:send(path)
  local c = assert(socket.tcp())
  c:settimeout(30)
  assert(c:connect("127.0.0.1", self.port))
  assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
  return c
end

--- Reads the answer of a request opened with send: status, body.
function Nginx.receive(_, c)
  local text = c:receive("*a")
  c:close()
  if not text then return nil, "no answer" end
  local status = tonumber(text:match("^HTTP/1%.%d (%d+)"))
  local head, body = text:match("^(.-)\r\n\r\n(.*)$")
  if head and head:lower():match("transfer%-encoding:%s*chunked") then -- de-chunk
    local out, pos = {}, 1
    while true do
      local size, start = body:match("^(%x+)\r\n()", pos)
      size = size and tonumber(size, 16)
      if not size or size == 0 then break end
      out[#out + 1] = body:sub(start, start + size - 1)
      pos = start + size + 2
    end
    body = table.concat(out)
  end
  return status, body
end

--- GET path: status, body, seconds taken.
function Nginx:get(path)
  local t0 = socket.gettime()
  local status, body = self:receive(self:send(path))
  return status, body, socket.gettime() - t0
end

--- SIGHUP to the master: a reload; old workers finish their requests, then exit.
function Nginx:reload()
  os.execute("kill -HUP " .. self.pid)
end

--- Waits (bounded) until pred() is true; returns its last value.
function M.eventually(pred, limit)
  local deadline = socket.gettime() + (limit or 10)
  local v = pred()
  while not v and socket.gettime() < deadline do
    socket.sleep(0.02)
    v = pred()
  end
  return v
end

--- Stops nginx (QUIT, a graceful stop; KILL after 10 s) and removes its prefix. Returns
-- the error log.
function Nginx:stop()
  if self.stopped then return self.final_log end
  self.stopped = true
  os.execute("kill -QUIT " .. self.pid .. " 2>/dev/null")
  if not M.eventually(function() return not alive(self.pid) end, 10) then
    os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  end
  self.final_log = self:log()
  os.execute(UNSANITIZED .. "rm -rf '" .. self.prefix .. "'")
  return self.final_log
end

--- Starts nginx. opts: http (text inside http {}, where @PORT@ is the port), workers (1),
-- main (text at the top level). Waits until the port answers.
function M.start(opts)
  local repo = repo_dir()
  local prefix = shell("mktemp -d /tmp/alicloud-nginx.XXXXXX"):gsub("%s+$", "")
  assert(prefix ~= "", "mktemp -d failed")
  local port = free_port()
  local conf = table.concat({
    "load_module " .. MODULES .. "/ndk_http_module.so;",
    "load_module " .. MODULES .. "/ngx_http_lua_module.so;",
    -- as root, nginx runs its workers as nobody, who may not reach a checkout under a private
    -- directory (mktemp -d makes them 0700): they run as the suite's own user instead
    ROOT and "user root;" or "",
    "worker_processes " .. (opts.workers or 1) .. ";",
    "daemon off;",
    "master_process on;",
    "pid " .. prefix .. "/nginx.pid;",
    "error_log " .. prefix .. "/error.log notice;",
    opts.main or "",
    "events { worker_connections 1024; }",
    "http {",
    "  access_log off;",
    "  client_body_temp_path " .. prefix .. "/client_body;",
    "  proxy_temp_path " .. prefix .. "/proxy;",
    "  fastcgi_temp_path " .. prefix .. "/fastcgi;",
    "  uwsgi_temp_path " .. prefix .. "/uwsgi;",
    "  scgi_temp_path " .. prefix .. "/scgi;",
    "  lua_package_path '" .. repo .. "/lua/?.lua;" .. repo .. "/lua/?/init.lua;;';",
    "  lua_package_cpath '" .. repo .. "/build-luajit/?.so;;';",
    (opts.http or ""):gsub("@PORT@", tostring(port)),
    "}",
    "",
  }, "\n")
  write_file(prefix .. "/nginx.conf", conf)
  -- $! of a backgrounded simple command is nginx's master itself
  local pid = tonumber(shell("nginx -p '" .. prefix .. "/' -c '" .. prefix
    .. "/nginx.conf' </dev/null >'" .. prefix .. "/stdout.log' 2>&1 & echo $!"))
  local srv = setmetatable({ pid = pid, port = port, prefix = prefix, conf = conf }, Nginx)
  local up = M.eventually(function()
    if not alive(pid) then return "exited" end
    local c = socket.tcp()
    c:settimeout(0.2)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    return ok and #srv:workers() == (opts.workers or 1) and "up"
  end, 15)
  if up ~= "up" then
    local log = srv:log() .. (read_file(prefix .. "/stdout.log") or "")
    srv:stop()
    error("nginx did not start (" .. tostring(up) .. "):\n" .. log, 2)
  end
  return srv
end

return M
