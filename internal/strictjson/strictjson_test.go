package strictjson_test

import (
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/internal/strictjson"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	type target struct {
		Name string         `json:"name"`
		Tags map[string]int `json:"tags"`
	}
	cases := []struct {
		name, data string
		wantName   string
		wantErr    string
	}{
		{"object", `{"name":"a","tags":{"x":1}}`, "a", ""},
		{"white space after", "{\"name\":\"b\"} \n\t", "b", ""},
		{"unknown field", `{"nom":"a"}`, "", `unknown field "nom"`},
		{"a second value", `{"name":"c"} {}`, "", "unexpected data after the JSON value at byte 12"},
		{"garbage after", `{"name":"c"}x`, "", "unexpected data after the JSON value at byte 12"},
		{"wrong type", `{"tags":[]}`, "", "cannot unmarshal array"},
		{"cut short", `{"name":`, "", "unexpected EOF"},
		{"empty", ``, "", "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var v target
			err := strictjson.Decode([]byte(c.data), &v)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil || v.Name != c.wantName {
				t.Fatalf("got %+v, %v; want name %q", v, err, c.wantName)
			}
		})
	}
}

// request mirrors jobs.Request, the hot caller.
type request struct {
	ExecutionID string            `json:"executionId,omitempty"`
	Parameters  map[string]any    `json:"parameters,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Progress    *int              `json:"progressPercentage,omitempty"`
	Hidden      string            `json:"-"`
	progress    func()
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"parameters":{"n":1,"s":"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"},"metadata":{"a":"b"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var r request
		if err := strictjson.Decode(data, &r); err != nil {
			b.Fatal(err)
		}
	}
}
