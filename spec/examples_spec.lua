-- Every example runs to completion against the fake cloud (each starts its own).
local proc = require("spec.support.proc")

describe("examples", function()
  local p = assert(io.popen("ls examples/*.lua"))
  for path in p:lines() do
    if not path:match("/support%.lua$") then
      it(path .. " runs against the fake cloud", function()
        local cmd = "ALICLOUD_FAKE=1 ALIBABA_CLOUD_ECS_METADATA_DISABLED=true " .. proc.lua .. " "
          .. path .. " 2>&1"
        local out, ok, _, code = proc.read(cmd)
        assert(ok, string.format("%s exited with %s:\n%s", path, tostring(code), out))
        assert.matches("using the local fake cloud", out)
      end)
    end
  end
  p:close()
end)
