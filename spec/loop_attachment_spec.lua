-- alicloud.loop.attachment: the scaffolding every event-loop adapter shares (one attachment
-- per Lua state, a second owner refused, waiting owned by one loop at a time, detach, a failed
-- delivery reported), driven here by kinds of its own against the fake cloud's real calls.
local env = require("spec.support.env")
local alicloud = env.alicloud()
local attachment = require("alicloud.loop.attachment")
local runtime = require("alicloud.runtime")

describe("loop.attachment", function()
  local ecs
  local made = {} -- the kinds of this run, detached after each test

  local function kind(spec)
    local k = attachment.kind(spec)
    made[#made + 1] = k
    return k
  end

  setup(function()
    env.server()
    ecs = env.ecs()
    ecs:enable_async(4, 100)
  end)
  teardown(function()
    ecs:shutdown()
    env.stop()
  end)
  after_each(function()
    for _, k in ipairs(made) do k.detach() end
    made = {}
    assert.is_nil(runtime.waiter())
    assert.is_true(alicloud.run(30))
  end)

  it("one attachment per owner: the same owner gets it again, another one raises at the "
    .. "caller", function()
    local k = kind{ name = "spec.loop.one", owner = "loop", other = "loop" }
    local loop = {}
    assert.is_nil(k.claim(loop))
    assert.are.equal(runtime.core():fd(), select(2, k.claim(loop))) -- the fd to watch
    local att = k.install({ loop = loop }, function() end)
    assert.are.equal(att, k.attached())
    assert.is_true(rawequal(att, k.claim(loop)))
    -- as an adapter's attach calls it; the error blames the line that called attach
    local function attach_other()
      local again = k.claim({})
      return again
    end
    local line, ok, err = debug.getinfo(1, "l").currentline, pcall(function() attach_other() end)
    assert.is_false(ok)
    assert.matches("^[^\n]*loop_attachment_spec%.lua:" .. line .. ": spec%.loop%.one: already "
      .. "attached to another loop; detach it first$", err)
    assert.are.equal("spec.loop.one.Attachment (attached)", tostring(att))
    -- a kind without an owner field: one attachment, whatever attach is given
    local single = kind{ name = "spec.loop.single" }
    local s = single.install({}, function() end)
    assert.is_true(rawequal(s, single.claim("anything")))
  end)

  it("kept in the registry: a kind made again (a reloaded adapter) finds the attachment",
    function()
      local att = kind{ name = "spec.loop.reload", owner = "loop", other = "loop" }
        .install({ loop = 1 }, function() end)
      local again = kind{ name = "spec.loop.reload", owner = "loop", other = "loop" }
      assert.is_true(rawequal(att, again.attached()))
      assert.is_true(again.detach())
      assert.is_nil(again.attached())
      assert.is_false(att:detach())
    end)

  it("hears the runtime go busy and idle while attached, and nothing once detached",
    function()
      local heard = {}
      local k = kind{ name = "spec.loop.busy" }
      local att = k.install({}, function(a, busy) heard[#heard + 1] = { a, busy } end)
      local p = ecs:DescribeRegionsAsync({})
      assert.are.equal(1, #heard)
      assert.is_true(rawequal(att, heard[1][1]))
      assert.is_true(heard[1][2])
      assert(p:wait(30))
      assert.are.same({ true, false }, { heard[1][2], heard[2] and heard[2][2] })
      assert.is_true(att:detach())
      assert(ecs:DescribeRegionsAsync({}):wait(30))
      assert.are.equal(2, #heard)
    end)

  it("detach releases once, gives waiting back and is idempotent", function()
    local released = 0
    local k = kind{ name = "spec.loop.waits", release = function() released = released + 1 end }
    local att = k.install({ waiter = { await = function() return false end } }, function() end)
    assert.are.equal(att.waiter, runtime.waiter())
    assert.is_true(k.detach())
    assert.is_false(att:detach())
    assert.is_false(k.detach())
    assert.are.equal(1, released)
    assert.is_nil(runtime.waiter())
    assert.is_nil(k.attached())
    assert.are.equal("spec.loop.waits.Attachment (detached)", tostring(att))
  end)

  it("a second loop that owns waiting is refused at the caller, and nothing of it stays",
    function()
      local heard = 0
      local first = kind{ name = "spec.loop.first" }
      local att = first.install({ waiter = {} }, function() end)
      local second = kind{ name = "spec.loop.second" }
      local function attach_second() -- as an adapter's attach calls it
        local a = second.install({ waiter = {} }, function() heard = heard + 1 end)
        return a
      end
      local line, ok, err = debug.getinfo(1, "l").currentline, pcall(function() attach_second() end)
      assert.is_false(ok)
      assert.matches("^[^\n]*loop_attachment_spec%.lua:" .. line .. ": alicloud: another event "
        .. "loop already owns waiting; detach it first$", err)
      assert.is_nil(second.attached())
      assert.are.equal(att.waiter, runtime.waiter())
      assert(ecs:DescribeRegionsAsync({}):wait(30))
      assert.are.equal(0, heard) -- never watching
      att:detach()
      assert.is_truthy(attach_second())
    end)

  it("a failed delivery is reported to alicloud.on_error under the adapter's name, then "
    .. "detaches", function()
      local reported = env.capture_errors(finally)
      local k = kind{ name = "spec.loop.fails" }
      local att = k.install({}, function() end)
      k.failed(att, "simulated: the runtime is closed")
      assert.is_nil(k.attached())
      assert.is_true(att.closed)
      assert.are.same({ "spec.loop.fails: delivery failed, detaching: simulated: the runtime "
        .. "is closed" }, reported)
    end)
end)
