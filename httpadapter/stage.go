package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// HTTPStatus is the status code that stands for an error code
// (docs/rest.md); "" is 200.
func HTTPStatus(c jobs.Code) int {
	switch c {
	case "":
		return http.StatusOK
	case jobs.CodeInvalidArgument:
		return http.StatusBadRequest
	case jobs.CodeNotFound:
		return http.StatusNotFound
	case jobs.CodeConflict, jobs.CodeNotReady:
		return http.StatusConflict
	case jobs.CodeInvalidParameter:
		return http.StatusUnprocessableEntity
	case jobs.CodeRejected:
		return http.StatusTooManyRequests
	case jobs.CodeUnavailable:
		return http.StatusServiceUnavailable
	case jobs.CodeStorageFull:
		return http.StatusInsufficientStorage
	case jobs.CodeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError // failed, internal, and codes this build does not know
}

// AnswerStatus is the status code of a stage answer that reached the job
// with success=false. The status code reports the request, not the job's
// outcome (docs/rest.md): a job that failed is a request that was served,
// 200 with success=false, status FAILED and the error in the body. Codes
// that say what is wrong with the request or the engine keep their HTTP
// status (HTTPStatus).
func AnswerStatus(c jobs.Code) int {
	if c == jobs.CodeFailed {
		return http.StatusOK
	}
	return HTTPStatus(c)
}

// errorCode classifies an error of bus.Client.Call. Errors that are not a
// *jobs.Error are NATS connection errors (503) or a bug (500).
func errorCode(err error) jobs.Code {
	var je *jobs.Error
	switch {
	case errors.As(err, &je):
		return je.Code
	case errors.Is(err, context.DeadlineExceeded):
		return jobs.CodeTimeout
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return jobs.CodeUnavailable
	}
	return jobs.CodeInternal
}

// stage serves one stage route: check the id and the body, call the stage
// over NATS with the request timeout, and answer its JobStageResponse.
func (a *adapter) stage(def *jobs.Definition, stage jobs.Stage) http.HandlerFunc {
	hasID := stage != jobs.StageStart && stage != jobs.StageExecute
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.jobType, info.stage = def.Name, string(stage)
		id := ""
		if hasID {
			var err error
			if id, err = pathID(r); err != nil {
				writeFailure(w, r, http.StatusBadRequest, stage, "", err.Error())
				return
			}
			info.executionID = id
		}
		req, status, err := readRequest(r, stage, id)
		if err != nil {
			writeFailure(w, r, status, stage, id, err.Error())
			return
		}
		if req.ExecutionID != "" {
			info.executionID = req.ExecutionID
		}
		if stage == jobs.StageStart {
			at, err := delayAt(r, time.Now())
			if err != nil {
				writeFailure(w, r, http.StatusBadRequest, stage, req.ExecutionID, err.Error())
				return
			}
			if !at.IsZero() {
				a.delayedStart(w, r, def, req, at) // schedules.go
				return
			}
		}
		if a.d.Client == nil {
			writeFailure(w, r, http.StatusServiceUnavailable, stage, req.ExecutionID, "no NATS client is configured")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
		defer cancel()
		resp, err := a.d.Client.Call(ctx, def.Name, stage, req, bus.SendOptions{})
		if err != nil {
			code := errorCode(err)
			msg, id := err.Error(), req.ExecutionID
			if code == jobs.CodeTimeout && r.Context().Err() == nil {
				msg = fmt.Sprintf("no answer to %s %s within the request timeout of %s", def.Name, stage, a.o.RequestTimeout)
				if req.ExecutionID == "" && resp != nil && resp.ExecutionID != "" {
					// The command started an execution of its own: the
					// caller can ask for it instead of starting another.
					id = resp.ExecutionID
					msg += fmt.Sprintf("; the command was sent and execution %s may still run: ask for it by that executionId", id)
				}
			}
			writeFailure(w, r, HTTPStatus(code), stage, id, msg)
			return
		}
		if resp.ExecutionID != "" {
			info.executionID = resp.ExecutionID
		}
		a.fillLargeResult(ctx, def, stage, resp)
		status = http.StatusOK
		if !resp.Success {
			code := resp.Code
			if code == "" {
				code = jobs.CodeFailed
			}
			status = AnswerStatus(code)
			if resp.Error == nil {
				msg := "stage failed: " + string(code)
				resp.Error = &msg
			}
		}
		writeJSON(w, status, resp)
	}
}

// pathID reads and checks the {executionId} path parameter. chi matches the
// escaped path, so the parameter is unescaped first: "%2e" is ".", which is
// refused like any other character outside [A-Za-z0-9_-].
func pathID(r *http.Request) (string, error) {
	raw := chi.URLParam(r, "executionId")
	id, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("%w: executionId %q is not a valid path segment", jobs.ErrInvalidArgument, raw)
	}
	if err := jobs.ValidateExecutionID(id); err != nil {
		return "", err
	}
	return id, nil
}

// readRequest builds the JobStageRequest of a stage call from the body (POST)
// and the path, or returns the status code and error to answer with.
func readRequest(r *http.Request, stage jobs.Stage, pathID string) (*jobs.Request, int, error) {
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodyBufs.Put(buf)
		}
	}()
	body, status, err := readBodyInto(r, buf)
	if err != nil {
		return nil, status, err
	}
	req := &jobs.Request{}
	if r.Method == http.MethodGet {
		if len(body) > 0 {
			return nil, http.StatusBadRequest, fmt.Errorf("GET %s takes no request body", stage.Token())
		}
	} else if len(body) > 0 {
		if req, status, err = decodeRequest(body); err != nil {
			return nil, status, err
		}
	}
	switch {
	case pathID != "" && req.ExecutionID != "" && req.ExecutionID != pathID:
		return nil, http.StatusBadRequest, fmt.Errorf("body executionId %q disagrees with the path's %q", trunc(req.ExecutionID), pathID)
	case pathID != "":
		req.ExecutionID = pathID
	case req.ExecutionID != "":
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			return nil, http.StatusBadRequest, err
		}
	}
	if stage == jobs.StageStop {
		if reason := r.URL.Query().Get("reason"); reason != "" {
			if req.Reason != "" && req.Reason != reason {
				return nil, http.StatusBadRequest, errors.New("the reason in the body and in ?reason= differ: give one")
			}
			req.Reason = reason
		}
	}
	if req.RequestID == "" {
		req.RequestID = middleware.GetReqID(r.Context())
	}
	req.Initiator = auth.Initiator(r.Context(), req.Initiator)
	return req, 0, nil
}

// bodyBufs are the buffers stage request bodies are read into: a body
// lives only until it is decoded (the decoder copies what it keeps).
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the buffer a pooled body keeps.
const maxPooledBody = 64 << 10

// readBody reads the whole body within the limit set by the middleware;
// only white space counts as empty.
func readBody(r *http.Request) ([]byte, int, error) {
	return readBodyInto(r, nil)
}

// readBodyInto is readBody into buf (reset first; nil: a new slice). The
// body it returns is in buf's array, valid until buf is used again.
func readBodyInto(r *http.Request, buf *bytes.Buffer) ([]byte, int, error) {
	if r.Body == nil {
		return nil, 0, nil
	}
	var body []byte
	var err error
	if buf == nil {
		body, err = io.ReadAll(r.Body)
	} else {
		buf.Reset()
		_, err = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", tooBig.Limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %v", err)
	}
	return bytes.TrimSpace(body), 0, nil
}

// decodeRequest parses a non-empty body strictly: a JSON object with only
// the fields of JobStageRequest and nothing after it. The Content-Type was
// checked by the middleware (requireJSON).
func decodeRequest(body []byte) (*jobs.Request, int, error) {
	if body[0] != '{' {
		return nil, http.StatusBadRequest, errors.New("malformed body: want a JSON object (JobStageRequest)")
	}
	req, err := jobs.DecodeRequest(body)
	if err != nil {
		return nil, http.StatusBadRequest, describeJSONError(err)
	}
	return req, 0, nil
}

// describeJSONError turns a decoding error into a message that names the
// problem and where it is.
func describeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		if ft, ok := requestFieldType(field); ok && ft.Kind() == reflect.Map && ft.Elem() == typ.Type {
			// encoding/json names the map, not the key, for a value of the wrong type.
			return fmt.Errorf("malformed body: every value of field %q must be %s, got JSON %s", field, jsonKind(typ.Type.String()), typ.Value)
		}
		return fmt.Errorf("malformed body: field %q must be %s, got JSON %s", field, jsonKind(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: the body ends in the middle of a value")
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return fmt.Errorf("malformed body: %s (JobStageRequest has executionId, parameters, reason, requestId, initiator, metadata)", msg)
	}
	return fmt.Errorf("malformed body: %s", msg)
}

// requestFieldType is the Go type of the JobStageRequest field with this
// JSON name.
func requestFieldType(name string) (reflect.Type, bool) {
	t := reflect.TypeFor[jobs.Request]()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag == name {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["):
		if strings.HasSuffix(goType, "]string") {
			return "an object of strings"
		}
		return "an object"
	case goType == "string":
		return "a string"
	}
	return goType
}

func trunc(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:80] + "…"
}

// writeFailure answers a failure as a JobStageResponse.
func writeFailure(w http.ResponseWriter, r *http.Request, status int, stage jobs.Stage, id, msg string) {
	if info := infoOf(r); info.errMsg == "" {
		info.errMsg = msg
	}
	writeJSON(w, status, &jobs.Response{Success: false, Stage: stage, ExecutionID: id,
		Timestamp: time.Now().UTC(), Error: &msg})
}

// Header values of every JSON answer, shared: assigned to the header map
// as they are, without a slice per answer (nothing edits a value in place).
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
)

// answerBufs are the buffers stage answers are encoded into.
var answerBufs = sync.Pool{New: func() any { return new(fastjson.Writer) }}

// maxPooledAnswer bounds the buffer a pooled writer keeps.
const maxPooledAnswer = 64 << 10

// writeJSON answers v as JSON, as json.Marshal writes it, and a newline. A
// JobStageResponse, the answer of every stage call, is encoded into a
// pooled buffer by internal/fastjson (byte for byte encoding/json's
// output, at about half the cost); anything else by encoding/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := answerBufs.Get().(*fastjson.Writer)
	defer func() {
		if cap(buf.B) <= maxPooledAnswer {
			answerBufs.Put(buf)
		}
	}()
	var b []byte
	var err error
	if resp, ok := v.(*jobs.Response); ok {
		b, err = buf.Encode(resp, resp.Data)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"error":"encoding the response failed","progressPercentage":0,"timestamp":"` +
			time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	}
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // in buf's array when it came from there: the encoder wrote a newline
}
