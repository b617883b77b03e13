// Package httpadapter is the thin REST adapter of jetjobs (docs/rest.md): a
// chi router that turns HTTP calls into CloudEvents commands sent with
// bus.Client.Call and answers with the stage's JobStageResponse.
//
// For every registered job type, with base = the job's BasePath option or
// {Options.BasePath}/<job>:
//
//	async: POST {base}/start                      START (body JobStageRequest)
//	       GET  {base}/{executionId}/check        CHECK
//	       GET  {base}/{executionId}/collect      COLLECT
//	       GET  {base}/{executionId}/result       RESULT
//	       POST {base}/{executionId}/stop?reason= STOP
//	       GET  {base}/{executionId}/events       Server-Sent Events of the execution record
//	sync:  POST {base}/execute                    EXECUTE (body JobStageRequest)
//
// and GET /health, /health/readiness, /health/liveness,
// /health/jobOrchestrator, /metrics and /openapi.json (an OpenAPI 3.1
// document generated from the same route table, so it cannot drift from the
// router).
//
// Security (docs/rest.md, "Authentication"): Options.Auth authenticates
// every request (package httpadapter/auth; 401 with WWW-Authenticate), each
// route checks its permission (run, read or admin on its job; 403 naming
// it), every POST must be application/json (415, nothing published), CORS
// headers go only to Options.CORSOrigins, and Server.UseTLS serves HTTPS.
//
// Every failure is a JobStageResponse with success=false and error set, and
// an honest status code: the jobs.Code of the answer picks it (see
// HTTPStatus). Ids and bodies are checked before anything is published: an
// invalid executionId, a malformed or oversized body, a wrong content type
// or a caller without the permission never reaches NATS.
//
// Wiring it to an engine and a caller's API key: ExampleNewRouter.
//
// A job author with a chi router of their own either mounts the router
// (mine.Mount("/", h)) or adds the routes to theirs with Mount.
package httpadapter
