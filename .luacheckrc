-- What Lua 5.1, LuaJIT, 5.3 and 5.4 all have: the module and its specs run on each (version
-- differences go through lua/alicloud/compat.lua). `make lint` also parses them with luac5.1.
std = "min"
max_line_length = 110
exclude_files = { "lua/alicloud/catalogue/*" }
files["spec"] = { std = "min+busted" }
files["bench"] = { std = "lua54" } -- the benchmarks measure the 5.4 build
files["tools"] = { std = "lua54" } -- the Makefile runs the tools with lua5.4
