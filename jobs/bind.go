package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Bind decodes the request's parameters into args, a pointer to a struct,
// strictly: a parameter the struct has no field for is refused, a value of
// the wrong JSON type is refused (an int field takes a JSON number without
// a fraction, so 1.5 is refused), and the struct's `validate` tags are
// checked (github.com/go-playground/validator/v10: required, min, max,
// oneof, email, …). Fields are named by their `json` tag, as the caller
// wrote them.
//
// Every refusal is a *ParamError naming the parameter (CodeInvalidParameter:
// REST 422, success=false on NATS), e.g. `parameter "batchSize" must be an
// integer, got string`. Fields args already holds are kept when the
// parameter is absent: set defaults before calling Bind.
//
// Stages after START see the parameters as stored, with sensitive values
// masked (docs/configuration.md, sanitization): bind those in START.
func (r *Request) Bind(args any) error {
	rv := reflect.ValueOf(args)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return Permanent(Errorf(CodeInternal, "Bind wants a non-nil pointer to a struct, got %T", args))
	}
	raw, err := json.Marshal(r.Parameters)
	if err != nil {
		return &ParamError{Name: "parameters", Problem: "cannot be read: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	t := rv.Elem().Type()
	if err := dec.Decode(args); err != nil {
		return decodeParamError(t, err)
	}
	if err := paramValidator().Struct(args); err != nil {
		return validationParamError(t, err)
	}
	return nil
}

// paramPath turns the dotted path of a field, as encoding/json and the
// validator write it, into the caller's: the segments that name an
// embedded struct (whose fields JSON flattens) are dropped.
func paramPath(t reflect.Type, path string) string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out = append(out, seg)
			t = nil
			continue
		}
		var next reflect.Type
		embedded := false
		for i := range t.NumField() {
			f := t.Field(i)
			if name, ok := jsonName(f); ok && name == seg {
				next = f.Type
				embedded = f.Anonymous && f.Tag.Get("json") == ""
				break
			}
		}
		if !embedded {
			out = append(out, seg)
		}
		t = next
	}
	return strings.Join(out, ".")
}

// paramValidator names fields by their json tag.
var paramValidator = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _ := jsonName(f)
		return name
	})
	return v
})

// jsonName is the name encoding/json gives a field, and false for a field
// it skips.
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

func decodeParamError(t reflect.Type, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name := paramPath(t, te.Field)
		if name == "" {
			name = "parameters"
		}
		return &ParamError{Name: name, Problem: fmt.Sprintf("must be %s, got %s", article(jsonType(te.Type)), te.Value)}
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ParamError{Name: strings.Trim(field, `"`), Problem: "is not a parameter of this job"}
	}
	return &ParamError{Name: "parameters", Problem: "cannot be read: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func validationParamError(t reflect.Type, err error) error {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return &ParamError{Name: "parameters", Problem: "are invalid: " + err.Error()}
	}
	fe := ves[0]
	name := fe.Namespace()
	if _, rest, ok := strings.Cut(name, "."); ok {
		name = paramPath(t, rest) // without the struct's own name
	}
	var problem string
	switch fe.Tag() {
	case "required":
		problem = "is required"
	case "min", "gte":
		problem = "must be at least " + fe.Param()
	case "max", "lte":
		problem = "must be at most " + fe.Param()
	case "gt":
		problem = "must be more than " + fe.Param()
	case "lt":
		problem = "must be less than " + fe.Param()
	case "oneof":
		problem = "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	default:
		problem = "fails " + strings.TrimSuffix(fe.Tag()+"="+fe.Param(), "=")
	}
	if k := fe.Kind(); (fe.Tag() == "min" || fe.Tag() == "max") && (k == reflect.String || k == reflect.Slice || k == reflect.Map) {
		problem = strings.Replace(problem, "must be", "must have a length", 1)
	}
	return &ParamError{Name: name, Problem: problem}
}

func article(t string) string {
	switch t {
	case "integer", "object", "array":
		return "an " + t
	}
	return "a " + t
}

// Typed is what a job with typed parameters has: their schema, for the
// OpenAPI document and the console (Registry.Register fills
// JobOptions.Params from it when WithParams is not given).
type Typed interface {
	ParamSpecs() []ParamSpec
}

// Params gives an async job typed parameters of type A: embed it beside
// AsyncDefaults, and read the parameters with Args. The job's parameter
// schema is derived from A.
//
//	type Import struct {
//		jobs.AsyncDefaults
//		jobs.Params[ImportArgs]
//	}
//	func (j *Import) Start(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
//		args, err := j.Args(req)
//		…
type Params[A any] struct{}

// Args decodes the request's parameters into an A (see Request.Bind).
func (Params[A]) Args(req *Request) (A, error) {
	var a A
	err := req.Bind(&a)
	return a, err
}

// ParamSpecs is the schema of A.
func (Params[A]) ParamSpecs() []ParamSpec { return ParamSpecsOf[A]() }

// SyncOf makes a sync job of a function taking typed parameters: the
// parameters are decoded into an A (Request.Bind) before fn runs, and a
// refusal answers 422 naming the parameter without calling fn. The job's
// parameter schema is derived from A.
func SyncOf[A any](fn func(ctx context.Context, req *Request, args A) (*Response, error)) SyncJob {
	return typedSync[A]{fn: fn}
}

type typedSync[A any] struct {
	Params[A]
	fn func(context.Context, *Request, A) (*Response, error)
}

var _ interface {
	SyncJob
	Typed
} = typedSync[struct{}]{}

func (j typedSync[A]) Execute(ctx context.Context, req *Request) (*Response, error) {
	args, err := j.Args(req)
	if err != nil {
		return nil, err
	}
	return j.fn(ctx, req, args)
}
