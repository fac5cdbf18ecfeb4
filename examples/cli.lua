-- The `alicloud` command line (bin/alicloud): one call, a bulk file at a rate with a progress
-- bar, and every item of a paged action, against the local fake cloud (or your account).
--   lua5.4 examples/cli.lua
local support = dofile("examples/support.lua")

local opts = support.client_options()
local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
-- bin/alicloud starts $ALICLOUD_LUA (else the first Lua on PATH): here the interpreter running
-- this example, the lowest index of arg
local first = 0
while arg[first - 1] do first = first - 1 end
local lua = first < 0 and arg[first] or "lua5.4"
local prefix, where = "ALICLOUD_LUA=" .. sh(lua) .. " ", ""
if opts.endpoint then -- the fake cloud: its endpoint and key
  prefix = prefix .. "ALIBABA_CLOUD_ACCESS_KEY_ID=ak-test ALIBABA_CLOUD_ACCESS_KEY_SECRET=secret-test "
  where = " --endpoint " .. opts.endpoint .. " --scheme http"
end

-- Runs `alicloud args` (at the fake cloud), its output through `pipe` when given.
local function run(args, pipe)
  local cmd = prefix .. "bin/alicloud " .. args .. where .. (pipe and (" | " .. pipe) or "")
  io.write("$ alicloud ", args, pipe and (" | " .. pipe) or "", "\n")
  io.flush()
  local ok = os.execute(cmd)
  if ok ~= true and ok ~= 0 then error("failed: " .. cmd) end
end

run("ecs DescribeRegions --AcceptLanguage en-US", "cut -c1-150")
run("ecs DescribeInstances --help", "head -5")

local input = os.tmpname()
local f = assert(io.open(input, "w"))
for i = 1, 40 do f:write(string.format('{"PageNumber": %d, "PageSize": 2}\n', i % 10 + 1)) end
f:close()
run("ecs DescribeInstances --bulk " .. sh(input) .. " --concurrency 8 --rate 40 --progress", "wc -l")
os.remove(input)

run("ecs DescribeInstances --all-pages --PageSize 10", "wc -l")
support.finish()
