-- Shared set-up for specs: one fake cloud per spec file, clients pointed at it, and a few
-- helpers that observe from outside our code (the server's counters, poll() on the fd).
local fake = require("spec.support.fake")
local socket = require("socket")
local compat = require("alicloud.compat")
local proc = require("spec.support.proc")

local M = { fake = fake }

local server, proxy

--- The fake cloud for this spec file (started on first use, stopped by M.stop()).
-- opts (first call only) go to fake.start: { tls = true } adds the HTTPS listeners.
function M.server(opts)
  if not server then
    server = (opts and opts.tls) and fake.start(opts) or fake.start_or_attach(opts)
  end
  return server
end

--- A loopback proxy (fake_proxy.py) for this spec file, stopped by M.stop().
function M.proxy()
  if not proxy then proxy = fake.start_proxy() end
  return proxy
end

function M.stop()
  if server then server:stop() end
  if proxy then proxy:stop() end
  server, proxy = nil, nil
end

function M.alicloud()
  return require("alicloud")
end

function M.credential(secret)
  return M.alicloud().credentials.access_key(fake.ACCESS_KEY_ID, secret or fake.ACCESS_KEY_SECRET)
end

--- An ECS client on the fake cloud; `opts` are merged over the defaults.
function M.ecs(opts)
  local o = { region = "cn-hangzhou", credential = M.credential(), endpoint = M.server().endpoint,
    scheme = "http" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return M.alicloud().client("ecs", o)
end

--- A client for a product the catalogue does not know: any action name is accepted.
function M.custom(opts)
  local o = { region = "cn-hangzhou", credential = M.credential(), scheme = "http" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return M.alicloud().client({ name = "fake", version = "2014-05-26", style = "rpc",
    endpoint = M.server().endpoint }, o)
end

--- Is the fd readable now? Asked through luasocket's select, not through our module.
function M.readable(fd, timeout)
  local r = socket.select({ { getfd = function() return fd end } }, nil, timeout or 0)
  return #r > 0
end

--- Inside a test: collects what alicloud.on_error receives until the test ends (then the
-- previous handler is back). Returns the list. `finally` is busted's, which lives in the
-- spec file's environment, not in this module's.
function M.capture_errors(finally)
  local alicloud = M.alicloud()
  local reported, saved = {}, alicloud.on_error
  alicloud.on_error = function(e) reported[#reported + 1] = e end
  finally(function() alicloud.on_error = saved end)
  return reported
end

--- Waits (bounded) until pred() is true, sleeping in small steps; returns pred's last value.
function M.eventually(pred, limit)
  local deadline = socket.gettime() + (limit or 5)
  local v = pred()
  while not v and socket.gettime() < deadline do
    socket.sleep(0.01)
    v = pred()
  end
  return v
end

function M.now()
  return socket.gettime()
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a child of the suite's Lua on `script` (with the build tree on its paths); returns
-- its output and how it exited.
function M.run_child(script)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write('package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path\n',
    string.format("package.cpath = %q .. package.cpath\n", package.cpath:match("^[^;]*;") or ""),
    script)
  f:close()
  local out, ok, how, code = proc.read(proc.lua .. " " .. path .. " 2>&1")
  os.remove(path)
  return out, ok, how, code
end

--- Runs `code` in a child interpreter (the suite's; same LUA_PATH/LUA_CPATH) with extra environment variables
-- `vars` (a table; false unsets one). Returns its stdout, its stderr and whether it exited 0.
function M.run_lua(code, vars)
  local script, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  local unset, set = {}, {}
  for k, v in pairs(vars or {}) do
    if v == false then unset[#unset + 1] = "-u " .. k else set[#set + 1] = k .. "=" .. shell_quote(v) end
  end
  local prefix = compat.move(set, 1, #set, #unset + 1, unset)
  local ok = proc.execute(string.format("env %s %s %s >%s 2>%s </dev/null",
    table.concat(prefix, " "), proc.lua, shell_quote(script), shell_quote(out), shell_quote(err)))
  local function slurp(path)
    local h = io.open(path, "r")
    local text = h and h:read("*a") or ""
    if h then h:close() end
    os.remove(path)
    return text
  end
  os.remove(script)
  return slurp(out), slurp(err), ok
end

--- A loopback port where a TCP connect never completes: a listening socket with a backlog of
-- 0 whose one accept-queue slot is taken by a connection nobody accepts; Linux then drops
-- further SYNs, so a client's connect() waits until its own timeout. :close() frees it.
function M.blackhole()
  local s = assert(socket.tcp())
  assert(s:bind("127.0.0.1", 0))
  assert(s:listen(0))
  local _, port = s:getsockname()
  local held = {}
  for _ = 1, 8 do      -- fill the queue until a connect no longer completes
    local c = assert(socket.tcp())
    c:settimeout(0.2)
    if not c:connect("127.0.0.1", port) then c:close() break end
    held[#held + 1] = c
  end
  return { endpoint = "127.0.0.1:" .. port, port = port, close = function()
    for _, c in ipairs(held) do c:close() end
    s:close()
  end }
end

--- A loopback port where TCP connects complete (the kernel queues them) but nothing is ever
-- read or written: a TLS handshake there waits forever. :close() frees it.
function M.mute_listener()
  local s = assert(socket.tcp())
  assert(s:bind("127.0.0.1", 0))
  assert(s:listen(64))
  local _, port = s:getsockname()
  return { endpoint = "127.0.0.1:" .. port, port = port, close = function() s:close() end }
end

--- This process's resident set size in KiB (VmRSS in /proc/self/status).
function M.rss_kb()
  local f = assert(io.open("/proc/self/status", "r"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)"))
end

return M
