package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/console"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
)

// oneKey accepts the bearer key "good" as a reader.
type oneKey struct{}

func (oneKey) Authenticate(r *http.Request) (*auth.Caller, error) {
	switch h := r.Header.Get("Authorization"); h {
	case "Bearer good":
		return &auth.Caller{Name: "reader", Permissions: auth.Permissions{{Verb: auth.Read, Job: auth.AllJobs}}}, nil
	case "":
		return nil, auth.ErrNoCredentials
	}
	return nil, auth.ErrInvalidCredentials
}

// What Front lets through to the router: the login, the cookie standing for
// the key only on reads and on the console's own calls, redirects to the
// login page.
func TestFront(t *testing.T) {
	t.Parallel()
	c := console.New(console.Options{Auth: oneKey{}})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
	})
	h := c.Front(next)
	cookie := &http.Cookie{Name: console.CookieName, Value: "good"}
	cases := []struct {
		name, method, path, ct, body string
		cookie                       *http.Cookie
		header                       bool // X-Jetjobs-Console: 1
		want                         int
		wantAuth                     string // the Authorization the router sees
		wantLoc                      string
	}{
		{"login page", "GET", "/ui/login", "", "", nil, false, 200, "", ""},
		{"login as JSON", "POST", "/ui/login", "application/json", `{"key":"good"}`, nil, false, 204, "", ""},
		{"login with a wrong key", "POST", "/ui/login", "application/json", `{"key":"bad"}`, nil, false, 401, "", ""},
		{"login by form is refused", "POST", "/ui/login", "application/x-www-form-urlencoded", "key=good", nil, false, 415, "", ""},
		{"page without cookie: to the login", "GET", "/ui/executions", "", "", nil, false, 303, "", "/ui/login?next=%2Fui%2Fexecutions"},
		{"page with a bad cookie: to the login", "GET", "/ui/", "", "", &http.Cookie{Name: console.CookieName, Value: "bad"}, false, 303, "", "/ui/login"},
		{"page with the cookie", "GET", "/ui/", "", "", cookie, false, 418, "Bearer good", ""},
		{"API read with the cookie", "GET", "/api/v1/jobs", "", "", cookie, false, 418, "Bearer good", ""},
		{"API POST with the cookie alone", "POST", "/api/v1/x/start", "application/json", "{}", cookie, false, 418, "", ""},
		{"API POST with the cookie and the header", "POST", "/api/v1/x/start", "application/json", "{}", cookie, true, 418, "Bearer good", ""},
		{"static assets need nothing", "GET", "/ui/static/app.css", "", "", nil, false, 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.cookie != nil {
				req.AddCookie(tc.cookie)
			}
			if tc.header {
				req.Header.Set(console.HeaderConsole, "1")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			if got := rec.Header().Get("X-Auth"); got != tc.wantAuth {
				t.Errorf("the router saw Authorization %q, want %q", got, tc.wantAuth)
			}
			if tc.wantLoc != "" && !strings.HasPrefix(rec.Header().Get("Location"), tc.wantLoc) {
				t.Errorf("Location %q, want %q…", rec.Header().Get("Location"), tc.wantLoc)
			}
			if tc.name == "login as JSON" {
				ck := rec.Result().Cookies()
				if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Value != "good" {
					t.Errorf("login cookie %+v", ck)
				}
			}
		})
	}
}
