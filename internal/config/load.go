package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

const envPrefix = "JETJOBS_"

// EnvConfigFile and EnvSagasFile are the JETJOBS_ variables that are not
// keys: cmd/engine takes the configuration file and the saga definitions
// file from them, and Load ignores them.
const (
	EnvConfigFile = "JETJOBS_CONFIG"
	EnvSagasFile  = "JETJOBS_SAGAS"
)

var durationType = reflect.TypeFor[time.Duration]()

// EnvName is the environment variable that overrides key:
// "orchestration.default-timeout" -> "JETJOBS_ORCHESTRATION_DEFAULT_TIMEOUT".
func EnvName(key string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// Load builds the configuration: Default, then the YAML file at path (none
// when path is ""), then the JETJOBS_ variables in env (os.Environ() form,
// later entries win), then Validate. All problems of the file and the
// environment are reported at once, each naming its key; validation runs
// only when those two are clean.
func Load(path string, env []string) (_ Config, err error) {
	c := Default()
	var fileErr error
	if path != "" {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return Config{}, fmt.Errorf("config: %w", rerr)
		}
		var spring bool
		spring, fileErr = decodeYAML(data, &c)
		defer func() {
			if spring && err != nil {
				err = springKeys(err)
			}
			if spring {
				for i, w := range c.Warnings {
					if strings.HasPrefix(w, "orchestration.") {
						c.Warnings[i] = "firefly.data." + w
					}
				}
			}
		}()
	}
	// File and env problems are reported together: one fix-and-retry cycle.
	if err := errors.Join(fileErr, applyEnv(env, &c)); err != nil {
		return Config{}, err
	}
	c.normalize()
	c.Warnings = c.compat()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// normalize canonicalizes case-insensitive enums, so the rest of the engine
// compares against the constants only.
func (c *Config) normalize() {
	o := &c.Orchestration
	o.OrchestratorType = strings.ToUpper(strings.TrimSpace(o.OrchestratorType))
	o.Airflow.AuthenticationType = strings.ToUpper(strings.TrimSpace(o.Airflow.AuthenticationType))
	o.Observability.TracingExporter = strings.ToLower(strings.TrimSpace(o.Observability.TracingExporter))
	c.HTTP.Auth.Mode = strings.ToLower(strings.TrimSpace(c.HTTP.Auth.Mode))
	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	if strings.EqualFold(strings.TrimSpace(c.NATS.Sync), SyncAlways) {
		c.NATS.Sync = SyncAlways
	}
	if len(c.HTTP.Auth.MTLSPermissions) == 0 {
		c.HTTP.Auth.MTLSPermissions = nil
	}
	c.NATS.Server.Auth = strings.ToLower(strings.TrimSpace(c.NATS.Server.Auth))
	if strings.EqualFold(strings.TrimSpace(c.NATS.Listen), NATSListenOff) {
		c.NATS.Listen = NATSListenOff
	}
	if len(c.NATS.Server.Users) == 0 {
		c.NATS.Server.Users = nil
	}
	if len(c.Jobs) == 0 {
		c.Jobs = nil // `jobs: {}` and no jobs at all are the same config
	}
	c.normalizeOrchestrated()
}

// decodeYAML overlays the YAML document in data onto c. It walks the node
// tree itself (instead of yaml.Unmarshal) so that every unknown key and bad
// value is reported with its full dotted key.
//
// The original library's root `firefly.data.orchestration` is read as
// `orchestration`; spring reports that the file used it.
func decodeYAML(data []byte, c *Config) (spring bool, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil // empty file: defaults
		}
		return false, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return false, fmt.Errorf("config: %w", err)
		}
		return false, fmt.Errorf("config: only one YAML document is allowed (line %d)", extra.Line)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return false, nil
		}
		root = doc.Content[0]
	}
	var d decoder
	orch := d.springRoot(root)
	d.value(root, reflect.ValueOf(c).Elem(), "")
	if orch != nil {
		d.value(orch, reflect.ValueOf(&c.Orchestration).Elem(), SpringRoot)
	}
	return orch != nil, errors.Join(d.errs...)
}

type decoder struct{ errs []error }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("config: "+format+" (line %d)", append(args, n.Line)...))
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case v.Kind() == reflect.Struct:
		d.structure(n, v, key)
	case v.Kind() == reflect.Map:
		d.mapping(n, v, key)
	case v.Kind() == reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), key)
	case v.Kind() == reflect.Interface:
		d.anyValue(n, v, key) // jobs.<name>.schedules[i].parameters values
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		d.structList(n, v, key) // jobs.<name>.schedules
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		var list []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				d.errorf(item, "%s: expected a list of strings, got %s in it", key, kindName(item))
				return
			}
			if s := strings.TrimSpace(item.Value); s != "" {
				list = append(list, s)
			}
		}
		v.Set(reflect.ValueOf(list))
	case n.Kind != yaml.ScalarNode:
		d.errorf(n, "%s: expected a single value, got %s", key, kindName(n))
	default:
		if err := setScalar(v, n.Value, isNull(n)); err != nil {
			d.errorf(n, "%s: %v", key, err)
		}
	}
}

// structList decodes a list of mappings, each onto a struct, naming an
// entry key[i] in errors.
func (d *decoder) structList(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list, got %s", key, kindName(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.structure(item, list.Index(i), fmt.Sprintf("%s[%d]", key, i))
	}
	v.Set(list)
}

// anyValue decodes free-form YAML (a job's parameters) as YAML reads it.
func (d *decoder) anyValue(n *yaml.Node, v reflect.Value, key string) {
	var x any
	if err := n.Decode(&x); err != nil {
		d.errorf(n, "%s: %v", key, err)
		return
	}
	if x == nil {
		v.SetZero()
		return
	}
	v.Set(reflect.ValueOf(x))
}

// structure decodes a mapping onto a struct; absent keys keep their value,
// so a file only needs the keys it changes.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return // `airflow:` with nothing under it
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", key, kindName(n))
		return
	}
	fields := fieldIndex(v.Type())
	seen := map[string]string{} // field name -> the key that set it, as written
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := join(key, k.Value)
		if prev, dup := seen[k.Value]; dup {
			if prev == full {
				d.errorf(k, "duplicate key %q", full)
			} else {
				d.errorf(k, "%s and %s set the same key: give one of them", prev, full)
			}
			continue
		}
		seen[k.Value] = full
		if d.nested(k, val, v, key, fields, seen) {
			continue // resiliency.circuit-breaker.enabled and the like (compat.go)
		}
		idx, ok := fields[k.Value]
		if !ok || k.Kind != yaml.ScalarNode {
			d.errorf(k, "unknown key %q", full)
			continue
		}
		d.value(val, v.Field(idx), full)
	}
}

// mapping decodes the jobs map; the names are checked by Validate.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", key, kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := join(key, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: expected a name as key, got %s", key, kindName(k))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q", full)
			continue
		}
		seen[k.Value] = true
		name := reflect.ValueOf(k.Value)
		elem := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(name); old.IsValid() {
			elem.Set(old)
		}
		d.value(val, elem, full)
		v.SetMapIndex(name, elem)
	}
}

// fieldIndex maps yaml tag names to field indexes of struct type t.
func fieldIndex(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag := yamlName(t.Field(i)); tag != "" {
			m[tag] = i
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// setScalar parses s into v by v's type. YAML and env share it, so both
// accept exactly the same spellings.
func setScalar(v reflect.Value, s string, null bool) error {
	s = strings.TrimSpace(s)
	if v.Kind() == reflect.String {
		v.SetString(s) // a null string value is ""
		return nil
	}
	if v.Kind() == reflect.Slice {
		v.Set(reflect.ValueOf(splitList(s)))
		return nil
	}
	if null {
		return errors.New("missing value")
	}
	switch {
	case v.Type() == durationType:
		d, err := ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %v", s, err)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return fmt.Errorf("invalid bool %q (want true or false)", s)
		}
		v.SetBool(b)
	case v.CanInt():
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("integer %q out of range", s)
			}
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(i)
	case v.CanFloat():
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type()) // a programming error in types.go
	}
	return nil
}

// parseBool accepts strconv's spellings plus the YAML 1.1 ones that
// Spring users write (yes/no/on/off).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "on":
		return true, true
	case "no", "off":
		return false, true
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// splitList reads a comma-separated list; blanks are dropped.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// leaf is a settable key below Config, reached by a field index path.
type leaf struct {
	key   string
	index []int
}

// leaves lists every leaf key outside the jobs map, in struct order.
var leaves = sync.OnceValue(func() []leaf {
	var out []leaf
	var walk func(t reflect.Type, key string, index []int)
	walk = func(t reflect.Type, key string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, join(key, name), idx)
			case f.Type.Kind() == reflect.Map, f.Type.Kind() == reflect.Pointer:
				// jobs.<name>: set from the file only
			default:
				out = append(out, leaf{join(key, name), idx})
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
})

// applyEnv overrides leaf keys from JETJOBS_ variables.
func applyEnv(env []string, c *Config) error {
	byEnv := make(map[string]leaf, len(leaves()))
	for _, l := range leaves() {
		byEnv[EnvName(l.key)] = l
	}
	root := reflect.ValueOf(c).Elem()
	var errs []error
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || name == EnvConfigFile || name == EnvSagasFile {
			continue
		}
		l, found := byEnv[name]
		if !found {
			errs = append(errs, fmt.Errorf("config: environment variable %s matches no key (jobs.* can be set in the file only)", name))
			continue
		}
		if err := setScalar(root.FieldByIndex(l.index), val, false); err != nil {
			errs = append(errs, fmt.Errorf("config: %s (%s): %v", name, l.key, err))
		}
	}
	return errors.Join(errs...)
}
