-- Shared by the wrk scripts of scripts/bench-api: numbers the threads, counts the successful
-- answers of each, stops a thread whose pool ran out, and prints one machine-readable line.
ok, failed, exhausted = 0, 0, 0
local all = {}

-- Each thread also learns its index (0, 1, ...) as the global `thread_index`.
function setup(thread)
  thread:set("thread_index", #all)
  table.insert(all, thread)
end

function response(status, headers, body)
  if status == 200 or status == 201 then
    ok = ok + 1
  else
    failed = failed + 1
    if exhausted == 0 and failed <= 3 then
      io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
  if exhausted == 1 then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_ok, total_failed, ran_out = 0, 0, 0
  for _, t in ipairs(all) do
    total_ok = total_ok + t:get("ok")
    total_failed = total_failed + t:get("failed")
    ran_out = math.max(ran_out, t:get("exhausted"))
  end
  io.write(string.format(
    "RESULT ok=%d failed=%d exhausted=%d seconds=%.3f p50_ms=%.1f p99_ms=%.1f mean_ms=%.2f\n",
    total_ok, total_failed, ran_out, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
