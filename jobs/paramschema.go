package jobs

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// WithParamsOf declares the parameters of the job from the struct A its
// parameters decode into (see ParamSpecsOf).
func WithParamsOf[A any]() Option {
	return WithParams(ParamSpecsOf[A]()...)
}

// ParamSpecsOf derives parameter specs from the fields of struct A as
// encoding/json sees them: the name is the `json` tag's, the type the
// field's JSON type, Required a `validate:"required"` tag, Enum a
// `validate:"oneof=a b"` tag, Description a `description:"…"` tag. Fields
// of embedded structs count as the outer struct's. nil when A is not a
// struct.
func ParamSpecsOf[A any]() []ParamSpec {
	t := reflect.TypeFor[A]()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return specsOf(t)
}

func specsOf(t reflect.Type) []ParamSpec {
	var out []ParamSpec
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := jsonName(f)
		if !ok {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && f.Tag.Get("json") == "" && ft.Kind() == reflect.Struct {
			out = append(out, specsOf(ft)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		spec := ParamSpec{Name: name, Type: jsonType(f.Type), Description: f.Tag.Get("description")}
		for _, rule := range strings.Split(f.Tag.Get("validate"), ",") {
			switch {
			case rule == "required":
				spec.Required = true
			case strings.HasPrefix(rule, "oneof="):
				spec.Enum = strings.Fields(strings.TrimPrefix(rule, "oneof="))
			}
		}
		out = append(out, spec)
	}
	return out
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// jsonType is the JSON Schema type of a Go type as encoding/json writes it
// ("" for an interface: any JSON value).
func jsonType(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "object"
	}
	if t == timeType {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		if t.Kind() == reflect.Struct && t.Implements(marshalerType) {
			return "string"
		}
		return "object"
	case reflect.Interface:
		return "" // any JSON value
	}
	return "string"
}
