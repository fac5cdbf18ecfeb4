--- alicloud.loop.luv: delivers results inside a luv (libuv) loop.
--   alicloud.loop.luv.attach(uv); ... start calls ...; uv.run()
-- A poll handle watches the runtime fd. It holds the loop open only while the runtime is busy
-- (calls pending, handlers queued or timers set), so uv.run() returns once the work is done.
-- A luv timer follows the runtime's next due time (alicloud's timers: a waiter's next poll).
local attachment = require("alicloud.loop.attachment")
local runtime = require("alicloud.runtime")

local M = {}

-- What every adapter's attachment shares. Detaching closes the handles here, so uv.run() no
-- longer delivers nor waits for alicloud.
local kind = attachment.kind{ name = "alicloud.loop.luv", owner = "uv", other = "luv",
  release = function(att)
    if not att.poll:is_closing() then att.poll:close() end
    if not att.timer:is_closing() then att.timer:close() end
  end }

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
-- escape.
function on_readable(att, err)
  local ok, derr = true, err
  if not err then ok, derr = pcall(runtime.dispatch) end
  if err or not ok then return kind.failed(att, derr) end
  arm(att)
end

--- attach([uv]) -> the attachment: delivery now happens inside uv.run(). `uv` is the luv
-- module (default: require("luv")). Attaching again returns the same attachment.
function M.attach(uv)
  uv = uv or require("luv")
  local att, fd = kind.claim(uv)
  if att then return att end
  att = { uv = uv, poll = assert(uv.new_poll(fd)), timer = assert(uv.new_timer()) }
  att.timer:unref() -- the poll handle alone holds the loop open while there is work
  att.poll:start("r", function(err) on_readable(att, err) end)
  kind.install(att, hold)
  hold(att, runtime.busy())
  arm(att)
  return att
end

--- attached() -> the current attachment, or nil. detach() -> detaches it; true if there was one.
M.attached, M.detach = kind.attached, kind.detach

return M
