--- The command line's bulk mode: one call per line of a JSON-lines file, `concurrency` in
-- flight, one output line per input line in input order ({"ok": res} or {"error": {...}}),
-- a progress bar on stderr, and SIGINT handled: what is queued and in flight is cancelled,
-- what was done is printed, and the exit status is 130.
local alicloud = require("alicloud")
local core = require("alicloud.core")
local json = require("alicloud.json")
local params = require("alicloud.cli_params")
local runtime = require("alicloud.runtime")

local CODES = alicloud.errors.CODES

local M = {}

local function is_terminal(fd)
  local r = os.execute("test -t " .. fd)
  return r == true or r == 0
end

local function count_lines(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local n = 0
  for _ in f:lines() do n = n + 1 end
  f:close()
  return n
end

local function clock(s)
  if not s or s ~= s or s == math.huge then return "--:--" end
  s = math.floor(s + 0.5)
  if s >= 3600 then
    return string.format("%d:%02d:%02d", math.floor(s / 3600), math.floor(s / 60) % 60, s % 60)
  end
  return string.format("%d:%02d", math.floor(s / 60), s % 60)
end

--- The progress line: a bar when the total is known, counts, rate and time left.
function M.progress_line(done, total, failed, elapsed)
  local rate = elapsed > 0 and done / elapsed or 0
  local bar = ""
  local eta = "--:--"
  if total and total > 0 then
    local width = 24
    local filled = math.floor(width * done / total)
    bar = "[" .. string.rep("#", filled) .. string.rep(".", width - filled) .. "] "
    if rate > 0 then eta = clock((total - done) / rate) end
  end
  return string.format("%s%d/%s done, %d failed, %.1f calls/s, ETA %s", bar, done,
    total and tostring(total) or "?", failed, rate, eta)
end

--- Runs the bulk file of parsed options `o` through `client`; returns the exit status.
function M.run(client, o)
  local opt = o.opt
  local path = opt.bulk
  local f = io.stdin
  if path ~= "-" then
    local oerr
    f, oerr = io.open(path, "r")
    -- a directory opens, then fails to read: find out now, not as an empty file or a traceback
    if f then oerr = select(2, f:read(0)) end
    if oerr then
      if f then f:close() end
      io.stderr:write("alicloud: cannot read ", path, ": ", (tostring(oerr):gsub("^.*: ", "")), "\n")
      return 2
    end
  end
  -- parameters given on the command line apply to every line (a line's own win)
  local base, berr = params.build(o.product, o.action, o.names, o.values)
  if not base then
    io.stderr:write("alicloud: ", tostring(berr), "\n")
    return 1
  end
  local concurrency = opt.concurrency or 10
  local window = concurrency * 4 -- submitted but not yet written: bounds memory, keeps order
  client:enable_async(concurrency, window)
  local total = path ~= "-" and count_lines(path) or nil
  local show = opt.progress or is_terminal(2)
  core.sigint_catch()

  local results = {}          -- input line number -> its output line, until written
  local next_in, next_out = 1, 1
  local done, failed, cancelled = 0, 0, 0
  local eof, interrupted = false, false
  local t0, shown = core.now(), -1

  local function settle(i, res, err)
    local ok, line = pcall(json.encode, err and { error = require("alicloud.cli").error_table(err) }
      or { ok = res })
    if not ok then
      line = json.encode({ error = { code = CODES.INVALID_RESPONSE, message = tostring(line) } })
      err = true
    end
    results[i] = line
    done = done + 1
    if err then
      failed = failed + 1
      if type(err) == "table" and err.code == CODES.CANCELLED then cancelled = cancelled + 1 end
    end
  end

  local function submit(i, line)
    local p, why = json.decode(line)
    if type(p) ~= "table" or (next(p) ~= nil and p[1] ~= nil) then
      settle(i, nil, { code = CODES.INVALID_PARAM, kind = "client",
        message = string.format("line %d is not a JSON object of parameters%s", i,
          why and (": " .. why) or "") })
      return
    end
    for k, v in pairs(base) do
      if p[k] == nil then p[k] = v end
    end
    client:call_async(o.action, p, function(res, err) settle(i, res, err) end)
  end

  local function flush()
    while results[next_out] do
      io.stdout:write(results[next_out], "\n")
      results[next_out] = nil
      next_out = next_out + 1
    end
    io.stdout:flush()
  end

  local function draw(final)
    if not show then return end
    local now = core.now()
    if not final and now - shown < 0.2 then return end
    shown = now
    io.stderr:write("\r", M.progress_line(done, total, failed, now - t0), "\27[K",
      final and "\n" or "")
    io.stderr:flush()
  end

  while true do
    while not eof and not interrupted and next_in - next_out < window do
      local line = f:read("*l")
      if not line then
        eof = true
        break
      end
      local i = next_in
      next_in = i + 1
      submit(i, line)
    end
    flush()
    draw(false)
    if next_out == next_in and (eof or interrupted) then break end
    if not interrupted and core.sigint_caught() then
      interrupted = true
      client:shutdown("cancel") -- queued and in-flight calls settle as SDK.Cancelled
    end
    if alicloud.dispatch() == 0 then runtime.wait_fd(0.1) end
  end
  client:shutdown()
  draw(true)
  if f ~= io.stdin then f:close() end
  if interrupted then
    io.stderr:write(string.format("alicloud: interrupted: %d calls done, %d cancelled, %s not started\n",
      done - cancelled, cancelled, eof and "0" or (total and tostring(total - next_in + 1) or "the rest")))
    return 130
  end
  return failed > 0 and 1 or 0
end

return M
