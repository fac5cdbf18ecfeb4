std = "lua54"
max_line_length = 110
exclude_files = { "lua/alicloud/catalogue/*" }
files["spec"] = { std = "+busted" }
