// Package auth authenticates REST callers and checks what they may do
// (docs/rest.md, "Authentication" and "Permissions").
//
// An Authenticator turns a request into a Caller (a name and Permissions)
// or an error: ErrNoCredentials when the request carries none of its kind,
// ErrInvalidCredentials when it carries bad ones. One exists per method
// (APIKeys for bearer API keys, JWT for bearer tokens, MTLS for client
// certificates); Chain combines them: the first that accepts the request
// wins.
//
// A permission is verb:job, the job a name or * for every job:
//
//	run    start, execute, stop (saga: start)
//	read   check, collect, result, audit, events (saga: get)
//	admin  saga cancel and resume; the dead-letter routes (httpadapter/dlq.go)
//
// The REST adapter puts the Caller into the request context (WithCaller);
// handlers ask Check whether it may act, and CallerFrom for its name.
package auth
