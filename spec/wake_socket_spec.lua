-- runtime:wake_listen(): a unix socket that gets the completion pipe's wake-up bytes too (for
-- loops that can watch only sockets they connect themselves, as nginx's cosockets). Observed
-- from outside with LuaSocket's unix sockets.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local runtime = require("alicloud.runtime")
local socket = require("socket")
local unix = require("socket.unix")

describe("wake socket", function()
  local server, ecs, rt

  local function exists(path)
    local f = io.open(path, "r")
    if f then f:close() end
    return f ~= nil or os.rename(path, path) ~= nil
  end

  -- A listener and this process's connection to it, accepted: the connected client socket.
  local function connect()
    local l = assert(rt:wake_listen())
    local path = l:path()
    assert.matches("/alicloud%-wake%-[%w]+/wake$", path)
    local c = assert(unix())
    assert(c:connect(path))
    assert.is_true(l:accept(rt))
    assert.is_false(exists(path))                       -- nothing else can connect now
    assert.is_false(exists((path:gsub("/wake$", ""))))  -- its directory is gone too
    c:settimeout(10)
    return c
  end

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(4, 100)
    rt = runtime.core()
  end)
  teardown(function()
    if rt then rt:wake_shutdown() end
    if ecs then ecs:shutdown() end
    env.stop()
  end)
  before_each(function() server:reset() end)
  after_each(function()
    assert.is_true(alicloud.run(30))
  end)

  it("gets a byte when a result arrives, and when handlers are queued", function()
    local c = connect()
    c:settimeout(0)
    local quiet, why = c:receive(1)
    assert.is_nil(quiet) -- quiet while nothing happened
    assert.are.equal("timeout", why)
    c:settimeout(10)
    server:config{ delay = 0.1 }
    local p = ecs:DescribeRegionsAsync({})
    local t0 = socket.gettime()
    assert.is_truthy(c:receive(1))
    assert.is_true(socket.gettime() - t0 >= 0.09) -- woken by the result, not before
    assert.are.equal(1, alicloud.dispatch())
    assert.are.equal("fulfilled", p:status())
    local ran = false
    p:next(function() ran = true end)                   -- a handler queued: a wake-up
    assert.is_truthy(c:receive(1))
    alicloud.dispatch()
    assert.is_true(ran)
    c:close()
  end)

  it("a second connection replaces the first; shutdown ends it with end-of-file", function()
    local first = connect()
    local second = connect()
    local p = ecs:DescribeRegionsAsync({})
    assert.is_truthy(second:receive(1))
    first:settimeout(0.2)
    assert.are.equal("closed", select(2, first:receive(1))) -- replaced: its peer is gone
    p:wait()
    rt:wake_shutdown()
    assert.are.equal("closed", select(2, second:receive(1)))
    -- bytes for a shut-down socket go nowhere, and nothing breaks
    assert.is_truthy(ecs:DescribeRegionsAsync({}):wait())
    first:close()
    second:close()
  end)

  it("accepts only a connection from this process", function()
    local l = assert(rt:wake_listen())
    local path = l:path()
    -- another process connects first and holds its connection open
    local child = io.popen(string.format([[env -u LD_PRELOAD %s -e '
      local socket, unix = require("socket"), require("socket.unix")
      local c = assert(unix()); assert(c:connect(%q)); io.write("connected\n"); io.flush()
      socket.sleep(0.3)' </dev/null 2>&1]], os.getenv("ALICLOUD_LUA") or "lua5.4", path), "r")
    assert.are.equal("connected", child:read("*l"))
    local ok, err = l:accept(rt)
    assert.is_nil(ok)
    assert.matches("no connection to accept", err)
    child:close()
    assert.is_false(exists(path))
    assert.has_error(function() l:accept(rt) end, "alicloud wake listener is closed")
    -- and a later connection of our own works
    local c = connect()
    local p = ecs:DescribeRegionsAsync({})
    assert.is_truthy(c:receive(1))
    p:wait()
    c:close()
  end)
end)
