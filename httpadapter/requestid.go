package httpadapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
)

// requestScope is the context the adapter gives each request: the request
// id, under chi's key (middleware.GetReqID reads it), the reqInfo handlers
// fill in for the log line (infoOf) and, once authenticated, the caller
// (auth.CallerFrom reads it), with the response recorder, in one
// allocation instead of a context, a request copy and an object for each.
type requestScope struct {
	context.Context // the request's own
	id              string
	idHeader        [1]string    // X-Request-Id's value in the answer
	caller          *auth.Caller // set by authenticate, before any handler runs
	info            reqInfo
	rec             recorder
}

// Value answers the request id, the reqInfo and the caller, and asks the
// request's own context for anything else.
func (s *requestScope) Value(key any) any {
	switch key {
	case middleware.RequestIDKey:
		return s.id
	case infoKey:
		return &s.info
	}
	if s.caller != nil && auth.IsCallerKey(key) {
		return s.caller
	}
	return s.Context.Value(key)
}

// requestID is the request's id: its X-Request-Id when that is sane (at
// most 128 printable ASCII characters; so only sane ids reach logs,
// commands and responses), else a new one. An insane header is dropped
// from the request.
func requestID(r *http.Request) string {
	if id := r.Header.Get(middleware.RequestIDHeader); id != "" {
		if validRequestID(id) {
			return id
		}
		r.Header.Del(middleware.RequestIDHeader)
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// Made-up request ids have chi's middleware.RequestID form,
// "host/random-000001": a prefix of the host name and ten random base62
// characters per process, and a counter.
var (
	requestIDPrefix = newRequestIDPrefix()
	requestIDSeq    atomic.Uint64
)

func newRequestIDPrefix() string {
	host, err := os.Hostname()
	if host == "" || err != nil {
		host = "localhost"
	}
	var buf [12]byte
	random := ""
	for len(random) < 10 {
		_, _ = rand.Read(buf[:])
		random = strings.NewReplacer("+", "", "/", "").Replace(base64.StdEncoding.EncodeToString(buf[:]))
	}
	return host + "/" + random[:10] + "-"
}

// newRequestID is the next made-up request id (the counter at least six
// digits wide, as chi writes it).
func newRequestID() string {
	var digits [20]byte
	n := strconv.AppendUint(digits[:0], requestIDSeq.Add(1), 10)
	var b strings.Builder
	b.Grow(len(requestIDPrefix) + max(len(n), 6))
	b.WriteString(requestIDPrefix)
	for i := len(n); i < 6; i++ {
		b.WriteByte('0')
	}
	b.Write(n)
	return b.String()
}
