-- What a product's catalogue data costs on first use: the first action looked up (reading
-- the generated file lua/alicloud/catalogue/<product>.lua and parsing that action's string),
-- its memory, and every action parsed. For comparison, what compiling the same file with
-- require costs. Not part of `make test`; numbers go in docs/PARAMETERS.md.
--
--   lua5.4 bench/catalogue.lua [product ...]     (default: ecs and the five largest files)
--
-- Run from the repository root with lua/ on LUA_PATH (as `make` sets it for the specs).
local N = tonumber(os.getenv("BENCH_CATALOGUE_RUNS") or "") or 200

local function file_of(name)
  return assert(package.searchpath("alicloud.catalogue." .. name, package.path))
end

local function size_of(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

-- Seconds for fn(setup()), the median of N runs; setup is not timed.
local function timed(fn, setup)
  local times = {}
  for i = 1, N do
    local a, b = (setup or function() end)()
    local t0 = os.clock()
    fn(a, b)
    times[i] = os.clock() - t0
  end
  return median(times)
end

-- KiB the value fn(setup()) returns keeps alive, after a full collection.
local function kept(fn, setup)
  local a, b = (setup or function() end)()
  collectgarbage("collect")
  collectgarbage("collect")
  local before = collectgarbage("count")
  local v = fn(a, b)
  collectgarbage("collect")
  collectgarbage("collect")
  local after = collectgarbage("count")
  assert(v)
  return after - before
end

local products_mod = "alicloud.products"

-- A fresh products module (its caches empty, the index loaded) and the product table of
-- `name`, whose file is not loaded yet.
local function fresh(name)
  return function()
    package.loaded[products_mod] = nil
    package.loaded["alicloud.catalogue." .. name] = nil
    local products = require(products_mod)
    return products, products.get(name)
  end
end

local names = { ... }
if #names == 0 then
  -- ecs and the largest product files
  local all = {}
  local products = require(products_mod)
  for _, name in ipairs(products.names()) do
    all[#all + 1] = { name = name, size = size_of(file_of(name)) }
  end
  table.sort(all, function(a, b) return a.size > b.size end)
  names[1] = "ecs"
  for i = 1, 6 do
    if all[i].name ~= "ecs" and #names < 6 then names[#names + 1] = all[i].name end
  end
end

io.write(string.format("%s, %d runs each (median)\n", _VERSION, N))
io.write(string.format("%-16s %7s %8s %10s %10s %10s %10s %10s\n", "product", "actions",
  "file KiB", "require ms", "1st act ms", "1st KiB", "all ms", "all KiB"))
for _, name in ipairs(names) do
  local path = file_of(name)
  local chunk_actions, first = 0, nil
  for k in pairs(dofile(path)) do
    if type(k) == "string" then chunk_actions, first = chunk_actions + 1, first or k end
  end
  -- compiling the file as require would (what the module avoids by reading it as text)
  local require_s = timed(function() return dofile(path) end)
  -- the first action looked up in a fresh process: the file read, one action parsed
  local function one(products, p)
    products.action(p, first)
    return products
  end
  local first_s = timed(one, fresh(name))
  local first_kb = kept(one, fresh(name))
  -- every action parsed (what a tool listing the whole product pays)
  local function every(products, p)
    local keep = {}
    for _, a in ipairs(products.action_names(p)) do keep[#keep + 1] = products.action(p, a) end
    return keep
  end
  local all_s = timed(every, fresh(name))
  local all_kb = kept(every, fresh(name))
  io.write(string.format("%-16s %7d %8.1f %10.3f %10.3f %10.1f %10.2f %10.1f\n", name,
    chunk_actions, size_of(path) / 1024, require_s * 1e3, first_s * 1e3, first_kb, all_s * 1e3,
    all_kb))
end
