-- V3 signing (ACS3-HMAC-SHA256) for an RPC-style and a ROA-style API, and the signer as a pure
-- function for debugging a SignatureDoesNotMatch.
--   lua5.4 examples/v3.lua
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud

local ecs = alicloud.client("ecs", support.client_options({ signature_version = "v3" }))
local res = assert(ecs:DescribeInstances({ PageSize = 2 }))
print(string.format("rpc + v3: %d instances in all", res.TotalCount))

local cs = alicloud.client("cs", support.client_options())
local created = assert(cs:CreateCluster({ name = "v3-demo" }, { signature_version = "v3" }))
print("roa + v3: created " .. created.cluster_id)

-- The same code the workers run, as a pure function: every header given, nothing added.
local signed = alicloud.signer.sign({
  style = "v3", method = "POST", path = "/",
  query = { { "ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd" },
    { "RegionId", "cn-shanghai" } },
  headers = {
    host = "ecs.cn-shanghai.aliyuncs.com", ["x-acs-action"] = "RunInstances",
    ["x-acs-version"] = "2014-05-26", ["x-acs-date"] = "2023-10-26T10:22:32Z",
    ["x-acs-signature-nonce"] = "3156853299f313e23d1673dc12e1703d",
    ["x-acs-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  },
  access_key_id = "YourAccessKeyId", access_key_secret = "YourAccessKeySecret",
})
print("official V3 example signature: " .. signed.signature)
support.finish()
