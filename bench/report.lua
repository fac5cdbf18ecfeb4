-- Turns the raw measurements of one `make bench` run into the Markdown report
-- (bench/results/latest.md): medians with their spread, the ratios to the peers, and the
-- targets of issues 7 and 17 checked.
--
--   lua5.4 bench/report.lua RAW.tsv META.tsv
--
-- RAW.tsv: scn cfg peer run calls ok err wall cpu hwm_kb conns sreq bg_cores nginx_cpu
-- lua_cpu worker_cpu threads minflt (-1 where not measured). META.tsv: key<TAB>value lines.
local raw_path, meta_path = arg[1], arg[2]

local meta = {}
for line in io.lines(meta_path) do
  local k, v = line:match("^([^\t]+)\t(.*)$")
  if k then meta[k] = v end
end

-- groups[scn][cfg][peer] = list of runs
local groups = {}
for line in io.lines(raw_path) do
  local f = {}
  for field in line:gmatch("[^\t]+") do f[#f + 1] = field end
  if #f >= 12 and f[1] ~= "scn" then
    local r = {
      scn = f[1], cfg = tonumber(f[2]), peer = f[3], run = tonumber(f[4]),
      calls = tonumber(f[5]), ok = tonumber(f[6]), err = tonumber(f[7]), wall = tonumber(f[8]),
      cpu = tonumber(f[9]), hwm = tonumber(f[10]), conns = tonumber(f[11]),
      sreq = tonumber(f[12]), bg = tonumber(f[13] or "-1"), ngx = tonumber(f[14] or "-1"),
      lua_cpu = tonumber(f[15] or "-1"), worker_cpu = tonumber(f[16] or "-1"),
      threads = tonumber(f[17] or "-1"), minflt = tonumber(f[18] or "-1"),
    }
    groups[r.scn] = groups[r.scn] or {}
    groups[r.scn][r.cfg] = groups[r.scn][r.cfg] or {}
    local g = groups[r.scn][r.cfg]
    g[r.peer] = g[r.peer] or {}
    table.insert(g[r.peer], r)
  end
end

local function median(xs)
  if #xs == 0 then return nil end
  table.sort(xs)
  local m = (#xs + 1) // 2
  if #xs % 2 == 1 then return xs[m] end
  return (xs[m] + xs[m + 1]) / 2
end

-- { med, min, max, n } of f(run) over the runs where f gives a number
local function stat(runs, f)
  local xs = {}
  for _, r in ipairs(runs or {}) do
    local v = f(r)
    if v then xs[#xs + 1] = v end
  end
  if #xs == 0 then return nil end
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(xs) do lo, hi = math.min(lo, v), math.max(hi, v) end
  return { med = median(xs), min = lo, max = hi, n = #xs }
end

local function rate(r) return r.wall > 0 and r.ok / r.wall or nil end
local function cpu_1k(r) return r.cpu >= 0 and r.calls > 0 and r.cpu / r.calls * 1000 or nil end
local function rss_mib(r) return r.hwm > 0 and r.hwm / 1024 or nil end
local function conns(r) return r.conns >= 0 and r.conns or nil end
local function per_1k(field)
  return function(r) return r[field] >= 0 and r.calls > 0 and r[field] / r.calls * 1000 or nil end
end
local function threads(r) return r.threads >= 0 and r.threads or nil end

local function thousands(x)
  local s = string.format("%d", math.floor(x + 0.5))
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end

local function spread(s)
  if not s or s.n < 2 or s.med == 0 then return "" end
  return string.format(" ±%.0f%%", (s.max - s.min) / 2 / s.med * 100)
end

local function fmt_rate(s) return s and (thousands(s.med) .. spread(s)) or "–" end
local function fmt_cpu(s) return s and string.format("%.3f", s.med) or "–" end
local function fmt_rss(s) return s and string.format("%.1f", s.med) or "–" end
local function fmt_int(s) return s and string.format("%d", math.floor(s.med + 0.5)) or "–" end
local function ratio(a, b)
  if not (a and b) or b.med == 0 then return "–" end
  return string.format("%.2f", a.med / b.med)
end

-- problems: runs with failed calls, or where nginx did not see exactly one request per call
local problems = {}
for scn, cfgs in pairs(groups) do
  for cfg, peers in pairs(cfgs) do
    for peer, runs in pairs(peers) do
      for _, r in ipairs(runs) do
        if r.err > 0 then
          problems[#problems + 1] = string.format("scenario %s (%d), %s run %d: %d of %d calls failed",
            scn, cfg, peer, r.run, r.err, r.calls)
        end
        if peer ~= "wrk" and r.sreq >= 0 and r.sreq ~= r.calls then
          problems[#problems + 1] = string.format(
            "scenario %s (%d), %s run %d: nginx counted %d requests for %d calls",
            scn, cfg, peer, r.run, r.sreq, r.calls)
        end
      end
    end
  end
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t or {}) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

local out = {}
local function w(fmt, ...) out[#out + 1] = select("#", ...) > 0 and fmt:format(...) or fmt end

local PEERS = { "alicloud", "baseline", "popcore" }
local targets, targets17 = {}, {}
local function target(ok, text)
  targets[#targets + 1] = string.format("- %s %s", ok == nil and "n/a " or (ok and "PASS" or "FAIL"), text)
end
local function target17(ok, text)
  targets17[#targets17 + 1] = string.format("- %s %s", ok and "PASS" or "FAIL", text)
end

w("# alicloud benchmark results")
w("")
w("%s, %s cores (`nproc`), %s, Linux %s. Commit `%s`.", meta.date or "?", meta.nproc or "?",
  meta.cpu or "?", meta.kernel or "?", meta.git or "?")
w("")
w("Peers: **alicloud** (this tree, %s); **baseline**: raw libcurl easy handles in N pthreads, "
  .. "no Lua, no signing, no JSON (bench/baseline.c, gcc -O2, libcurl %s); **pop-core**: the "
  .. "official Node.js SDK `@alicloud/pop-core` %s on node %s, N requests in flight; **wrk** %s: "
  .. "the server's own limit. Server: nginx %s, one worker, keep-alive, a %s-byte "
  .. "DescribeRegions body.", meta.lua or "Lua 5.4", meta.curl or "?", meta.popcore or "?",
  meta.node or "?", meta.wrk or "?", meta.nginx or "?", meta.body_bytes or "?")
w("")
w("Each cell is the median of %s runs (scenarios 2 and 3: %s) (±: half the min–max range, "
  .. "relative to the median). "
  .. "calls/s count successful calls over the load's wall time; CPU is user+system of the whole "
  .. "process (every thread) over the load, in seconds per 1,000 calls; RSS is the process's "
  .. "peak (VmHWM); conns is how many connections nginx accepted during a run (stub_status).",
  meta.runs or "?", meta.runs_long or "?")

-- Scenario 1 ---------------------------------------------------------------------------
local s1 = groups["1"]
if s1 then
  w("")
  w("## 1. Fast endpoint: %s signed async calls", meta.fast_n and thousands(tonumber(meta.fast_n)) or "?")
  w("")
  w("Queue %s, a small callback per call.", meta.fast_queue or "?")
  w("")
  w("| pool | alicloud calls/s | baseline | pop-core | wrk | alicloud/baseline | alicloud/pop-core "
    .. "| CPU s/1k alicloud | baseline | pop-core | peak RSS MiB alicloud | baseline | pop-core "
    .. "| conns a/b/p |")
  w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
  for _, pool in ipairs(sorted_keys(s1)) do
    local g = s1[pool]
    local R, C, M, K = {}, {}, {}, {}
    for _, p in ipairs(PEERS) do
      R[p], C[p], M[p], K[p] = stat(g[p], rate), stat(g[p], cpu_1k), stat(g[p], rss_mib), stat(g[p], conns)
    end
    local wrk = stat(g.wrk, rate)
    w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s |", pool,
      fmt_rate(R.alicloud), fmt_rate(R.baseline), fmt_rate(R.popcore), fmt_rate(wrk),
      ratio(R.alicloud, R.baseline), ratio(R.alicloud, R.popcore),
      fmt_cpu(C.alicloud), fmt_cpu(C.baseline), fmt_cpu(C.popcore),
      fmt_rss(M.alicloud), fmt_rss(M.baseline), fmt_rss(M.popcore),
      fmt_int(K.alicloud), fmt_int(K.baseline), fmt_int(K.popcore))
    if R.alicloud and R.baseline then
      target(R.alicloud.med >= 0.8 * R.baseline.med, string.format(
        "S1 pool %d: calls/s ≥ 80%% of baseline (%.0f%%)", pool, R.alicloud.med / R.baseline.med * 100))
      target17(R.alicloud.med >= 0.7 * R.baseline.med, string.format(
        "(a) S1 pool %d: calls/s ≥ 0.70× raw threads (%.2f×)", pool, R.alicloud.med / R.baseline.med))
    end
    if C.alicloud and C.baseline then
      target(C.alicloud.med <= 1.5 * C.baseline.med, string.format(
        "S1 pool %d: CPU per call ≤ 1.5× baseline (%.2f×)", pool, C.alicloud.med / C.baseline.med))
    end
    if M.alicloud then
      target(M.alicloud.max < 24, string.format("S1 pool %d: peak RSS < 24 MiB (max %.1f MiB)",
        pool, M.alicloud.max))
    end
    if K.alicloud then
      target(K.alicloud.max <= pool, string.format(
        "S1 pool %d: every worker keeps its connection (≤ %d conns per run; max %d)", pool, pool,
        math.floor(K.alicloud.max)))
    end
  end
end

-- Scenario 1, below the Lua API: the same calls through the C core alone ----------------
if s1 then
  local any = false
  for _, g in pairs(s1) do any = any or g.core ~= nil or g.coreraw ~= nil end
  if any then
    w("")
    w("### Where scenario 1's time goes")
    w("")
    w("The same calls, interleaved with the runs above: **core** submits the same C tasks to "
      .. "the same pool and builds the same result tables, but without the Lua layer (no "
      .. "promise, no request building in Lua, no runtime); **raw** also leaves out JSON (each "
      .. "body arrives as a string). The gap between core and alicloud is the Lua layer's; "
      .. "between raw and baseline, the design's (a C task per call, signing, the hand-over to "
      .. "a worker and back to the Lua thread).")
    w("")
    w("| pool | alicloud calls/s | core | raw | baseline | alicloud/baseline | core/baseline "
      .. "| raw/baseline | CPU s/1k alicloud | core | raw | baseline |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _, pool in ipairs(sorted_keys(s1)) do
      local g = s1[pool]
      local R, C = {}, {}
      for _, p in ipairs({ "alicloud", "core", "coreraw", "baseline" }) do
        R[p], C[p] = stat(g[p], rate), stat(g[p], cpu_1k)
      end
      w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", pool,
        fmt_rate(R.alicloud), fmt_rate(R.core), fmt_rate(R.coreraw), fmt_rate(R.baseline),
        ratio(R.alicloud, R.baseline), ratio(R.core, R.baseline), ratio(R.coreraw, R.baseline),
        fmt_cpu(C.alicloud), fmt_cpu(C.core), fmt_cpu(C.coreraw), fmt_cpu(C.baseline))
    end
  end
end

-- Scenario 2 ---------------------------------------------------------------------------
local s2 = groups["2"]
if s2 then
  local delay = tonumber(meta.slow_seconds or "0.05")
  w("")
  w("## 2. Slow endpoint (%d ms): %s async calls", math.floor(delay * 1000 + 0.5),
    meta.slow_n and thousands(tonumber(meta.slow_n)) or "?")
  w("")
  w("Ideal = pool / %.2f s. nginx's own timer adds a little to every answer: wrk with as many "
    .. "connections as the pool shows what is reachable.", delay)
  w("")
  w("| pool | ideal | alicloud calls/s | % of ideal | baseline | pop-core | wrk | alicloud/baseline "
    .. "| alicloud/pop-core | CPU s/1k alicloud | baseline | pop-core | peak RSS MiB alicloud "
    .. "| conns a/b/p |")
  w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
  for _, pool in ipairs(sorted_keys(s2)) do
    local g = s2[pool]
    local ideal = pool / delay
    local R, C, K = {}, {}, {}
    for _, p in ipairs(PEERS) do
      R[p], C[p], K[p] = stat(g[p], rate), stat(g[p], cpu_1k), stat(g[p], conns)
    end
    local M = stat(g.alicloud, rss_mib)
    local wrk = stat(g.wrk, rate)
    w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s |", pool,
      thousands(ideal), fmt_rate(R.alicloud),
      R.alicloud and string.format("%.1f%%", R.alicloud.med / ideal * 100) or "–",
      fmt_rate(R.baseline), fmt_rate(R.popcore), fmt_rate(wrk),
      ratio(R.alicloud, R.baseline), ratio(R.alicloud, R.popcore),
      fmt_cpu(C.alicloud), fmt_cpu(C.baseline), fmt_cpu(C.popcore), fmt_rss(M),
      fmt_int(K.alicloud), fmt_int(K.baseline), fmt_int(K.popcore))
    if R.alicloud then
      target(R.alicloud.med >= 0.95 * ideal, string.format(
        "S2 pool %d: calls/s ≥ 95%% of ideal (%.1f%%; baseline %s)", pool,
        R.alicloud.med / ideal * 100,
        R.baseline and string.format("%.1f%%", R.baseline.med / ideal * 100) or "–"))
    end
    if C.alicloud and C.baseline then
      target(C.alicloud.med <= 1.5 * C.baseline.med, string.format(
        "S2 pool %d: CPU per call ≤ 1.5× baseline (%.2f×)", pool, C.alicloud.med / C.baseline.med))
    end
  end
end

-- Scenario 3 ---------------------------------------------------------------------------
local s3 = groups["3"]
if s3 then
  w("")
  w("## 3. Fan-out from a callback-heavy script: queue %s (block policy), pool %s",
    meta.fanout_queue or "?", meta.fanout_pool or "?")
  w("")
  w("Each count runs in a process of its own; peak RSS must stay flat as the count grows.")
  w("")
  w("| calls | alicloud peak RSS MiB | vs smallest | calls/s | CPU s/1k | conns |")
  w("|---:|---:|---:|---:|---:|---:|")
  local counts = sorted_keys(s3)
  local first
  for _, n in ipairs(counts) do
    local g = s3[n]
    local M = stat(g.alicloud, rss_mib)
    first = first or M
    w("| %s | %s%s | %s | %s | %s | %s |", thousands(n), fmt_rss(M), spread(M),
      ratio(M, first), fmt_rate(stat(g.alicloud, rate)), fmt_cpu(stat(g.alicloud, cpu_1k)),
      fmt_int(stat(g.alicloud, conns)))
  end
  if #counts >= 2 then
    local lo, hi = counts[1], counts[#counts]
    local a, b = stat(s3[lo].alicloud, rss_mib), stat(s3[hi].alicloud, rss_mib)
    if a and b then
      target(b.med <= 1.10 * a.med, string.format(
        "S3: peak RSS at %s calls within 10%% of %s calls (%+.1f%%)", thousands(hi),
        thousands(lo), (b.med / a.med - 1) * 100))
    end
  end
end

-- Scenario 4 ---------------------------------------------------------------------------
local s4 = groups["4"]
if s4 then
  w("")
  w("## 4. Sync calls in a loop (no pool): %s calls", meta.sync_n and thousands(tonumber(meta.sync_n)) or "?")
  w("")
  w("baseline: one easy handle in a single-threaded loop; pop-core: one request in flight "
    .. "(`await` in a loop); wrk: one connection, one thread.")
  w("")
  w("| calls | alicloud calls/s | baseline | pop-core | wrk | alicloud/baseline | alicloud/pop-core "
    .. "| CPU s/1k alicloud | baseline | pop-core | peak RSS MiB alicloud | conns a/b/p |")
  w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
  for _, n in ipairs(sorted_keys(s4)) do
    local g = s4[n]
    local R, C, K = {}, {}, {}
    for _, p in ipairs(PEERS) do
      R[p], C[p], K[p] = stat(g[p], rate), stat(g[p], cpu_1k), stat(g[p], conns)
    end
    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s |", thousands(n),
      fmt_rate(R.alicloud), fmt_rate(R.baseline), fmt_rate(R.popcore), fmt_rate(stat(g.wrk, rate)),
      ratio(R.alicloud, R.baseline), ratio(R.alicloud, R.popcore),
      fmt_cpu(C.alicloud), fmt_cpu(C.baseline), fmt_cpu(C.popcore),
      fmt_rss(stat(g.alicloud, rss_mib)), fmt_int(K.alicloud), fmt_int(K.baseline),
      fmt_int(K.popcore))
    if R.alicloud and R.baseline then
      target(R.alicloud.med >= 0.8 * R.baseline.med, string.format(
        "S4: sync calls/s ≥ 80%% of the single-threaded libcurl loop (%.0f%%)",
        R.alicloud.med / R.baseline.med * 100))
    end
  end
end

-- Scenario 5 ---------------------------------------------------------------------------
local s5 = groups["5"]
if s5 then
  w("")
  w("## 5. A deep queue: %s async calls at pool %s, queue 1,000 against 20,000",
    meta.deep_n and thousands(tonumber(meta.deep_n)) or "?", meta.deep_pool or "?")
  w("")
  w("The same calls as scenario 1, everything submitted at once (block policy), only the "
    .. "queue's size differs. CPU per thread comes from /proc/self/task (the Lua thread; the "
    .. "pool's threads), page faults are the process's minor faults: counters of the process "
    .. "itself, which other work on the machine does not move.")
  w("")
  w("| queue | calls/s | CPU s/1k | vs queue 1,000 | Lua thread s/1k | pool threads s/1k "
    .. "| minor faults per call | peak RSS MiB |")
  w("|---:|---:|---:|---:|---:|---:|---:|---:|")
  local short
  for _, q in ipairs(sorted_keys(s5)) do
    local runs = s5[q].alicloud
    local C = stat(runs, cpu_1k)
    short = short or C
    local F = stat(runs, function(r) return r.minflt >= 0 and r.minflt / r.calls or nil end)
    w("| %s | %s | %s%s | %s | %s | %s | %s | %s |", thousands(q), fmt_rate(stat(runs, rate)),
      fmt_cpu(C), spread(C), ratio(C, short), fmt_cpu(stat(runs, per_1k("lua_cpu"))),
      fmt_cpu(stat(runs, per_1k("worker_cpu"))), F and string.format("%.2f", F.med) or "–",
      fmt_rss(stat(runs, rss_mib)))
  end
  local qs = sorted_keys(s5)
  if #qs >= 2 then
    local a, b = stat(s5[qs[1]].alicloud, cpu_1k), stat(s5[qs[#qs]].alicloud, cpu_1k)
    if a and b then
      target17(b.med <= 1.15 * a.med, string.format(
        "(b) S5: CPU per call at queue %s ≤ 1.15× queue %s's (%.2f×)", thousands(qs[#qs]),
        thousands(qs[1]), b.med / a.med))
    end
  end
end

-- Scenario 6 ---------------------------------------------------------------------------
local s6 = groups["6"]
if s6 then
  local delay = tonumber(meta.slow_seconds or "0.05")
  w("")
  w("## 6. Many calls in flight on the slow endpoint (%d ms): %s calls",
    math.floor(delay * 1000 + 0.5), meta.flight_n and thousands(tonumber(meta.flight_n)) or "?")
  w("")
  w("alicloud: `enable_async(K, %s)`, everything submitted at once (block policy); **multi**: "
    .. "one thread driving K easy handles on one libcurl multi handle (bench/baseline.c "
    .. "`multi`: curl_multi_socket_action over epoll, no Lua, no signing, no JSON). threads: "
    .. "the process's threads at the end of the load.", meta.flight_queue or "?")
  w("")
  w("| in flight | alicloud calls/s | multi | alicloud/multi | CPU s/1k alicloud | multi "
    .. "| CPU ratio | peak RSS MiB alicloud | multi | threads a/m | conns a/m |")
  w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|")
  for _, k in ipairs(sorted_keys(s6)) do
    local g = s6[k]
    local R, C, M, T, K = {}, {}, {}, {}, {}
    for _, p in ipairs({ "alicloud", "multi" }) do
      R[p], C[p], M[p] = stat(g[p], rate), stat(g[p], cpu_1k), stat(g[p], rss_mib)
      T[p], K[p] = stat(g[p], threads), stat(g[p], conns)
    end
    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s |", thousands(k),
      fmt_rate(R.alicloud), fmt_rate(R.multi), ratio(R.alicloud, R.multi), fmt_cpu(C.alicloud),
      fmt_cpu(C.multi), ratio(C.alicloud, C.multi), fmt_rss(M.alicloud), fmt_rss(M.multi),
      fmt_int(T.alicloud), fmt_int(T.multi), fmt_int(K.alicloud), fmt_int(K.multi))
    if k == 1024 and R.alicloud and R.multi and C.alicloud and C.multi and M.alicloud then
      target17(R.alicloud.med >= 0.9 * R.multi.med, string.format(
        "(c) S6 1,024 in flight: calls/s ≥ 0.90× curl multi's (%.2f×)", R.alicloud.med / R.multi.med))
      target17(C.alicloud.med <= 1.5 * C.multi.med, string.format(
        "(c) S6 1,024 in flight: CPU per call ≤ 1.5× curl multi's (%.2f×)", C.alicloud.med / C.multi.med))
      target17(M.alicloud.med <= 48, string.format(
        "(c) S6 1,024 in flight: peak RSS ≤ 48 MiB (%.1f MiB)", M.alicloud.med))
    end
  end
end

w("")
w("## Issue 17 targets")
w("")
w("Ratios within this run: wall-clock numbers on a shared machine move all peers together.")
w("")
if #targets17 == 0 then w("- (no scenario with the peers needed was run)") end
for _, t in ipairs(targets17) do w(t) end

w("")
w("## Issue 7 targets")
w("")
if #targets == 0 then w("- (no scenario with the peers needed was run)") end
for _, t in ipairs(targets) do w(t) end

w("")
w("## Checks")
w("")
if #problems == 0 then
  w("- every call succeeded, and nginx counted exactly one request per call for every client run.")
else
  for _, p in ipairs(problems) do w("- **%s**", p) end
end

-- how much CPU other processes took while we measured (this machine may be shared), and nginx
local bgs, busiest = {}, nil
local ngx_by_peer = {}
for scn, cfgs in pairs(groups) do
  for cfg, peers in pairs(cfgs) do
    for peer, runs in pairs(peers) do
      for _, r in ipairs(runs) do
        if r.bg >= 0 then
          bgs[#bgs + 1] = r.bg
          if not busiest or r.bg > busiest.bg then
            busiest = { bg = r.bg, what = string.format("scenario %s (%d) %s run %d", scn, cfg, peer, r.run) }
          end
        end
        if scn == "1" and r.ngx >= 0 and r.calls > 0 then
          ngx_by_peer[peer] = ngx_by_peer[peer] or {}
          table.insert(ngx_by_peer[peer], r.ngx / r.calls * 1000)
        end
      end
    end
  end
end
if #bgs > 0 then
  local busy = 0
  for _, v in ipairs(bgs) do if v > 0.25 then busy = busy + 1 end end
  w("- background load (CPU other processes used during a run): median %.2f cores, max %.2f (%s); "
    .. "%d of %d runs had more than 0.25 cores of it%s.", median(bgs), busiest.bg, busiest.what,
    busy, #bgs, busy > 0 and " — their numbers are noisier; rerun on a quiet machine to confirm" or "")
end
if next(ngx_by_peer) then
  local parts = {}
  for _, p in ipairs(PEERS) do
    if ngx_by_peer[p] then parts[#parts + 1] = string.format("%s %.3f", p, median(ngx_by_peer[p])) end
  end
  w("- nginx's own CPU in scenario 1, s per 1,000 calls (median): %s. On %s cores the client and "
    .. "the server share the CPU, so a client's calls/s also depends on its CPU per call.",
    table.concat(parts, ", "), meta.nproc or "?")
end

w("")
w("## Rerun")
w("")
w("```sh")
w("make bench                      # the full suite (~10 min on 2 cores), writes this file")
w("BENCH_QUICK=1 make bench        # a ~1 min smoke run, writes bench/results/quick.md")
w("BENCH_SCENARIOS=1 BENCH_PEERS='alicloud baseline' BENCH_RUNS=5 bench/run   # one scenario")
w("```")
w("")
w("This run: `%s` (%s s). Settings: %s. Raw measurements: `%s`.", meta.cmd or "bench/run",
  meta.elapsed or "?", meta.settings or "?", meta.raw or "?")

io.write(table.concat(out, "\n"), "\n")
os.exit(#problems == 0 and 0 or 1)
