// Package resilience holds the resilience policies that wrap every stage of
// every job, as jobs.Middleware, one instance of each per job type:
//
//	retry → circuit breaker → rate limiter → timeout → bulkhead → stage
//
// (outermost first, Resilience4j's order). Retry is outermost so the
// breaker sees every attempt; a call refused by an open breaker, the rate
// limiter or a full bulkhead is never retried, and neither is a permanent
// error (jobs.Permanent, a bad parameter).
//
// The breaker is sony/gobreaker with a count-based sliding window kept here:
// gobreaker has neither a count window nor a slow-call rate, so the last N
// outcomes (with a slow flag) are kept in the glue and ReadyToTrip decides
// from them. The rate limiter is golang.org/x/time/rate.
//
// Config is the policies' configuration and the type the configuration
// tree holds at orchestration.resiliency (its yaml tags are the keys):
// DefaultConfig, WithDefaults and Validate are the one statement of its
// defaults and checks (docs/configuration.md, docs/architecture.md).
package resilience
