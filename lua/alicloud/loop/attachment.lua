--- alicloud.loop.attachment: what every event-loop adapter's attachment shares, so each
-- adapter keeps only what is particular to its loop.
--   local kind = attachment.kind{ name = "alicloud.loop.luv", owner = "uv", other = "luv",
--     release = function(att) ... end }
--   attach:  local att, fd = kind.claim(uv); if att then return att end
--            att = kind.install({ uv = uv, ... }, on_busy)
-- One attachment per Lua state, kept in the registry like the runtime itself, so a reloaded
-- adapter still finds it. Attaching again for the same owner returns it; for another, raises.
local runtime = require("alicloud.runtime")

local M = {}

local registry = debug.getregistry() -- the same table for the life of the state

--- kind(spec) -> the adapter's kind. spec: name (the adapter's module name, also its registry
-- key), owner (the field of an attachment holding what it attached to; nil: one attachment
-- whatever attach() is given), other (what a second owner is called in the error), release
-- (optional, release(att): the loop's own teardown at detach).
function M.kind(spec)
  local name, owner, release = spec.name, spec.owner, spec.release
  local K = {}

  local Attachment = {}
  Attachment.__index = Attachment
  Attachment.__name = name .. ".Attachment"

  function Attachment:__tostring()
    return string.format("%s (%s)", Attachment.__name, self.closed and "detached" or "attached")
  end

  --- Stops delivering in the loop and gives waiting back to the runtime. Returns true if it
  -- was attached. Idempotent.
  function Attachment:detach()
    if self.closed then return false end
    self.closed = true
    self.unwatch()
    if self.waiter and runtime.waiter() == self.waiter then runtime.set_waiter(nil) end
    if release then release(self) end
    if registry[name] == self then registry[name] = nil end
    return true
  end

  --- claim(owner) -> the current attachment if it serves `owner`, else nil and the runtime fd.
  -- Raises (blaming attach's caller) if another owner is attached or the runtime is closed.
  function K.claim(value)
    local att = registry[name]
    if att then
      if owner == nil or att[owner] == value then return att end
      error(name .. ": already attached to another " .. spec.other .. "; detach it first", 3)
    end
    return nil, runtime.core():fd() -- raises if the runtime is closed
  end

  --- install(att, on_busy) -> att, now the attachment: it takes over waiting if it has a
  -- `waiter` (raises if another loop owns it), and on_busy(att, busy) hears the runtime go
  -- busy and idle (runtime.watch).
  function K.install(att, on_busy)
    att.closed = false
    setmetatable(att, Attachment)
    if att.waiter then
      local ok, err = pcall(runtime.set_waiter, att.waiter)
      if not ok then error(err, 3) end -- another loop owns waiting (Copas, nginx)
    end
    att.unwatch = runtime.watch(function(busy) on_busy(att, busy) end)
    registry[name] = att
    return att
  end

  --- A delivery that cannot go on (the runtime was closed) reports why and detaches instead
  -- of spinning on a readable fd.
  function K.failed(att, err)
    runtime.report(name .. ": delivery failed, detaching: " .. tostring(err))
    att:detach()
  end

  --- The current attachment, or nil.
  function K.attached()
    return registry[name]
  end

  --- Detaches the current attachment, if any. Returns true if there was one.
  function K.detach()
    local att = registry[name]
    return att ~= nil and att:detach()
  end

  return K
end

return M
