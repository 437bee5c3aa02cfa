-- wrk script: the request bench/ask/run.sh measures, POST /ask with a small capfox body.
wrk.method = "POST"
wrk.path = "/ask"
wrk.body = '{"task":"bench","complexity":10}'
wrk.headers["Content-Type"] = "application/json"
