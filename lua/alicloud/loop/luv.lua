--- alicloud.loop.luv: delivers results inside a luv (libuv) loop.
--   alicloud.loop.luv.attach(uv); ... start calls ...; uv.run()
-- A poll handle watches the runtime fd. It holds the loop open only while the runtime is busy
-- (calls pending, handlers queued or timers set), so uv.run() returns once the work is done.
-- A luv timer follows the runtime's next due time (alicloud's timers: a waiter's next poll).
local runtime = require("alicloud.runtime")

local M = {}

-- In the registry, like the runtime itself, so a reloaded module still finds the attachment.
local KEY = "alicloud.loop.luv"

local Attachment = {}
Attachment.__index = Attachment
Attachment.__name = "alicloud.loop.luv.Attachment"

function Attachment:__tostring()
  return string.format("alicloud.loop.luv.Attachment (%s)", self.closed and "detached" or "attached")
end

local function hold(att, busy)
  if att.closed then return end
  if busy then att.poll:ref() else att.poll:unref() end
end

local on_readable

-- Sets the luv timer to the runtime's next due time (or stops it). After every delivery: a
-- timer set outside one wakes the fd (runtime.after), so this runs for it too.
local function arm(att)
  if att.closed then return end
  local due = runtime.next_due()
  if due then
    -- luv counts from the loop's cached time, stale when set outside uv.run (at attach)
    att.uv.update_time()
    -- whole milliseconds, rounded up: woken early, the loop would only set it again
    att.timer:start(math.ceil(due * 1000), 0, function() on_readable(att) end)
  else
    att.timer:stop()
  end
end

-- Runs as a luv callback: luv ends the process on an error raised there, so nothing may
-- escape. A delivery that cannot go on (the runtime was closed) detaches instead of spinning.
function on_readable(att, err)
  local ok, derr = true, err
  if not err then ok, derr = pcall(runtime.dispatch) end
  if err or not ok then
    runtime.report("alicloud.loop.luv: delivery failed, detaching: " .. tostring(derr))
    att:detach()
    return
  end
  arm(att)
end

--- Stops watching; uv.run() no longer delivers nor waits for alicloud. Returns true if it
-- was attached. Idempotent.
function Attachment:detach()
  if self.closed then return false end
  self.closed = true
  self.unwatch()
  if not self.poll:is_closing() then self.poll:close() end
  if not self.timer:is_closing() then self.timer:close() end
  local reg = debug.getregistry()
  if reg[KEY] == self then reg[KEY] = nil end
  return true
end

--- attach([uv]) -> the attachment: delivery now happens inside uv.run(). `uv` is the luv
-- module (default: require("luv")). Attaching again returns the same attachment.
function M.attach(uv)
  uv = uv or require("luv")
  local reg = debug.getregistry()
  local att = reg[KEY]
  if att then
    if att.uv == uv then return att end
    error("alicloud.loop.luv: already attached to another luv; detach it first", 2)
  end
  local fd = runtime.core():fd() -- raises if the runtime is closed
  att = setmetatable({ uv = uv, poll = assert(uv.new_poll(fd)), timer = assert(uv.new_timer()),
    closed = false }, Attachment)
  att.timer:unref() -- the poll handle alone holds the loop open while there is work
  att.poll:start("r", function(err) on_readable(att, err) end)
  att.unwatch = runtime.watch(function(busy) hold(att, busy) end)
  hold(att, runtime.busy())
  arm(att)
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

return M
