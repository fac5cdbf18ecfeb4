-- 2xx bodies are parsed on the worker (simdjson) into a tape that the Lua thread turns into
-- tables: what each kind of JSON value becomes, and what is refused, sync and async.
local env = require("spec.support.env")
local json = require("alicloud.json")
local compat = require("alicloud.compat")
local null = json.null
local math_type = rawget(math, "type") -- 5.3+

describe("JSON bodies", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  local function serve(body)
    server:config{ actions = { DescribeRegions = { status = 200, body = body,
      content_type = "application/json" } } }
  end

  for _, mode in ipairs({ "sync", "async" }) do
    local function call()
      local ecs = env.ecs()
      if mode == "sync" then return ecs:DescribeRegions({}) end
      ecs:enable_async(2, 10)
      return ecs:DescribeRegionsAsync({}):wait(10)
    end

    describe(mode, function()
      it("builds nested objects and arrays, empty ones included", function()
        serve('{"A":{"B":[1,[2,3],{"C":[]}],"D":{}},"E":[{},{"F":"g"}]}')
        local res = assert(call())
        assert.are.same({ A = { B = { 1, { 2, 3 }, { C = {} } }, D = {} },
          E = { {}, { F = "g" } } }, res)
      end)

      it("unescapes strings, keeps NUL bytes and decodes surrogate pairs", function()
        serve('{"s":"a\\"b\\\\c\\/d\\n\\t","nul":"x\\u0000y","u":"\\u00e9\\u4e2d\\ud83d\\ude00",'
          .. '"k\\u00e9y":1,"raw":"中文","empty":"","":"no name","list":["",""]}')
        local res = assert(call())
        assert.are.equal('a"b\\c/d\n\t', res.s)
        assert.are.equal("x\0y", res.nul)
        assert.are.equal("é中😀", res.u)
        assert.are.equal(1, res["kéy"])
        assert.are.equal("中文", res.raw)
        assert.are.equal("", res.empty)
        assert.are.equal("no name", res[""])
        assert.are.same({ "", "" }, res.list)
      end)

      if compat.has_integers then
      it("makes integers Lua integers, exact to 64 bits, and other numbers floats", function()
        serve('{"i":42,"neg":-7,"zero":0,"whole":3.0,"exp":1e3,"f":1.5,"tiny":-2.5e-3,'
          .. '"big":9007199254740993,"max":9223372036854775807,"min":-9223372036854775808,'
          .. '"u64":9223372036854775808,"huge":123456789012345678901234567890}')
        local res = assert(call())
        for _, k in ipairs({ "i", "neg", "zero", "whole", "exp", "big", "max", "min" }) do
          assert.are.equal("integer", math_type(res[k]), k)
        end
        assert.are.same({ 42, -7, 0, 3, 1000 }, { res.i, res.neg, res.zero, res.whole, res.exp })
        assert.are.equal(9007199254740993, res.big) -- past 2^53: still exact
        assert.are.equal(rawget(math, "maxinteger"), res.max)
        assert.are.equal(rawget(math, "mininteger"), res.min)
        assert.are.equal("float", math_type(res.f))
        assert.are.equal(1.5, res.f)
        assert.are.equal(-2.5e-3, res.tiny)
        assert.are.equal("float", math_type(res.u64))
        assert.are.equal(9223372036854775808.0, res.u64)
        assert.are.equal("float", math_type(res.huge))
        assert.are.equal(1.2345678901234568e29, res.huge)
      end) else
      it("5.1/LuaJIT: whole numbers within 2^53 as numbers, 64-bit integers past it as strings",
        function()
        serve('{"i":42,"neg":-7,"whole":3.0,"exp":1e3,"f":1.5,"top":9007199254740992,'
          .. '"bottom":-9007199254740992,"big":9007199254740993,"nbig":-9007199254740993,'
          .. '"max":9223372036854775807,"min":-9223372036854775808,'
          .. '"u64":9223372036854775808,"huge":123456789012345678901234567890}')
        local res = assert(call())
        assert.are.same({ 42, -7, 3, 1000, 1.5 }, { res.i, res.neg, res.whole, res.exp, res.f })
        assert.are.equal(2 ^ 53, res.top) -- the last whole number a double holds with its neighbours
        assert.are.equal(-2 ^ 53, res.bottom)
        assert.are.equal("9007199254740993", res.big) -- a number would round it to 2^53
        assert.are.equal("-9007199254740993", res.nbig)
        assert.are.equal("9223372036854775807", res.max)
        assert.are.equal("-9223372036854775808", res.min)
        assert.are.equal("number", type(res.u64)) -- past 64 bits: a double, as on 5.3+
        assert.are.equal(2 ^ 63, res.u64)
        assert.are.equal(1.2345678901234568e29, res.huge)
      end) end

      it("gives booleans and null", function()
        serve('{"t":true,"f":false,"n":null,"list":[null,true]}')
        local res = assert(call())
        assert.is_true(res.t)
        assert.is_false(res.f)
        assert.are.equal(null, res.n)
        assert.are.equal(null, res.list[1])
        assert.is_true(res.list[2])
      end)

      it("accepts white space around the document", function()
        serve(' \n\t{ "a" : [ 1 , 2 ] }\r\n ')
        assert.are.same({ a = { 1, 2 } }, assert(call()))
      end)

      for name, body in pairs({ ["trailing content"] = '{"a":1} {"b":2}',
        ["a trailing comma"] = '{"a":[1,2,]}', ["a missing value"] = '{"a":}',
        ["an unclosed string"] = '{"a":"b}', ["an invalid escape"] = '{"a":"\\x"}',
        ["a bare word"] = '{"a":nope}', ["a leading zero"] = '{"a":012}',
        ["an unquoted key"] = '{a:1}', ["nesting deeper than 512"] = '{"a":'
          .. string.rep("[", 512) .. string.rep("]", 512) .. "}", ["a lone surrogate"] = '{"a":"\\ud800"}',
["a scalar"] = '"just a string"' }) do
        it("refuses a body with " .. name .. " as SDK.InvalidResponse", function()
          serve(body)
          local res, err = call()
          assert.is_nil(res)
          assert.are.equal("SDK.InvalidResponse", err.code)
          assert.are.equal(200, err.http_status)
        end)
      end

      it("gives the right short strings when thousands of them share the string cache",
        function()
        -- strings of 40 bytes or fewer are reused from earlier answers by hash: answers with
        -- more distinct strings than the cache has slots, and the same lengths, must not mix
        for _, prefix in ipairs({ "a", "b", "a" }) do
          local items = {}
          for i = 1, 6000 do items[i] = string.format('"%s-%05d"', prefix, i) end
          serve('{"Ids":[' .. table.concat(items, ",") .. "]}")
          local res = assert(call())
          for i = 1, 6000 do
            if res.Ids[i] ~= string.format("%s-%05d", prefix, i) then
              error(string.format("Ids[%d] = %s", i, tostring(res.Ids[i])))
            end
          end
        end
      end)

      it("decodes a large document with deep nesting", function()
        local depth, items = 511, {} -- with the object around it: 512, the most there may be
        for i = 1, 5000 do items[i] = string.format('{"Id":"i-%05d","N":%d}', i, i) end
        serve('{"Deep":' .. string.rep("[", depth) .. "1" .. string.rep("]", depth)
          .. ',"Items":[' .. table.concat(items, ",") .. "]}")
        local res = assert(call())
        local v = res.Deep
        for _ = 1, depth do v = v[1] end
        assert.are.equal(1, v)
        assert.are.equal(5000, #res.Items)
        assert.are.equal("i-05000", res.Items[5000].Id)
        assert.are.equal(4321, res.Items[4321].N)
      end)
    end)
  end
  -- Error bodies (and credential documents) go through lua-cjson, which has only doubles.
  it("decodes lua-cjson documents with whole numbers exact within 2^53 and rounded past it",
    function()
    local doc = assert(json.decode('{"Code":"X","Count":3,"Whole":4.0,"Big":9007199254740993}'))
    assert.are.equal("3", tostring(doc.Count)) -- an integer on 5.3+, a whole number on 5.1
    assert.are.equal("4", tostring(doc.Whole))
    assert.are.equal("number", type(doc.Big)) -- rounded to 2^53 inside lua-cjson, everywhere
    assert.are.equal(2 ^ 53, doc.Big)
  end)
end)
