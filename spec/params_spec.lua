-- Parameter flattening as a pure function (the wire side is in client_spec).
local params = require("alicloud.params")

describe("params.flatten", function()
  local function as_map(list)
    local m = {}
    for _, kv in ipairs(list) do m[kv[1]] = kv[2] end
    return m
  end

  it("numbers lists from 1 and keeps gaps' numbering", function()
    local m = as_map(params.flatten({ Ids = { "a", nil, "c" } }))
    assert.are.same({ ["Ids.1"] = "a", ["Ids.3"] = "c" }, m)
  end)

  it("nests lists in tables in lists", function()
    local m = as_map(params.flatten({ A = { { B = { 1, 2 } } } }))
    assert.are.same({ ["A.1.B.1"] = "1", ["A.1.B.2"] = "2" }, m)
  end)

  it("orders by name within each level, numbers numerically", function()
    local list = params.flatten({ Z = "1", A = "2", L = { "x", "y", "z", "w", "v", "u", "t",
      "s", "r", "q" } })
    local names = {}
    for i, kv in ipairs(list) do names[i] = kv[1] end
    assert.are.same({ "A", "L.1", "L.2", "L.3", "L.4", "L.5", "L.6", "L.7", "L.8", "L.9",
      "L.10", "Z" }, names)
  end)

  it("renders numbers without losing precision or adding .0", function()
    local m = as_map(params.flatten({ I = 3, F = 3.0, G = 0.1, H = 1e-7, N = -42 }))
    assert.are.same({ I = "3", F = "3", G = "0.1", H = "1e-07", N = "-42" }, m)
  end)

  it("skips a JSON null marker when given", function()
    local null = {}
    assert.are.same({}, params.flatten({ A = null }, null))
  end)

  it("refuses values that cannot be sent", function()
    assert.has_error(function() params.flatten({ A = function() end }) end)
    assert.has_error(function() params.flatten({ A = 0 / 0 }) end)
    assert.has_error(function() params.flatten({ A = { [true] = 1 } }) end)
    assert.has_error(function() params.flatten("x") end)
  end)
end)
