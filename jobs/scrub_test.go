package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

func TestScrubberText(t *testing.T) {
	t.Parallel()
	san := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
	params := map[string]any{
		"password": "hunter22", "user": "bob", "db": map[string]any{"apiKey": "k-123456", "host": "db"},
		"tokens": []any{"tok-aaaa", "tok-bbbb"}, "pin": "12", "secretPin": float64(987654), "masked": map[string]any{"token": jobs.Mask},
	}
	meta := map[string]string{"Authorization": "Bearer xyz.abc", "trace": "t-1"}
	tests := []struct {
		name      string
		sc        *jobs.Scrubber
		in, want  string
		wantCount int
	}{
		{"a password in an error", san.Scrubber(params, meta), "login failed for hunter22", "login failed for ****", 6},
		{"nested and listed values", san.Scrubber(params, meta), "k-123456 tok-aaaa/tok-bbbb", "**** ****/****", 6},
		{"metadata value", san.Scrubber(params, meta), "sent Bearer xyz.abc", "sent ****", 6},
		{"a number under a sensitive key", san.Scrubber(params, meta), "pin 987654 refused", "pin **** refused", 6},
		{"non-sensitive values stay", san.Scrubber(params, meta), "user bob on db, trace t-1", "user bob on db, trace t-1", 6},
		{"values shorter than 4 are not searched", san.Scrubber(map[string]any{"pwd": "ab"}, nil), "about", "about", 0},
		{"nothing known: text unchanged", san.Scrubber(nil, nil), "login failed for hunter22", "login failed for hunter22", 0},
		{"sanitizing off (nil)", (*jobs.Sanitizer)(nil).Scrubber(params, meta), "hunter22", "hunter22", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.sc.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := tt.sc.Secrets(); n != tt.wantCount {
				t.Errorf("Secrets() = %d, want %d", n, tt.wantCount)
			}
		})
	}
}

var errLogin = errors.New("login failed")

func TestScrubberErrorKeepsIdentity(t *testing.T) {
	t.Parallel()
	sc := jobs.NewSanitizer("password").Scrubber(map[string]any{"password": "hunter22"}, nil)
	err := fmt.Errorf("%w for hunter22", errLogin)
	got := sc.Error(err)
	if got.Error() != "login failed for ****" || !errors.Is(got, errLogin) {
		t.Fatalf("Error() = %q, Is(errLogin) = %v", got, errors.Is(got, errLogin))
	}
	if clean := errors.New("other"); sc.Error(clean) != clean {
		t.Fatal("an error without secrets must come back as is")
	}
}

type rawOut struct {
	User  string `json:"user"`
	Note  string `json:"note"`
	Token string `json:"accessToken"`
	Count int64  `json:"count"`
}

func TestScrubberAny(t *testing.T) {
	t.Parallel()
	sc := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...).Scrubber(map[string]any{"password": "hunter22"}, nil)
	clean := map[string]any{"a": "b", "n": []any{float64(1), "x"}}
	tests := []struct {
		name string
		in   any
		want string // JSON of the scrubbed value
	}{
		{"struct", rawOut{User: "bob", Note: "used hunter22", Token: "t", Count: 9007199254740993},
			`{"accessToken":"****","count":9007199254740993,"note":"used ****","user":"bob"}`},
		{"string", "pw=hunter22", `"pw=****"`},
		{"bytes", []byte("pw=hunter22"), `"cHc9KioqKg=="`},
		{"typed map", map[string]int{"apiKey": 3, "n": 1}, `{"apiKey":"****","n":1}`},
		{"list of strings", []string{"hunter22", "x"}, `["****","x"]`},
		{"nil", nil, `null`},
		{"number", 42, `42`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(sc.Any(tt.in))
			if err != nil || string(b) != tt.want {
				t.Errorf("Any(%v) = %s (%v), want %s", tt.in, b, err, tt.want)
			}
		})
	}
	if got := sc.Map(clean); reflect.ValueOf(got).Pointer() != reflect.ValueOf(clean).Pointer() {
		t.Error("a map with nothing to mask must not be copied")
	}
}

// captured keeps what the runtime wrote to its audit and result ports.
type captured struct {
	mu      sync.Mutex
	audit   []*jobs.AuditEntry
	results []*jobs.Result
}

func (c *captured) Append(_ context.Context, entries ...*jobs.AuditEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.audit = append(c.audit, entries...)
	return nil
}

func (c *captured) Put(_ context.Context, r *jobs.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, r)
	return nil
}

func (c *captured) Get(context.Context, string, string) (*jobs.Result, error) {
	return nil, jobs.ErrNotFound
}

// leaky is a sync job that puts its password in every field it can, and in
// an error when asked to fail.
type leaky struct{}

func (leaky) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	pw := req.Parameters["password"].(string)
	if req.Parameters["fail"] == true {
		return nil, jobs.Errorf(jobs.CodeFailed, "login failed for %s", pw)
	}
	return &jobs.Response{Success: true, Message: "hi " + pw, Data: map[string]any{"echo": pw},
		Raw: map[string]any{"note": "used " + pw}, Metadata: map[string]string{"x": pw}}, nil
}

// The runtime masks what it writes to every port and what it answers; with
// sanitizing off it writes as given.
func TestRuntimeScrubsEveryPort(t *testing.T) {
	t.Parallel()
	const pw = "hunter22-secret-value"
	tests := []struct {
		name  string
		san   *jobs.Sanitizer
		fail  bool
		leaks bool
	}{
		{"success, sanitizing on", jobs.NewSanitizer(jobs.DefaultSensitiveKeys...), false, false},
		{"error naming the password, sanitizing on", jobs.NewSanitizer(jobs.DefaultSensitiveKeys...), true, false},
		{"success, sanitizing off", nil, false, true},
		{"error, sanitizing off", nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := jobs.NewRegistry()
			reg.MustRegister("j", leaky{})
			store, ev, sink := &jobstest.MemoryStore{}, &events{}, &captured{}
			rt := jobs.NewRuntime(reg, store, ev, &timers{}, jobs.RuntimeConfig{Sanitizer: tt.san, Audit: sink, Results: sink,
				Persist: jobs.PersistConfig{AuditParameters: true, PersistRaw: true, PersistTrans: true}})
			resp, err := rt.Handle(context.Background(), &jobs.Command{ID: "c1", JobType: "j", Stage: jobs.StageExecute,
				Request: jobs.Request{ExecutionID: "e1", Parameters: map[string]any{"password": pw, "fail": tt.fail},
					Metadata: map[string]string{"Cookie": pw}}})
			if err != nil {
				t.Fatal(err)
			}
			exec, _, err := store.Get(context.Background(), "j", "e1")
			if err != nil {
				t.Fatal(err)
			}
			if tt.fail && !strings.Contains(exec.Error, "login failed for") {
				t.Fatalf("record error %q", exec.Error)
			}
			written := map[string]any{"answer": resp, "record": exec, "audit": sink.audit, "results": sink.results, "events": ev.byID}
			if tt.fail {
				delete(written, "results") // a failed execution has none
			}
			for what, v := range written {
				b, _ := json.Marshal(v)
				if got := strings.Contains(string(b), pw); got != tt.leaks {
					t.Errorf("%s contains the password: %v, want %v: %s", what, got, tt.leaks, b)
				}
			}
			if !tt.fail && !tt.leaks && !strings.Contains(fmt.Sprint(sink.results[0].RawOutput), jobs.Mask) {
				t.Errorf("raw output %v: want the password masked", sink.results[0].RawOutput)
			}
		})
	}
}
