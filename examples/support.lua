-- Shared by the examples: where to send calls. With ALICLOUD_FAKE=1 (what `make demo` sets),
-- or when no credentials are in the environment, the examples start the local fake cloud and
-- talk to it; otherwise they use your credentials and the real endpoints.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
-- The Makefile's build directory for this interpreter (`make LUA=luajit` builds build-luajit/).
local build = jit and "build-luajit" -- luacheck: ignore 113 (LuaJIT's global)
  or ({ ["Lua 5.1"] = "build-5.1", ["Lua 5.3"] = "build-5.3" })[_VERSION] or "build"
package.cpath = "./" .. build .. "/?.so;" .. package.cpath

local alicloud = require("alicloud")

local M = { alicloud = alicloud }

local use_fake = os.getenv("ALICLOUD_FAKE") == "1" or not os.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
local server

--- Client options for `product`: the fake cloud's endpoint and key, or your own credentials.
function M.client_options(extra)
  local opts = { region = os.getenv("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou" }
  if use_fake then
    if not server then
      local fake = require("spec.support.fake")
      server = fake.start()
      M.fake_server = server
      io.write(string.format("(using the local fake cloud at http://%s)\n", server.endpoint))
      M.fake_credential = alicloud.credentials.access_key(fake.ACCESS_KEY_ID,
        fake.ACCESS_KEY_SECRET)
    end
    opts.endpoint, opts.scheme, opts.credential = server.endpoint, "http", M.fake_credential
  end
  for k, v in pairs(extra or {}) do opts[k] = v end
  return opts
end

function M.finish()
  if server then server:stop() end
end

return M
