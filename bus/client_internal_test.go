package bus

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// responseSeeds are replies a decoder could read differently: invalid
// UTF-8, lone surrogates, duplicate and differently cased keys, numbers
// that do not fit, nulls, trailing bytes.
var responseSeeds = []string{
	`{"success":true,"status":"SUCCEEDED","executionId":"e1","message":"ok","stage":"EXECUTE","progressPercentage":100,` +
		`"timestamp":"2026-12-07T22:00:00.123456789Z","data":{"a":1,"b":[1,2,{"c":null}],"d":"x"},"metadata":{"k":"v"},"error":null}`,
	"{\"message\":\"\xff\xfe\"}",
	`{"message":"\ud800"}`,
	`{"message":"\ud83d\ude00 \u003c\u0026"}`,
	`{"success":true,"success":false}`,
	`{"SUCCESS":true,"ExecutionId":"x","eRRor":"e"}`,
	`{"progressPercentage":1.5}`,
	`{"progressPercentage":1e2}`,
	`{"progressPercentage":99999999999999999999}`,
	`{"data":{"n":12345678901234567890,"f":1e400}}`,
	`{"success":null,"error":null,"data":null,"metadata":null,"timestamp":null}`,
	`{"timestamp":"garbage"}`,
	`{"timestamp":"2026-12-07T22:00:00+01:00"}`,
	`{"success":true} x`,
	`{"success":true}}`,
	`{"success":tru}`,
	`{"metadata":{"a":1}}`,
	`{"data":{"a":01}}`,
	`{"message":"a\u0000b\tc"}`,
	"{\"message\":\"raw\ttab\"}",
	`[]`,
	`null`,
	`{"data":{"a":1},"data":{"b":2}}`,
	`{"metadata":{"a":"1"},"metadata":{"b":"2"}}`,
	` {"success":true} `,
	`{"success":true,}`,
	`{"success":"true"}`,
	`{"progressPercentage":"5"}`,
	`{"unknown":{"deep":[1,{"x":"y"}]},"success":true}`,
	`{"succ\u0065ss":true,"m\u0065ssage":"esc"}`,
	`{"ſuccess":true,"meſſage":"long s","\u017fuccess":true}`,
	`{"data":{"k\u0065y":"v","a\"b":1}}`,
	`{"error":"x","error":null}`,
	`{"data":[],"metadata":[]}`,
	`{"data":{"a":{"b":{"c":{"d":{"e":[[[[[]]]]]}}}}}}`,
}

// The fast decoder of replies reads every reply as encoding/json does: the
// same response when both accept it, and when it refuses one the full
// path (encoding/json) answers.
func FuzzResponseDecodersAgree(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var std, fast jobs.Response
		errStd := json.Unmarshal(body, &std)
		errFast := unmarshalResponse(body, &fast)
		if errFast == nil && errStd != nil {
			t.Fatalf("%q: the fast decoder accepts what encoding/json refuses (%v): %+v", body, errStd, fast)
		}
		if errFast == nil && !reflect.DeepEqual(std, fast) {
			t.Fatalf("%q:\nencoding/json %+v\nfast          %+v", body, std, fast)
		}
	})
}

// A no-op EXECUTE's reply, as the engine writes it.
var benchReply = []byte(`{"success":true,"status":"COMPLETED","executionId":"0c4c7f4e-0b7e-4c1a-9a4e-6f1e2d3c4b5a",` +
	`"message":"ok","stage":"EXECUTE","progressPercentage":100,"timestamp":"2026-12-07T22:00:00.123456789Z","error":null}`)

func BenchmarkUnmarshalResponse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var r jobs.Response
		if err := unmarshalResponse(benchReply, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// The EXECUTE command of a REST call with a small parameter object.
var benchRequest = &jobs.Request{Parameters: map[string]any{"customer": "c-42", "amount": 12.5, "note": strings.Repeat("x", 80)},
	RequestID: "host/abcdefghij-000001", Initiator: "anonymous"}

// BenchmarkCommandMsg is Send's encoding of a command into a pooled
// message (the headers and body TestCommandEncodingMatchesSDK holds equal
// to the SDK's).
func BenchmarkCommandMsg(b *testing.B) {
	c := NewClient(nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, m, err := c.commandMsg(ctx, "jobs.cmd.x.execute", "x", jobs.StageExecute, benchRequest,
			SendOptions{ReplyTo: "_INBOX.abc.1"}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
	}
}
