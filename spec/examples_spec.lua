-- Every example runs to completion against the fake cloud (each starts its own), from the
-- repository root as `make demo` runs them, and from any other directory, on the suite's Lua.
local proc = require("spec.support.proc")

local ENV = "ALICLOUD_FAKE=1 ALIBABA_CLOUD_ECS_METADATA_DISABLED=true "

local function run(cmd)
  local out, ok, _, code = proc.read(cmd .. " 2>&1")
  return ok, out, code
end

describe("examples", function()
  local p = assert(io.popen("ls examples/*.lua"))
  for path in p:lines() do
    if not path:match("/support%.lua$") then
      it(path .. " runs against the fake cloud", function()
        local ok, out, code = run(ENV .. proc.lua .. " " .. path)
        assert(ok, string.format("%s exited with %s:\n%s", path, tostring(code), out))
        assert.matches("using the local fake cloud", out)
      end)
    end
  end
  p:close()

  describe("run from another directory", function()
    local pwd = assert(io.popen("pwd"))
    local root = pwd:read("*l")
    pwd:close()
    local elsewhere

    before_each(function()
      elsewhere = os.tmpname()
      os.remove(elsewhere)
      assert(proc.execute("env -u LD_PRELOAD mkdir " .. elsewhere))
    end)

    after_each(function()
      proc.execute("env -u LD_PRELOAD rm -rf " .. elsewhere)
    end)

    local function check(ok, out, code)
      assert(ok, string.format("exited with %s:\n%s", tostring(code), out))
      assert.matches("using the local fake cloud", out)
      assert.matches("sync: +%d+ regions", out)
      assert.matches("promise: +%d+ of %d+ instances", out)
      assert.matches("callback: first region is", out)
    end

    it("by an absolute path, finding the module, its build and the fake cloud", function()
      check(run("cd " .. elsewhere .. " && " .. ENV .. proc.lua .. " " .. root
        .. "/examples/quickstart.lua"))
    end)

    it("by a path relative to that directory", function()
      check(run("cd " .. root .. "/spec && " .. ENV .. proc.lua .. " ../examples/quickstart.lua"))
    end)

    it("from examples/ itself", function()
      check(run("cd " .. root .. "/examples && " .. ENV .. proc.lua .. " quickstart.lua"))
    end)
  end)
end)
