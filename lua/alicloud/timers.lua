--- Timers: a min-heap of things to run at a monotonic time (core.now() seconds). The runtime
-- keeps one per Lua state and turns due timers into deferred jobs at a delivery, so what waits
-- on a timer (an async waiter's next poll) blocks no thread.
local M = {}

local Heap = {}
Heap.__index = Heap

local Timer = {}
Timer.__index = Timer
Timer.__name = "alicloud.Timer"

function Timer:__tostring()
  return string.format("alicloud.Timer (%s)", self.fn and "pending" or "done")
end

--- Cancels the timer; true if it had not run yet.
function Timer:cancel()
  if not self.fn then return false end
  self.fn, self.arg = nil, nil -- what it would have run is no longer kept alive
  self.heap.live = self.heap.live - 1
  return true
end

function M.new()
  return setmetatable({ n = 0, seq = 0, live = 0 }, Heap)
end

-- Earlier due first; equal due times in the order they were set.
local function before(a, b)
  return a.due < b.due or (a.due == b.due and a.seq < b.seq)
end

local function up(h, i)
  local t = h[i]
  while i > 1 do
    local parent = math.floor(i / 2)
    if not before(t, h[parent]) then break end
    h[i] = h[parent]
    i = parent
  end
  h[i] = t
end

local function down(h, i)
  local n, t = h.n, h[i]
  while true do
    local c = 2 * i
    if c > n then break end
    if c < n and before(h[c + 1], h[c]) then c = c + 1 end
    if not before(h[c], t) then break end
    h[i] = h[c]
    i = c
  end
  h[i] = t
end

local function remove_top(h)
  local n = h.n
  local first = h[1]
  h[1] = h[n]
  h[n] = nil
  h.n = n - 1
  if n > 2 then down(h, 1) end
  return first
end

--- Adds fn(arg), to run once at `due`; returns the timer (it has :cancel()).
function Heap:add(due, fn, arg)
  self.seq = self.seq + 1
  local t = setmetatable({ due = due, seq = self.seq, fn = fn, arg = arg, heap = self }, Timer)
  self.n = self.n + 1
  self[self.n] = t
  up(self, self.n)
  self.live = self.live + 1
  return t
end

-- Drops cancelled timers from the top; returns the earliest live one, or nil.
local function top(h)
  while h.n > 0 and not h[1].fn do remove_top(h) end
  return h[1]
end

--- The due time of the earliest timer, or nil when none is set.
function Heap:next_due()
  local t = top(self)
  return t and t.due
end

--- Removes the earliest timer if it is due at `now`: returns its fn and arg, or nil.
function Heap:pop_due(now)
  local t = top(self)
  if not t or t.due > now then return nil end
  remove_top(self)
  local fn, arg = t.fn, t.arg
  t.fn, t.arg = nil, nil
  self.live = self.live - 1
  return fn, arg
end

return M
