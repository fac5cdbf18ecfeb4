-- client:pages, client:items, client:all_items_async against the fake cloud's fleet
-- (spec/support/fake_instances.py): page-numbered DescribeInstances and token-paged
-- ListTagResources, as the catalogue says they page.
local env = require("spec.support.env")
local alicloud = env.alicloud()

local function id(i)
  return string.format("i-fake%06d", i)
end

describe("paging", function()
  local server, ecs

  setup(function()
    server = env.server()
    ecs = env.ecs()
    ecs:enable_async(4, 100)
  end)
  teardown(function()
    ecs:shutdown()
    env.stop()
  end)
  before_each(function()
    server:reset()
    server:config{ instances = { count = 95 } }
  end)
  after_each(function()
    assert.is_true(alicloud.run(30))
    assert.are.equal(0, alicloud.pending())
  end)

  describe("pages and items (sync)", function()
    it("walks 95 instances over 10 pages of 10, in order, then stops", function()
      local numbers, seen = {}, {}
      for page, err in ecs:pages("DescribeInstances", { PageSize = 10 }) do
        assert.is_nil(err)
        numbers[#numbers + 1] = page.PageNumber
        for _, inst in ipairs(page.Instances.Instance) do seen[#seen + 1] = inst.InstanceId end
      end
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, numbers)
      assert.are.equal(95, #seen)
      for i = 1, 95 do assert.are.equal(id(i), seen[i]) end
      local st = server:stats()
      assert.are.equal(10, st.by_action.DescribeInstances) -- no request after the last page
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, st.instances.served.DescribeInstances)
    end)

    it("gives the items along the catalogue's path, in order", function()
      local n = 0
      for inst, err in ecs:items("DescribeInstances", { PageSize = 10 }) do
        assert.is_nil(err)
        n = n + 1
        assert.are.equal(id(n), inst.InstanceId)
      end
      assert.are.equal(95, n)
    end)

    it("starts at the caller's PageNumber and keeps the caller's PageSize", function()
      local ids = {}
      for inst in ecs:items("DescribeInstances", { PageSize = 30, PageNumber = 2 }) do
        ids[#ids + 1] = inst.InstanceId
      end
      assert.are.equal(65, #ids)
      assert.are.equal(id(31), ids[1])
      assert.are.equal(id(95), ids[65])
      assert.are.same({ 2, 3, 4 }, server:stats().instances.served.DescribeInstances)
    end)

    it("without a PageSize, goes by the server's default page (10)", function()
      local count = 0
      for page in ecs:pages("DescribeInstances", {}) do
        count = count + 1
        assert.are.equal(10, page.PageSize)
      end
      assert.are.equal(10, count)
    end)

    it("stops at an empty first page", function()
      server:config{ instances = { count = 0 } }
      local count = 0
      for page in ecs:pages("DescribeInstances", { PageSize = 10 }) do
        count = count + 1
        assert.are.equal(0, page.TotalCount)
      end
      assert.are.equal(1, count)
      assert.are.equal(1, server:stats().by_action.DescribeInstances)
    end)

    it("does not change the caller's params table", function()
      local params = { PageSize = 50 }
      for _ in ecs:pages("DescribeInstances", params) do end
      assert.are.same({ PageSize = 50 }, params)
    end)

    it("follows NextToken for ListTagResources (token style) until it is empty", function()
      local sizes, rows = {}, {}
      for page, err in ecs:pages("ListTagResources", { ResourceType = "instance" }) do
        assert.is_nil(err)
        sizes[#sizes + 1] = #page.TagResources.TagResource
        for _, r in ipairs(page.TagResources.TagResource) do rows[#rows + 1] = r end
      end
      assert.are.same({ 50, 50, 50, 40 }, sizes) -- 95 instances, 2 tags each, 50 a page
      assert.are.equal(id(1), rows[1].ResourceId)
      assert.are.equal(id(95), rows[190].ResourceId)
      local served = server:stats().instances.served.ListTagResources
      assert.are.equal(4, #served)
      assert.are.equal("", served[1]) -- the first page is asked without a token
      for i = 2, 4 do assert.is_true(#served[i] > 0) end
    end)

    it("starts from the caller's token", function()
      local first = assert(ecs:ListTagResources({ ResourceType = "instance" }))
      local n = 0
      for row in ecs:items("ListTagResources", { ResourceType = "instance",
        NextToken = first.NextToken }) do
        n = n + 1
        if n == 1 then assert.are.equal(id(26), row.ResourceId) end
      end
      assert.are.equal(140, n)
    end)

    it("on a failure mid-way gives false and the error once, then ends", function()
      server:config{ actions = { DescribeInstances = { status = 403, code = "Forbidden.Fake",
        every = 4, times = 1 } } }
      local got, failure, after = {}, nil, 0
      for page, err in ecs:pages("DescribeInstances", { PageSize = 10 }) do
        if failure then after = after + 1 end
        if page then got[#got + 1] = page.PageNumber else failure = err end
      end
      assert.are.same({ 1, 2, 3 }, got)
      assert.are.equal(0, after)
      assert.are.equal("Forbidden.Fake", failure.code)
      assert.are.equal(4, server:stats().by_action.DescribeInstances)
    end)

    it("the iterator called directly: false and the error, then nil", function()
      server:config{ actions = { DescribeInstances = { status = 403, code = "Forbidden.Fake",
        every = 2, times = 1 } } }
      local it = ecs:items("DescribeInstances", { PageSize = 50 })
      for i = 1, 50 do assert.are.equal(id(i), it().InstanceId) end
      local v, err = it()
      assert.is_false(v)
      assert.are.equal("Forbidden.Fake", err.code)
      assert.is_nil(it())
      assert.is_nil(it())
      assert.are.equal(2, server:stats().by_action.DescribeInstances)
    end)

    it("the fake refuses PageSize outside 1..100 as ECS does, and the iterator says so", function()
      for _, size in ipairs({ 0, 101 }) do
        local _, err = ecs:DescribeInstances({ PageSize = size })
        assert.are.equal("InvalidParameter", err.code)
      end
      local page, err = ecs:pages("DescribeInstances", { PageSize = 101 })()
      assert.is_false(page)
      assert.are.equal("InvalidParameter", err.code)
      assert.are.equal(3, server:stats().by_action.DescribeInstances)
    end)

    it("the fake's fleet filters and refuses as ECS does", function()
      local res = assert(ecs:DescribeInstances({ InstanceIds = alicloud.as_json({ id(7), id(90) }) }))
      assert.are.equal(2, res.TotalCount)
      assert.are.equal(id(90), res.Instances.Instance[2].InstanceId)
      local _, err = ecs:DescribeInstances({ InstanceIds = "i-fake000007" }) -- not a JSON array
      assert.are.equal("InvalidInstanceIds.Malformed", err.code)
      _, err = ecs:ListTagResources({})
      assert.are.equal("MissingParameter", err.code)
      _, err = ecs:ListTagResources({ ResourceType = "instance", NextToken = "nope" })
      assert.are.equal("InvalidParameter", err.code)
      local rows = assert(ecs:ListTagResources({ ResourceType = "instance",
        ResourceId = { id(3) }, Tag = { { Key = "env", Value = "test" } } }))
      assert.are.equal(2, #rows.TagResources.TagResource)
      assert.are.equal("", rows.NextToken)
    end)

    it("a misspelt action gives SDK.InvalidAction with a suggestion", function()
      local page, err = ecs:pages("DescribeInstance", {})()
      assert.is_false(page)
      assert.are.equal("SDK.InvalidAction", err.code)
      assert.matches("DescribeInstances", err.message)
      assert.are.equal(0, server:stats().requests)
    end)

    it("raises on misuse before sending anything", function()
      assert.has_error(function() ecs:pages("DescribeRegions", {}) end,
        "pages: DescribeRegions does not page (the catalogue has no paging for it; call it "
        .. "directly, or give opts.paging)")
      assert.has_error(function() ecs:items(42) end, "items: action must be a string")
      assert.has_error(function() ecs:pages("DescribeInstances", "x") end,
        "pages: params must be a table")
      assert.has_error(function() ecs:pages("DescribeInstances", { PageSize = "ten" }) end,
        "pages: PageSize must be a whole number >= 1, got ten")
      assert.has_error(function() ecs:pages("DescribeInstances", { PageNumber = 0 }) end,
        "pages: PageNumber must be a whole number >= 1, got 0")
      assert.has_error(function()
        ecs:pages("DescribeInstances", {}, { paging = { style = "cursor", items = "A" } })
      end)
      assert.has_error(function()
        ecs:all_items_async("DescribeInstances", {}, { concurrency = 0 })
      end, "all_items_async: concurrency must be an integer >= 1")
      assert.are.equal(0, server:stats().requests)
    end)

    it("opts.paging pages an action the catalogue does not (a custom product)", function()
      local fake = env.custom()
      local n = 0
      for inst in fake:items("DescribeInstances", { Version = "2014-05-26", PageSize = 40 },
        { paging = { style = "page", items = "Instances.Instance" } }) do
        n = n + 1
        assert.are.equal(id(n), inst.InstanceId)
      end
      assert.are.equal(95, n)
      assert.are.equal(3, server:stats().by_action.DescribeInstances)
    end)

    it("passes per-call options to every page", function()
      local it = ecs:pages("DescribeInstances", { PageSize = 50 },
        { headers = { ["x-fake-fault"] = "500" }, retry = false })
      local page, err = it()
      assert.is_false(page)
      assert.are.equal("InternalError", err.code)
      assert.are.equal(1, err.attempts) -- retry = false reached the call
    end)
  end)

  describe("all_items_async", function()
    it("fetches page 1, then the other 9 concurrently through the pool, order kept", function()
      server:config{ instances = { count = 95, page_delay = 0.2 } }
      local p = ecs:all_items_async("DescribeInstances", { PageSize = 10 })
      assert.are.equal("pending", p:status())
      local items, err = p:wait(30)
      assert.is_nil(err)
      assert.are.equal(95, #items)
      for i = 1, 95 do assert.are.equal(id(i), items[i].InstanceId) end
      local st = server:stats()
      assert.are.equal(10, st.by_action.DescribeInstances)
      assert.is_true(st.instances.max_in_flight.DescribeInstances > 1)
      assert.is_true(st.instances.max_in_flight.DescribeInstances <= 4) -- the pool's size
      assert.are.equal(1, st.instances.served.DescribeInstances[1]) -- the first page alone first
    end)

    it("keeps at most opts.concurrency pages in flight", function()
      server:config{ instances = { count = 95, page_delay = 0.1 } }
      local items = assert(ecs:all_items_async("DescribeInstances", { PageSize = 10 },
        { concurrency = 2 }):wait(30))
      assert.are.equal(95, #items)
      assert.are.equal(2, server:stats().instances.max_in_flight.DescribeInstances)
    end)

    it("walks token pages one after another, in order", function()
      server:config{ instances = { count = 95, page_delay = 0.05 } }
      local rows = assert(ecs:all_items_async("ListTagResources",
        { ResourceType = "instance" }):wait(30))
      assert.are.equal(190, #rows)
      for i = 1, 95 do
        assert.are.equal(id(i), rows[2 * i - 1].ResourceId)
        assert.are.equal(id(i), rows[2 * i].ResourceId)
      end
      local st = server:stats()
      assert.are.equal(4, st.by_action.ListTagResources)
      assert.are.equal(1, st.instances.max_in_flight.ListTagResources)
    end)

    it("works inside a coroutine with await, driven by alicloud.run", function()
      local got
      alicloud.async(function()
        got = ecs:all_items_async("DescribeInstances", { PageSize = 25 }):await()
      end)
      assert.is_true(alicloud.run(30))
      assert.are.equal(95, #got)
      assert.are.equal(id(95), got[95].InstanceId)
    end)

    it("rejects with the structured error of a page that fails, once", function()
      server:config{ instances = { count = 95, page_delay = 0.05 },
        actions = { DescribeInstances = { status = 403, code = "Forbidden.Fake", every = 5,
          times = 1 } } }
      local calls = 0
      local p = ecs:all_items_async("DescribeInstances", { PageSize = 10 })
      p:next(function() calls = calls + 1 end, function() calls = calls + 1 end)
      local items, err = p:wait(30)
      assert.is_nil(items)
      assert.are.equal("Forbidden.Fake", err.code)
      assert.are.equal("server", err.kind)
      assert.is_true(alicloud.run(30))
      assert.are.equal(1, calls)
      assert.are.equal("rejected", p:status())
    end)

    it("rejects when the first page fails, fetching nothing more", function()
      server:config{ actions = { ListTagResources = { status = 403, code = "Forbidden.Fake",
        times = 1 } } }
      local _, err = ecs:all_items_async("ListTagResources", { ResourceType = "instance" }):wait(30)
      assert.are.equal("Forbidden.Fake", err.code)
      assert.are.equal(1, server:stats().by_action.ListTagResources)
    end)

    it("rejects with SDK.AsyncFunctionNotEnabled on a client without a pool", function()
      local sync_only = env.ecs()
      local _, err = sync_only:all_items_async("DescribeInstances", {}):wait(5)
      assert.are.equal("SDK.AsyncFunctionNotEnabled", err.code)
    end)

    it("rejects a misspelt action with SDK.InvalidAction", function()
      local _, err = ecs:all_items_async("ListTagResource", {}):wait(5)
      assert.are.equal("SDK.InvalidAction", err.code)
    end)
  end)
end)
