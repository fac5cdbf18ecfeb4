-- Typed parameters: names checked before sending, values encoded by kind, positions and
-- per-action versions honoured, read-only decided by the action, alicloud.describe. Against
-- the fake cloud, which checks the parameters of the actions it models (fake_params.py).
local env = require("spec.support.env")
local alicloud = env.alicloud()
local json = require("alicloud.json")

describe("typed parameters", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  local function requests() return server:stats().requests end
  local function count(action) return server:stats().by_action[action] or 0 end

  -- A client of a catalogue product on the fake cloud.
  local function client(product, opts)
    local o = { region = "cn-hangzhou", credential = env.credential(),
      endpoint = server.endpoint, scheme = "http" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return alicloud.client(product, o)
  end

  local function refused(res, err, parameter, pattern)
    assert.is_nil(res)
    assert.equal("SDK.InvalidParam", err.code)
    assert.equal("client", err.kind)
    assert.equal(parameter, err.parameter)
    if pattern then assert.matches(pattern, err.message, 1, true) end
  end

  describe("checking before sending", function()
    it("refuses a list for ECS InstanceIds (a JSON array text) before sending", function()
      local res, err = env.ecs():DescribeInstances({ InstanceIds = { "i-fake000001" } })
      refused(res, err, "InstanceIds", "alicloud.as_json(v)")
      assert.equal(0, requests())
    end)

    it("refuses the same in an async call: the promise is rejected, nothing is sent", function()
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local res, err = ecs:DescribeInstancesAsync({ InstanceIds = { "i-1" } }):wait()
      refused(res, err, "InstanceIds")
      assert.equal(0, requests())
    end)

    it("sends alicloud.as_json for InstanceIds as one JSON text, which the API takes", function()
      local res, err = env.ecs():DescribeInstances({
        InstanceIds = alicloud.as_json({ "i-fake000001", "i-fake000002" }) })
      assert.is_nil(err)
      assert.is_table(res.Instances)
      assert.equal(1, count("DescribeInstances"))
    end)

    it("unchecked still refuses a value its kind cannot encode (names only go unchecked)",
      function()
        local res, err = env.ecs():DescribeInstances({ InstanceIds = { "i-1" } },
          { unchecked = true })
        refused(res, err, "InstanceIds")
        assert.equal(0, requests())
      end)

    it("the fake cloud refuses InstanceIds.1 as the real API does (client:request)", function()
      local res, err = env.ecs():request({ action = "DescribeInstances", version = "2014-05-26",
        query = { InstanceIds = { "i-1" } } })
      assert.is_nil(res)
      assert.equal("server", err.kind)
      assert.equal("InvalidParameter", err.code)
      assert.matches("InstanceIds.1", err.message, 1, true)
    end)

    it("refuses a misspelt DryRun on RunInstancesAsync, with a did-you-mean", function()
      local ecs = env.ecs()
      ecs:enable_async(1, 10)
      local res, err = ecs:RunInstancesAsync({ ImageId = "img-1", InstanceType = "ecs.g7.large",
        DryRn = true }):wait()
      refused(res, err, "DryRn", "did you mean 'DryRun'?")
      assert.matches("ecs RunInstances", err.message, 1, true)
      assert.equal(0, requests())
    end)

    it("refuses an unknown name with no close match without a guess", function()
      local res, err = env.ecs():DescribeRegions({ CompletelyUnrelated = 1 })
      refused(res, err, "CompletelyUnrelated")
      assert.not_matches("did you mean", err.message, 1, true)
    end)

    it("always accepts RegionId and the protocol's own parameters", function()
      local res, err = env.ecs():DescribeRegions({ RegionId = "cn-beijing", Format = "JSON",
        AcceptLanguage = "en-US" })
      assert.is_nil(err)
      assert.is_table(res.Regions)
    end)

    it("opts.unchecked = true sends unknown names as they are", function()
      local res, err = env.ecs():DescribeRegions({ Bogus = "x" }, { unchecked = true })
      assert.is_nil(res)
      assert.equal("server", err.kind) -- it went out: the fake refuses the name
      assert.matches('"Bogus"', err.message, 1, true)
      assert.equal(1, count("DescribeRegions"))
    end)

    it("check_params = false on the client or its config sends unknown names", function()
      for _, c in ipairs({ env.ecs({ check_params = false }),
        env.ecs({ config = alicloud.config():with_check_params(false) }) }) do
        server:reset()
        local _, err = c:DescribeRegions({ Bogus = "x" })
        assert.equal("server", err.kind)
        assert.equal(1, count("DescribeRegions"))
      end
    end)

    it("a call's check_params = false works like unchecked", function()
      local _, err = env.ecs():DescribeRegions({ Bogus = "x" }, { check_params = false })
      assert.equal("server", err.kind)
    end)

    it("never checks products outside the catalogue, nor client:request", function()
      local res, err = env.custom():FakeEcho({ Anything = "goes", Nested = { 1, 2 } })
      assert.is_nil(err)
      assert.equal("goes", res.Query.Anything)
      assert.equal("2", res.Query["Nested.2"])
      local _, rerr = env.ecs():request({ action = "DescribeRegions", version = "2014-05-26",
        query = { Bogus = "x" } })
      assert.equal("server", rerr.kind)
      assert.equal(1, count("DescribeRegions"))
    end)

    it("checks ROA actions too: path parameters fill the path, unknown names are refused",
      function()
        local cs = client("cs")
        local res, err = cs:DescribeClusterDetail({ ClusterId = "c-fake0000000000000001" })
        assert.is_nil(err)
        assert.equal("c-fake0000000000000001", res.cluster_id)
        res, err = cs:DescribeClusterDetail({ ClusterId = "c-fake0000000000000001", Bogus = 1 })
        refused(res, err, "Bogus", "cs DescribeClusterDetail has no parameter 'Bogus'")
        assert.equal(1, requests())
      end)

    it("does not check an action whose catalogue entry lists no parameters (cs CreateCluster)",
      function()
        local cs = client("cs")
        local res, err = cs:CreateCluster({ name = "k8s", cluster_type = "ManagedKubernetes",
          anything = { nested = true } })
        assert.is_nil(err)
        assert.matches("^c%-fake", res.cluster_id)
      end)
  end)

  describe("encoding by kind", function()
    it("struct -> Name.Sub beside the flat dotted names sharing its prefix; lists; floats",
      function()
        local res, err = env.ecs():CreateAutoProvisioningGroup({
          LaunchConfiguration = {
            Period = 1,                               -- a field of the struct
            SystemDisk = { Encrypted = "true" },      -- LaunchConfiguration.SystemDisk, a struct
            SystemDiskCategory = "cloud_essd",        -- flat LaunchConfiguration.SystemDiskCategory
            SystemDiskSize = 40,                      -- flat, integer
            DataDisk = { { Size = "100", Category = "cloud_auto" }, { Size = 200 } },
            Tag = { { Key = "env", Value = "test" } },
          },
          LaunchTemplateConfig = { { InstanceType = "ecs.g7.large", Cores = { 2, 4 },
            SecondaryNetworkInterface = { { VSwitchId = "vsw-1" } } } },
          MaxSpotPrice = 0.25, ResourcePlanningOnly = "true", HibernationOptionsConfigured = false,
        })
        assert.is_nil(err)
        assert.same({
          RegionId = "cn-hangzhou",
          ["LaunchConfiguration.Period"] = "1",
          ["LaunchConfiguration.SystemDisk.Encrypted"] = "true",
          ["LaunchConfiguration.SystemDiskCategory"] = "cloud_essd",
          ["LaunchConfiguration.SystemDiskSize"] = "40",
          ["LaunchConfiguration.DataDisk.1.Size"] = "100",
          ["LaunchConfiguration.DataDisk.1.Category"] = "cloud_auto",
          ["LaunchConfiguration.DataDisk.2.Size"] = "200",
          ["LaunchConfiguration.Tag.1.Key"] = "env", ["LaunchConfiguration.Tag.1.Value"] = "test",
          ["LaunchTemplateConfig.1.InstanceType"] = "ecs.g7.large",
          ["LaunchTemplateConfig.1.Cores.1"] = "2", ["LaunchTemplateConfig.1.Cores.2"] = "4",
          ["LaunchTemplateConfig.1.SecondaryNetworkInterface.1.VSwitchId"] = "vsw-1",
          MaxSpotPrice = "0.25", ResourcePlanningOnly = "true",
          HibernationOptionsConfigured = "false",
        }, res.Query)
        assert.same({}, res.Form)
      end)

    it("a flat dotted name may also be given as it is on the wire", function()
      local res, err = env.ecs():CreateAutoProvisioningGroup({
        ["LaunchConfiguration.SystemDiskCategory"] = "cloud_essd",
        ["LaunchConfiguration.SystemDisk"] = { Encrypted = "false" } })
      assert.is_nil(err)
      assert.equal("cloud_essd", res.Query["LaunchConfiguration.SystemDiskCategory"])
      assert.equal("false", res.Query["LaunchConfiguration.SystemDisk.Encrypted"])
    end)

    it("map -> Name.key", function()
      local res, err = env.ecs():RunCommand({ CommandContent = "echo {{name}}", Type = "RunShellScript",
        InstanceId = { "i-1", "i-2" }, Parameters = { name = "world", count = 2 } })
      assert.is_nil(err)
      assert.equal("world", res.Query["Parameters.name"])
      assert.equal("2", res.Query["Parameters.count"])
      assert.equal("i-2", res.Query["InstanceId.2"])
    end)

    local bad = {
      { "RunInstances", { Amount = 1.5 }, "Amount", "must be an integer, got 1.5" },
      { "RunInstances", { Amount = "2x" }, "Amount", "must be an integer" },
      { "RunInstances", { DryRun = "yes" }, "DryRun", "must be a boolean" },
      { "RunInstances", { DryRun = 1 }, "DryRun", "must be a boolean" },
      { "RunInstances", { SpotPriceLimit = "cheap" }, "SpotPriceLimit", "must be a number" },
      { "RunInstances", { ImageId = { "img-1" } }, "ImageId", "alicloud.as_json(v)" },
      { "RunInstances", { DataDisk = { { Size = 40 }, { Size = { 40 } } } }, "DataDisk.2.Size",
        "alicloud.as_json(v)" },
      { "RunInstances", { DataDisk = { { Size = 40 }, { Sise = 40 } } }, "DataDisk.2.Sise",
        "did you mean 'Size'?" },
      { "RunInstances", { DataDisk = { Size = 40 } }, "DataDisk", "is a list" },
      { "RunInstances", { DataDisk = "d-1" }, "DataDisk", "is a list" },
      { "RunInstances", { SystemDisk = { "cloud_essd" } }, "SystemDisk", "is a struct" },
      { "RunInstances", { SystemDisk = { Categry = "x" } }, "SystemDisk.Categry",
        "did you mean 'Category'?" },
      { "CreateAutoProvisioningGroup", { LaunchConfiguration = { SystemDiskSize = 40.5 } },
        "LaunchConfiguration.SystemDiskSize", "must be an integer" },
      { "CreateAutoProvisioningGroup", { LaunchTemplateConfig = { { Cores = { { 2 } } } } },
        "LaunchTemplateConfig.1.Cores.1", "list of scalars" },
      { "RunInstances", { SecurityGroupIds = { { "sg-1" } } }, "SecurityGroupIds.1",
        "list of scalars" },
      { "RunCommand", { Parameters = "name=world" }, "Parameters", "is a map" },
      { "DescribeInstances", { Filter = { { Key = "a", Valu = "b" } } }, "Filter.1.Valu",
        "did you mean 'Filter.1.Value'?" },
    }
    for _, c in ipairs(bad) do
      it(("refuses %s before sending, naming %s"):format(c[3], c[4]), function()
        local res, err = env.ecs():call(c[1], c[2])
        refused(res, err, c[3], c[4])
        assert.equal(0, requests())
      end)
    end

    it("takes a table of flat dotted names by their prefix (Filter.1.Key)", function()
      local res, err = env.ecs():DescribeInstances({ Filter = { { Key = "a", Value = "b" } },
        PageSize = 1 })
      assert.is_nil(err)
      assert.equal(1, #res.Instances.Instance)
    end)
  end)

  for _, sig in ipairs({ "v1", "v3" }) do
    describe("positions and versions, signature " .. sig, function()
      it("sends Body parameters in a signed form body, Query ones in the query; json as text",
        function()
          local res, err = client("csas", { signature_version = sig }):AttachApplication2Connector({
            SourceIp = "10.0.0.1", ConnectorId = "c-1", ApplicationIds = { "app-1", "app-2" } })
          assert.is_nil(err)
          assert.equal("10.0.0.1", res.Query.SourceIp)
          assert.is_nil(res.Query.ConnectorId)
          assert.same({ ConnectorId = "c-1", ApplicationIds = '["app-1","app-2"]' }, res.Form)
          assert.matches("^application/x%-www%-form%-urlencoded", res.ContentType)
        end)

      it("sends a json-kind list of structs as one JSON text in the body", function()
        local kv = { { Key = "k1", Value = "v1" }, { Key = "k2", Value = "v2" } }
        local res, err = client("dcdn", { signature_version = sig }):BatchPutDcdnKv({
          Namespace = "ns", KvList = kv })
        assert.is_nil(err)
        assert.equal("ns", res.Query.Namespace)
        assert.same(kv, json.decode(res.Form.KvList))
        -- as_json gives the same
        res = client("dcdn", { signature_version = sig }):BatchPutDcdnKv({ Namespace = "ns",
          KvList = alicloud.as_json(kv) })
        assert.same(kv, json.decode(res.Form.KvList))
      end)

      it("sends each action with its own version (aliyuncvc: two versions)", function()
        local cvc = client("aliyuncvc", { signature_version = sig })
        local res, err = cvc:GetMembers({ MeetingUUID = "m-1" }) -- 2020-03-30, Body
        assert.is_nil(err)
        assert.equal("m-1", res.Form.MeetingUUID)
        res, err = cvc:ListMembers({ MeetingUUID = "m-1" })   -- 2019-10-30, Query
        assert.is_nil(err)
        assert.equal("m-1", res.Query.MeetingUUID)
        -- a client pinned to one version sends it for every action: the fake refuses
        local _, perr = client("aliyuncvc", { signature_version = sig, version = "2019-10-30" })
          :GetMembers({ MeetingUUID = "m-1" })
        assert.equal("InvalidVersion", perr.code)
      end)

      it("the fake refuses a Body parameter sent in the query", function()
        local _, err = client("csas", { signature_version = sig }):request({
          action = "AttachApplication2Connector", version = "2023-01-20",
          query = { ConnectorId = "c-1" } })
        assert.equal("InvalidParameter", err.code)
        assert.matches("request body", err.message, 1, true)
      end)
    end)
  end

  it("V3: an empty-body POST carries no Content-Type it does not sign", function()
    local res, err = env.custom({ signature_version = "v3" }):FakeEcho()
    assert.is_nil(err)
    assert.equal("POST", res.Method)
    assert.is_nil(res.Headers["content-type"])
    -- and the fake, a strict gateway, accepts the call
    res, err = env.ecs({ signature_version = "v3" }):DescribeRegions()
    assert.is_nil(err)
    assert.is_table(res.Regions)
  end)

  describe("read-only is the action's, never the method's", function()
    it("never resends a create sent over GET after a 500 (CommonRequest)", function()
      server:config({ actions = { RunInstances = { status = 500, code = "InternalError" } } })
      local _, err = env.ecs():request({ action = "RunInstances", method = "GET",
        version = "2014-05-26", query = { ImageId = "img-1" } })
      assert.equal(500, err.http_status)
      assert.equal(1, count("RunInstances"))
    end)

    it("never resends a create sent over GET after a 500 (by name)", function()
      server:config({ actions = { RunInstances = { status = 500, code = "InternalError" } } })
      local _, err = env.ecs():RunInstances({ ImageId = "img-1" }, { method = "GET" })
      assert.equal(500, err.http_status)
      assert.equal(1, count("RunInstances"))
    end)

    it("retries a read-only action after a 500, whatever its method", function()
      server:config({ actions = { DescribeRegions = { status = 500, code = "InternalError",
        times = 2 } } })
      local res, err = env.ecs({ retry = { base = 0.001, cap = 0.01 } }):request({
        action = "DescribeRegions", method = "POST", version = "2014-05-26" })
      assert.is_nil(err)
      assert.is_table(res.Regions)
      assert.equal(3, count("DescribeRegions"))
    end)
  end)

  describe("alicloud.describe", function()
    it("describes a product: its actions", function()
      local d = assert(alicloud.describe("ecs"))
      assert.same({ "ecs", "Ecs", "2014-05-26", "rpc" }, { d.name, d.code, d.version, d.style })
      assert.equal(359, #d.actions)
      local s = tostring(d)
      assert.matches("^ecs %(code Ecs, API 2014%-05%-26, rpc, 359 actions%):", s)
      assert.matches("\n  RunInstances\n", s, 1, true)
    end)

    it("describes an action: version, method, parameters with kind, position, fields", function()
      local d = assert(alicloud.describe("ecs", "RunInstances"))
      assert.same({ "ecs", "RunInstances", "2014-05-26", "POST", "rpc", false },
        { d.product, d.name, d.version, d.method, d.style, d.read_only })
      local by = {}
      for _, p in ipairs(d.params) do by[p.name] = p end
      assert.same({ "list", "Query" }, { by.DataDisk.kind, by.DataDisk.position })
      local fields = {}
      for _, f in ipairs(by.DataDisk.fields) do fields[f.name] = f.kind end
      assert.equal("string", fields.Size)
      assert.equal("boolean", by.DryRun.kind)
      local s = tostring(d)
      assert.matches("ecs RunInstances (API 2014-05-26, rpc POST)", s, 1, true)
      assert.matches("\n  DataDisk.N +list +Query\n", s)
      assert.matches("\n    Size +string\n", s)
      assert.matches("\n  DryRun +boolean +Query\n", s)
    end)

    it("shows paging, a minority version and ROA paths", function()
      local s = tostring(alicloud.describe("ecs", "DescribeInstances"))
      assert.matches("paging: by page (PageNumber, PageSize), items Instances.Instance", s, 1, true)
      assert.equal("2020-03-30", alicloud.describe("aliyuncvc", "GetMembers").version)
      local cs = alicloud.describe("cs", "DescribeClusterDetail")
      assert.same({ "GET", "/clusters/[ClusterId]", "Path" },
        { cs.method, cs.path, cs.params[1].position })
      assert.matches("none listed", tostring(alicloud.describe("cs", "CreateCluster")), 1, true)
    end)

    it("answers unknown names with nil, err and a did-you-mean; raises on misuse", function()
      local d, err = alicloud.describe("ecs", "RunInstance")
      assert.is_nil(d)
      assert.equal("SDK.InvalidAction", err.code)
      assert.matches('did you mean "RunInstances"?', err.message, 1, true)
      d, err = alicloud.describe("ecss")
      assert.is_nil(d)
      assert.equal("SDK.InvalidProduct", err.code)
      assert.matches('did you mean "ecs"?', err.message, 1, true)
      assert.has_error(function() alicloud.describe(nil) end)
      assert.has_error(function() alicloud.describe("ecs", 1) end)
    end)

    it("gives fresh tables", function()
      local a = alicloud.describe("ecs", "DescribeInstances")
      a.paging.items = "changed"
      assert.equal("Instances.Instance", alicloud.describe("ecs", "DescribeInstances").paging.items)
    end)
  end)
end)
