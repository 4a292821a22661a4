-- wrk script for bench.throughput: replays the requests listed in the file named by BENCH_REQUESTS,
-- one per line as METHOD<TAB>PATH<TAB>Header: value..., round robin, each thread from its own offset,
-- so that load is spread across many learners, tokens and lessons. Prints one BENCH_JSON line at the end.

local source = os.getenv("BENCH_REQUESTS")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local next_offset = 0

function setup(thread)
  thread:set("offset", next_offset)
  next_offset = next_offset + 1
end

local requests = {}
local index = 1

function init(args)
  for line in io.lines(source) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      fields[#fields + 1] = field
    end
    local headers = {}
    for i = 3, #fields do
      local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    if fields[1] ~= "GET" then
      headers["Content-Length"] = "0"
    end
    requests[#requests + 1] = wrk.format(fields[1], fields[2], headers, nil)
  end
  index = (offset or 0) * math.floor(#requests / thread_count) % #requests + 1
end

function request()
  local r = requests[index]
  index = index % #requests + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
