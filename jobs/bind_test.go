package jobs_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

type bindBase struct {
	Tenant string `json:"tenant" validate:"required"`
}

type bindArgs struct {
	bindBase
	BatchSize int              `json:"batchSize" validate:"min=1"`
	Rate      float64          `json:"rate"`
	Dry       *bool            `json:"dry"`
	Tags      []string         `json:"tags" validate:"max=2"`
	Target    struct{ DB int } `json:"target"`
	Extra     any              `json:"extra"`
	internal  int
}

func TestBind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		params  map[string]any
		want    int    // BatchSize after Bind
		wantErr string // "" when Bind succeeds
	}{
		{"ok", map[string]any{"tenant": "a", "batchSize": float64(5), "rate": 0.5, "dry": true}, 5, ""},
		{"default kept when absent", map[string]any{"tenant": "a"}, 10, ""},
		{"nil parameters miss the required", nil, 10, `parameter "tenant" is required`},
		{"string for int", map[string]any{"tenant": "a", "batchSize": "5"}, 0, `parameter "batchSize" must be an integer, got string`},
		{"fraction for int", map[string]any{"tenant": "a", "batchSize": 1.5}, 0, `parameter "batchSize" must be an integer, got number 1.5`},
		{"nested field named by path", map[string]any{"tenant": "a", "target": map[string]any{"DB": "x"}}, 0, `parameter "target.DB" must be an integer, got string`},
		{"unknown field", map[string]any{"tenant": "a", "bogus": 1}, 0, `parameter "bogus" is not a parameter of this job`},
		{"rule", map[string]any{"tenant": "a", "batchSize": float64(0)}, 0, `parameter "batchSize" must be at least 1`},
		{"length rule", map[string]any{"tenant": "a", "tags": []any{"x", "y", "z"}}, 0, `parameter "tags" must have a length at most 2`},
		{"bool for string", map[string]any{"tenant": true}, 0, `parameter "tenant" must be a string, got bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := bindArgs{BatchSize: 10}
			err := (&jobs.Request{Parameters: tt.params}).Bind(&args)
			if tt.wantErr == "" {
				if err != nil || args.BatchSize != tt.want {
					t.Fatalf("Bind = %v, batchSize %d; want nil, %d", err, args.BatchSize, tt.want)
				}
				return
			}
			var pe *jobs.ParamError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &pe) || jobs.CodeOf(err) != jobs.CodeInvalidParameter {
				t.Fatalf("Bind = %v, want the ParamError %q", err, tt.wantErr)
			}
		})
	}
}

func TestBindWantsAStructPointer(t *testing.T) {
	t.Parallel()
	for _, target := range []any{nil, bindArgs{}, new(int), (*bindArgs)(nil)} {
		if err := (&jobs.Request{}).Bind(target); jobs.CodeOf(err) != jobs.CodeInternal || !jobs.IsPermanent(err) {
			t.Errorf("Bind(%T) = %v, want a permanent internal error", target, err)
		}
	}
}

func TestParamSpecsOf(t *testing.T) {
	t.Parallel()
	want := []jobs.ParamSpec{
		{Name: "tenant", Type: "string", Required: true},
		{Name: "batchSize", Type: "integer"},
		{Name: "rate", Type: "number"},
		{Name: "dry", Type: "boolean"},
		{Name: "tags", Type: "array"},
		{Name: "target", Type: "object"},
		{Name: "extra", Type: ""},
	}
	if got := jobs.ParamSpecsOf[bindArgs](); !reflect.DeepEqual(got, want) {
		t.Fatalf("ParamSpecsOf = %+v\nwant %+v", got, want)
	}
	if got := jobs.ParamSpecsOf[int](); got != nil {
		t.Fatalf("ParamSpecsOf[int] = %+v, want nil", got)
	}
	// WithParams given explicitly wins over the derived schema.
	r := jobs.NewRegistry()
	r.MustRegister("typed", jobs.SyncOf(func(_ context.Context, _ *jobs.Request, _ bindArgs) (*jobs.Response, error) {
		return jobs.OK("", nil), nil
	}), jobs.WithParams(jobs.ParamSpec{Name: "only", Type: "string"}))
	if def, _ := r.Lookup("typed"); len(def.Params()) != 1 || def.Params()[0].Name != "only" {
		t.Fatalf("Params = %+v, want the declared one", def.Params())
	}
}
