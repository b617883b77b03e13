package strictjson

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

type state string

// flatTarget has every kind of field the fast path takes.
type flatTarget struct {
	ExecutionID string            `json:"executionId,omitempty"`
	Parameters  map[string]any    `json:"parameters,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Progress    *int              `json:"progressPercentage,omitempty"`
	Tags        []string          `json:"tags"`
	At          time.Time         `json:"at"`
	Plain       float64
	State       state  `json:"status,omitempty"`
	Hidden      string `json:"-"`
	hidden      string
}

func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`{"parameters":{"n":1,"s":"x","a":[1,{"b":null}]},"metadata":{"a":"b"}}`,
		` {"executionId":"e","progressPercentage":5,"tags":["a"],"at":"2026-01-02T03:04:05Z","plain":1e3} `,
		`{"EXECUTIONID":"e","Plain":2}`, `{"Hidden":"x"}`, `{"hidden":"x"}`, `{"unknown":1}`, `{"ex\u0065cutionId":"e"}`,
		`{"executionId":"e"} {}`, `{"executionId":"e"}x`, `null`, `[]`, `"s"`, ``, `{`, `{"tags":{}}`, `{"at":"x"}`,
		`{"executionId":"a","executionId":"b"}`, `{"progressPercentage":1.0}`, `{"progressPercentage":1.5}`,
		`{"progressPercentage":9223372036854775807}`, `{"progressPercentage":-0}`, `{"plain":1e400}`, `{"plain":123456789012345.678}`,
		`{"metadata":{"a":1}}`, `{"metadata":{"a":null}}`, `{"parameters":null,"tags":null}`, `{"tags":[null,"a"]}`,
		`{"parameters":{"a":true,"b":false,"c":null,"d":-1.25,"e":[],"f":{}}}`, `{"at":null}`, `{"plain":"1"}`, `{"status":"RUNNING"}`, `{"status":1}`, `{"parameters":{"k":"}\"]"},"metadata":{}}`, "{\"\u212aey\":1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref, got flatTarget
		refErr := decodeStrict(data, &ref)
		err := Decode(data, &got)
		if fmt.Sprint(refErr) != fmt.Sprint(err) || reflect.TypeOf(refErr) != reflect.TypeOf(err) {
			t.Fatalf("strict decoder: %v (%T), Decode: %v (%T)", refErr, refErr, err, err)
		}
		if !reflect.DeepEqual(ref, got) {
			t.Fatalf("strict decoder read %+v, Decode %+v", ref, got)
		}
	})
}

func TestFlatNames(t *testing.T) {
	t.Parallel()
	type nested struct{ A struct{ B int } }
	type embedded struct{ flatTarget }
	type clash struct {
		A int `json:"x"`
		B int `json:"X"`
	}
	if got := flatNames(reflect.TypeFor[*flatTarget]()); len(got) != 8 {
		t.Errorf("flatTarget: %v", got)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[*nested](), reflect.TypeFor[*embedded](), reflect.TypeFor[*clash](),
		reflect.TypeFor[flatTarget](), reflect.TypeFor[*map[string]any](), reflect.TypeFor[*time.Time]()} {
		if got := flatNames(typ); got != nil {
			t.Errorf("%v: %v, want nil", typ, got)
		}
	}
}

func TestDecodeKeepsWhatIsThere(t *testing.T) {
	t.Parallel()
	v := flatTarget{ExecutionID: "default"}
	if err := Decode([]byte(`{"plain":1}`), &v); err != nil || v.ExecutionID != "default" || v.Plain != 1 {
		t.Fatalf("got %+v, %v", v, err)
	}
}
