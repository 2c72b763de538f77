-- wrk script for the Kitdesk benchmark (bench/loadgen.py runs it).
-- Arguments after "--": mode key low high [body]
--   post  : POST /api/v3/order with body, its __PATIENT__ a random patient id in [low, high]
--   fetch : GET /api/v3/order/{id}, id random in [low, high]
--   list  : GET /api/v3/order?page=N&size=50, N random in [low, high]
--   mix   : post, fetch and list in turn (the memory soak); low..high are order ids there,
--           and the patient and page ranges follow as arguments 5..8, the body as 9
-- Prints one line "BENCH_RESULT {json}" when done.

local threads = {}
local counter = 0
local mode, key, low, high, body
local mix = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, key = args[1], args[2]
  low, high = tonumber(args[3]), tonumber(args[4])
  body = args[5]
  if mode == "mix" then
    mix = {plow = tonumber(args[5]), phigh = tonumber(args[6]),
           pagelow = tonumber(args[7]), pagehigh = tonumber(args[8])}
    body = args[9]
  end
  math.randomseed(os.time() * 1000 + tid)
  wrk.headers["Impilo-API-Key"] = key
  wrk.headers["Content-Type"] = "application/json"
end

local function post(plow, phigh)
  counter = counter + 1
  local text = body:gsub("__PATIENT__", tostring(math.random(plow, phigh)))
  text = text:gsub("__TAG__", tid .. "-" .. counter)
  return wrk.format("POST", "/api/v3/order", nil, text)
end

local function fetch(l, h)
  return wrk.format("GET", "/api/v3/order/" .. math.random(l, h))
end

local function list(l, h)
  return wrk.format("GET", "/api/v3/order?page=" .. math.random(l, h) .. "&size=50")
end

function request()
  if mode == "post" then return post(low, high) end
  if mode == "fetch" then return fetch(low, high) end
  if mode == "list" then return list(low, high) end
  counter = counter + 1
  local turn = counter % 4
  if turn == 0 then return post(mix.plow, mix.phigh) end
  if turn == 3 then return list(mix.pagelow, mix.pagehigh) end
  return fetch(low, high)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
