-- wrk script for tests/bench/run, tests/bench/livekit-link and tests/bench/quotas: POST
-- with a JSON body and optional Authorization header, and a machine-readable summary at
-- the end.
--   BENCH_BODY_FILE    file holding the request body (required)
--   BENCH_AUTH         value of the Authorization header (optional)
--   BENCH_AUTH_FILE    file of Authorization values, one a line (optional, instead of
--                      BENCH_AUTH): each request takes the next line, each thread
--                      starting at a line of its own, for requests from many users
--   BENCH_UNIQUE_ROOM  1: every request gets a body of its own, with each
--                      "BENCH_UNIQUE" in the file replaced by a name no other
--                      request of any run uses (run tag, thread, counter), for
--                      a fresh room name per request
--   BENCH_RUN_TAG      the run tag of those names (default: the time and a
--                      random number)
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

local auths = nil
local auth_file = os.getenv("BENCH_AUTH_FILE")
if auth_file and auth_file ~= "" then
  auths = {}
  for line in io.lines(auth_file) do
    if line ~= "" then
      auths[#auths + 1] = line
    end
  end
  assert(#auths > 0, "BENCH_AUTH_FILE has no line")
end
local unique = os.getenv("BENCH_UNIQUE_ROOM") == "1"

if unique or auths then
  -- setup runs once per thread in the main Lua state: number the threads
  local threads = 0
  math.randomseed(os.time())
  local tag = os.getenv("BENCH_RUN_TAG")
  if not tag or tag == "" then
    tag = string.format("%x%04x", os.time(), math.random(0, 0xffff))
  end
  function setup(thread)
    threads = threads + 1
    thread:set("prefix", tag .. "-" .. threads .. "-")
    thread:set("first", threads * 7919)
  end
  local n = 0
  function request()
    n = n + 1
    local body = nil
    if unique then
      body = wrk.body:gsub("BENCH_UNIQUE", prefix .. n)
    end
    if auths then
      wrk.headers["Authorization"] = auths[(first + n) % #auths + 1]
    end
    return wrk.format(nil, nil, nil, body)
  end
end

-- One JSON line after wrk's own report; latencies in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
