--- alicloud.loop.cqueues: delivers results inside a cqueues controller.
--   alicloud.loop.cqueues.attach(cq); cq:wrap(function() local r = p:await() end); cq:loop()
-- A delivery coroutine polls the runtime handle (it satisfies the cqueues polling protocol)
-- while the runtime is busy and ends when it is idle, so cq:loop() returns once the work is
-- done. promise:await() in a cq:wrap coroutine waits on a condition, suspending only that
-- coroutine.
local cqueues = require("cqueues")
local condition = require("cqueues.condition")
local runtime = require("alicloud.runtime")

local M = {}

-- In the registry, like the runtime itself, so a reloaded module still finds the attachment.
local KEY = "alicloud.loop.cqueues"

local Attachment = {}
Attachment.__index = Attachment
Attachment.__name = "alicloud.loop.cqueues.Attachment"

function Attachment:__tostring()
  return string.format("alicloud.loop.cqueues.Attachment (%s)",
    self.closed and "detached" or "attached")
end

local function handle()
  return require("alicloud").runtime()
end

-- The delivery coroutine: one at a time, alive only while there is work.
local function deliver(att)
  while not att.closed and runtime.busy() do
    cqueues.poll(handle(), att.changed) -- ready results, queued handlers (timeout 0), detach
    if att.closed then break end
    local ok, err = pcall(runtime.dispatch)
    if not ok then
      -- A delivery that cannot go on (the runtime was closed) detaches instead of spinning.
      runtime.report("alicloud.loop.cqueues: delivery failed, detaching: " .. tostring(err))
      att:detach()
    end
  end
  att.running = false
end

local function on_busy(att, busy)
  if busy and not att.running and not att.closed then
    att.running = true
    att.cq:wrap(deliver, att)
  elseif not busy then
    att.changed:signal() -- idle after a delivery elsewhere: let the delivery coroutine end
  end
end

--- Stops delivering in the controller; coroutines still awaiting then deliver for
-- themselves. Returns true if it was attached. Idempotent.
function Attachment:detach()
  if self.closed then return false end
  self.closed = true
  self.unwatch()
  self.changed:signal()
  local reg = debug.getregistry()
  if reg[KEY] == self then reg[KEY] = nil end
  return true
end

--- attach(cq) -> the attachment: delivery now happens inside cq's loop. Attaching the same
-- controller again returns the same attachment; another one while attached raises.
function M.attach(cq)
  if type(cq) ~= "userdata" and type(cq) ~= "table" or type(cq.wrap) ~= "function" then
    error("alicloud.loop.cqueues.attach: expected a cqueues controller", 2)
  end
  local reg = debug.getregistry()
  local att = reg[KEY]
  if att then
    if att.cq == cq then return att end
    error("alicloud.loop.cqueues: already attached to another controller; detach it first", 2)
  end
  runtime.core():fd() -- raises if the runtime is closed
  att = setmetatable({ cq = cq, changed = condition.new(), running = false, closed = false },
    Attachment)
  att.unwatch = runtime.watch(function(busy) on_busy(att, busy) end)
  on_busy(att, runtime.busy())
  reg[KEY] = att
  return att
end

--- The current attachment, or nil.
function M.attached()
  return debug.getregistry()[KEY]
end

--- Detaches the current attachment, if any. Returns true if there was one.
function M.detach()
  local att = M.attached()
  return att ~= nil and att:detach()
end

--- promise:await() in a cqueues-managed coroutine lands here: wait for p on a condition the
-- settlement signals, yielding to cqueues. Without an attachment delivering in this
-- controller, the coroutine also polls the runtime and delivers itself.
function M.await(p)
  local settled = condition.new()
  p:_on_settle(function() settled:signal() end)
  while p:status() == "pending" do
    local att = M.attached()
    if att and att.cq == cqueues.running() then
      cqueues.poll(settled, att.changed) -- att.changed: detached, so look again
    else
      cqueues.poll(settled, handle())
      runtime.dispatch()
    end
  end
end

return M
