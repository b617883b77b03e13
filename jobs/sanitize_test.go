package jobs_test

import (
	"reflect"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

func TestSanitizerMap(t *testing.T) {
	t.Parallel()
	def := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
	const M = jobs.Mask
	tests := []struct {
		name string
		s    *jobs.Sanitizer
		in   map[string]any
		want map[string]any
	}{
		{
			name: "oddly cased and separated keys",
			s:    def,
			in: map[string]any{
				"PASSWORD": "p1", "db_password": "p2", "X-Api-Key": "k1", "api_key": "k2", "apikey": "k3",
				"clientSecret": "s1", "accessToken": "t1", "Api.Key": "k4", "SECRET_VALUE": "s2",
				"user": "alice", "host": "db.local", "port": float64(5432), "passenger": "bob", "key": "k",
			},
			want: map[string]any{
				"PASSWORD": M, "db_password": M, "X-Api-Key": M, "api_key": M, "apikey": M,
				"clientSecret": M, "accessToken": M, "Api.Key": M, "SECRET_VALUE": M,
				"user": "alice", "host": "db.local", "port": float64(5432), "passenger": "bob", "key": "k",
			},
		},
		{
			name: "nested maps and lists",
			s:    def,
			in: map[string]any{
				"db": map[string]any{
					"user":     "alice",
					"password": "p",
					"replicas": []any{
						map[string]any{"host": "r1", "token": "t"},
						"plain",
						float64(3),
						[]any{map[string]any{"apiKey": "deep", "ok": true}},
					},
				},
				"headers":  map[string]string{"Authorization-Token": "t", "Accept": "json"},
				"tags":     []any{"a", "b"},
				"nothing":  nil,
				"settings": map[string]any{},
			},
			want: map[string]any{
				"db": map[string]any{
					"user":     "alice",
					"password": M,
					"replicas": []any{
						map[string]any{"host": "r1", "token": M},
						"plain",
						float64(3),
						[]any{map[string]any{"apiKey": M, "ok": true}},
					},
				},
				"headers":  map[string]string{"Authorization-Token": M, "Accept": "json"},
				"tags":     []any{"a", "b"},
				"nothing":  nil,
				"settings": map[string]any{},
			},
		},
		{
			name: "a sensitive key hides a whole subtree",
			s:    def,
			in:   map[string]any{"secrets": map[string]any{"a": "b"}, "tokens": []any{"x", "y"}},
			want: map[string]any{"secrets": M, "tokens": M},
		},
		{
			name: "custom keys are normalized too",
			s:    jobs.NewSanitizer("Private_Key", "", "--"),
			in:   map[string]any{"privatekey": "x", "SSH-PRIVATE-KEY": "y", "password": "kept"},
			want: map[string]any{"privatekey": M, "SSH-PRIVATE-KEY": M, "password": "kept"},
		},
		{
			name: "zero Sanitizer masks nothing",
			s:    &jobs.Sanitizer{},
			in:   map[string]any{"password": "p", "nested": map[string]any{"token": "t"}},
			want: map[string]any{"password": "p", "nested": map[string]any{"token": "t"}},
		},
		{
			name: "nil Sanitizer masks nothing",
			s:    nil,
			in:   map[string]any{"password": "p", "list": []any{map[string]any{"apiKey": "k"}}},
			want: map[string]any{"password": "p", "list": []any{map[string]any{"apiKey": "k"}}},
		},
		{
			name: "NewSanitizer without keys masks nothing",
			s:    jobs.NewSanitizer(),
			in:   map[string]any{"secret": "s"},
			want: map[string]any{"secret": "s"},
		},
		{name: "nil stays nil", s: def, in: nil, want: nil},
		{name: "nil stays nil with a nil Sanitizer", s: nil, in: nil, want: nil},
		{name: "empty stays empty", s: def, in: map[string]any{}, want: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := deepCopy(tt.in)
			got := tt.s.Map(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Map(%v)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			if (got == nil) != (tt.in == nil) {
				t.Errorf("Map(%v) = %v: nil must stay nil and only nil", tt.in, got)
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Errorf("Map modified its input:\n got %#v\nwant %#v", tt.in, before)
			}
			// The result is a copy: changing it leaves the input alone.
			for k := range got {
				got[k] = "changed"
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Errorf("the result shares its top level with the input")
			}
		})
	}
}

func TestSanitizerMapCopiesNestedContainers(t *testing.T) {
	t.Parallel()
	s := jobs.NewSanitizer("password")
	in := map[string]any{
		"nested": map[string]any{"a": "b"},
		"list":   []any{"x", map[string]any{"c": "d"}},
		"str":    map[string]string{"e": "f"},
	}
	out := s.Map(in)
	out["nested"].(map[string]any)["a"] = "changed"
	out["list"].([]any)[0] = "changed"
	out["list"].([]any)[1].(map[string]any)["c"] = "changed"
	out["str"].(map[string]string)["e"] = "changed"
	want := map[string]any{
		"nested": map[string]any{"a": "b"},
		"list":   []any{"x", map[string]any{"c": "d"}},
		"str":    map[string]string{"e": "f"},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("changing the sanitized copy changed the input: %#v", in)
	}
}

func TestSanitizerSensitive(t *testing.T) {
	t.Parallel()
	s := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true}, {"PASSWORD", true}, {"db_password", true}, {"X-Api-Key", true}, {"api_key", true},
		{"apikey", true}, {"APIKEY", true}, {"clientSecret", true}, {"accessToken", true}, {"refresh-token", true},
		{"user", false}, {"api", false}, {"key", false}, {"pass", false}, {"", false}, {"-_-", false},
		// The widened defaults, in case and separator variants.
		{"passwd", true}, {"DB_PASSWD", true}, {"pwd", true}, {"db_pwd", true}, {"userPwd", true}, {"PWD", true},
		{"passphrase", true}, {"ssh-passphrase", true}, {"Authorization", true}, {"proxy_authorization", true},
		{"credentials", true}, {"CREDENTIAL", true}, {"private_key", true}, {"privateKey", true}, {"SSH-PRIVATE-KEY", true},
		{"accessKey", true}, {"aws_access_key_id", true}, {"clientSecret", true}, {"client-secret", true},
		{"sessionKey", true}, {"session_key", true}, {"Cookie", true}, {"Set-Cookie", true},
		{"connectionString", true}, {"connection_string", true}, {"session_token", true}, {"bearerToken", true},
		// Words that must not match: pwd is short, so only at the end of a
		// key; the others contain no excluded key.
		{"pwdPolicy", false}, {"cwd", false}, {"passenger", false}, {"author", false}, {"authority", false},
		{"keyboard", false}, {"monkey", false}, {"session", false}, {"access", false}, {"private", false},
		{"connection", false}, {"compass", false}, {"bypass", false}, {"secretary", true}, // secretary: a known false positive of "contains"
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if got := s.Sensitive(tt.key); got != tt.want {
				t.Errorf("Sensitive(%q) = %v, want %v", tt.key, got, tt.want)
			}
			var nilS *jobs.Sanitizer
			if nilS.Sensitive(tt.key) {
				t.Errorf("nil Sanitizer: Sensitive(%q) = true", tt.key)
			}
		})
	}
}

func TestSanitizerStrings(t *testing.T) {
	t.Parallel()
	s := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
	in := map[string]string{"X-Api-Key": "k", "Authorization-Token": "t", "traceparent": "00-abc"}
	got := s.Strings(in)
	want := map[string]string{"X-Api-Key": jobs.Mask, "Authorization-Token": jobs.Mask, "traceparent": "00-abc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Strings = %v, want %v", got, want)
	}
	if in["X-Api-Key"] != "k" {
		t.Errorf("Strings modified its input: %v", in)
	}
	if s.Strings(nil) != nil {
		t.Errorf("Strings(nil) is not nil")
	}
}

// deepCopy copies the JSON-like values the tests use.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopy(t)
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, v := range t {
			out[k] = v
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}
