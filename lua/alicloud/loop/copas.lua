--- alicloud.loop.copas: delivers results inside Copas.
--   alicloud.loop.copas.attach(copas)
--   copas.addthread(function() local res, err = client:DescribeRegionsAsync({}):await() end)
-- A delivery coroutine waits in Copas on the runtime fd while the runtime is busy and ends when
-- it is idle. promise:await() in a Copas coroutine waits in Copas for that promise, suspending
-- only that coroutine.
--
-- Copas resumes a coroutine when an object it waits on is ready: copas.receive(obj) calls
-- obj:receive() and, on "timeout", yields obj to Copas, whose LuaSocket select asks
-- obj:getfd() (a real fd is required) and obj:dirty() (ready without waiting). That protocol,
-- which Copas has had since 1.x, is all this adapter uses (specced with Debian's 1.1.7).
local compat = require("alicloud.compat")
local attachment = require("alicloud.loop.attachment")
local runtime = require("alicloud.runtime")

local M = {}

-- What every adapter's attachment shares. Once detached, coroutines still awaiting deliver for
-- themselves (await below).
local kind = attachment.kind{ name = "alicloud.loop.copas", owner = "copas", other = "copas" }

-- Something a coroutine waits on in Copas: ready() says when to resume it. It watches the
-- runtime fd (so select sleeps until a result arrives) and is dirty once ready.
local Event = {}
Event.__index = Event

local function event(ready)
  return setmetatable({ ready = ready, fd = runtime.core():fd() }, Event)
end

function Event:getfd() return self.fd end
function Event:dirty() return self.ready() end
function Event:receive()
  if self.ready() then return "" end
  return nil, "timeout"
end
function Event.settimeout() end
function Event.close() end -- Copas closes what a coroutine that ended was last resumed with

local function readable()
  return runtime.core():wait(0)
end

-- The delivery coroutine: one at a time, alive only while there is work.
local function deliver(att)
  local copas = att.copas
  local ev = event(function()
    return att.closed or not runtime.busy() or runtime.has_jobs() or readable()
  end)
  while not att.closed and runtime.busy() do
    copas.receive(ev)
    if att.closed then break end
    local ok, err = pcall(runtime.dispatch)
    if not ok then kind.failed(att, err) end
  end
  att.running = false
end

local function on_busy(att, busy)
  if busy and not att.running and not att.closed then
    att.running = true
    att.copas.addthread(function() deliver(att) end) -- (Copas 1.x passes a nil first)
  end -- idle: the delivery coroutine's event is ready, it looks and ends
end

-- promise:await() while attached. An alicloud.async coroutine is left to the promise (the
-- delivery resumes it); any other coroutine is taken to be Copas's and waits in Copas.
local function await(att, p, owned)
  if owned then return false end
  local _, main = compat.running()
  if main or not compat.isyieldable() then return false end -- p:wait()
  local ev = event(function()
    return p._state ~= "pending" or att.closed and (runtime.has_jobs() or readable())
  end)
  while p._state == "pending" do
    att.copas.receive(ev)
    -- detached meanwhile: nothing delivers in Copas any more, so this coroutine does
    if att.closed and p._state == "pending" then runtime.dispatch() end
  end
  return true
end

--- attach([copas]) -> the attachment: delivery now happens inside Copas's loop. `copas` is the
-- Copas module (default: require("copas")). Attaching again returns the same attachment.
function M.attach(copas)
  copas = copas or require("copas")
  if type(copas) ~= "table" or type(copas.addthread) ~= "function"
    or type(copas.receive) ~= "function" then
    error("alicloud.loop.copas.attach: expected the copas module", 2)
  end
  local att = kind.claim(copas)
  if att then return att end
  att = { copas = copas, running = false }
  att.waiter = { await = function(p, owned) return await(att, p, owned) end }
  kind.install(att, on_busy) -- raises if another loop owns waiting (nginx)
  on_busy(att, runtime.busy())
  return att
end

--- attached() -> the current attachment, or nil. detach() -> detaches it; true if there was one.
M.attached, M.detach = kind.attached, kind.detach

return M
