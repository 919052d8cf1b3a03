-- POSTs `true` to /api/execute. Run with as many wrk threads as connections:
-- each thread (one connection) drives its own session, so the sessions run
-- in parallel and no two requests queue behind each other in one session.
local next_id = 0

setup = function(thread)
  thread:set("session", "bench-wrk-" .. next_id)
  next_id = next_id + 1
end

local req
init = function()
  local body = '{"command":"true","sessionId":"' .. session .. '"}'
  req = wrk.format("POST", "/api/execute", { ["Content-Type"] = "application/json" }, body)
end

request = function()
  return req
end
