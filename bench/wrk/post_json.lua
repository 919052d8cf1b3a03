-- POSTs one JSON body to the URL given to wrk.
-- The body comes from the environment: BENCH_BODY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
