-- The Makefile's front door: `make help` lists every target, `make check` is the quick inner
-- loop (every spec but the soak, nothing installed), and VERSION is the one version number.
-- make, luarocks and the generator are tools, not under test: never under the sanitizer
-- that make asan preloads (their own leaks would fail them). Nor do they inherit the
-- make running the suite (its LUA=... is in MAKEFLAGS and the environment): they show the
-- defaults.
local proc = require("spec.support.proc")
local function run(cmd)
  local out, ok = proc.read("env -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LUA -u SPECS " .. cmd
    .. " 2>&1")
  return ok, out
end

local function phony_targets()
  local targets = {}
  for line in io.lines("Makefile") do
    local list = line:match("^%.PHONY:%s*(.*)$")
    for name in (list or ""):gmatch("%S+") do targets[#targets + 1] = name end
  end
  return targets
end

describe("make help", function()
  it("lists every target the Makefile declares, one line each", function()
    local ok, out = run("make --no-print-directory help")
    assert(ok, out)
    local targets = phony_targets()
    assert.is_true(#targets >= 10)
    local listed = {}
    for line in out:gmatch("[^\n]+") do
      local name = line:match("^make (%S+)  ") or (line:match("^make   ") and "all")
      assert(name, "not a `make <target>  what` line: " .. line)
      assert.is_nil(listed[name], name .. " listed twice")
      listed[name] = true
    end
    for _, name in ipairs(targets) do
      assert(listed[name], "make help does not list " .. name)
    end
  end)
end)

describe("make check", function()
  local ok, out = run("make --no-print-directory -n -B check")

  it("runs every spec but the soak against the build tree", function()
    assert(ok, out)
    local busted = assert(out:match("[^\n]*busted[^\n]*"), out)
    assert.matches("LUA_CPATH_5_4='./build/?.so;;'", busted, 1, true)
    local p = assert(io.popen("ls spec/*_spec.lua"))
    for path in p:lines() do
      if path == "spec/soak_spec.lua" then
        assert.is_nil(busted:find(path, 1, true), "make check runs the soak")
      else
        assert(busted:find(path, 1, true), "make check leaves out " .. path)
      end
    end
    p:close()
  end)

  it("builds and lints but installs nothing", function()
    assert.matches("luacheck", out, 1, true)
    assert.matches("core.so", out, 1, true)
    -- make deps' commands (the C++ hint names apt-get install, but runs nothing)
    assert.is_nil(out:find("apt-get update", 1, true))
    assert.is_nil(out:find("dpkg -s", 1, true))
  end)
end)

describe("VERSION", function()
  it("is what the Makefile builds into alicloud.VERSION and names the source rock", function()
    local f = assert(io.open("VERSION"))
    local version = f:read("*l")
    f:close()
    local okh, help = run("make --no-print-directory help")
    assert(okh, help)
    assert.matches("alicloud-" .. version .. "-1.src.rock", help, 1, true)
    local okn, n = run("make --no-print-directory -n -B build/alicloud/core.so")
    assert(okn, n)
    assert.matches("-DALICLOUD_VERSION='\"" .. version .. "\"'", n, 1, true)
  end)
end)
