-- alicloud.products: lookups by name and code, action data (checked against every action of
-- data/catalogue.json, read at run time), did-you-mean, lazy loading, custom products. Needs no C module.
local cjson = require("cjson")
local products = require("alicloud.products")

local catalogue
local function load_catalogue()
  if catalogue then return catalogue end
  local path = "data/catalogue.json"
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local doc = cjson.decode(f:read("*a"))
  f:close()
  catalogue = doc.products
  return catalogue
end

-- An action's parameter positions as products.action gives them ({ name = position }),
-- from the catalogue's list form ({ wire_name, position, kind, fields? }); nil when none.
local function positions(list)
  if list == nil or next(list) == nil then return nil end
  local out = {}
  for _, p in ipairs(list) do out[p[1]] = p[2] end
  return out
end

-- The schema products.action gives ({ wire name = { name, kind, position, fields } }, nested
-- fields without a position), built independently from the catalogue's list form.
local function schema_of(list, nested)
  if list == nil or next(list) == nil then return nil end
  local out = {}
  for _, p in ipairs(list) do
    out[p[1]] = { name = p[1], position = not nested and p[2] or nil, kind = p[3],
      fields = p[4] and schema_of(p[4], true) or nil }
  end
  return out
end

-- The catalogue's paging object as a plain table (cjson gives no nulls here).
local function paging_of(pg)
  if pg == nil then return nil end
  return { style = pg.style, items = pg.items, token_in = pg.token_in, token_out = pg.token_out }
end

-- Deep equality of plain tables (assert.same per action would be slow over 16,658 actions).
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- A products module of its own for the tests that parse every action: its caches go with
-- it, so the rest of the run (the soak spec measures memory) does not carry them.
local function fresh_products()
  local saved = package.loaded["alicloud.products"]
  package.loaded["alicloud.products"] = nil
  local p = require("alicloud.products")
  package.loaded["alicloud.products"] = saved
  return p
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("products", function()
  teardown(function()
    catalogue = nil -- the decoded JSON: a large heap the rest of the run need not carry
    collectgarbage()
  end)

  describe("the catalogue", function()
    it("holds all 297 products and 16,658 actions of reference/catalogue.json", function()
      local json = load_catalogue()
      local products = fresh_products() -- luacheck: ignore 431
      local names = products.names()
      assert.equal(297, count(json))
      assert.equal(297, #names)
      local total = 0
      for _, name in ipairs(names) do
        assert.is_table(json[name], name)
        total = total + #products.action_names(products.get(name))
      end
      assert.equal(16658, total)
    end)

    it("names() is sorted and a fresh copy", function()
      local names = products.names()
      for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
      names[1] = "changed"
      assert.not_equal("changed", products.names()[1])
    end)

    it("matches the JSON product by product, action by action", function()
      local json = load_catalogue()
      local products = fresh_products() -- luacheck: ignore 431
      for name, jp in pairs(json) do
        local p = assert(products.get(name), name)
        assert.equal(name, p.name)
        assert.equal(jp.code, p.code)
        assert.equal(jp.endpoint_type ~= cjson.null and jp.endpoint_type or nil, p.endpoint_type)
        assert.is_not_nil(jp.versions[p.version], name)
        assert.equal(count(jp.versions), #p.versions)
        assert.same(jp.endpoint_map, p.endpoint_map)
        local all_roa, wrong = true, {}
        for aname, ja in pairs(jp.actions) do
          local a = assert(products.action(p, aname), name .. "." .. aname)
          local want = { aname, ja.method, ja.style, ja.path, ja.version, positions(ja.params),
            schema_of(ja.params), paging_of(ja.paging) }
          local got = { a.name, a.method, a.style, a.path, a.version, a.params, a.schema, a.paging }
          for i = 1, 8 do
            if not same(want[i], got[i]) then wrong[#wrong + 1] = name .. "." .. aname end
          end
          if ja.style ~= "roa" then all_roa = false end
        end
        assert.same({}, wrong)
        assert.equal(all_roa and "roa" or "rpc", p.style, name)
        assert.equal(count(jp.actions), p.action_count)
      end
    end)

    it("takes the version most actions use when a product has several", function()
      -- aliyuncvc: 54 actions in 2019-10-30, 2 in 2020-03-30
      local p = products.get("aliyuncvc")
      assert.equal("2019-10-30", p.version)
      assert.same({ "2019-10-30", "2020-03-30" }, p.versions)
      assert.equal("2017-05-25", products.get("dysmsapi").version)
    end)
  end)

  describe("get", function()
    local cases = {
      { "ecs", "ecs", "Ecs" }, { "ECS", "ecs", "Ecs" }, { "Ecs", "ecs", "Ecs" },
      { "cs", "cs", "CS" }, { "CS", "cs", "CS" },
      { "vpc", "vpc", "Vpc" }, { "Alidns", "alidns", "Alidns" },
      -- a name wins over another product's code: cr is a package and cr_ee's code
      { "cr", "cr", "cr" }, { "CR_EE", "cr_ee", "cr" },
      { "R-KVStore", "r-kvstore", "R-kvstore" }, { "r_kvstore", "r_kvstore", "R-kvstore" },
    }
    for _, c in ipairs(cases) do
      it(("finds %q as %s (code %s)"):format(c[1], c[2], c[3]), function()
        local p = products.get(c[1])
        assert.equal(c[2], p.name)
        assert.equal(c[3], p.code)
      end)
    end

    it("returns the same table every time", function()
      assert.equal(products.get("ecs"), products.get("ECS"))
    end)

    it("describes ecs and cs", function()
      local ecs = products.get("ecs")
      assert.same({ "ecs", "Ecs", "2014-05-26", "rpc", "regional" },
        { ecs.name, ecs.code, ecs.version, ecs.style, ecs.endpoint_type })
      assert.equal("ecs-cn-hangzhou.aliyuncs.com", ecs.endpoint_map["cn-hangzhou"])
      local cs = products.get("cs")
      assert.same({ "cs", "CS", "2015-12-15", "roa" }, { cs.name, cs.code, cs.version, cs.style })
    end)

    it("returns nil for unknown products", function()
      assert.is_nil(products.get("nosuchproduct"))
      assert.is_nil(products.get(""))
      -- nor for anything else the index holds (codes aside) or its syntax
      for _, s in ipairs({ "ecs ", " ecs", "acm acm", "-", "--", "return", "]]", "\necs",
        "2020-02-06", "regional", "acm.us-west-1.aliyuncs.com", "us-west-1", "Ecs Ecs" }) do
        assert.is_nil(products.get(s), s)
      end
    end)

    it("raises on a non-string name", function()
      assert.has_error(function() products.get(nil) end,
        "products.get: product name must be a string, got nil")
      assert.has_error(function() products.get({}) end)
    end)
  end)

  describe("action", function()
    local ecs, cs = products.get("ecs"), products.get("cs")

    local roa = {
      { "DescribeClusterDetail", "GET", "/clusters/[ClusterId]", { ClusterId = "Path" } },
      { "AttachInstances", "POST", "/clusters/[ClusterId]/attach", { ClusterId = "Path" } },
      { "DeleteCluster", "DELETE", "/clusters/[ClusterId]",
        { ClusterId = "Path", keep_slb = "Body", retain_all_resources = "Body" } },
      { "DescribeAddons", "GET", "/clusters/components/metadata",
        { cluster_type = "Query", region = "Query" } },
      { "CreateCluster", "POST", "/clusters", nil },
    }
    for _, c in ipairs(roa) do
      it(("cs %s is %s %s"):format(c[1], c[2], c[3]), function()
        local a = products.action(cs, c[1])
        assert.same({ c[1], "roa", c[2], c[3] }, { a.name, a.style, a.method, a.path })
        assert.same(c[4], a.params)
      end)
    end

    it("reads a wrapped roa entry (edas, many parameters) whole", function()
      local json = load_catalogue()
      local products = fresh_products() -- luacheck: ignore 431
      local edas = products.get("edas")
      for name, ja in pairs(json.edas.actions) do
        assert.same(positions(ja.params), products.action(edas, name).params)
      end
    end)

    it("gives rpc actions their method, version, parameters and no path", function()
      local a = products.action(ecs, "DescribeRegions")
      assert.same({ "DescribeRegions", "POST", "rpc", true, "2014-05-26" },
        { a.name, a.method, a.style, a.read_only, a.version })
      assert.is_nil(a.path)
      assert.same({ name = "AcceptLanguage", kind = "string", position = "Query" },
        a.schema.AcceptLanguage)
    end)

    it("gives nested fields, flat dotted names beside their struct, and paging", function()
      local run = products.action(ecs, "RunInstances")
      assert.same({ "list", "Query", "string" }, { run.schema.DataDisk.kind,
        run.schema.DataDisk.position, run.schema.DataDisk.fields.Size.kind })
      assert.equal("struct", run.schema.SystemDisk.kind)
      assert.equal("string", run.schema["SystemDisk.Category"].kind)
      assert.equal("boolean", run.schema.DryRun.kind)
      assert.is_nil(run.paging)
      assert.same({ style = "page", items = "Instances.Instance" },
        products.action(ecs, "DescribeInstances").paging)
      assert.same({ style = "token", items = "TagResources", token_in = "NextToken",
        token_out = "NextToken" },
        products.action(products.get("yundun_dbaudit"), "ListTagResources").paging)
    end)

    it("gives an action of a minority version its own version", function()
      local cvc = products.get("aliyuncvc")
      assert.equal("2020-03-30", products.action(cvc, "GetMembers").version)
      assert.equal("2019-10-30", products.action(cvc, "ListMembers").version)
    end)

    it("returns the same action table every time", function()
      assert.equal(products.action(ecs, "RunInstances"), products.action(ecs, "RunInstances"))
    end)

    local read_only = {
      { "DescribeRegions", true }, { "ListTagResources", true }, { "GetInstanceConsoleOutput", true },
      { "QueryFoo", true }, { "CheckFoo", true }, { "Describesummary", true },
      { "RunInstances", false }, { "CreateInstance", false }, { "DeleteInstance", false },
      { "ModifyInstanceAttribute", false }, { "StartInstance", false }, { "Listen", true },
    }
    for _, c in ipairs(read_only) do
      it(("marks %s read_only=%s"):format(c[1], tostring(c[2])), function()
        assert.equal(c[2], products.is_read_only(c[1]))
      end)
    end

    it("sets read_only on action tables", function()
      assert.is_true(products.action(ecs, "DescribeInstances").read_only)
      assert.is_true(products.action(cs, "DescribeClusterDetail").read_only)
      assert.is_false(products.action(ecs, "RunInstances").read_only)
      assert.is_false(products.action(cs, "DeleteCluster").read_only)
    end)

    local misspelt = {
      { ecs, "DescribeRegion", "DescribeRegions" },
      { ecs, "describeregions", "DescribeRegions" },
      { ecs, "DescribeInstanse", "DescribeInstance" .. "s" },
      { ecs, "RunInstance", "RunInstances" },
      { cs, "DescribeClusterDetails", "DescribeClusterDetail" },
      { ecs, "Foo", nil },
      { ecs, "CompletelyUnrelatedActionName", nil },
    }
    for _, c in ipairs(misspelt) do
      it(("answers %q with %s"):format(c[2], c[3] and "did you mean " .. c[3] or "no guess"),
        function()
          local a, guess, msg = products.action(c[1], c[2])
          assert.is_nil(a)
          assert.equal(c[3], guess)
          assert.matches(c[1].name, msg, 1, true)
          assert.matches(("%q"):format(c[2]), msg, 1, true)
          if c[3] then
            assert.matches(('did you mean "%s"?'):format(c[3]), msg, 1, true)
          else
            assert.not_matches("did you mean", msg, 1, true)
          end
        end)
    end

    it("raises on misuse", function()
      assert.has_error(function() products.action(ecs, nil) end)
      assert.has_error(function() products.action(ecs, "") end)
      assert.has_error(function() products.action("ecs", "DescribeRegions") end)
      assert.has_error(function() products.action({ name = "nope" }, "X") end)
    end)
  end)

  insulate("lazy loading", function()
    local function forget_catalogue()
      for k in pairs(package.loaded) do
        if k == "alicloud.products" or k:match("^alicloud%.catalogue%.") then
          package.loaded[k] = nil
        end
      end
    end

    it("loads no product data on require, only the one asked for on action()", function()
      forget_catalogue()
      local p = require("alicloud.products")
      assert.is_nil(package.loaded["alicloud.catalogue.index"])
      local ecs = p.get("ecs")
      assert.equal("ecs-cn-hangzhou.aliyuncs.com", ecs.endpoint_map["cn-hangzhou"])
      assert.equal("cr_ee", p.get("CR").name == "cr" and p.get("cr_ee").name)
      -- the index is read as text, not compiled, like the product files below
      assert.is_nil(package.loaded["alicloud.catalogue.index"])
      assert.is_false(p.loaded("ecs"))
      assert.is_table(p.action(ecs, "DescribeRegions"))
      assert.is_true(p.loaded("ecs"))
      assert.is_false(p.loaded("cs"))
      for _, name in ipairs(p.names()) do
        assert.equal(name == "ecs", p.loaded(name), name)
      end
      -- read as text, not compiled: the generated module itself is never required here
      assert.is_nil(package.loaded["alicloud.catalogue.ecs"])
    end)

    -- The lookups both ways of loading the generated files must answer alike.
    local function check_entries(p)
      local ecs = p.get("ecs")
      local a = p.action(ecs, "RunInstances")
      assert.equal(297, #p.names())
      assert.same({ "acm", "yundun_dbaudit" }, { p.names()[1], p.names()[297] })
      assert.same({ "cr_ee", "R-kvstore", "regional", "roa" }, { p.get("CR_EE").name,
        p.get("r-kvstore").code, p.get("acms-open").endpoint_type, p.get("acms-open").style })
      assert.equal("acm.us-west-1.aliyuncs.com", p.get("acms-open").endpoint_map["us-west-1"])
      assert.same({ "2019-10-30", "2020-03-30" }, p.get("aliyuncvc").versions)
      assert.same({ "list", "string" }, { a.schema.DataDisk.kind, a.schema.DataDisk.fields.Size.kind })
      assert.equal(359, #p.action_names(ecs))
      assert.equal("2020-03-30", p.action(p.get("aliyuncvc"), "GetMembers").version)
      assert.equal("/clusters/[ClusterId]", p.action(p.get("cs"), "DescribeClusterDetail").path)
      local _, guess = p.action(ecs, "RunInstance")
      assert.equal("RunInstances", guess)
    end

    it("reads the same entries when the files come from a custom loader", function()
      forget_catalogue()
      local p = require("alicloud.products")
      -- the files are nowhere on package.path: only a searcher of its own finds them
      local searchers = rawget(package, "searchers") or rawget(package, "loaders")
      local path = package.path
      local function searcher(name)
        local file = name:match("^alicloud%.catalogue%.([%w_%-]+)$")
        if file then return assert(loadfile("lua/alicloud/catalogue/" .. file .. ".lua")) end
        return "\n\tnot a catalogue module"
      end
      table.insert(searchers, 2, searcher)
      package.path = "./no-such-dir/?.lua"
      finally(function()
        package.path = path
        for i = #searchers, 1, -1 do
          if searchers[i] == searcher then table.remove(searchers, i) end
        end
      end)
      check_entries(p)
      assert.is_string(package.loaded["alicloud.catalogue.index"])
      assert.is_table(package.loaded["alicloud.catalogue.ecs"])
      assert.is_table(package.loaded["alicloud.catalogue.cs"])
    end)

    it("reads the files as text without package.searchpath (as on Lua 5.1)", function()
      forget_catalogue()
      -- compat decides at load time which searchpath to use: a fresh one sees none
      local compat = package.loaded["alicloud.compat"]
      package.loaded["alicloud.compat"] = nil
      local searchpath = rawget(package, "searchpath")
      rawset(package, "searchpath", nil)
      local ok, p = pcall(require, "alicloud.products")
      rawset(package, "searchpath", searchpath)
      package.loaded["alicloud.compat"] = compat
      assert.is_true(ok)
      check_entries(p)
      assert.is_nil(package.loaded["alicloud.catalogue.index"])
      assert.is_nil(package.loaded["alicloud.catalogue.ecs"])
      assert.is_true(p.loaded("ecs"))
    end)
  end)

  describe("custom", function()
    it("builds a product table with defaults", function()
      local p = products.custom({ name = "myproduct", version = "2020-01-01" })
      assert.same({ name = "myproduct", code = "myproduct", version = "2020-01-01",
        versions = { "2020-01-01" }, style = "rpc", endpoint_type = "regional",
        endpoint_map = {}, custom = true }, p)
    end)

    it("keeps style, code and endpoint", function()
      local p = products.custom({ name = "foo", version = "2021-02-03", style = "roa",
        code = "Foo", endpoint = "foo.example.com:8443" })
      assert.same({ "roa", "Foo", "foo.example.com:8443" }, { p.style, p.code, p.endpoint })
      local v3 = products.custom({ name = "foo", version = "1", signature_version = "v3" })
      assert.equal("v3", v3.signature_version)
    end)

    it("accepts any action, POST for rpc", function()
      local p = products.custom({ name = "foo", version = "2021-02-03" })
      local a = products.action(p, "DescribeThings")
      assert.same({ name = "DescribeThings", method = "POST", style = "rpc", read_only = true,
        custom = true }, a)
      local r = products.action(products.custom({ name = "bar", version = "1", style = "roa" }),
        "CreateThing")
      assert.is_nil(r.method)
      assert.is_false(r.read_only)
    end)

    local misuse = {
      { nil, "expected a table" },
      { {}, "name is required" },
      { { name = "foo" }, "version is required" },
      { { name = "foo bar", version = "1" }, "name is required" },
      { { name = "foo", version = "1", style = "xml" }, 'style must be "rpc" or "roa"' },
      { { name = "foo", version = "1", endpoint = "https://foo.com" }, "without scheme" },
      { { name = "foo", version = "1", endpoint = "foo.com/path" }, "without scheme" },
      { { name = "foo", version = 1 }, "version must be a string" },
      { { name = "foo", version = "1", regoin = "x" }, "unknown field regoin" },
      { { name = "foo", version = "1", endpoint_type = "global" }, "endpoint_type must be" },
      { { name = "foo", version = "1", signature_version = "v2" }, "signature_version must be" },
    }
    for i, c in ipairs(misuse) do
      it(("raises on misuse %d (%s)"):format(i, c[2]), function()
        local ok, err = pcall(products.custom, c[1])
        assert.is_false(ok)
        assert.matches(c[2], err, 1, true)
        assert.matches("products.custom", err, 1, true)
      end)
    end
  end)
end)
