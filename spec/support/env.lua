-- Shared set-up for specs: one fake cloud per spec file, clients pointed at it, and a few
-- helpers that observe from outside our code (the server's counters, poll() on the fd).
local fake = require("spec.support.fake")
local socket = require("socket")

local M = { fake = fake }

local server

--- The fake cloud for this spec file (started on first use, stopped by M.stop()).
function M.server()
  if not server then server = fake.start_or_attach() end
  return server
end

function M.stop()
  if server then server:stop() end
  server = nil
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

return M
