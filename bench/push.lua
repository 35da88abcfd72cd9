-- wrk script: 1 MiB streamed pushes (POST, PATCH without Content-Range, PUT ?digest=),
-- mixed with blob GETs.
--
--   wrk -t10 -c10 -s bench/push.lua URL -- PULL_PERCENT REPO PULL_DIGEST BASE_FILE DIGESTS_FILE THREADS FIRST
--
-- One connection per thread (-t equal to -c): wrk's Lua state is per thread and its
-- response() does not say which connection answered, so a push's three requests can
-- only be chained reliably when a thread owns one connection.
--
-- Every push stores a new blob: BASE_FILE plus a 16-byte suffix that is unique per push
-- ("%016d" of the push's number); DIGESTS_FILE lists the digest of base..suffix for push
-- number 0, 1, 2, ... (computed by bench/run.sh). Threads take interleaved numbers, so
-- no two pushes in a run carry the same bytes; FIRST separates one run's numbers from
-- the next's on the same registry.

local threads = {}

function setup(thread)
  -- a global in the thread's own Lua state, read by init()
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

local pull_percent, repo, pull_path, base, digests
local nthreads, n = 1, 0
local step = "idle" -- idle | posted | patched
local location
pulls, pushes, wrapped, errors = 0, 0, 0, 0

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  pull_percent = tonumber(args[1])
  repo = args[2]
  pull_path = "/v2/" .. repo .. "/blobs/" .. args[3]
  base = slurp(args[4])
  digests = {}
  for line in io.lines(args[5]) do
    table.insert(digests, line)
  end
  nthreads = tonumber(args[6])
  n = tonumber(args[7]) + thread_number -- this thread's first push number
  math.randomseed(thread_number * 7919 + 1)
end

local function headers(extra)
  local h = {}
  for k, v in pairs(wrk.headers) do
    h[k] = v
  end
  for k, v in pairs(extra or {}) do
    h[k] = v
  end
  return h
end

local function path_of(loc)
  -- distribution answers with an absolute URL, Berth with a path
  return (loc:gsub("^https?://[^/]+", ""))
end

local function with_query(p, q)
  return p .. (p:find("?", 1, true) and "&" or "?") .. q
end

local current -- the push in flight: its number's index into `digests`

function request()
  if step == "posted" then
    local suffix = string.format("%016d", current)
    return wrk.format("PATCH", location,
      headers({ ["Content-Type"] = "application/octet-stream" }), base .. suffix)
  elseif step == "patched" then
    local digest = digests[current + 1]
    return wrk.format("PUT", with_query(location, "digest=" .. digest), headers(), "")
  end
  if math.random(100) <= pull_percent then
    step = "pulling"
    return wrk.format("GET", pull_path, headers())
  end
  current = n
  n = n + nthreads
  if current >= #digests then
    wrapped = wrapped + 1 -- reported as an error by bench/lib.sh: the list is too short
    current = current % #digests
  end
  step = "posting"
  return wrk.format("POST", "/v2/" .. repo .. "/blobs/uploads/", headers(), "")
end

local reported = false

-- The first failure a thread sees goes to stderr, so a failed run says what failed.
local function failed(status, body)
  errors = errors + 1
  if not reported then
    reported = true
    io.stderr:write(string.format("push.lua: %s answered %d: %s\n", step, status,
      (body or ""):sub(1, 300)))
  end
end

function response(status, hdrs, body)
  local loc = hdrs["Location"] or hdrs["location"]
  if step == "pulling" then
    if status == 200 then pulls = pulls + 1 else failed(status, body) end
    step = "idle"
  elseif step == "posting" or step == "posted" then
    -- POST and PATCH both answer 202 with the Location of the next request
    if status == 202 and loc then
      location = path_of(loc)
      step = (step == "posting") and "posted" or "patched"
    else
      failed(status, body)
      step = "idle"
    end
  elseif step == "patched" then
    if status == 201 then pushes = pushes + 1 else failed(status, body) end
    step = "idle"
  end
end

function done(summary, latency, requests)
  local p, u, w, e = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("pulls")
    u = u + t:get("pushes")
    w = w + t:get("wrapped")
    e = e + t:get("errors")
  end
  local s = summary.duration / 1e6
  io.write(string.format("ops: pulls=%d pushes=%d wrapped=%d errors=%d seconds=%.2f\n",
    p, u, w, e, s))
end
