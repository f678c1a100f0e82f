-- wrk: drafts outgoing documents (POST /api/v1/outgoing, multipart) as fast as the server
-- answers. Arguments: the multipart body file, its Content-Type, the drafter's token.
local body, content_type, token

function init(args)
  local f = assert(io.open(args[1], "rb"))
  body = f:read("*a")
  f:close()
  content_type, token = args[2], args[3]
end

function request()
  return wrk.format("POST", "/api/v1/outgoing", {
    ["Content-Type"] = content_type,
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

dofile(os.getenv("BENCH_API_D") .. "/report.lua")
