-- wrk: one step of the outgoing life cycle (approve, sign, issue or release) over a list of
-- documents prepared for it, each document taken once. Arguments: the file of ids (one a
-- line), the step, its JSON body, the actor's token, wrk's thread count. A thread that runs out of documents
-- stops; report.lua then says the pool ran out.
local ids, step, body, token = {}, nil, nil, nil
local next_index = 1

function init(args)
  step, body, token = args[2], args[3], args[4]
  local count = tonumber(args[5])
  local n = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if n % count == thread_index then
        table.insert(ids, line)
      end
      n = n + 1
    end
  end
end

function request()
  local id = ids[next_index] or ids[#ids] or "0"
  if next_index > #ids then
    exhausted = 1
  end
  next_index = next_index + 1
  return wrk.format("POST", "/api/v1/outgoing/" .. id .. "/" .. step, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

dofile(os.getenv("BENCH_API_D") .. "/report.lua")
