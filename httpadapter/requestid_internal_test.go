package httpadapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
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

// fixedAuth accepts a request with any Authorization header as its caller.
type fixedAuth struct{ caller *auth.Caller }

func (f fixedAuth) Authenticate(r *http.Request) (*auth.Caller, error) {
	if r.Header.Get("Authorization") == "" {
		return nil, auth.ErrNoCredentials
	}
	return f.caller, nil
}

// The caller authenticate names is what auth.CallerFrom reads behind it,
// whether it sits in the adapter's request scope or, without the scope in
// front, in a context of its own; an outer context's caller stays hidden
// only once the request has one.
func TestCallerInRequestScope(t *testing.T) {
	t.Parallel()
	known := &auth.Caller{Name: "ci-bot", Permissions: auth.All()}
	for _, tc := range []struct {
		name    string
		o       Options
		header  string
		path    string
		scoped  bool
		want    string // caller name; "" none
		wantSts int
	}{
		{"anonymous in scope", Options{}, "", "/x", true, auth.AnonymousName, http.StatusTeapot},
		{"anonymous without scope", Options{}, "", "/x", false, auth.AnonymousName, http.StatusTeapot},
		{"known in scope", Options{Auth: fixedAuth{known}}, "Bearer k", "/x", true, "ci-bot", http.StatusTeapot},
		{"known without scope", Options{Auth: fixedAuth{known}}, "Bearer k", "/x", false, "ci-bot", http.StatusTeapot},
		{"open path without credentials", Options{Auth: fixedAuth{known}}, "", pathLiveness, true, "", http.StatusTeapot},
		{"no credentials", Options{Auth: fixedAuth{known}}, "", "/x", true, "", http.StatusUnauthorized},
	} {
		a := newAdapter(Deps{}, tc.o)
		var got *auth.Caller
		var h http.Handler = a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = auth.CallerFrom(r.Context())
			w.WriteHeader(http.StatusTeapot)
		}))
		if tc.scoped {
			h = a.observe(h)
		}
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		name := ""
		if got != nil {
			name = got.Name
		}
		if rec.Code != tc.wantSts || name != tc.want {
			t.Errorf("%s: status %d, caller %q; want %d, %q", tc.name, rec.Code, name, tc.wantSts, tc.want)
		}
	}
}
