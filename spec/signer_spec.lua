-- alicloud.signer.sign against the 34 official vectors (spec/fixtures/signatures.json, read
-- at run time; see spec/fixtures/README.md), the worked examples of the protocol reference
-- (openapi-protocol.md §4.4), the decisions no vector covers, and misuse.
--
-- Mapping from a vector's `input` to sign's request (the signer adds nothing, so the request
-- must hold exactly what was signed):
--   style, method, host, path, body, access_key_id, access_key_secret, security_token: as is
--     (cjson.null -> nil; security_token is accepted and ignored by sign).
--   query / form / headers: input.query / input.form / input.headers as given, already lists of
--     {name, value} pairs. The vectors' inputs already hold every common parameter (Action,
--     Timestamp, SignatureNonce, AccessKeyId, SecurityToken, ...) and every header (date,
--     x-acs-date, x-acs-signature-nonce, content-md5, x-acs-content-sha256, ...): the
--     "inputs are complete" test below proves it from input.timestamp / input.nonce, so
--     nothing is taken from `expected` or `wire`.
--   rpc: input.headers (present for the openapi-client vectors) is passed too; rpc never signs
--     headers. roa / v3: input.form is null.

local cjson = require("cjson")
local signer = require("alicloud.signer")

local function load_vectors()
  local path = "spec/fixtures/signatures.json"
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local doc = cjson.decode(f:read("*a"))
  f:close()
  return doc.vectors
end

local function opt(x)
  if x == cjson.null then return nil end
  return x
end

local function request_of(v)
  local i = v.input
  return {
    style = v.style,
    method = i.method,
    host = opt(i.host),
    path = opt(i.path),
    query = opt(i.query),
    form = opt(i.form),
    headers = opt(i.headers),
    body = opt(i.body),
    access_key_id = i.access_key_id,
    access_key_secret = i.access_key_secret,
    security_token = opt(i.security_token),
  }
end

local OUTPUT_FIELDS = {
  "canonicalized_query_string", "canonicalized_headers", "canonicalized_resource",
  "canonical_request", "hashed_payload", "signed_headers", "string_to_sign", "signature",
  "authorization",
}

local CHECKED = {
  rpc = { "string_to_sign", "signature", "canonicalized_query_string" },
  roa = { "string_to_sign", "signature", "authorization", "canonicalized_headers",
          "canonicalized_resource" },
  v3 = { "string_to_sign", "signature", "authorization", "canonical_request", "hashed_payload",
         "signed_headers" },
}

local PRODUCED = {
  rpc = { canonicalized_query_string = true },
  roa = { canonicalized_headers = true, canonicalized_resource = true, authorization = true },
  v3 = { canonical_request = true, hashed_payload = true, signed_headers = true,
         authorization = true },
}

local function assert_no_secret(res, secret)
  for _, k in ipairs(OUTPUT_FIELDS) do
    if res[k] then
      assert.is_nil(res[k]:find(secret, 1, true), k .. " contains the secret")
    end
  end
end

-- First value of a pair list entry whose name matches (case-insensitively).
local function lookup(pairs_list, name)
  for _, p in ipairs(pairs_list or {}) do
    if p[1]:lower() == name:lower() then return p[2] end
  end
  return nil
end

local vectors = load_vectors()

describe("alicloud.signer.sign", function()
  it("reads all 34 vectors of the three styles", function()
    local n = { rpc = 0, roa = 0, v3 = 0 }
    for _, v in ipairs(vectors) do n[v.style] = n[v.style] + 1 end
    assert.same({ rpc = 15, roa = 8, v3 = 11 }, n)
  end)

  describe("official vectors", function()
    for _, v in ipairs(vectors) do
      describe(v.name, function()
        it("matches every expected field", function()
          local res = signer.sign(request_of(v))
          for _, k in ipairs(CHECKED[v.style]) do
            assert.are.equal(v.expected[k], res[k], k)
          end
        end)

        it("produces only its style's fields and never the secret", function()
          local res = signer.sign(request_of(v))
          for _, k in ipairs(OUTPUT_FIELDS) do
            local expected_present = k == "string_to_sign" or k == "signature"
                or PRODUCED[v.style][k] or false
            assert.are.equal(expected_present, res[k] ~= nil, k)
          end
          assert_no_secret(res, v.input.access_key_secret)
        end)

        it("has inputs that already hold the timestamp and nonce (nothing is added)", function()
          local i = v.input
          if v.style == "rpc" then
            local all = {}
            for _, p in ipairs(i.query) do all[#all + 1] = p end
            for _, p in ipairs(opt(i.form) or {}) do all[#all + 1] = p end
            assert.are.equal(i.timestamp, lookup(all, "Timestamp"))
            assert.are.equal(i.nonce, lookup(all, "SignatureNonce"))
            assert.are.equal(i.access_key_id, lookup(all, "AccessKeyId"))
            assert.are.equal(opt(i.security_token), lookup(all, "SecurityToken"))
          else
            local date = v.style == "roa" and "date" or "x-acs-date"
            assert.are.equal(i.timestamp, lookup(i.headers, date))
            assert.are.equal(i.nonce, lookup(i.headers, "x-acs-signature-nonce"))
            assert.are.equal(opt(i.security_token), lookup(i.headers, "x-acs-security-token"))
          end
        end)

        if v.style ~= "v3" then return end
        it("signs the same with a plain name -> value table for query and headers", function()
          local req = request_of(v)
          local q, h = {}, {}
          for _, p in ipairs(req.query) do q[p[1]] = p[2] end
          for _, p in ipairs(req.headers) do h[p[1]] = p[2] end
          req.query, req.headers = q, h
          assert.are.equal(v.expected.signature, signer.sign(req).signature)
        end)
      end)
    end
  end)

  describe("worked examples of openapi-protocol.md §4.4", function()
    local function rpc_params(t)
      local list = {}
      for k, val in pairs(t) do list[#list + 1] = { k, val } end
      return list
    end

    -- #1 official RPC documentation, both spellings of the timestamp parameter.
    local doc1 = {
      AccessKeyId = "testid", Action = "DescribeRegions", Format = "XML",
      SignatureMethod = "HMAC-SHA1", SignatureNonce = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
      SignatureVersion = "1.0", TimeStamp = "2016-02-23T12:46:24Z", Version = "2014-05-26",
    }

    it("#1 DescribeRegions, old 'TimeStamp' spelling", function()
      local res = signer.sign({ style = "rpc", method = "GET", query = rpc_params(doc1),
                                access_key_secret = "testsecret" })
      assert.are.equal("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        .. "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        .. "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z"
        .. "%26Version%3D2014-05-26", res.string_to_sign)
      assert.are.equal("CT9X0VtwR86fNWSnsc6v8YGOjuE=", res.signature)
    end)

    it("#1 DescribeRegions, 'Timestamp' spelling", function()
      local q = {}
      for k, val in pairs(doc1) do q[k] = val end
      q.Timestamp, q.TimeStamp = q.TimeStamp, nil
      local res = signer.sign({ style = "rpc", method = "GET", query = q,
                                access_key_secret = "testsecret" })
      assert.are.equal("OLeaidS1JvxuMvnyHOwuJ+uX5qY=", res.signature)
    end)

    it("#2 DescribeDedicatedHosts", function()
      local res = signer.sign({ style = "rpc", method = "GET", access_key_secret = "testsecret",
        query = {
          AccessKeyId = "testid", Action = "DescribeDedicatedHosts", Format = "JSON",
          RegionId = "cn-beijing", SignatureMethod = "HMAC-SHA1",
          SignatureNonce = "edb2b34af0af9a6d14deaf7c1a5315eb", SignatureVersion = "1.0",
          Timestamp = "2023-03-13T08:34:30Z", Version = "2014-05-26",
        } })
      assert.are.equal("9NaGiOspFP5UPcwX8Iwt2YJXXuk=", res.signature)
    end)

    local v3_doc_headers = {
      { "x-acs-action", "RunInstances" },
      { "x-acs-version", "2014-05-26" },
      { "x-acs-date", "2023-10-26T10:22:32Z" },
      { "x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d" },
      { "x-acs-content-sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    }
    local function v3_doc_request()
      return {
        style = "v3", method = "POST", path = "/", host = "ecs.cn-shanghai.aliyuncs.com",
        query = { ImageId = "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
                  RegionId = "cn-shanghai" },
        headers = v3_doc_headers, body = "",
        access_key_id = "YourAccessKeyId", access_key_secret = "YourAccessKeySecret",
      }
    end

    it("#3 official V3 page (host taken from req.host)", function()
      local res = signer.sign(v3_doc_request())
      assert.are.equal("host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        .. "x-acs-signature-nonce;x-acs-version", res.signed_headers)
      assert.are.equal("ACS3-HMAC-SHA256\n"
        .. "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259", res.string_to_sign)
      assert.are.equal("06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
        res.signature)
    end)

    it("#3 a host header wins over req.host", function()
      local req = v3_doc_request()
      req.host = "elsewhere.example"
      req.headers = { { "Host", "ecs.cn-shanghai.aliyuncs.com" } }
      for _, p in ipairs(v3_doc_headers) do req.headers[#req.headers + 1] = p end
      assert.are.equal("06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
        signer.sign(req).signature)
    end)

    local go_v1 = {
      AccessKeyId = "accessKeyId", Action = "", Format = "JSON", RegionId = "regionId",
      SignatureMethod = "HMAC-SHA1", SignatureNonce = "MOCK_UUID", SignatureType = "",
      SignatureVersion = "1.0", Timestamp = "mock date", Version = "",
    }

    it("#4 Go V1 rpc_signature_composer_test", function()
      local res = signer.sign({ style = "rpc", method = "GET", query = go_v1,
                                access_key_secret = "accessKeySecret" })
      assert.are.equal("7loPmFjvDnzOVnQeQNj85S6nFGY=", res.signature)
    end)

    it("#4 with SecurityToken", function()
      local q = { SecurityToken = "accessKeyStsToken" }
      for k, val in pairs(go_v1) do q[k] = val end
      local res = signer.sign({ style = "rpc", method = "GET", query = q,
                                access_key_secret = "accessKeySecret",
                                security_token = "ignored: only the query is signed" })
      assert.are.equal("5Nxdcler+ihqWqv0Hr2On4PsBf4=", res.signature)
    end)

    local function go_roa(accept, md5, ctype)
      return {
        style = "roa", method = "get", path = "/users/:user",
        headers = {
          { "Accept", accept }, { "Content-MD5", md5 }, { "Content-Type", ctype },
          { "Date", "mock date" },
          { "x-acs-signature-method", "HMAC-SHA1" }, { "x-acs-signature-version", "1.0" },
          { "X-Acs-Credentials-Provider", "static_ak" }, { "x-acs-version", "" },
        },
        access_key_id = "accessKeyId", access_key_secret = "accessKeySecret",
      }
    end

    it("#5 Go V1 roa_signature_composer_test", function()
      local res = signer.sign(go_roa("application/json", "1B2M2Y8AsgTpgAmY7PhCfg==",
                                     "application/octet-stream"))
      assert.are.equal("GET\napplication/json\n1B2M2Y8AsgTpgAmY7PhCfg==\n"
        .. "application/octet-stream\nmock date\nx-acs-credentials-provider:static_ak\n"
        .. "x-acs-signature-method:HMAC-SHA1\nx-acs-signature-version:1.0\nx-acs-version:\n"
        .. "/users/:user", res.string_to_sign)
      assert.are.equal("acs accessKeyId:PPPSwv0LPoLvg6rGxp7dd4uPESo=", res.authorization)
    end)

    it("#5 with a form body and XML", function()
      local req = go_roa("application/xml", "7xdqbEJPlU+kLUzeA5SYlw==",
                         "application/x-www-form-urlencoded")
      req.body = "key=value"
      assert.are.equal("acs accessKeyId:X/tjQCOP4ZMCzQ1I1IdCra3byPA=",
        signer.sign(req).authorization)
    end)

    it("#6 openapi-util Test_GetAuthorization (duplicate header names merged)", function()
      local hashed = "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
      local res = signer.sign({
        style = "v3", method = "", path = "",
        query = { test = "ok", empty = "" },
        headers = { ["x-acs-test"] = "http", ["x-acs-TEST"] = "https" },
        hashed_payload = hashed, -- the SM3 hash of "test" in the original test
        access_key_id = "acesskey", access_key_secret = "secret",
      })
      assert.are.equal("\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n" .. hashed,
        res.canonical_request)
      assert.are.equal(hashed, res.hashed_payload)
      assert.are.equal("ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
        .. "Signature=4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3",
        res.authorization)
    end)

    it("#7 openapi-util Test_GetRPCSignature", function()
      local res = signer.sign({ style = "rpc", method = "", query = { test = "ok" },
                                access_key_secret = "accessKeySecret" })
      assert.are.equal("&%2F&test%3Dok", res.string_to_sign)
      assert.are.equal("jHx/oHoHNrbVfhncHEvPdHXZwHU=", res.signature)
    end)

    it("#8 percent-encoding", function()
      local res = signer.sign({ style = "rpc", method = "GET", query = { { "k", "中 文+~*" } },
                                access_key_secret = "s" })
      assert.are.equal("k=%E4%B8%AD%20%E6%96%87%2B~%2A", res.canonicalized_query_string)
    end)
  end)

  describe("rules no vector decides", function()
    it("adds nothing: an empty rpc request signs an empty parameter set", function()
      local res = signer.sign({ style = "rpc", method = "get", access_key_secret = "s" })
      assert.are.equal("", res.canonicalized_query_string)
      assert.are.equal("GET&%2F&", res.string_to_sign)
    end)

    it("rpc signs query and form together, sorted by raw key in byte order", function()
      local res = signer.sign({ style = "rpc", method = "POST", access_key_secret = "s",
        query = { { "b", "1" }, { "Tag.2.Key", "x" } },
        form = { a_b = "2", ["Tag.10.Key"] = "y" } })
      assert.are.equal("Tag.10.Key=y&Tag.2.Key=x&a_b=2&b=1", res.canonicalized_query_string)
    end)

    it("turns numbers and booleans into strings", function()
      local res = signer.sign({ style = "rpc", method = "GET", access_key_secret = "s",
        query = { PageSize = 10, DryRun = true, Ratio = 1.5 } })
      assert.are.equal("DryRun=true&PageSize=10&Ratio=1.5", res.canonicalized_query_string)
    end)

    it("roa: an absent standard header is an empty line (not Node's 'undefined')", function()
      local res = signer.sign({ style = "roa", method = "GET", path = "/p",
        headers = {}, access_key_id = "id", access_key_secret = "s" })
      assert.are.equal("GET\n\n\n\n\n/p", res.string_to_sign)
    end)

    it("roa: an empty query value is written as the bare key, values raw", function()
      local res = signer.sign({ style = "roa", method = "GET", path = "/p",
        query = { { "b", "x y&z" }, { "a", "" } }, access_key_id = "id",
        access_key_secret = "s" })
      assert.are.equal("/p?a&b=x y&z", res.canonicalized_resource)
    end)

    it("roa: only x-acs-* headers are canonicalized, names lower-cased", function()
      local res = signer.sign({ style = "roa", method = "GET", path = "/",
        headers = { ["X-Acs-B"] = "2", ["x-acs-a"] = " 1 ", Host = "h", ["x-acsz"] = "no" },
        access_key_id = "id", access_key_secret = "s" })
      assert.are.equal("x-acs-a:1\nx-acs-b:2\n", res.canonicalized_headers)
    end)

    it("v3: hashes the body bytes, embedded NULs included", function()
      local res = signer.sign({ style = "v3", method = "POST", path = "/", body = "a\0b",
        access_key_id = "id", access_key_secret = "s" })
      assert.are.equal("59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138",
        res.hashed_payload)
      assert.are.equal("", res.signed_headers)
    end)

    it("v3: signs only host, content-type and x-acs-*, values trimmed", function()
      local res = signer.sign({ style = "v3", method = "GET", path = "/",
        headers = { { "Content-Type", " text/plain " }, { "Accept", "x" },
                    { "User-Agent", "y" }, { "x-acs-b", "in\tside" } },
        host = "h.example", access_key_id = "id", access_key_secret = "s" })
      assert.are.equal("content-type;host;x-acs-b", res.signed_headers)
      assert.truthy(res.canonical_request:find(
        "\ncontent-type:text/plain\nhost:h.example\nx-acs-b:in\tside\n\n", 1, true))
    end)

    it("ignores security_token and host outside v3", function()
      local a = signer.sign({ style = "roa", method = "GET", path = "/", host = "h",
        security_token = "tok", access_key_id = "id", access_key_secret = "s" })
      local b = signer.sign({ style = "roa", method = "GET", path = "/",
        access_key_id = "id", access_key_secret = "s" })
      assert.are.equal(b.signature, a.signature)
    end)
  end)

  describe("misuse raises", function()
    local function base()
      return { style = "v3", method = "GET", path = "/", access_key_id = "id",
               access_key_secret = "s3cr3t-never-shown" }
    end
    local function raises(mutate, pattern)
      local req = base()
      mutate(req)
      local ok, err = pcall(signer.sign, req)
      assert.is_false(ok)
      assert.is_string(err)
      assert.is_nil(err:find("s3cr3t-never-shown", 1, true), "error shows the secret")
      if pattern then assert.truthy(err:find(pattern, 1, true), err) end
    end

    it("when req is not a table", function()
      assert.has_error(function() signer.sign() end)
      assert.has_error(function() signer.sign("rpc") end)
    end)

    it("on an unknown or missing style", function()
      raises(function(r) r.style = "v2" end, "style")
      raises(function(r) r.style = nil end, "style")
    end)

    it("on missing or non-string required fields", function()
      raises(function(r) r.method = nil end, "method")
      raises(function(r) r.method = 1 end, "method")
      raises(function(r) r.access_key_secret = nil end, "access_key_secret")
      raises(function(r) r.access_key_id = nil end, "access_key_id")
      raises(function(r) r.style = "roa"; r.access_key_id = nil end, "access_key_id")
      raises(function(r) r.path = {} end, "path")
      raises(function(r) r.body = 5 end, "body")
      raises(function(r) r.security_token = false end, "security_token")
    end)

    it("on bad query, form and headers", function()
      raises(function(r) r.query = "a=b" end, "query")
      raises(function(r) r.query = { a = {} } end, "query['a'] value")
      raises(function(r) r.query = { { "a" } } end, "query[1] value")
      raises(function(r) r.query = { { 1, "a" } } end, "query[1] name")
      raises(function(r) r.query = { { "a", "b" }, "c" } end, "query")
      raises(function(r) r.query = { { "a", "b" }, x = "y" } end, "mixes")
      raises(function(r) r.headers = { [5] = "x" } end, "headers")
      raises(function(r) r.headers = { ["x-acs-a"] = function() end } end, "x-acs-a")
      raises(function(r) r.form = { a = "b" } end, "form")
    end)

    it("on embedded NULs in names, values and the method", function()
      raises(function(r) r.query = { ["a\0b"] = "c" } end, "NUL")
      raises(function(r) r.headers = { { "x-acs-a", "b\0c" } } end, "NUL")
      raises(function(r) r.method = "G\0ET" end, "NUL")
      raises(function(r) r.access_key_secret = "s\0" end, "NUL")
    end)
  end)
end)
