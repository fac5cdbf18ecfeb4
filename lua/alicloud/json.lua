--- JSON decoding for response bodies: lua-cjson, plus integers where the value is integral
-- (Debian's lua-cjson under Lua 5.4 decodes every number as a float: 3 would come back as 3.0).
-- A JSON number written as 3.0 also becomes the integer 3; integers beyond 2^53 lose
-- precision inside lua-cjson already, as in every double-based decoder.
local cjson = require("cjson.safe")
local compat = require("alicloud.compat")

local decoder = cjson.new()
decoder.decode_max_depth(1000)
local encoder = cjson.new()

local tointeger, type, pairs = compat.tointeger, type, pairs

local function integers(t)
  for k, v in pairs(t) do
    local tv = type(v)
    if tv == "number" then
      local i = tointeger(v)
      if i then t[k] = i end
    elseif tv == "table" then
      integers(v)
    end
  end
  return t
end

local M = { null = cjson.null }

--- Returns the decoded value, or nil and a message.
function M.decode(s)
  local v, err = decoder.decode(s)
  if v == nil and err then return nil, err end
  if type(v) == "table" then integers(v) end
  return v
end

--- Encodes a Lua value; raises on values JSON cannot carry.
function M.encode(v)
  local s, err = encoder.encode(v)
  if not s then error(err, 2) end
  return s
end

return M
