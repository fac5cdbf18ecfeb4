--- alicloud.loop.cqueues: delivers results inside a cqueues controller.
--   alicloud.loop.cqueues.attach(cq); cq:wrap(function() local r = p:await() end); cq:loop()
-- A delivery coroutine polls the runtime handle (it satisfies the cqueues polling protocol)
-- while the runtime is busy and ends when it is idle, so cq:loop() returns once the work is
-- done. promise:await() in a cq:wrap coroutine waits on a condition, suspending only that
-- coroutine.
local cqueues = require("cqueues")
local condition = require("cqueues.condition")
local attachment = require("alicloud.loop.attachment")
local runtime = require("alicloud.runtime")

local M = {}

-- What every adapter's attachment shares. Detaching signals att.changed: coroutines still
-- awaiting wake up, see it and deliver for themselves (M.await).
local kind = attachment.kind{ name = "alicloud.loop.cqueues", owner = "cq", other = "controller",
  release = function(att) att.changed:signal() end }

local function handle()
  return require("alicloud").runtime()
end

-- The delivery coroutine: one at a time, alive only while there is work.
local function deliver(att)
  while not att.closed and runtime.busy() do
    cqueues.poll(handle(), att.changed) -- ready results, queued handlers (timeout 0), detach
    if att.closed then break end
    local ok, err = pcall(runtime.dispatch)
    if not ok then kind.failed(att, err) end
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

--- attach(cq) -> the attachment: delivery now happens inside cq's loop. Attaching the same
-- controller again returns the same attachment; another one while attached raises.
function M.attach(cq)
  if type(cq) ~= "userdata" and type(cq) ~= "table" or type(cq.wrap) ~= "function" then
    error("alicloud.loop.cqueues.attach: expected a cqueues controller", 2)
  end
  local att = kind.claim(cq)
  if att then return att end
  att = kind.install({ cq = cq, changed = condition.new(), running = false }, on_busy)
  on_busy(att, runtime.busy())
  return att
end

--- attached() -> the current attachment, or nil. detach() -> detaches it; true if there was one.
M.attached, M.detach = kind.attached, kind.detach

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
