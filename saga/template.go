package saga

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Parameter templates: a string value "${input.customers.file}" is replaced
// by that value (keeping its type); "${...}" inside a longer string is
// replaced by its text. References:
//
//	${saga} ${sagaId}
//	${input} ${input.a.b}          the saga's input (a number token indexes an array)
//	${steps.NAME.executionId}      a completed step's execution id
//	${steps.NAME.result} ${steps.NAME.result.a.b}
//
// A reference to a value that is not there gives null (absent for the job)
// or "" inside a longer string. "$${" writes a literal "${".

// ref is a parsed reference.
type ref struct {
	root string // saga, sagaId, input, steps
	step string // for steps
	path []string
}

func parseRef(s string) (ref, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	bad := fmt.Errorf("${%s}: unknown reference (want saga, sagaId, input[.path], steps.<step>.executionId or steps.<step>.result[.path])", s)
	for _, p := range parts {
		if p == "" {
			return ref{}, bad
		}
	}
	switch parts[0] {
	case "saga", "sagaId":
		if len(parts) == 1 {
			return ref{root: parts[0]}, nil
		}
	case "input":
		return ref{root: "input", path: parts[1:]}, nil
	case "steps":
		if len(parts) == 3 && parts[2] == "executionId" {
			return ref{root: "steps", step: parts[1], path: parts[2:]}, nil
		}
		if len(parts) >= 3 && parts[2] == "result" {
			return ref{root: "steps", step: parts[1], path: parts[2:]}, nil
		}
	}
	return ref{}, bad
}

// resolve looks a reference up in a scope; ok is false when the value is
// not there.
func (r ref) resolve(s Scope) (any, bool) {
	switch r.root {
	case "saga":
		return s.Saga, true
	case "sagaId":
		return s.SagaID, true
	case "input":
		return walk(s.Input, r.path)
	}
	out, ok := s.Steps[r.step]
	if !ok {
		return nil, false
	}
	if r.path[0] == "executionId" {
		return out.ExecutionID, true
	}
	return walk(out.Result, r.path[1:])
}

func walk(v any, path []string) (any, bool) {
	if v == nil {
		return nil, false
	}
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

// render builds parameters from a template map.
func render(params map[string]any, s Scope) (map[string]any, error) {
	if params == nil {
		return nil, nil
	}
	out, err := renderValue(params, s)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func renderValue(v any, s Scope) (any, error) {
	switch c := v.(type) {
	case string:
		return renderString(c, s)
	case map[string]any:
		out := make(map[string]any, len(c))
		for k, e := range c {
			r, err := renderValue(e, s)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(c))
		for i, e := range c {
			r, err := renderValue(e, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func renderString(str string, s Scope) (any, error) {
	if !strings.Contains(str, "${") {
		return str, nil
	}
	// A value that is exactly one reference keeps the referenced type.
	if strings.HasPrefix(str, "${") && strings.Index(str, "}") == len(str)-1 {
		r, err := parseRef(str[2 : len(str)-1])
		if err != nil {
			return nil, err
		}
		v, _ := r.resolve(s)
		return v, nil
	}
	var b strings.Builder
	for rest := str; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' { // "$${" is a literal "${"
			b.WriteString(rest[:i-1] + "${")
			rest = rest[i+2:]
			continue
		}
		b.WriteString(rest[:i])
		end := strings.Index(rest[i:], "}")
		if end < 0 {
			return nil, fmt.Errorf("%q: unclosed ${", str)
		}
		r, err := parseRef(rest[i+2 : i+end])
		if err != nil {
			return nil, err
		}
		if v, ok := r.resolve(s); ok {
			b.WriteString(text(v))
		}
		rest = rest[i+end+1:]
	}
	return b.String(), nil
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// templateRefs lists the references in a template map (for Validate).
func templateRefs(v any) []string {
	var out []string
	switch c := v.(type) {
	case string:
		for rest := c; ; {
			i := strings.Index(rest, "${")
			if i < 0 {
				break
			}
			end := strings.Index(rest[i:], "}")
			if i > 0 && rest[i-1] == '$' {
				rest = rest[i+2:]
				continue
			}
			if end < 0 {
				out = append(out, rest[i+2:]) // unclosed: parseRef reports it
				break
			}
			out = append(out, rest[i+2:i+end])
			rest = rest[i+end+1:]
		}
	case map[string]any:
		for _, k := range sortedKeys(c) {
			out = append(out, templateRefs(c[k])...)
		}
	case []any:
		for _, e := range c {
			out = append(out, templateRefs(e)...)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
