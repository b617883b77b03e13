package jobs

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/jetjobs/jetjobs/internal/strictjson"
)

// requestSeeds are inputs on both sides of the plain subset.
var requestSeeds = []string{
	`{"executionId":"e-1","parameters":{"n":1,"s":"x","a":[1,{"b":null}],"t":true,"f":false},"reason":"r","requestId":"q","initiator":"i","metadata":{"k":"v"}}`,
	`{"parameters":{"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}`,
	` {"progressPercentage":5,"message":"m","status":"RUNNING","data":{"k":[]},"error":"e"} `, `{}`, ` { } `,
	`{"EXECUTIONID":"e","Parameters":{}}`, `{"exécution":1}`, "{\"\u212aey\":1}", `{"ex\u0065cutionId":"e"}`,
	`{"executionId":"a","executionId":"b"}`, `{"parameters":{"a":1},"parameters":{"b":2}}`, `{"parameters":{"a":1,"a":"x"}}`,
	`{"executionId":"e"} {}`, `{"executionId":"e"}x`, `null`, `[]`, `"s"`, ``, `{`, `{"executionId":}`, `{"executionId":"e",}`,
	`{"progressPercentage":1.0}`, `{"progressPercentage":9223372036854775808}`, `{"progressPercentage":-0}`, `{"progressPercentage":null}`,
	`{"parameters":{"x":1e400}}`, `{"parameters":{"x":-0.5e-3}}`, `{"parameters":{"x":01}}`, `{"parameters":{"x":.5}}`, `{"parameters":{"x":1.}}`,
	`{"parameters":{"x":"a\"b"}}`, "{\"parameters\":{\"x\":\"\xff\"}}", "{\"parameters\":{\"x\":\"é\"}}", "{\"parameters\":{\"x\":\"\t\"}}",
	`{"metadata":{"a":1}}`, `{"metadata":{"a":null}}`, `{"metadata":null,"parameters":null,"data":null}`, `{"executionId":null}`,
	`{"parameters":{"a":truex}}`, `{"parameters":{"a":nul}}`, `{"parameters":[1]}`, `{"status":1}`, `{"executionId":1}`,
	`{"parameters":{"k":"}\"]"},"metadata":{}}`, `{"parameters":{"a":[1,,2]}}`, `{"parameters":{"a":[1 2]}}`, `{"parameters":{"a":[]}}`,
}

// FuzzDecodeRequest holds DecodeRequest (its plain fast path, decodePlain)
// to strictjson.Decode: the same request, the same error.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref Request
		refErr := strictjson.Decode(data, &ref)
		got, err := DecodeRequest(data)
		if fmt.Sprint(refErr) != fmt.Sprint(err) || reflect.TypeOf(refErr) != reflect.TypeOf(err) {
			t.Fatalf("strictjson: %v (%T), DecodeRequest: %v (%T)", refErr, refErr, err, err)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(&ref, got) {
			t.Fatalf("strictjson read %#v, DecodeRequest %#v", ref, *got)
		}
	})
}

// TestDecodePlainTakesCommands pins that a command's usual data takes the
// fast path (else the fallback would hide a lost lever).
func TestDecodePlainTakesCommands(t *testing.T) {
	t.Parallel()
	for _, s := range requestSeeds[:6] {
		var req Request
		if !decodePlain([]byte(s), &req) {
			t.Errorf("%s: not read by the fast path", s)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	data := []byte(requestSeeds[1])
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeRequest(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strictjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req Request
			if err := strictjson.Decode(data, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
