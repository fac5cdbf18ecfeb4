-- alicloud.loop.ngx in a real nginx (lua-nginx-module, LuaJIT build of this tree) started on
-- loopback by the spec itself: delivery in the worker's event loop, waits that suspend only
-- their request, SDK.NotYieldable where nginx cannot yield, reloads with calls in flight.
local env = require("spec.support.env")
local nginx = require("spec.support.nginx")
local socket = require("socket")

-- A worker's threads with a pool of 50: its main thread and the pool's engine threads, one
-- per core and at most the pool size (csrc/core/pool.c), not one per call.
local getconf = assert(io.popen("getconf _NPROCESSORS_ONLN"))
local POOL_THREADS = 1 + math.min(50, tonumber(getconf:read("*l")))
getconf:close()

-- The application: clients made in init_worker, handlers that report what they saw as text.
-- extra: Lua text for before_attach, init_worker and exit_worker; nginx text for locations.
local function http_conf(endpoint, extra)
  return [[
  init_worker_by_lua_block {
    local alicloud = require("alicloud")
    ]] .. (extra and extra.before_attach or "") .. [[
    alicloud.loop.ngx.attach()
    local cred = alicloud.credentials.access_key("ak-test", "secret-test")
    local function client()
      return alicloud.client("ecs", { region = "cn-hangzhou", endpoint = "]] .. endpoint .. [[",
        scheme = "http", credential = cred })
    end
    local app = { ecs = client(), sync = client() } -- sync: no pool of its own
    app.ecs:enable_async(50, 1000)
    package.loaded.app = app
    ]] .. (extra and extra.init_worker or "") .. [[
  }
  exit_worker_by_lua_block {
    ]] .. (extra and extra.exit_worker or "") .. [[
  }
  server {
    listen 127.0.0.1:@PORT@;
    location = /ping { content_by_lua_block { ngx.say("pong") } }
    ]] .. (extra and extra.locations or "") .. [[
    location = /fanout { content_by_lua_block {
      local alicloud = require("alicloud")
      local app = require("app")
      local n = tonumber(ngx.var.arg_n) or 200
      ngx.update_time()
      local t0 = ngx.now()
      local ps = {}
      for i = 1, n do ps[i] = app.ecs:DescribeRegionsAsync({}) end
      local res = alicloud.all_settled(ps):await()
      local ok = 0
      for _, r in ipairs(res) do
        if r.status == "fulfilled" and #r.value.Regions.Region == 12 then ok = ok + 1 end
      end
      ngx.update_time()
      ngx.say(ok, " ", ngx.now() - t0, " ", ngx.worker.pid())
    } }
    location = /sync { content_by_lua_block {
      local app = require("app")
      local a, aerr = app.sync:DescribeRegions({})       -- the attachment's pool
      local b, berr = app.ecs:DescribeInstances({ PageSize = 1 }) -- the client's own
      ngx.say(a and #a.Regions.Region or aerr.code, " ", b and b.PageSize or berr.code)
    } }
    location = /sync_error { content_by_lua_block {
      local r, err = require("app").sync:DescribeRegions({})
      ngx.say(r and "ok" or err.code)
    } }
    location = /async { content_by_lua_block {
      local alicloud = require("alicloud")
      local app = require("app")
      local p = alicloud.async(function()
        local a = app.ecs:DescribeRegionsAsync({}):await()
        local b = app.ecs:DescribeRegionsAsync({}):await()
        return #a.Regions.Region + #b.Regions.Region
      end)
      local called = 0
      for _ = 1, 3 do
        app.ecs:DescribeRegionsAsync({}, function(res) if res then called = called + 1 end end)
      end
      local ran, rerr = alicloud.run(10)
      ngx.say(p:status(), " ", (p:wait()), " ", called, " ", tostring(ran and not rerr),
        " ", alicloud.pending())
    } }
    location = /sequential { content_by_lua_block {
      local app = require("app")
      local n = tonumber(ngx.var.arg_n)
      ngx.update_time()
      local t0 = ngx.now()
      for _ = 1, n do assert(app.ecs:DescribeRegionsAsync({}):await()) end
      ngx.update_time()
      ngx.say(ngx.now() - t0)
    } }
    location = /not_yieldable {
      content_by_lua_block {
        local app = require("app")
        -- a callback runs inside the delivery: waiting there would stop it
        app.ecs:DescribeRegionsAsync({}, function()
          local _, err = app.ecs:DescribeRegionsAsync({}):wait()
          ngx.log(ngx.NOTICE, "in a callback: ", err and err.code)
        end)
        ngx.say("ok")
      }
      log_by_lua_block {
        local app = require("app")
        local _, e1 = app.sync:DescribeRegions({})
        local _, e2 = app.ecs:DescribeRegionsAsync({}):wait()
        local _, e3 = app.ecs:DescribeRegionsAsync({}):await()
        ngx.log(ngx.NOTICE, "log phase: ", e1 and e1.code, " ", e2 and e2.code, " ",
          e3 and e3.code)
      }
    }
  }
]]
end

-- GETs path repeatedly until the open request `c` has its answer; the longest and the
-- number of answers.
local function ping_while(srv, c, path)
  local worst, n, all = 0, 0, {}
  repeat
    local status, body, dt = srv:get(path)
    assert.are.equal(200, status)
    assert.are.equal("pong\n", body)
    n = n + 1
    all[n] = string.format("%.0f", dt * 1000)
    if dt > worst then worst = dt end
    socket.sleep(0.005)
  until #socket.select({ c }, nil, 0) > 0
  return worst, n, table.concat(all, " ")
end

-- Stops nginx (a graceful QUIT) and checks that each of `workers` exited with code 0: their
-- pools were joined when their Lua VM closed (nothing in the config shuts them down).
local function stop_cleanly(srv, workers)
  local log = srv:stop()
  for _, pid in ipairs(workers) do
    assert.matches("worker process " .. pid .. " exited with code 0", log)
  end
  return log
end

-- No trouble in the log but the [error] lines a spec caused on purpose (those matching one
-- of the patterns `...`).
local function clean(log, ...)
  assert.is_nil(log:match("%[alert%]"), log)
  assert.is_nil(log:match("%[crit%]"), log)
  assert.is_nil(log:match("%[emerg%]"), log)
  local expected = { ... }
  for line in log:gmatch("[^\n]*%[error%][^\n]*") do
    local found = false
    for _, pattern in ipairs(expected) do found = found or line:match(pattern) ~= nil end
    assert.is_true(found, log)
  end
  assert.is_nil(log:match("exited on signal"), log)
end

describe("loop.ngx in nginx", function()
  local server, srv

  setup(function()
    server = env.server()
    srv = nginx.start{ http = http_conf(server.endpoint) }
  end)
  teardown(function()
    if srv then clean(stop_cleanly(srv, srv:workers())) end
    env.stop()
  end)
  before_each(function() server:reset() end)

  it("a handler fans out 200 calls to a 50 ms endpoint with pool 50 while another location "
    .. "on the same worker answers within 100 ms", function()
    assert.are.equal(1, #srv:workers())
    server:config{ delay = 0.05 }
    -- The worker's first calls start the pool's 50 threads and their connections; on this
    -- small shared machine that burst alone can delay a response. Measured warm:
    local _, warm = srv:get("/fanout?n=50")
    assert.matches("^50 ", warm)
    -- A loaded machine (other suites run beside this one) can stall any process for a while,
    -- this one or nginx; the whole measurement is repeated, at most 3 times, until a run where
    -- every /ping answered within 100 ms. A worker that blocked would fail every run.
    local runs = {}
    for run = 1, 3 do
      server:reset()
      server:config{ delay = 0.05 }
      local c = srv:send("/fanout?n=200")
      local worst, pings, all = ping_while(srv, c, "/ping")
      local status, body = srv:receive(c)
      assert.are.equal(200, status)
      local ok, took = body:match("^(%d+) ([%d.]+)")
      assert.are.equal("200", ok)                  -- every call settled, fulfilled
      assert.is_true(tonumber(took) >= 0.19, body) -- four rounds of 50: the pool bounds them
      assert.is_true(tonumber(took) < 5, body)
      local stats = server:stats()
      assert.are.equal(200, stats.by_action.DescribeRegions)
      assert.is_true(stats.max_concurrent <= 50 and stats.max_concurrent >= 25,
        "max concurrent " .. stats.max_concurrent)
      assert.is_true(pings >= 5, "only " .. pings .. " answers meanwhile")
      local summary = string.format("run %d: 200 calls in %.0f ms; %d /ping meanwhile, slowest "
        .. "%.1f ms", run, tonumber(took) * 1000, pings, worst * 1000)
      runs[run] = { worst = worst, summary = summary, text = summary .. " (all, ms: " .. all .. ")" }
      if worst < 0.1 then break end
    end
    local texts = {}
    for i, r in ipairs(runs) do texts[i] = r.text end
    print("\n  nginx fan-out, " .. runs[#runs].summary)
    assert.is_true(runs[#runs].worst < 0.1, table.concat(texts, "\n"))
  end)

  it("sync calls in a handler suspend only that request", function()
    assert.are.equal("12 1\n", select(2, srv:get("/sync"))) -- warm: the sync pool's threads
    server:config{ delay = 0.3 }
    local runs = {} -- as above: up to 3 runs, until one where every /ping took < 100 ms
    for run = 1, 3 do
      local c = srv:send("/sync")
      local worst, pings, all = ping_while(srv, c, "/ping")
      local status, body = srv:receive(c)
      assert.are.equal(200, status)
      assert.are.equal("12 1\n", body)
      assert.is_true(pings >= 5, "only " .. pings .. " answers meanwhile")
      runs[run] = { worst = worst, text = string.format("run %d: slowest /ping %.1f ms (all, ms: %s)",
        run, worst * 1000, all) }
      if worst < 0.1 then break end
    end
    local texts = {}
    for i, r in ipairs(runs) do texts[i] = r.text end
    assert.is_true(runs[#runs].worst < 0.1, table.concat(texts, "\n"))
    server:config{ delay = 0, actions = { DescribeRegions = { status = 403, code = "Forbidden.RAM" } } }
    local status2, body2 = srv:get("/sync_error")
    assert.are.same({ 200, "Forbidden.RAM\n" }, { status2, body2 })
  end)

  it("alicloud.async, alicloud.run and callbacks in a handler", function()
    server:config{ delay = 0.05 }
    local status, body = srv:get("/async")
    assert.are.equal(200, status)
    assert.are.equal("fulfilled 24 3 true 0\n", body)
    assert.are.equal(5, server:stats().by_action.DescribeRegions)
  end)

  it("adds at most a few ms per call over a plain process's wait", function()
    -- sequential calls, timed in nginx (await) and in this process (wait: poll() on the
    -- completion pipe), interleaved; the best round of each, since the machine may be busy
    local n, rounds = 50, 5
    local ecs = env.ecs()
    ecs:enable_async(50, 1000)
    srv:get("/sequential?n=5") -- warm: connections, threads, the delivery timer
    for _ = 1, 5 do assert(ecs:DescribeRegionsAsync({}):wait()) end
    local in_nginx, plain = math.huge, math.huge
    for _ = 1, rounds do
      local status, body = srv:get("/sequential?n=" .. n)
      assert.are.equal(200, status)
      in_nginx = math.min(in_nginx, tonumber(body) / n)
      local t0 = socket.gettime()
      for _ = 1, n do assert(ecs:DescribeRegionsAsync({}):wait()) end
      plain = math.min(plain, (socket.gettime() - t0) / n)
    end
    ecs:shutdown()
    print(string.format("\n  per sequential call: nginx %.2f ms, plain wait %.2f ms, added %.2f ms",
      in_nginx * 1000, plain * 1000, (in_nginx - plain) * 1000))
    assert.is_true(in_nginx - plain < 0.003,
      string.format("nginx %.2f ms vs %.2f ms per call", in_nginx * 1000, plain * 1000))
  end)

  it("outside a yieldable phase or inside a delivery, waits fail with SDK.NotYieldable",
    function()
      server:config{ delay = 0.2 }
      local status, body, took = srv:get("/not_yieldable")
      assert.are.equal(200, status)
      assert.are.equal("ok\n", body)
      assert.is_true(took < 0.15) -- the log phase did not block
      assert.is_truthy(nginx.eventually(function()
        return srv:log():match("log phase: SDK.NotYieldable SDK.NotYieldable SDK.NotYieldable")
      end))
      assert.is_truthy(nginx.eventually(function()
        return srv:log():match("in a callback: SDK.NotYieldable")
      end))
      -- the calls started there still complete, delivered by the worker: the pipe and the
      -- fake see them all (one sync call was refused before anything was sent)
      assert.is_truthy(nginx.eventually(function()
        return server:stats().by_action.DescribeRegions == 4
      end))
      assert.are.equal(1, #srv:workers())
    end)
end)

describe("loop.ngx across nginx's lifecycle", function()
  local server

  setup(function() server = env.server() end)
  teardown(function() env.stop() end)
  before_each(function() server:reset() end)

  it("two workers each have their own pool", function()
    local srv = nginx.start{ workers = 2, http = http_conf(server.endpoint, {
      -- each worker makes one call at start, so that each one's pool has started its threads
      init_worker = [[
        ngx.timer.at(0, function()
          local r = app.ecs:DescribeRegionsAsync({}):await()
          ngx.log(ngx.NOTICE, "worker ", ngx.worker.pid(), " started: ", #r.Regions.Region)
        end)
      ]] }) }
    local workers = srv:workers()
    local ok, err = pcall(function()
      assert.are.equal(2, #workers)
      for _, pid in ipairs(workers) do
        assert.is_truthy(nginx.eventually(function()
          return srv:log():match("worker " .. pid .. " started: 12")
        end))
        assert.are.equal(POOL_THREADS, nginx.threads(pid)) -- its main thread and its own pool
      end
    end)
    clean(stop_cleanly(srv, workers))
    assert(ok, err)
  end)

  it("without a writable TMPDIR, delivery falls back to looking every 2 ms, and says so",
    function()
      local srv = nginx.start{ main = "env TMPDIR=/nonexistent/alicloud;",
        http = http_conf(server.endpoint) }
      local ok, err = pcall(function()
        server:config{ delay = 0.05 }
        local status, body = srv:get("/fanout?n=60")
        assert.are.equal(200, status)
        assert.matches("^60 ", body)
        assert.are.equal("12 1\n", select(2, srv:get("/sync")))
        local log = srv:log() -- through alicloud.on_error: the adapter's, ngx.log(ngx.ERR, ...)
        local _, warnings = log:gsub("%[error%][^\n]*alicloud: error in a callback: "
          .. "alicloud.loop.ngx: no delivery socket %(cannot create a directory in "
          .. "/nonexistent/alicloud: No such file or directory%); polling every 2 ms", "")
        assert.are.equal(1, warnings, log) -- once, however many times it fell back
      end)
      clean(stop_cleanly(srv, srv:workers()), "alicloud.loop.ngx: no delivery socket")
      assert(ok, err)
    end)

  it("callback errors go to the error log (ngx.ERR) unless on_error is the user's, and never "
    .. "with a secret", function()
    local srv = nginx.start{ http = http_conf(server.endpoint, {
      before_attach = [[ package.loaded.default_on_error = alicloud.on_error ]],
      locations = [[
        location = /callback_error { content_by_lua_block {
          local tag = ngx.var.arg_tag
          require("app").ecs:DescribeRegionsAsync({}, function(_, err)
            error(err or "callback boom " .. tag)
          end)
          ngx.say("started")
        } }
        location = /on_error { content_by_lua_block {
          local alicloud = require("alicloud")
          local loop, default = alicloud.loop.ngx, package.loaded.default_on_error
          local step = ngx.var.arg_step
          if step == "attached" then
            ngx.say(tostring(alicloud.on_error ~= default))
          elseif step == "detach" then -- the default again, until attached again
            loop.detach()
            local restored = alicloud.on_error == default
            loop.attach()
            ngx.say(tostring(restored), " ", tostring(alicloud.on_error ~= default))
          elseif step == "mine" then
            alicloud.on_error = function(e) ngx.log(ngx.WARN, "own handler: ", tostring(e)) end
            package.loaded.mine = alicloud.on_error
            ngx.say("true")
          elseif step == "reattach" then -- the user's, set before attaching: left alone
            loop.detach()
            loop.attach()
            ngx.say(tostring(alicloud.on_error == package.loaded.mine))
          end
        } }
      ]] }) }
    local function step(name, want)
      local status, body = srv:get("/on_error?step=" .. name)
      assert.are.same({ 200, want or "true" }, { status, body:match("^(.-)%s*$") }, name)
    end
    -- waits until the error log has `pattern`; returns the log
    local function logged(pattern)
      assert.is_truthy(nginx.eventually(function() return srv:log():match(pattern) end),
        "no " .. pattern .. " in:\n" .. srv:log())
      return srv:log()
    end
    local ok, err = pcall(function()
      step("attached")
      assert.are.equal(200, (srv:get("/callback_error?tag=one")))
      logged("%[error%][^\n]*%[lua%][^\n]*alicloud: error in a callback: [^\n]*callback boom one")
      -- an API error raised as it is: its text, no signature, no secret
      server:config{ actions = { DescribeRegions = { status = 403, code = "Forbidden.RAM" } } }
      assert.are.equal(200, (srv:get("/callback_error?tag=two")))
      local log = logged("%[error%][^\n]*alicloud: error in a callback: %[Forbidden%.RAM%]")
      assert.is_nil(log:find("secret-test", 1, true), log)
      assert.is_nil(log:find("Signature=", 1, true), log)
      server:reset()
      step("detach", "true true")
      -- the user's own on_error, set while attached or before attaching, is the one called
      step("mine")
      assert.are.equal(200, (srv:get("/callback_error?tag=three")))
      logged("%[warn%][^\n]*own handler: [^\n]*callback boom three")
      step("reattach")
      assert.are.equal(200, (srv:get("/callback_error?tag=four")))
      log = logged("%[warn%][^\n]*own handler: [^\n]*callback boom four")
      assert.is_nil(log:match("%[error%][^\n]*callback boom three"), log)
      assert.is_nil(log:match("%[error%][^\n]*callback boom four"), log)
    end)
    clean(stop_cleanly(srv, srv:workers()),
      "alicloud: error in a callback: [^\n]*callback boom one",
      "alicloud: error in a callback: %[Forbidden%.RAM%]")
    assert(ok, err)
  end)

  it("a reload (HUP) with calls in flight: they settle, the old worker exits cleanly with "
    .. "its threads joined, the new one starts afresh", function()
    local srv = nginx.start{ http = http_conf(server.endpoint, {
      exit_worker = [[
        local app = package.loaded.app
        require("alicloud").loop.ngx.detach() -- and its pool for sync calls
        app.ecs:shutdown("cancel")
        local status = io.open("/proc/self/status"):read("*a")
        ngx.log(ngx.NOTICE, "exit_worker: threads ", status:match("\nThreads:%s*(%d+)"))
      ]] }) }
    local ok, err = pcall(function()
      local old = srv:workers()[1]
      server:config{ delay = 0.5 }
      local c = srv:send("/fanout?n=100") -- two rounds of 50
      assert.is_truthy(nginx.eventually(function() return server:stats().current == 50 end))
      assert.are.equal(POOL_THREADS, nginx.threads(old))
      srv:reload()
      local new = nginx.eventually(function()
        for _, pid in ipairs(srv:workers()) do if pid ~= old then return pid end end
      end)
      assert.is_truthy(new)
      local status, body = srv:receive(c) -- answered by the old worker, shutting down
      assert.are.equal(200, status)
      assert.matches("^100 [%d.]+ " .. old .. "\n$", body)
      assert.is_truthy(nginx.eventually(function()
        return srv:log():match("worker process " .. old .. " exited with code")
      end))
      assert.is_false(nginx.alive(old))
      local log = srv:log()
      assert.matches("worker process " .. old .. " exited with code 0", log)
      assert.matches(old .. "#%d+: %[lua%][^\n]*exit_worker: threads 1\n", log)
      assert.are.equal(POOL_THREADS, nginx.threads(new)) -- its own pool, made in init_worker
      server:config{ delay = 0.05 }
      local st2, body2 = srv:get("/fanout?n=60")
      assert.are.equal(200, st2)
      assert.matches("^60 [%d.]+ " .. new .. "\n$", body2)
      assert.are.equal(POOL_THREADS, nginx.threads(new))
    end)
    clean(srv:stop())
    assert(ok, err)
  end)
end)
