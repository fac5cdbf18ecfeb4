-- The `alicloud` command line, run as a process against the fake cloud, its output parsed.
local env = require("spec.support.env")
local proc = require("spec.support.proc")
-- a file utility, run without the sanitizer's preload (under ASan its leak check fails `cp`)
local function tool(cmd) return proc.execute("env -u LD_PRELOAD " .. cmd) end
local cjson = require("cjson")
local socket = require("socket")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "r")
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function lines(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("command line", function()
  local server, base_env

  setup(function()
    server = env.server()
    -- the fake loads its parameter models on the first modeled call (seconds): not in a timing
    assert(env.ecs():DescribeInstances({ PageSize = 1 }))
    base_env = {
      ALIBABA_CLOUD_ACCESS_KEY_ID = env.fake.ACCESS_KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET = env.fake.ACCESS_KEY_SECRET,
      ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true",
      ALIBABA_CLOUD_REGION_ID = false, ALICLOUD_DEBUG = false,
      ALIBABA_CLOUD_CREDENTIALS_FILE = false, ALIBABA_CLOUD_PROFILE = false,
      ALIBABACLOUD_REGION_ID = false, ALICLOUD_REGION_ID = false,
      ALIBABA_CLOUD_CLI_PROFILE_DISABLED = false,
      HOME = "/nonexistent/alicloud-cli-spec", -- no profile of the user's sets the region
    }
  end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  -- bin/alicloud run as a program (its sh prologue starts $ALICLOUD_LUA, the suite's Lua), or
  -- with `lua` true by that Lua, as luarocks' wrapper runs it.
  local function command(args, vars, lua)
    local unset, set = {}, {}
    local all = { ALICLOUD_LUA = proc.lua }
    for k, v in pairs(base_env) do all[k] = v end
    for k, v in pairs(vars or {}) do all[k] = v end
    for k, v in pairs(all) do
      if v == false then unset[#unset + 1] = "-u " .. k else set[#set + 1] = k .. "=" .. q(v) end
    end
    return "env " .. table.concat(unset, " ") .. " " .. table.concat(set, " ") .. " "
      .. (lua and proc.lua .. " " or "") .. "bin/alicloud " .. args
  end

  -- Runs the command line; returns stdout, stderr and the exit status.
  local function run(args, vars, stdin, lua)
    local out, err = os.tmpname(), os.tmpname()
    local _, _, how, code = proc.read(command(args, vars, lua) .. " >" .. out .. " 2>" .. err .. " <"
      .. (stdin or "/dev/null"))
    local o, e = slurp(out), slurp(err)
    os.remove(out)
    os.remove(err)
    return o, e, (how == "exit" and code) or (128 + code)
  end

  local function at_fake(extra)
    return "--endpoint " .. server.endpoint .. " --scheme http " .. (extra or "")
  end

  describe("one call", function()
    it("prints the JSON result", function()
      local out, err, code = run("ecs DescribeRegions " .. at_fake())
      assert.are.equal(0, code, err)
      local res = cjson.decode(out)
      assert.are.equal(12, #res.Regions.Region)
      assert.is_string(res.RequestId)
      assert.are.equal(1, server:stats().by_action.DescribeRegions)
    end)

    it("sends typed parameters in their wire form", function()
      server:config{ instances = { count = 25 } }
      -- InstanceIds is a string parameter carrying a JSON array: sent as given
      local out, err, code = run("ecs DescribeInstances --InstanceIds '[\"i-fake000003\",\"i-fake000005\"]' "
        .. "--PageSize 5 " .. at_fake())
      assert.are.equal(0, code, err)
      local res = cjson.decode(out)
      assert.are.equal(2, res.TotalCount)
      assert.are.equal(5, res.PageSize)
      assert.are.equal("i-fake000003", res.Instances.Instance[1].InstanceId)
      -- Tag is a list of structs: --Tag.1.Key and --Tag.1.Value become Tag.1.Key, Tag.1.Value
      out, err, code = run("ecs ListTagResources --ResourceType instance --Tag.1.Key index "
        .. "--Tag.1.Value=7 " .. at_fake())
      assert.are.equal(0, code, err)
      res = cjson.decode(out)
      assert.are.equal(2, #res.TagResources.TagResource)
      for _, t in ipairs(res.TagResources.TagResource) do
        assert.are.equal("i-fake000007", t.ResourceId)
      end
    end)

    it("takes the parameters the action lists without a capital, ROA's task_id and page_size", function()
      -- the override answers only the literal path: task_id must have become part of it
      server:config{ actions = {
        ["GET /tasks/T-fake42"] = { body = '{"task_id":"T-fake42","state":"success"}' },
        ["GET /api/v1/clusters"] = { body = '{"clusters":[]}' },
      } }
      local out, err, code = run("cs DescribeTaskInfo --task_id T-fake42 " .. at_fake())
      assert.are.equal(0, code, err)
      assert.are.equal("success", cjson.decode(out).state)
      assert.are.equal(1, server:stats().by_action["GET /tasks/T-fake42"])
      -- a Query one, typed by the catalogue: the debug log shows what went on the wire
      out, err, code = run("cs DescribeClustersV1 --page_size 5 --name=web " .. at_fake(),
        { ALICLOUD_DEBUG = "2" })
      assert.are.equal(0, code, err)
      assert.are.same({}, cjson.decode(out).clusters)
      assert.matches("query=name=web&page_size=5 ", err)
      out, err, code = run("cs DescribeClustersV1 --page_size five " .. at_fake())
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("SDK.InvalidParam.*page_size", err)
      -- a name the action does not list is still an unknown option
      out, err, code = run("cs DescribeClustersV1 --page_sise 5 " .. at_fake())
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("unknown option %-%-page_sise", err)
      assert.are.equal(2, server:stats().requests)
    end)

    it("refuses a value of the wrong kind before sending anything", function()
      local out, err, code = run("ecs DescribeInstances --PageSize ten " .. at_fake())
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("SDK.InvalidParam", err)
      assert.matches("PageSize", err)
      assert.are.equal(0, server:stats().requests)
    end)

    it("prints an error's code and message and exits 1", function()
      local out, err, code = run("ecs DescribeInstances --PageSize 500 " .. at_fake())
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("%[InvalidParameter%]", err)
      assert.matches("PageSize", err)
      out, err, code = run("ecs DescribeInstancez " .. at_fake())
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("SDK.InvalidAction", err)
      assert.matches("did you mean DescribeInstances", err)
    end)

    it("takes --region, --signature-version and --profile", function()
      server:config{ instances = { count = 3 } }
      local out, err, code = run("ecs DescribeInstances --region cn-beijing --signature-version v3 "
        .. at_fake())
      assert.are.equal(0, code, err)
      assert.are.equal("cn-beijing", cjson.decode(out).Instances.Instance[1].RegionId)
      -- the profile's key works where the environment's wrong secret would not
      local file = os.tmpname()
      write(file, "[default]\ntype = access_key\naccess_key_id = ak-test\naccess_key_secret = nope\n"
        .. "[other]\ntype = access_key\naccess_key_id = " .. env.fake.OTHER_ACCESS_KEY_ID
        .. "\naccess_key_secret = " .. env.fake.OTHER_ACCESS_KEY_SECRET .. "\n")
      local vars = { ALIBABA_CLOUD_CREDENTIALS_FILE = file,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET = "wrong-secret-4c1e" }
      out, err, code = run("ecs DescribeRegions --profile other " .. at_fake(), vars)
      assert.are.equal(0, code, err)
      assert.are.equal(12, #cjson.decode(out).Regions.Region)
      out, err, code = run("ecs DescribeRegions " .. at_fake(), vars)
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("SignatureDoesNotMatch", err)
      assert.is_nil(err:find("wrong-secret-4c1e", 1, true))
      os.remove(file)
    end)

    it("keeps secrets out of its output, with the debug log on", function()
      local _, err, code = run("ecs DescribeRegions " .. at_fake(), { ALICLOUD_DEBUG = "2",
        ALIBABA_CLOUD_SECURITY_TOKEN = "tok-cli-secret-9d2" })
      assert.are.equal(0, code, err)
      assert.matches("alicloud: %S+ ecs DescribeRegions POST", err)
      assert.is_nil(err:find(env.fake.ACCESS_KEY_SECRET, 1, true))
      assert.is_nil(err:find("tok-cli-secret-9d2", 1, true))
    end)

    it("prints the action's parameters with --help, the product's actions, and usage", function()
      local out, err, code = run("ecs DescribeInstances --help")
      assert.are.equal(0, code, err)
      assert.matches("DescribeInstances", out)
      assert.matches("PageSize%s+integer", out)
      assert.matches("InstanceIds", out)
      out, err, code = run("ecs --help")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.matches("DescribeRegions", out)
      assert.matches("RunInstances", out)
      local _, uerr, ucode = run("")
      assert.are.equal(2, ucode)
      assert.matches("usage: alicloud", uerr)
      _, uerr, ucode = run("ecs DescribeRegions --colour red")
      assert.are.equal(2, ucode)
      assert.matches("unknown option %-%-colour", uerr)
      _, uerr, ucode = run("nosuch DescribeThings")
      assert.are.equal(2, ucode)
      assert.matches("unknown product 'nosuch'", uerr)
    end)
  end)

  describe("bin/alicloud", function()
    local dir

    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert.is_true(tool("mkdir " .. q(dir)))
    end)
    after_each(function() tool("rm -rf " .. q(dir)) end)

    it("is installed by the rock as a script that luarocks wraps as Lua", function()
      local spec = {}
      local chunk = assert(loadfile("rockspec/alicloud-scm-1.rockspec", "t", spec))
      local setfenv = rawget(_G, "setfenv") -- 5.1 and LuaJIT: loadfile takes no environment
      if setfenv then setfenv(chunk, spec) end
      chunk()
      assert.are.equal("bin/alicloud", spec.build.install.bin.alicloud)
      assert.matches("^#!/bin/sh\n", slurp("bin/alicloud"))
      -- luarocks wraps a bin script in a launcher of its Lua when loadfile takes it
      assert.is_function(loadfile("bin/alicloud"))
      local out, err, code = run("ecs DescribeRegions " .. at_fake(), nil, nil, true)
      assert.are.equal(0, code, err)
      assert.are.equal(12, #cjson.decode(out).Regions.Region)
    end)

    it("finds a checkout's modules and build by itself, and says when the build is missing", function()
      -- the default search paths (lua-cjson and the like), none of which reaches the module:
      -- only the checkout bin/alicloud sits in does
      local nowhere = {}
      for _, k in ipairs({ "LUA_PATH", "LUA_PATH_5_3", "LUA_PATH_5_4", "LUA_CPATH", "LUA_CPATH_5_3",
        "LUA_CPATH_5_4" }) do
        nowhere[k] = false
      end
      local out, err, code = run("ecs DescribeRegions " .. at_fake(), nowhere)
      assert.are.equal(0, code, err)
      assert.are.equal(12, #cjson.decode(out).Regions.Region)
      -- a copy of the checkout without any build
      assert.is_true(tool("cp -r bin lua " .. q(dir)))
      local cmd = command("ecs DescribeRegions " .. at_fake(), nowhere):gsub("bin/alicloud ",
        q(dir .. "/bin/alicloud") .. " ")
      local text, ok = proc.read(cmd .. " 2>&1")
      assert.is_nil(ok)
      assert.matches("alicloud: the C module is not built for %S+ %(no .*/alicloud/core%.so%): run make LUA=",
        text)
      assert.is_nil(text:find("traceback", 1, true))
      assert.are.equal(1, server:stats().requests)
    end)

    it("prints its version and the Lua it runs on with --version", function()
      local out, err, code = run("--version")
      assert.are.equal(0, code, err)
      local jit = rawget(_G, "jit") -- the suite's Lua is $ALICLOUD_LUA, the one bin/alicloud starts
      assert.are.equal(string.format("alicloud %s (%s)\n", require("alicloud").VERSION,
        jit and jit.version or _VERSION), out)
    end)

    it("starts a Lua from PATH without $ALICLOUD_LUA: a versioned one before plain lua", function()
      local real = proc.read("command -v " .. q(proc.lua)):match("^(%S+)")
      assert.is_string(real)
      -- this PATH holds the suite's Lua as lua5.1, and a `lua` that must not be chosen
      assert.is_true(tool("ln -s " .. q(real) .. " " .. q(dir .. "/lua5.1")))
      write(dir .. "/lua", "#!/bin/sh\necho 'plain lua chosen' >&2\nexit 3\n")
      assert.is_true(tool("chmod +x " .. q(dir .. "/lua")))
      local out, err, code = run("ecs DescribeRegions " .. at_fake(), { ALICLOUD_LUA = false, PATH = dir })
      assert.are.equal(0, code, err)
      assert.are.equal(12, #cjson.decode(out).Regions.Region)
      os.remove(dir .. "/lua5.1")
      out, err, code = run("ecs DescribeRegions " .. at_fake(), { ALICLOUD_LUA = false, PATH = dir })
      assert.are.equal("", out)
      assert.are.equal(3, code, err)
      assert.matches("plain lua chosen", err)
      os.remove(dir .. "/lua")
      out, err, code = run("ecs DescribeRegions " .. at_fake(), { ALICLOUD_LUA = false, PATH = dir })
      assert.are.equal(127, code)
      assert.are.equal("", out)
      assert.matches("alicloud: no Lua found", err)
      assert.are.equal(0, server:stats().requests - 1) -- only the first run reached the fake
    end)
  end)

  describe("the region", function()
    local home

    before_each(function()
      home = os.tmpname()
      os.remove(home)
      assert.is_true(tool("mkdir -p " .. q(home .. "/.aliyun")))
      local fake = env.fake
      write(home .. "/.aliyun/config.json", cjson.encode({ current = "main", profiles = {
        { name = "main", mode = "AK", access_key_id = fake.ACCESS_KEY_ID,
          access_key_secret = fake.ACCESS_KEY_SECRET, region_id = "cn-shanghai" },
        { name = "other", mode = "AK", access_key_id = fake.OTHER_ACCESS_KEY_ID,
          access_key_secret = fake.OTHER_ACCESS_KEY_SECRET, region_id = "cn-beijing" },
        { name = "bare", mode = "AK", access_key_id = fake.OTHER_ACCESS_KEY_ID,
          access_key_secret = fake.OTHER_ACCESS_KEY_SECRET },
        { name = "odd", mode = "AK", access_key_id = fake.OTHER_ACCESS_KEY_ID,
          access_key_secret = fake.OTHER_ACCESS_KEY_SECRET, region_id = "cn beijing" },
      } }))
      server:config{ instances = { count = 1 } }
    end)
    after_each(function() tool("rm -rf " .. q(home)) end)

    -- The region the call carried, as the fake saw it: it puts RegionId into each instance.
    local function region_of(args, vars)
      local v = { HOME = home }
      for k, x in pairs(vars or {}) do v[k] = x end
      local out, err, code = run("ecs DescribeInstances --PageSize 1 " .. args .. " " .. at_fake(), v)
      assert.are.equal(0, code, err)
      return cjson.decode(out).Instances.Instance[1].RegionId
    end

    it("is the profile's region_id when neither --region nor the environment gives one", function()
      -- the environment's secret is wrong: the call only succeeds with the profile's key
      local wrong = { ALIBABA_CLOUD_ACCESS_KEY_SECRET = "wrong-secret-4c1e" }
      assert.are.equal("cn-beijing", region_of("--profile other", wrong))
      -- no --profile: the credentials are the chain's (here the environment's), the region that
      -- of $ALIBABA_CLOUD_PROFILE, else of the file's current profile, as the aliyun CLI takes it
      assert.are.equal("cn-beijing", region_of("", { ALIBABA_CLOUD_PROFILE = "other" }))
      assert.are.equal("cn-shanghai", region_of(""))
      assert.are.equal("cn-hangzhou", region_of("--profile bare")) -- none: the default
      -- a profile the CLI config lacks is the INI file's, region_id and all
      local ini = home .. "/credentials"
      write(ini, "[ini]\ntype = access_key\naccess_key_id = " .. env.fake.OTHER_ACCESS_KEY_ID
        .. "\naccess_key_secret = " .. env.fake.OTHER_ACCESS_KEY_SECRET .. "\nregion_id = cn-hongkong\n")
      assert.are.equal("cn-hongkong", region_of("--profile ini", { ALIBABA_CLOUD_CREDENTIALS_FILE = ini }))
    end)

    it("comes from --region, else the environment, else the profile", function()
      local both = { ALIBABA_CLOUD_REGION_ID = "cn-shenzhen" }
      assert.are.equal("cn-qingdao", region_of("--profile other --region cn-qingdao", both))
      assert.are.equal("cn-shenzhen", region_of("--profile other", both))
      assert.are.equal("cn-zhangjiakou", region_of("--profile other",
        { ALICLOUD_REGION_ID = "cn-zhangjiakou" }))
      assert.are.equal("cn-wulanchabu", region_of("--profile other",
        { ALIBABACLOUD_REGION_ID = "cn-wulanchabu", ALICLOUD_REGION_ID = "cn-zhangjiakou" }))
    end)

    it("is refused before anything is sent when it is no region id, wherever it came from", function()
      for _, case in ipairs({
        { "--region 'cn-x/../y'", nil, "%-%-region" },
        { "", { ALIBABA_CLOUD_REGION_ID = "cn-hangzhou.evil" }, "%$ALIBABA_CLOUD_REGION_ID" },
        { "--profile odd", nil, "the profile's region_id" },
      }) do
        local vars = { HOME = home }
        for k, x in pairs(case[2] or {}) do vars[k] = x end
        local out, err, code = run("ecs DescribeRegions " .. case[1] .. " " .. at_fake(), vars)
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.matches("is not a region id", err)
        assert.matches(case[3], err)
      end
      local _, err, code = run("ecs DescribeRegions --region= " .. at_fake())
      assert.are.equal(2, code)
      assert.matches("%-%-region needs a value", err)
      assert.are.equal(0, server:stats().requests)
    end)
  end)

  describe("--all-pages", function()
    it("prints every item of a page-numbered action as JSON lines", function()
      server:config{ instances = { count = 25 } }
      local out, err, code = run("ecs DescribeInstances --all-pages --PageSize 10 " .. at_fake())
      assert.are.equal(0, code, err)
      local items = lines(out)
      assert.are.equal(25, #items)
      for i, l in ipairs(items) do
        assert.are.equal(string.format("i-fake%06d", i), cjson.decode(l).InstanceId)
      end
      assert.are.equal(3, server:stats().by_action.DescribeInstances)
    end)

    it("follows a token-paged action to its end", function()
      server:config{ instances = { count = 60 } }
      local out, err, code = run("ecs ListTagResources --ResourceType instance --all-pages " .. at_fake())
      assert.are.equal(0, code, err)
      local items = lines(out)
      assert.are.equal(120, #items) -- two tags each, 50 a page
      assert.are.equal("i-fake000060", cjson.decode(items[120]).ResourceId)
      assert.are.equal(3, server:stats().by_action.ListTagResources)
    end)
  end)

  describe("--bulk", function()
    local input

    before_each(function() input = os.tmpname() end)
    after_each(function() os.remove(input) end)

    it("writes one line per input line, in input order, ok or error", function()
      server:config{ instances = { count = 25 }, delay = 0.02 }
      local text = {}
      for i = 1, 30 do
        if i == 7 then
          text[i] = "not json"
        elseif i == 12 then
          text[i] = '{"PageSize": 500}'
        else
          -- later lines are quicker: out of order completions must still print in order
          text[i] = string.format('{"PageNumber": %d, "PageSize": 1}', i % 25 + 1)
        end
      end
      write(input, table.concat(text, "\n") .. "\n")
      local out, err, code = run("ecs DescribeInstances --bulk " .. input .. " --concurrency 4 " .. at_fake())
      assert.are.equal(1, code, err) -- some lines failed
      local got = lines(out)
      assert.are.equal(30, #got)
      for i, l in ipairs(got) do
        local v = cjson.decode(l)
        if i == 7 then
          assert.are.equal("SDK.InvalidParam", v.error.code)
        elseif i == 12 then
          assert.are.equal("InvalidParameter", v.error.code)
          assert.are.equal(400, v.error.http_status)
        else
          assert.is_nil(v.error)
          assert.are.equal(i % 25 + 1, v.ok.PageNumber)
          assert.are.equal(string.format("i-fake%06d", i % 25 + 1), v.ok.Instances.Instance[1].InstanceId)
        end
      end
      local st = server:stats()
      assert.are.equal(29, st.by_action.DescribeInstances)
      assert.is_true(st.max_concurrent <= 4 and st.max_concurrent >= 2, tostring(st.max_concurrent))
      assert.are.equal("", err) -- stderr is not a terminal: no progress bar
    end)

    it("keeps to --rate: no Throttling from a fake that throttles above it", function()
      server:config{ throttle = { rate = 20, burst = 10 } }
      write(input, string.rep("{}\n", 30))
      local t0 = socket.gettime()
      local out, err, code = run("ecs DescribeRegions --bulk " .. input .. " --concurrency 8 --rate 20 "
        .. at_fake())
      local took = socket.gettime() - t0
      assert.are.equal(0, code, err)
      assert.are.equal(30, #lines(out))
      assert.is_nil(out:find("Throttling", 1, true))
      assert.is_nil(server:stats().errors["Throttling.User"])
      assert.is_true(took >= 29 / 20 - 0.05, "took " .. took)
    end)

    it("draws a progress bar on stderr with --progress", function()
      write(input, string.rep("{}\n", 12))
      local out, err, code = run("ecs DescribeRegions --bulk " .. input .. " --progress " .. at_fake())
      assert.are.equal(0, code, err)
      assert.are.equal(12, #lines(out))
      local last = err:match("([^\r]*)\n$")
      assert.matches("^%[#+%] 12/12 done, 0 failed, [%d%.]+ calls/s, ETA 0:00", last)
    end)

    it("refuses a file it cannot read, a directory too, before sending anything", function()
      for _, path in ipairs({ "/nonexistent/calls.jsonl", "spec" }) do
        local out, err, code = run("ecs DescribeRegions --bulk " .. path .. " " .. at_fake())
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.matches("^alicloud: cannot read " .. path:gsub("%p", "%%%0") .. ": %S", err)
        assert.is_nil(err:find("traceback", 1, true))
      end
      assert.are.equal(0, server:stats().requests)
    end)

    it("reads standard input with --bulk -", function()
      write(input, '{"PageSize": 2}\n{"PageSize": 3}\n')
      local out, err, code = run("ecs DescribeInstances --bulk - " .. at_fake(), nil, input)
      assert.are.equal(0, code, err)
      local got = lines(out)
      assert.are.equal(2, #got)
      assert.are.equal(3, cjson.decode(got[2]).ok.PageSize)
    end)

    it("on SIGINT cancels what is queued and in flight, prints what was done, exits 130", function()
      write(input, string.rep("{}\n", 200))
      local out, err, pidf, rcf = os.tmpname(), os.tmpname(), os.tmpname(), os.tmpname()
      os.remove(rcf)
      -- the shell backgrounds it with SIGINT ignored: the command line installs its own handler
      os.execute(string.format("sh -c %s >/dev/null 2>&1 &", q(string.format(
        "%s >%s 2>%s </dev/null & echo $! >%s; wait $!; echo $? >%s",
        command("ecs DescribeRegions --bulk " .. input .. " --concurrency 4 --rate 20 " .. at_fake()),
        out, err, pidf, rcf))))
      assert.is_truthy(env.eventually(function() return #lines(slurp(out)) >= 10 end, 15))
      local pid = tonumber(slurp(pidf))
      assert.is_number(pid)
      os.execute("kill -INT " .. pid)
      assert.is_truthy(env.eventually(function() return slurp(rcf) ~= "" end, 15))
      assert.are.equal(130, tonumber(slurp(rcf)))
      local got = lines(slurp(out))
      local e = slurp(err)
      for _, f in ipairs({ out, err, pidf, rcf }) do os.remove(f) end
      assert.is_true(#got >= 10 and #got < 200, tostring(#got))
      local cancelled, ok = 0, 0
      for _, l in ipairs(got) do
        local v = cjson.decode(l)
        if v.ok then
          ok = ok + 1
        else
          assert.are.equal("SDK.Cancelled", v.error.code)
          cancelled = cancelled + 1
        end
      end
      assert.is_true(cancelled >= 1)
      assert.is_table(cjson.decode(got[1]).ok) -- the first had the first token
      -- every call that reached the server and finished is among the lines
      assert.is_true(ok <= server:stats().by_action.DescribeRegions)
      assert.matches("interrupted: " .. ok .. " calls done, " .. cancelled .. " cancelled", e)
    end)
  end)
end)
