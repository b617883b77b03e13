// Package console is the engine's web console, served at /ui
// (docs/console.md): server-rendered pages from html/template with their
// assets embedded, and a little vanilla JavaScript that calls the REST API
// with fetch and JSON. It reads the engine through its REST API (called
// in-process with the caller's own credentials, so the adapter's
// authentication and permissions apply unchanged) and the
// jobs.ExecutionLister port of the execution index.
package console
