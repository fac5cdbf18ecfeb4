-- alicloud.endpoints: resolution order (custom endpoint, user mapping, product map, rule), the
-- rule for every network kind, central vs regional, errors and misuse. Needs no C module.
local cjson = require("cjson")
local endpoints = require("alicloud.endpoints")
local products = require("alicloud.products")
local errors = require("alicloud.errors")

local function load_catalogue()
  local path = "data/catalogue.json"
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local doc = cjson.decode(f:read("*a"))
  f:close()
  return doc.products
end

describe("endpoints", function()
  before_each(function() endpoints.clear() end)
  teardown(function() endpoints.clear() end)

  describe("the rule", function()
    -- ecs and cs are regional, alidns is central; cn-beijing is in none of their maps.
    local cases = {
      { "ecs", "cn-beijing", nil, "ecs.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "public", "ecs.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "vpc", "ecs-vpc.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "share", "ecs-share.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "ipv6", "ecs-ipv6.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "proxy", "ecs-proxy.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "inner", "ecs-inner.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "dualstack", "ecs-dualstack.cn-beijing.aliyuncs.com" },
      { "ecs", "cn-beijing", "VPC", "ecs-vpc.cn-beijing.aliyuncs.com" },
      { "ECS", "CN-Beijing", nil, "ecs.cn-beijing.aliyuncs.com" },
      { "cs", "cn-beijing", nil, "cs.cn-beijing.aliyuncs.com" },
      { "alidns", nil, nil, "alidns.aliyuncs.com" },
      { "alidns", "cn-beijing", nil, "alidns.aliyuncs.com" },
      { "alidns", "", "public", "alidns.aliyuncs.com" },
      { "alidns", "cn-beijing", "vpc", "alidns-vpc.aliyuncs.com" },
      { "alidns", nil, "share", "alidns-share.aliyuncs.com" },
      { "alidns", nil, "ipv6", "alidns-ipv6.aliyuncs.com" },
      { "alidns", nil, "proxy", "alidns-proxy.aliyuncs.com" },
      { "alidns", nil, "inner", "alidns-inner.aliyuncs.com" },
      { "alidns", nil, "dualstack", "alidns-dualstack.aliyuncs.com" },
      -- the host uses the wire code, lower-cased, not the package name
      { "r_kvstore", "cn-beijing-x", nil, "r-kvstore.cn-beijing-x.aliyuncs.com" },
      -- no endpoint type (amp): the regional rule
      { "amp", "cn-shanghai", nil, "amp.cn-shanghai.aliyuncs.com" },
      { "amp", "cn-shanghai", "vpc", "amp-vpc.cn-shanghai.aliyuncs.com" },
      -- a product outside the catalogue, by name: the regional rule
      { "MyProduct", "cn-shanghai", nil, "myproduct.cn-shanghai.aliyuncs.com" },
    }
    for _, c in ipairs(cases) do
      it(("%s %s %s -> %s"):format(c[1], tostring(c[2]), tostring(c[3]), c[4]), function()
        assert.equal(c[4], endpoints.resolve(c[1], c[2], c[3]))
      end)
    end

    it("takes a product table as well as a name", function()
      assert.equal("ecs.cn-beijing.aliyuncs.com",
        endpoints.resolve(products.get("ecs"), "cn-beijing"))
      assert.equal("alidns-vpc.aliyuncs.com", endpoints.resolve(products.get("alidns"), nil, "vpc"))
    end)
  end)

  describe("the product's endpoint map", function()
    local cases = {
      { "ecs", "cn-hangzhou", nil, "ecs-cn-hangzhou.aliyuncs.com" },
      { "ecs", "cn-hangzhou", "public", "ecs-cn-hangzhou.aliyuncs.com" },
      { "ecs", "cn-wuhan", nil, "ecs.aliyuncs.com" },
      { "cs", "cn-hangzhou-finance", nil, "cs-vpc.cn-hangzhou-finance.aliyuncs.com" },
      { "r_kvstore", "cn-beijing", nil, "r-kvstore.aliyuncs.com" },
      -- other networks skip the map and use the rule
      { "ecs", "cn-hangzhou", "vpc", "ecs-vpc.cn-hangzhou.aliyuncs.com" },
      { "ecs", "cn-wuhan", "inner", "ecs-inner.cn-wuhan.aliyuncs.com" },
    }
    for _, c in ipairs(cases) do
      it(("%s %s %s -> %s"):format(c[1], c[2], tostring(c[3]), c[4]), function()
        assert.equal(c[4], endpoints.resolve(c[1], c[2], c[3]))
      end)
    end

    it("gives every (product, region) of catalogue.json its host", function()
      local n = 0
      for name, jp in pairs(load_catalogue()) do
        for region, host in pairs(jp.endpoint_map) do
          assert.equal(host, endpoints.resolve(name, region), name .. " " .. region)
          n = n + 1
        end
      end
      assert.equal(2963, n)
    end)
  end)

  describe("the user mapping", function()
    it("comes before the map and the rule, for every network", function()
      endpoints.add("cn-hangzhou", "ecs", "ecs.example.com")
      assert.equal("ecs.example.com", endpoints.resolve("ecs", "cn-hangzhou"))
      assert.equal("ecs.example.com", endpoints.resolve("ecs", "cn-hangzhou", "vpc"))
      assert.equal("ecs.cn-beijing.aliyuncs.com", endpoints.resolve("ecs", "cn-beijing"))
      assert.equal("cs-vpc.cn-hangzhou-finance.aliyuncs.com",
        endpoints.resolve("cs", "cn-hangzhou-finance"))
    end)

    local keys = {
      { "CN-HANGZHOU", "ECS", "ecs", "cn-hangzhou" },
      { "cn-hangzhou", "Ecs", "ECS", "CN-Hangzhou" },
      { "cn-hangzhou", products.get("ecs"), "ecs", "cn-hangzhou" },
      { "cn-hangzhou", "ecs", products.get("ecs"), "cn-hangzhou" },
      -- keyed by product code too: R-kvstore is the code of r_kvstore
      { "cn-hangzhou", "R-kvstore", "r_kvstore", "cn-hangzhou" },
      { "cn-hangzhou", "unknown-product", "Unknown-Product", "cn-hangzhou" },
    }
    for i, c in ipairs(keys) do
      it(("matches keys without regard to case (%d)"):format(i), function()
        endpoints.add(c[1], c[2], "127.0.0.1:8080")
        assert.equal("127.0.0.1:8080", endpoints.resolve(c[3], c[4]))
      end)
    end

    it("can be removed and cleared", function()
      endpoints.add("cn-hangzhou", "ecs", "a.example.com")
      endpoints.add("cn-beijing", "ecs", "b.example.com")
      endpoints.remove("CN-HANGZHOU", "ECS")
      assert.equal("ecs-cn-hangzhou.aliyuncs.com", endpoints.resolve("ecs", "cn-hangzhou"))
      assert.equal("b.example.com", endpoints.resolve("ecs", "cn-beijing"))
      endpoints.clear()
      assert.equal("ecs.cn-beijing.aliyuncs.com", endpoints.resolve("ecs", "cn-beijing"))
    end)

    it("serves a central product in that region only", function()
      endpoints.add("cn-beijing", "alidns", "dns.example.com")
      assert.equal("dns.example.com", endpoints.resolve("alidns", "cn-beijing"))
      assert.equal("alidns.aliyuncs.com", endpoints.resolve("alidns", "cn-shanghai"))
      assert.equal("alidns.aliyuncs.com", endpoints.resolve("alidns"))
    end)
  end)

  describe("custom products", function()
    it("use their endpoint first", function()
      local p = products.custom({ name = "foo", version = "1", endpoint = "127.0.0.1:9000" })
      endpoints.add("cn-hangzhou", "foo", "mapped.example.com")
      assert.equal("127.0.0.1:9000", endpoints.resolve(p, "cn-hangzhou"))
      assert.equal("127.0.0.1:9000", endpoints.resolve(p, nil, "vpc"))
    end)

    it("otherwise follow mapping, map, then rule by their code", function()
      local p = products.custom({ name = "foo", code = "FooSvc", version = "1",
        endpoint_map = { ["cn-x"] = "x.example.com" } })
      assert.equal("x.example.com", endpoints.resolve(p, "cn-x"))
      assert.equal("foosvc.cn-y.aliyuncs.com", endpoints.resolve(p, "cn-y"))
      endpoints.add("cn-y", "foo", "y.example.com")
      assert.equal("y.example.com", endpoints.resolve(p, "cn-y"))
      local c = products.custom({ name = "bar", version = "1", endpoint_type = "central" })
      assert.equal("bar-vpc.aliyuncs.com", endpoints.resolve(c, nil, "vpc"))
    end)
  end)

  describe("errors", function()
    local cases = {
      { "ecs", nil, "ecs" }, { "ecs", "", "ecs" }, { "cs", nil, "cs" },
      { "amp", nil, "amp" }, { "ecs", "cn-hangzhou/../x", "ecs" },
      { "ecs", "cn hangzhou", "ecs" },
    }
    for _, c in ipairs(cases) do
      it(("%s in region %q is SDK.CanNotResolveEndpoint"):format(c[1], tostring(c[2])),
        function()
          local host, err = endpoints.resolve(c[1], c[2])
          assert.is_nil(host)
          assert.is_true(errors.is(err))
          assert.equal("client", err.kind)
          assert.equal("SDK.CanNotResolveEndpoint", err.code)
          assert.matches("product " .. c[3], err.message, 1, true)
          assert.matches(("region %q"):format(c[2] or ""), err.message, 1, true)
          assert.matches("SDK.CanNotResolveEndpoint", tostring(err), 1, true)
        end)
    end

    local misuse = {
      { "unknown network", function() endpoints.resolve("ecs", "cn-hangzhou", "intranet") end },
      { "network must be", function() endpoints.resolve("ecs", "cn-hangzhou", 1) end },
      { "region must be", function() endpoints.resolve("ecs", 42) end },
      { "product must be", function() endpoints.resolve(nil, "cn-hangzhou") end },
      { "product must be", function() endpoints.resolve("", "cn-hangzhou") end },
      { "region must be", function() endpoints.add("", "ecs", "h.example.com") end },
      { "product must be", function() endpoints.add("cn-hangzhou", 7, "h.example.com") end },
      { "host must be", function() endpoints.add("cn-hangzhou", "ecs", "https://h.com") end },
      { "host must be", function() endpoints.add("cn-hangzhou", "ecs", nil) end },
      { "region must be", function() endpoints.remove(nil, "ecs") end },
    }
    for _, c in ipairs(misuse) do
      it("raises: " .. c[1], function()
        local ok, err = pcall(c[2])
        assert.is_false(ok)
        assert.matches(c[1], err, 1, true)
        assert.matches("endpoints%.%a+: ", err)
      end)
    end
  end)
end)
