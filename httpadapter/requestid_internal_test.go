package httpadapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
)

type otherKey struct{}

// The adapter's request scope answers the request id under chi's key (and
// in X-Request-Id), the reqInfo, and the request's own context values;
// a made-up id has chi's form and each request gets its own.
func TestRequestScope(t *testing.T) {
	t.Parallel()
	a := newAdapter(Deps{}, Options{})
	made := regexp.MustCompile(`^[^/]+/[A-Za-z0-9]{10}-[0-9]{6,}$`)
	seen := map[string]bool{}
	for _, sent := range []string{"", "req-42", strings.Repeat("x", 129), "a b", "ü", strings.Repeat("y", 128)} {
		var gotID string
		var info *reqInfo
		var other any
		h := a.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotID, info, other = middleware.GetReqID(r.Context()), infoOf(r), r.Context().Value(otherKey{})
			if r.Header.Get(middleware.RequestIDHeader) != "" && r.Header.Get(middleware.RequestIDHeader) != gotID {
				t.Errorf("sent %q: the request still carries a refused X-Request-Id", sent)
			}
			info.jobType = "j"
			w.WriteHeader(http.StatusTeapot)
		}))
		r := httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(context.WithValue(context.Background(), otherKey{}, "v"))
		if sent != "" {
			r.Header.Set(middleware.RequestIDHeader, sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		want := sent
		if !validRequestID(sent) || sent == "" {
			if !made.MatchString(gotID) || seen[gotID] {
				t.Errorf("sent %q: made-up id %q (seen before: %v)", sent, gotID, seen[gotID])
			}
			seen[gotID] = true
			want = gotID
		}
		if gotID != want || rec.Header().Get(middleware.RequestIDHeader) != want {
			t.Errorf("sent %q: id %q, answered %q, want %q", sent, gotID, rec.Header().Get(middleware.RequestIDHeader), want)
		}
		if info == nil || info.jobType != "j" || other != "v" || rec.Code != http.StatusTeapot {
			t.Errorf("sent %q: info %+v, other value %v, status %d", sent, info, other, rec.Code)
		}
	}
}
