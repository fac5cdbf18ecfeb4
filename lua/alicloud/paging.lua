--- Paging: walking an action's pages as the catalogue says it pages (PageNumber/PageSize in,
-- TotalCount out; or a token in and out), and collecting the items along its `items` path,
-- synchronously (iterators) or asynchronously (a promise of every item).
local compat = require("alicloud.compat")
local errors = require("alicloud.errors")
local products = require("alicloud.products")
local promise = require("alicloud.promise")

local M = {}

-- Options of pages/items/all_items_async that are not per-call options.
local OWN_OPTS = { paging = true, concurrency = true }

--- The value at a dotted path ("Instances.Instance") of a result, or nil.
local function at(t, path)
  for key in path:gmatch("[^%.]+") do
    if type(t) ~= "table" then return nil end
    t = t[key]
  end
  return t
end

--- The items of one page: the list at the spec's `items` path ({} when absent or null).
local function items_of(spec, res)
  local list = at(res, spec.items)
  if type(list) ~= "table" then return {} end
  return list
end
M.items_of = items_of

local function check_spec(s, what, level)
  if type(s) ~= "table" or (s.style ~= "page" and s.style ~= "token")
    or type(s.items) ~= "string" or s.items == "" then
    error(what .. ": paging must be { style = \"page\" | \"token\", items = \"A.B\" [, token_in =,"
      .. " token_out =] }", level + 1)
  end
  if s.style == "token" and (type(s.token_in) ~= "string" or type(s.token_out) ~= "string") then
    error(what .. ": token paging needs token_in and token_out (parameter and result names)",
      level + 1)
  end
  return s
end

-- How `action` pages: opts.paging, else the catalogue's. Raises when it does not page; an
-- action the catalogue does not know gives nil and the InvalidAction error a call would give.
local function spec_for(client, action, opts, what, level)
  if opts.paging ~= nil then return check_spec(opts.paging, what, level + 1) end
  local def, guess = products.action(client.product, action)
  if not def then -- the error the call itself would give
    return nil, errors.client(errors.CODES.INVALID_ACTION, string.format("%s has no action '%s'%s",
      client.product.name, action, guess and ("; did you mean " .. guess .. "?") or ""))
  end
  if not def.paging then
    error(string.format("%s: %s does not page (the catalogue has no paging for it; "
      .. "call it directly, or give opts.paging)", what, action), level + 1)
  end
  return def.paging
end

local function number_param(p, name, what, level)
  local v = p[name]
  if v == nil then return nil end
  local n = compat.tointeger(tonumber(v))
  if not n or n < 1 then
    error(string.format("%s: %s must be a whole number >= 1, got %s", what, name, tostring(v)),
      level + 1)
  end
  return n
end

--- A walk over the pages of one action: what to send next, and what each page says about
-- the ones after it. Validates its arguments (raising on misuse).
-- Returns the walk, or nil and an error when the action is unknown.
function M.walk(client, action, params, opts, what, level)
  if type(action) ~= "string" then error(what .. ": action must be a string", level + 1) end
  if params ~= nil and type(params) ~= "table" then
    error(what .. ": params must be a table", level + 1)
  end
  if opts ~= nil and type(opts) ~= "table" then error(what .. ": opts must be a table", level + 1) end
  opts = opts or {}
  local call_opts
  for k, v in pairs(opts) do
    if not OWN_OPTS[k] then
      call_opts = call_opts or {}
      call_opts[k] = v
    end
  end
  local c = opts.concurrency
  if c ~= nil and (not compat.is_integer(c) or c < 1) then
    error(what .. ": concurrency must be an integer >= 1", level + 1)
  end
  local spec, err = spec_for(client, action, opts, what, level + 1)
  if not spec then return nil, err end
  local base = {}
  for k, v in pairs(params or {}) do base[k] = v end
  local w = { client = client, action = action, spec = spec, base = base, call_opts = call_opts,
    concurrency = c, done = false }
  if spec.style == "page" then
    w.page = number_param(base, "PageNumber", what, level + 1) or 1
    w.size = number_param(base, "PageSize", what, level + 1)
  else
    w.token = base[spec.token_in]
    if w.token == "" then w.token = nil end
  end
  return w
end

--- The parameters of page number `n` (page style; default the walk's current page) or of the
-- current token (token style).
function M.params(w, n)
  local p = {}
  for k, v in pairs(w.base) do p[k] = v end
  if w.spec.style == "page" then
    p.PageNumber = n or w.page
  else
    p[w.spec.token_in] = w.token
  end
  return p
end

--- The page size in force once `res` (a page of the walk) arrived: what the server says it
-- used (an API may cap what was asked), else what was asked, else how many items the first
-- page held.
local function page_size(w, res, count)
  local ps = compat.tointeger(tonumber(at(res, "PageSize")))
  if ps and ps > 0 then
    w.size = ps
  elseif not w.size and count > 0 then
    w.size = count
  end
  return w.size
end

--- Takes the page that answered the walk's current request; returns its items and moves the
-- walk on (w.done when it was the last). An error when the server's paging cannot end.
function M.advance(w, res)
  local items = items_of(w.spec, res)
  local count = #items
  if w.spec.style == "page" then
    local total = compat.tointeger(tonumber(at(res, "TotalCount")))
    w.total = total
    local ps = page_size(w, res, count)
    if count == 0 or (total and ps and (w.page - 1) * ps + count >= total)
      or (not total and ps and count < ps) then
      w.done = true
    else
      w.page = w.page + 1
    end
  else
    local token = at(res, w.spec.token_out)
    if type(token) ~= "string" or token == "" then
      w.done = true
    elseif token == w.token then
      w.done = true
      return items, errors.client(errors.CODES.INVALID_RESPONSE, string.format(
        "%s answered with the %s it was sent (%q): its pages would never end",
        w.action, w.spec.token_out, token))
    else
      w.token = token
    end
  end
  return items
end

--- The numbers of the pages after the first one still to fetch, when the first page tells
-- (page style with TotalCount): first, last. Nil when only walking on can tell.
function M.remaining(w)
  if w.spec.style ~= "page" or w.done or not w.total or not w.size then return nil end
  local last = math.ceil(w.total / w.size)
  if last < w.page then return nil end
  return w.page, last
end

-- Sync ------------------------------------------------------------------------------------

-- An iterator of result pages and its walk (nil when the action is unknown). `level` is the
-- user's call, as seen from here.
local function page_iterator(client, action, params, opts, what, level)
  local w, err = M.walk(client, action, params, opts, what, level + 1)
  local pending = err -- an error to give at the next step
  local finished = false
  return function()
    if finished then return nil end
    if pending then
      finished = true
      return false, pending
    end
    if w.done then
      finished = true
      return nil
    end
    local res, cerr = client:call(action, M.params(w), w.call_opts)
    if res == nil then
      finished = true
      return false, cerr
    end
    local _, aerr = M.advance(w, res)
    pending = aerr
    return res
  end, w
end

--- client:pages: an iterator of result pages. On a failure it gives false and the error once,
-- then ends (false, not nil, so that a for loop's body sees the error).
function M.pages(client, action, params, opts)
  return (page_iterator(client, action, params, opts, "pages", 3))
end

--- client:items: an iterator of the items of every page, in order; a failure as in pages.
function M.items(client, action, params, opts)
  local next_page, w = page_iterator(client, action, params, opts, "items", 3)
  local list, i = nil, 0
  return function()
    while true do
      if list and i < #list then
        i = i + 1
        return list[i]
      end
      local page, err = next_page()
      if not page then return page, err end
      list, i = items_of(w.spec, page), 0
    end
  end
end

-- Async -----------------------------------------------------------------------------------

local function append(out, items)
  for i = 1, #items do out[#out + 1] = items[i] end
end

--- client:all_items_async: a promise of every item in order. Page style: the first page, then
-- the rest concurrently (at most `concurrency`, default the pool's size, in flight); token
-- style, or a page style that cannot tell how many pages there are: one page after another.
function M.all_items_async(client, action, params, opts)
  local out = promise.new()
  local w, err = M.walk(client, action, params, opts, "all_items_async", 3)
  if not w then
    out:_settle("rejected", err)
    return out
  end
  local items = {}
  local inflight = {} -- page number -> its promise, cancelled when the whole fetch fails

  local function fail(e)
    if not out:_settle("rejected", e) then return end
    for _, p in pairs(inflight) do p:cancel() end
  end

  -- Submits one page; its callback runs at a delivery. A raise (misuse) rejects the whole.
  local function submit(n, cb)
    local ok, p = pcall(client.call_async, client, action, M.params(w, n), w.call_opts, cb)
    if not ok then
      fail(errors.from_raised(p))
      return false
    end
    inflight[n] = p
    return true
  end

  local function fetch_rest(first, last)
    local window = w.concurrency or client._pool_size or 5
    local pages, next_n, running, left = {}, first, 0, last - first + 1
    local launch
    local function landed(n, res, cerr)
      inflight[n] = nil
      running = running - 1
      if out:status() ~= "pending" then return end
      if res == nil then return fail(cerr) end
      pages[n] = items_of(w.spec, res)
      left = left - 1
      if left > 0 then return launch() end
      for k = first, last do append(items, pages[k]) end
      out:_settle("fulfilled", items)
    end
    function launch()
      -- a submit that waits for room (queue_full = "block") delivers meanwhile, and so may
      -- come back here: the counters are moved before each submit
      while next_n <= last and running < window and out:status() == "pending" do
        local n = next_n
        next_n, running = n + 1, running + 1
        if not submit(n, function(res, cerr) landed(n, res, cerr) end) then return end
      end
    end
    launch()
  end

  local function step()
    submit(w.page or 0, function(res, cerr)
      inflight[w.page or 0] = nil
      if out:status() ~= "pending" then return end
      if res == nil then return fail(cerr) end
      local page_items, aerr = M.advance(w, res)
      append(items, page_items)
      if aerr then return fail(aerr) end
      if w.done then return out:_settle("fulfilled", items) end
      local first, last = M.remaining(w)
      if first and not w.walked then return fetch_rest(first, last) end
      w.walked = true -- no count to go by: one page after another
      step()
    end)
  end
  step()
  return out
end

return M
