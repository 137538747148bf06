-- serve.lua -- wrk script for bench/serve.sh: every request posts an empty data document
-- to one procedure over the same keep-alive connection.  The target and the token come
-- from the environment (PROVOST_WRK_PATH, PROVOST_WRK_TOKEN).
wrk.method = "POST"
wrk.path = os.getenv("PROVOST_WRK_PATH") or "/call/Bench/Echo3"
wrk.body = "<data/>"
wrk.headers["Content-Type"] = "application/xml"
local token = os.getenv("PROVOST_WRK_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  -- one machine-readable line for bench/serve.sh: rate, p50 and p99 in microseconds,
  -- the requests answered with a status of 400 or more or not answered, and the total
  io.write(string.format("WRK %.1f %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
