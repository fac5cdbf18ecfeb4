-- A ROA-style API (Container Service): actions are found by name in the product catalogue,
-- with their HTTP method and path; path parameters are filled from the params.
--   lua5.4 examples/roa_cs.lua
local support = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
local alicloud = support.alicloud

local cs = alicloud.client("cs", support.client_options())

-- POST /clusters with a JSON body
local created, err = cs:CreateCluster({ name = "demo", cluster_type = "ManagedKubernetes",
  region_id = "cn-hangzhou" })
if not created then error(tostring(err)) end
print("created:  " .. created.cluster_id)

-- GET /clusters through the CommonRequest, then GET /clusters/[ClusterId] by name
local list = assert(cs:request({ action = "DescribeClusters", pathname = "/clusters" }))
local first = list.clusters[1].cluster_id
local detail = assert(cs:DescribeClusterDetail({ ClusterId = first }))
print(string.format("detail:   %s is %s", detail.cluster_id, tostring(detail.state)))

-- a service error comes back structured
local _, missing = cs:DescribeClusterDetail({ ClusterId = "c-does-not-exist" })
print(string.format("error:    %s (HTTP %d, request id %s)", missing.code, missing.http_status,
  missing.request_id))
support.finish()
