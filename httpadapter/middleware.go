package httpadapter

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

type ctxKey int

const (
	infoKey  ctxKey = iota // *reqInfo of the request
	drainKey               // chan struct{} closed when the Server stops
)

// reqInfo is what handlers tell the request log line.
type reqInfo struct {
	executionID, jobType, stage, errMsg string
	caller                              string // the authenticated caller's name, never a credential
}

// infoOf returns the request's reqInfo; a throwaway one outside the
// adapter's middleware.
func infoOf(r *http.Request) *reqInfo {
	if info, ok := r.Context().Value(infoKey).(*reqInfo); ok {
		return info
	}
	return &reqInfo{}
}

// middleware is the adapter's chain, outermost first: request id (checked,
// then echoed) with the log line and panic recovery, CORS, authentication
// (401), JSON-only state changes (415), body limit, trace context.
func (a *adapter) middleware() []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{
		a.observe, a.cors, a.authenticate, requireJSON, a.limitBody, extractTrace, a.serverSpan,
	}
}

// serverSpan opens a server span per request when a tracer provider is set,
// a child of the caller's traceparent; the command the request sends
// carries it on. The no-op provider (the engine's when tracing is off)
// records nothing and leaves the caller's span context as it is, so it
// gets no middleware: no span name, options, recorder or request copy
// per request.
func (a *adapter) serverSpan(next http.Handler) http.Handler {
	if a.o.TracerProvider == nil {
		return next
	}
	if _, ok := a.o.TracerProvider.(tracenoop.TracerProvider); ok {
		return next
	}
	tracer := a.o.TracerProvider.Tracer("github.com/jetjobs/jetjobs/httpadapter")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
	})
}

// observe gives the request its id (requestid.go), answers it in
// X-Request-Id, writes one log line per request and turns a panic into a
// JSON 500: the stack goes to the log, never to the client. The id, the
// request's reqInfo and the response recorder share one allocation, and
// the request one copy.
func (a *adapter) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s := &requestScope{Context: r.Context(), id: requestID(r)}
		s.rec.ResponseWriter = w
		s.idHeader[0] = s.id
		w.Header()[middleware.RequestIDHeader] = s.idHeader[:]
		info, rec := &s.info, &s.rec
		r = r.WithContext(s)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // net/http's own sentinel, compared as it does
					panic(p)
				}
				a.log.Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).
					Str("method", r.Method).Str("path", r.URL.Path).
					Str("requestId", middleware.GetReqID(r.Context())).Msg("panic in HTTP handler")
				if !rec.wrote {
					writeFailure(rec, r, http.StatusInternalServerError, "", "",
						"internal error; see the server log for request "+middleware.GetReqID(r.Context()))
				}
			}
			a.logRequest(r, rec, info, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

func (a *adapter) logRequest(r *http.Request, rec *recorder, info *reqInfo, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	ev := a.log.Info()
	switch {
	case status >= 500:
		ev = a.log.Error()
	case status >= 400:
		ev = a.log.Warn()
	}
	if !ev.Enabled() { // below the log level: no fields to gather
		return
	}
	ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Dur("duration", d).
		Int64("bytes", rec.bytes).Str("requestId", middleware.GetReqID(r.Context()))
	if info.caller != "" {
		ev = ev.Str("caller", info.caller)
	}
	if info.executionID != "" {
		ev = ev.Str("executionId", info.executionID)
	}
	if info.jobType != "" {
		ev = ev.Str("jobType", info.jobType).Str("stage", info.stage)
	}
	if info.errMsg != "" {
		ev = ev.Str("error", info.errMsg)
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		ev = ev.Str("traceId", sc.TraceID().String())
	}
	ev.Msg("http request")
}

// limitBody answers 413 for a declared Content-Length over the limit and
// caps what a handler can read of any other body.
func (a *adapter) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > a.o.MaxBodyBytes {
			writeFailure(w, r, http.StatusRequestEntityTooLarge, "", "",
				fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, a.o.MaxBodyBytes))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, a.o.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// traceContext reads the W3C traceparent/tracestate headers.
var traceContext = propagation.TraceContext{}

// extractTrace continues the caller's trace: the span context of an
// incoming traceparent goes into the request context, and bus.Client puts
// it into the command's CloudEvents tracing extension.
func extractTrace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			r = r.WithContext(traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}

// recorder remembers the status and size of a response. It unwraps for
// http.ResponseController, so streaming handlers can still flush.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush makes the recorder an http.Flusher for code that asserts it.
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the writer underneath.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
