-- alicloud.compat: the one place where Lua 5.1 / LuaJIT, 5.3 and 5.4 differ, checked on each.
local compat = require("alicloud.compat")

describe("compat", function()
  it("knows whether numbers have an integer subtype here", function()
    assert.are.equal(_VERSION == "Lua 5.3" or _VERSION == "Lua 5.4", compat.has_integers)
  end)

  it("tointeger takes whole numbers (3 and 3.0 alike) and refuses everything else", function()
    assert.are.equal(3, compat.tointeger(3))
    assert.are.equal(3, compat.tointeger(3.0))
    assert.are.equal("3", tostring(compat.tointeger(3.0))) -- an integer on 5.3+, not 3.0
    assert.are.equal(-2 ^ 53, compat.tointeger(-2 ^ 53))
    for _, v in ipairs({ 2.5, 0 / 0, math.huge, -math.huge, "3", true }) do
      assert.is_nil(compat.tointeger(v), tostring(v))
      assert.is_false(compat.is_integer(v), tostring(v))
    end
    assert.is_nil(compat.tointeger(nil))
    if compat.has_integers then
      assert.are.equal(2 ^ 60, compat.tointeger(2 ^ 60)) -- a double that is whole: exact here
    else
      assert.is_nil(compat.tointeger(2 ^ 60)) -- beyond 2^53 a double no longer counts
    end
  end)

  it("idiv floors like //, negatives included", function()
    assert.are.equal(3, compat.idiv(7, 2))
    assert.are.equal(-4, compat.idiv(-7, 2))
    assert.are.equal(-4, compat.idiv(7, -2))
    assert.are.equal(0, compat.idiv(1, 4))
    assert.are.equal("2", tostring(compat.idiv(8, 4)))
  end)

  it("move copies ranges like table.move, overlapping ones included", function()
    local t = { 1, 2, 3, 4, 5 }
    assert.are.equal(t, compat.move(t, 1, 3, 3))
    assert.are.same({ 1, 2, 1, 2, 3 }, t)
    t = { 1, 2, 3, 4, 5 }
    compat.move(t, 3, 5, 1)
    assert.are.same({ 3, 4, 5, 4, 5 }, t)
    local dest = compat.move({ "a", "b" }, 1, 2, 2, { "x" })
    assert.are.same({ "x", "a", "b" }, dest)
    assert.are.same({}, compat.move({ 1 }, 2, 1, 1, {}))
  end)

  it("xpcall passes arguments on, nils and all, and handles errors", function()
    local ok, a, b, c = compat.xpcall(function(...) return select("#", ...), ... end,
      debug.traceback, nil, 2)
    assert.is_true(ok)
    assert.are.same({ 2, nil, 2 }, { a, b, c })
    local ok2, err = compat.xpcall(function(x) error("boom " .. x, 0) end,
      function(e) return "handled: " .. e end, "now")
    assert.is_false(ok2)
    assert.are.equal("handled: boom now", err)
  end)

  it("running tells the main thread from a coroutine on every version", function()
    local co, main = compat.running()
    assert.is_true(main)
    assert.is_false(compat.isyieldable())
    local inner = coroutine.create(function()
      local c, m = compat.running()
      return c, m, compat.isyieldable()
    end)
    local _, c, m, yieldable = coroutine.resume(inner)
    assert.are.equal(inner, c)
    assert.is_false(m)
    assert.is_true(yieldable)
    assert.is_truthy(co == nil or type(co) == "thread")
  end)

  it("unpack and close_coroutine exist everywhere", function()
    assert.are.same({ 1, 2 }, { compat.unpack({ 1, 2 }) })
    local co = coroutine.create(function() coroutine.yield() end)
    coroutine.resume(co)
    assert.is_true(compat.close_coroutine(co))
  end)
end)
