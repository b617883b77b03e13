package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// This file makes configuration written for the original Spring library
// load unchanged (docs/configuration.md, "Configuration of the original
// library"): its root key, its duration spellings, the nested resiliency
// form.

// SpringRoot is the root key of the original library's properties; a file
// gives either it or `orchestration`, not both.
const SpringRoot = "firefly.data.orchestration"

// springRoot pulls the `firefly.data.orchestration` mapping out of the
// document's root mapping, so that it is decoded as `orchestration`. It
// returns nil when the file has no `firefly` key. Anything else under
// `firefly` is an unknown key, and both roots at once are an error naming
// both.
func (d *decoder) springRoot(root *yaml.Node) *yaml.Node {
	if root.Kind != yaml.MappingNode {
		return nil
	}
	var firefly, ours *yaml.Node
	kept := root.Content[:0:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "firefly" && firefly == nil:
			firefly = v
			continue
		case k.Kind == yaml.ScalarNode && k.Value == "orchestration":
			ours = k
		}
		kept = append(kept, k, v)
	}
	if firefly == nil {
		return nil
	}
	root.Content = kept
	orch := d.springSubtree(firefly)
	if orch != nil && ours != nil {
		d.errorf(ours, "both %q and %q are given: use one of them (they are the same tree)", "orchestration", SpringRoot)
		return nil
	}
	return orch
}

// springSubtree walks firefly -> data -> orchestration, reporting any
// other key on the way as unknown.
func (d *decoder) springSubtree(n *yaml.Node) *yaml.Node {
	path := []string{"firefly", "data", "orchestration"}
	for depth := 1; depth < len(path); depth++ {
		key := strings.Join(path[:depth], ".")
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "%s: expected a mapping, got %s", key, kindName(n))
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			switch {
			case k.Kind == yaml.ScalarNode && k.Value == path[depth] && next == nil:
				next = n.Content[i+1]
			case k.Kind == yaml.ScalarNode && k.Value == path[depth]:
				d.errorf(k, "duplicate key %q", join(key, k.Value))
			default:
				d.errorf(k, "unknown key %q (jetjobs reads only %s)", join(key, k.Value), SpringRoot)
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// nestedGroups are the mappings under `resiliency` that spell the flat
// keys the nested way, as Resilience4j users write them:
// `circuit-breaker: {enabled: true}` is `circuit-breaker-enabled: true`.
var nestedGroups = map[reflect.Type][]string{
	reflect.TypeFor[resilience.Config](): {"circuit-breaker", "retry", "rate-limiter", "bulkhead"},
}

// nested decodes `<group>: {<key>: v}` onto the flat field `<group>-<key>`
// of struct v. It reports false when k is not a group of v's type. The
// flat name goes into seen (with the key as written), so the same field
// given both ways is an error naming both spellings.
func (d *decoder) nested(k, val *yaml.Node, v reflect.Value, key string, fields map[string]int, seen map[string]string) bool {
	isGroup := false
	for _, g := range nestedGroups[v.Type()] {
		isGroup = isGroup || g == k.Value
	}
	if !isGroup || k.Kind != yaml.ScalarNode {
		return false
	}
	group := join(key, k.Value)
	for val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	if isNull(val) {
		return true
	}
	if val.Kind != yaml.MappingNode {
		d.errorf(val, "%s: expected a mapping, got %s", group, kindName(val))
		return true
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		sk, sv := val.Content[i], val.Content[i+1]
		full := join(group, sk.Value)
		flat := k.Value + "-" + sk.Value
		idx, ok := fields[flat]
		if !ok || sk.Kind != yaml.ScalarNode {
			d.errorf(sk, "unknown key %q", full)
			continue
		}
		if prev, dup := seen[flat]; dup {
			d.errorf(sk, "%s and %s set the same key: give one of them", prev, full)
			continue
		}
		seen[flat] = full
		d.value(sv, v.Field(idx), full)
	}
	return true
}

// ParseDuration reads a duration in any of the spellings the original
// library's users write, everywhere a duration is configured (YAML and
// environment):
//
//	Go        30s, 1h30m, 1.5h, 500ms, 0
//	Spring    1d, 30s, 500ms, 5m, 2h, 10us, 100ns (an integer and a unit, case-insensitive)
//	bare      500 = 500ms (an integer without a unit is milliseconds, as Spring reads a Duration)
//	ISO-8601  PT5S, PT1H30M, P1D, P1DT12H, PT0.5S, -PT1M (java.time.Duration: days are 24h)
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if m := springSimpleRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, errDurationRange
		}
		unit := springUnits[strings.ToLower(m[2])]
		if unit == 0 {
			return 0, fmt.Errorf("unknown unit %q (want ns, us, ms, s, m, h or d)", m[2])
		}
		return mulDuration(n, unit)
	}
	if m := isoDurationRE.FindStringSubmatch(s); m != nil && m[0] != "" {
		return isoDuration(m)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration (e.g. 30s, 500ms, 1d, PT5S)")
	}
	return d, nil
}

var errDurationRange = errors.New("duration out of range")

// springSimpleRE is Spring Boot's DurationStyle.SIMPLE: an integer and an
// optional unit of up to two letters.
var springSimpleRE = regexp.MustCompile(`^([+-]?\d+)([a-zA-Z]{0,2})$`)

var springUnits = map[string]time.Duration{
	"": time.Millisecond, "ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// isoDurationRE is java.time.Duration.parse's grammar (PnDTnHnMn.nS, each
// part optional, signs allowed), case-insensitive.
var isoDurationRE = regexp.MustCompile(`(?i)^([-+]?)P(?:([-+]?\d+)D)?(T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?$`)

func isoDuration(m []string) (time.Duration, error) {
	days, hours, mins, secs, frac := m[2], m[4], m[5], m[6], m[7]
	if days == "" && hours == "" && mins == "" && secs == "" {
		return 0, errors.New("ISO-8601 duration without a value (e.g. PT5S)")
	}
	if m[3] != "" && hours == "" && mins == "" && secs == "" {
		return 0, errors.New("ISO-8601 duration with T but no time part (e.g. PT5S)")
	}
	var total time.Duration
	for _, p := range []struct {
		v    string
		unit time.Duration
	}{{days, 24 * time.Hour}, {hours, time.Hour}, {mins, time.Minute}, {secs, time.Second}} {
		if p.v == "" {
			continue
		}
		n, err := strconv.ParseInt(p.v, 10, 64)
		if err != nil {
			return 0, errDurationRange
		}
		d, err := mulDuration(n, p.unit)
		if err != nil {
			return 0, err
		}
		if total, err = addDuration(total, d); err != nil {
			return 0, err
		}
	}
	if frac != "" {
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if strings.HasPrefix(secs, "-") {
			ns = -ns
		}
		var err error
		if total, err = addDuration(total, time.Duration(ns)); err != nil {
			return 0, err
		}
	}
	if m[1] == "-" {
		total = -total
	}
	return total, nil
}

func mulDuration(n int64, unit time.Duration) (time.Duration, error) {
	if n != 0 && (n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit)) {
		return 0, errDurationRange
	}
	return time.Duration(n) * unit, nil
}

func addDuration(a, b time.Duration) (time.Duration, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, errDurationRange
	}
	return s, nil
}

// compat applies what the original library's values mean in jetjobs, after
// normalize, and returns a warning for each value accepted but read
// differently.
func (c *Config) compat() []string {
	var warns []string
	if n := &c.NATS; n.Sync != SyncAlways {
		// nats.sync is a string ("always" or an interval): a Spring or
		// ISO-8601 interval is rewritten in Go's form, which the embedded
		// server's options read.
		if d, err := ParseDuration(n.Sync); err == nil && d > 0 {
			n.Sync = d.String()
		}
	}
	for _, l := range leaves() {
		// Spring expands ${NAME} placeholders; jetjobs reads the
		// environment through JETJOBS_ variables instead. The value is
		// not quoted: it may be meant as a secret.
		f := reflect.ValueOf(c).Elem().FieldByIndex(l.index)
		if f.Kind() == reflect.String && strings.Contains(f.String(), "${") {
			warns = append(warns, fmt.Sprintf("%s: ${…} placeholders are not expanded; set %s in the environment instead",
				l.key, EnvName(l.key)))
		}
	}
	return warns
}

// springKeys renames the keys of validation errors to the root the file
// used, so that an error names the key as it is written there.
func springKeys(err error) error {
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok && strings.HasPrefix(fe.Key, "orchestration.") {
			fe.Key = "firefly.data." + fe.Key
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return err
}
