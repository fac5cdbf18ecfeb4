-- The rockspecs must install exactly what the build tree runs (every Lua module and C source),
-- be what tools/gen_rockspec.lua writes from the tree and VERSION, and ask luarocks to check
-- the external libraries and the C++ compiler before it builds anything.
local proc = require("spec.support.proc")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function load_rockspec(path)
  local spec = {}
  local chunk = assert(loadfile(path, "t", spec))
  local setfenv = rawget(_G, "setfenv") -- 5.1 and LuaJIT: loadfile takes no environment
  if setfenv then setfenv(chunk, spec) end
  chunk()
  return spec
end

-- make, luarocks and the generator are tools, not under test: never under the sanitizer
-- that make asan preloads (their own leaks would fail them).
local function run(cmd)
  local out, ok = proc.read("env -u LD_PRELOAD " .. cmd .. " 2>&1")
  return ok, out
end

local VERSION = read("VERSION"):match("^(%d+%.%d+%.%d+)\n$")
local RELEASE = "rockspec/alicloud-" .. tostring(VERSION) .. "-1.rockspec"

describe("rockspec", function()
  local spec = load_rockspec("rockspec/alicloud-scm-1.rockspec")

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

  it("uses the builtin backend and asks for libcurl, OpenSSL, simdjson and g++", function()
    assert.are.equal("builtin", spec.build.type)
    local ext = spec.external_dependencies
    assert.are.equal("curl", ext.CURL.library)
    assert.are.equal("crypto", ext.OPENSSL.library)
    assert.are.equal("openssl/evp.h", ext.OPENSSL.header)
    assert.are.equal("simdjson", ext.SIMDJSON.library)
    assert.are.equal("simdjson.h", ext.SIMDJSON.header)
    assert.are.equal("g++", ext.CXX_COMPILER.program)
  end)
end)

describe("the release rockspec", function()
  it("exists for the version in VERSION", function()
    assert.is_string(VERSION, "VERSION must hold one x.y.z line")
    assert.is_truthy(io.open(RELEASE), RELEASE .. " is missing: run make rockspec")
  end)

  it("is the scm rockspec with the release's version and a tarball as its source", function()
    local release, scm = load_rockspec(RELEASE), load_rockspec("rockspec/alicloud-scm-1.rockspec")
    assert.are.equal(VERSION .. "-1", release.version)
    assert.are.same({ url = "alicloud-" .. VERSION .. ".tar.gz", dir = "alicloud-" .. VERSION },
      release.source)
    assert.are.equal("scm-1", scm.version)
    release.version, release.source, scm.version, scm.source = nil, nil, nil, nil
    assert.are.same(scm, release)
  end)

  it("makes the module report VERSION, as the Makefile's build does", function()
    local define = 'ALICLOUD_VERSION="' .. VERSION .. '"'
    for _, path in ipairs({ RELEASE, "rockspec/alicloud-scm-1.rockspec" }) do
      local defines = load_rockspec(path).build.modules["alicloud.core"].defines
      assert.is_truthy(table.concat(defines, " "):find(define, 1, true), path)
    end
    assert.are.equal(VERSION, require("alicloud").VERSION)
  end)
end)

describe("tools/gen_rockspec.lua", function()
  it("writes the rockspecs in rockspec/ (they are up to date with the tree)", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(run("mkdir " .. dir))
    local ok, out = run(proc.lua .. " tools/gen_rockspec.lua " .. dir)
    assert(ok, out)
    for _, name in ipairs({ "alicloud-scm-1.rockspec", "alicloud-" .. VERSION .. "-1.rockspec" }) do
      assert.are.equal(read(dir .. "/" .. name), read("rockspec/" .. name),
        name .. " is stale: run make rockspec")
    end
    run("rm -rf " .. dir)
  end)
end)

describe("without a C++ compiler", function()
  it("luarocks stops before building and names g++", function()
    local tree = os.tmpname()
    os.remove(tree)
    -- CXX_COMPILER_DIR points luarocks' program check where no g++ is
    local ok, out = run("luarocks --lua-version=5.4 --tree=" .. tree
      .. " make --deps-mode=none rockspec/alicloud-scm-1.rockspec CXX_COMPILER_DIR=/nonexistent")
    run("rm -rf " .. tree)
    assert.is_falsy(ok)
    assert.matches("Could not find program file for CXX_COMPILER", out, 1, true)
    assert.matches("No file g++", out, 1, true)
    assert.is_nil(out:find("gcc ", 1, true), "it compiled something:\n" .. out)
  end)

  it("make stops at json.cc and says why a C++ compiler is needed", function()
    local dir = os.tmpname()
    os.remove(dir)
    local ok, out = run("make --no-print-directory CXX=no-such-c++ " .. dir .. "/json.o")
    run("rm -rf " .. dir)
    assert.is_falsy(ok)
    assert.matches("alicloud needs a C++ compiler (no-such-c++)", out, 1, true)
    assert.matches("simdjson", out, 1, true)
  end)
end)
