-- Unsigned HTTP through the core (used by credential providers), against the fake cloud.
local env = require("spec.support.env")
local http = require("alicloud.plain_http")

describe("alicloud.plain_http", function()
  local server
  setup(function() server = env.server() end)
  teardown(function() env.stop() end)

  it("GETs a URL and returns status, headers and body", function()
    local res, err = http.request({ url = "http://" .. server.endpoint .. "/__fake/stats" })
    assert.is_nil(err)
    assert.are.equal(200, res.status)
    assert.matches('"requests"', res.body)
    assert.matches("json", res.headers["content-type"])
  end)

  it("sends a method, headers and a body", function()
    local res = http.request({ url = "http://" .. server.endpoint .. "/__fake/config",
      method = "POST", body = "{}", headers = { ["Content-Type"] = "application/json" } })
    assert.are.equal(200, res.status)
  end)

  it("reports transport failures as structured errors", function()
    local res, err = http.request({ url = "http://127.0.0.1:1/", connect_timeout = 1 })
    assert.is_nil(res)
    assert.are.equal("SDK.ServerUnreachable", err.code)
    local _, err2 = http.request({ url = "ftp://x/" })
    assert.are.equal("SDK.InvalidParam", err2.code)
    assert.has_error(function() http.request("http://x/") end)
  end)
end)
