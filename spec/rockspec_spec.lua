-- The rockspec must install exactly what the build tree runs: every Lua module and C source.
describe("rockspec", function()
  local spec = {}
  local chunk = assert(loadfile("rockspec/alicloud-scm-1.rockspec", "t", spec))
  local setfenv = rawget(_G, "setfenv") -- 5.1 and LuaJIT: loadfile takes no environment
  if setfenv then setfenv(chunk, spec) end
  chunk()

  local function files(cmd)
    local out, p = {}, assert(io.popen(cmd))
    for line in p:lines() do out[line] = true end
    p:close()
    return out
  end

  it("lists every Lua module under lua/", function()
    local listed = {}
    for _, path in pairs(spec.build.modules) do
      if type(path) == "string" then listed[path] = true end
    end
    assert.are.same(files("find lua -name '*.lua'"), listed)
  end)

  it("compiles every C and C++ source under csrc/", function()
    local listed = {}
    for _, path in ipairs(spec.build.modules["alicloud.core"].sources) do listed[path] = true end
    assert.are.same(files("find csrc -name '*.c' -o -name '*.cc'"), listed)
    assert.is_true(listed["csrc/core/json.cc"])
  end)

  it("uses the builtin backend and asks for libcurl and OpenSSL", function()
    assert.are.equal("builtin", spec.build.type)
    assert.is_table(spec.external_dependencies.CURL)
    assert.is_table(spec.external_dependencies.OPENSSL)
  end)
end)
