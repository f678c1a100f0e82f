-- wrk: drafts outgoing documents (POST /api/v1/outgoing, multipart) as fast as the server
-- answers. Arguments: the multipart body file, its Content-Type, the drafter's token. The
-- body's PDF carries ten X (in a comment) that each request replaces with its own number,
-- so every draft is a different file (`thread_index`: see report.lua).
local before, after, content_type, token
local sent = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local at = assert(string.find(body, "XXXXXXXXXX", 1, true), "no draft number placeholder")
  before, after = string.sub(body, 1, at - 1), string.sub(body, at + 10)
  content_type, token = args[2], args[3]
end

function request()
  sent = sent + 1
  local number = string.format("%03d%07d", thread_index, sent % 10000000)
  return wrk.format("POST", "/api/v1/outgoing", {
    ["Content-Type"] = content_type,
    ["Authorization"] = "Bearer " .. token,
  }, before .. number .. after)
end

dofile(os.getenv("BENCH_API_D") .. "/report.lua")
