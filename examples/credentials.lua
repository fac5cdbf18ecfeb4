-- Credentials: what the default chain finds, and a RAM role whose temporary credentials are
-- fetched once for a burst of async calls and refresh themselves before they expire.
--   lua5.4 examples/credentials.lua        (make demo runs it against the local fake cloud)
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud
local credentials = alicloud.credentials

local base_opts = support.client_options() -- starts the fake cloud when it is used
local server = support.fake_server
local function log(line) print("  log: " .. line) end

-- 1. The default chain: env, OIDC, CLI config, INI profile, ECS RAM role, credentials URI.
local function show(title, chain)
  local snap, err = chain:get()
  if snap then
    print(string.format("%-36s -> %s", title, tostring(snap)))
  else
    print(string.format("%-36s -> nothing:\n%s", title, tostring(err)))
  end
end

if server then
  -- On the fake cloud: an empty HOME and an injected environment (nothing of yours is read),
  -- and the metadata service at the fake (never the real 100.100.100.200).
  local home = os.tmpname()
  os.remove(home)
  os.execute("mkdir -p '" .. home .. "/.alibabacloud'")
  local metadata = "http://" .. server.endpoint
  show("default chain (empty HOME)", credentials.default({ env = { HOME = home },
    metadata_endpoint = metadata }))
  local f = assert(io.open(home .. "/.alibabacloud/credentials", "w"))
  f:write("[default]\ntype = access_key\naccess_key_id = ak-test\naccess_key_secret = secret-test\n")
  f:close()
  show("default chain (an INI profile)", credentials.default({ env = { HOME = home },
    metadata_endpoint = metadata }))
  show("default chain (no metadata service)", credentials.default({ env = { HOME = "/nonexistent",
    ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" } }))
  os.execute("rm -rf '" .. home .. "'")
else
  show("default chain", credentials.default())
end

-- 2. A RAM role: AssumeRole through this SDK, then 50 concurrent calls with the role.
local role_arn = server and "acs:ram::1234567890123456:role/demo" or os.getenv("ALIBABA_CLOUD_ROLE_ARN")
if not role_arn then
  print("ram role: set ALIBABA_CLOUD_ROLE_ARN to try it on your account")
else
  local role = assert(credentials.ram_role_arn({
    credential = server and base_opts.credential or credentials.default(),
    role_arn = role_arn,
    role_session_name = "alicloud-example",
    duration = 900,
    sts_endpoint = server and server.endpoint or nil, -- the fake's STS; otherwise sts.aliyuncs.com
    sts_scheme = server and "http" or nil,
    log = log,                                         -- refreshes, never a secret
  }))
  local ecs = alicloud.client("ecs", support.client_options({ credential = role }))
  ecs:enable_async(8, 100)
  local calls = {}
  for i = 1, 50 do calls[i] = ecs:DescribeRegionsAsync({}) end
  local results, err = alicloud.all(calls):wait(60)
  if not results then error(tostring(err)) end
  print(string.format("ram role: %d calls as %s", #results, tostring(role)))
  if server then
    print(string.format("ram role: STS was asked %d time(s)", server:stats().by_action.AssumeRole))
  end
  ecs:shutdown()
end

support.finish()
