package config

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jetjobs/jetjobs/internal/urlmask"
)

const mask = "****"

// Masked returns a copy with every non-empty secret replaced by "****",
// including the userinfo of URLs. Use it before printing or logging.
func (c Config) Masked() Config {
	m := c.clone()
	for _, s := range []*string{
		&m.Orchestration.Airflow.Password,
		&m.Orchestration.Airflow.BearerToken,
		&m.Orchestration.AWSStepFunctions.AccessKeyID,
		&m.Orchestration.AWSStepFunctions.SecretAccessKey,
		&m.Orchestration.AWSStepFunctions.SessionToken,
		&m.NATS.Password,
		&m.NATS.Token,
		&m.NATS.NKey,
		&m.HTTP.Auth.APIKeys,
	} {
		if *s != "" {
			*s = mask
		}
	}
	for name, u := range m.NATS.Server.Users {
		if u.Password != "" {
			u.Password = mask
			m.NATS.Server.Users[name] = u
		}
	}
	m.NATS.URL = maskUserinfo(m.NATS.URL)
	m.Orchestration.Airflow.BaseURL = maskUserinfo(m.Orchestration.Airflow.BaseURL)
	m.Orchestration.Observability.OTLPEndpoint = maskUserinfo(m.Orchestration.Observability.OTLPEndpoint)
	m.HTTP.Auth.JWT.JWKSURL = maskUserinfo(m.HTTP.Auth.JWT.JWKSURL)
	c.maskSchedules(&m) // schedules.go
	return m
}

// clone deep-copies the slice and map so a masked copy shares nothing.
func (c Config) clone() Config {
	c.Orchestration.Persistence.ExcludedParameterKeys = slices.Clone(c.Orchestration.Persistence.ExcludedParameterKeys)
	c.HTTP.CORS.AllowedOrigins = slices.Clone(c.HTTP.CORS.AllowedOrigins)
	if c.HTTP.Auth.MTLSPermissions != nil {
		perms := make(map[string][]string, len(c.HTTP.Auth.MTLSPermissions))
		for cn, p := range c.HTTP.Auth.MTLSPermissions {
			perms[cn] = slices.Clone(p)
		}
		c.HTTP.Auth.MTLSPermissions = perms
	}
	c.NATS = c.NATS.clone()
	if c.Jobs != nil {
		jobs := maps.Clone(c.Jobs)
		for name, j := range jobs {
			if j.Orchestrated != nil {
				o := *j.Orchestrated
				j.Orchestrated = &o
				jobs[name] = j
			}
		}
		c.Jobs = jobs
	}
	return c
}

// maskUserinfo hides the user-info of each URL in a comma-separated list
// (nats.url may list several servers).
func maskUserinfo(s string) string { return urlmask.Userinfo(s, mask) }

// YAML renders the configuration in the file's own format (durations as
// "24h", lists comma-separated), so the output loads back unchanged.
// Call Masked first when the output is shown to anyone.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(encode(reflect.ValueOf(c))); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return buf.Bytes(), nil
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func encode(v reflect.Value) *yaml.Node {
	if v.Type() == durationType {
		return scalar("!!str", formatDuration(time.Duration(v.Int())))
	}
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := range v.NumField() {
			name := yamlName(v.Type().Field(i))
			f := v.Field(i)
			if name == "" || (f.Kind() == reflect.Pointer && f.IsNil()) || emptyList(f) {
				continue
			}
			n.Content = append(n.Content, scalar("!!str", name), encode(f))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			n.Content = append(n.Content, scalar("!!str", k.String()), encode(v.MapIndex(k)))
		}
		return n
	case reflect.Pointer:
		return encode(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return encodeSeq(v) // jobs.<name>.schedules, lists in parameters
		}
		return scalar("!!str", strings.Join(v.Convert(reflect.TypeOf([]string(nil))).Interface().([]string), ","))
	case reflect.Interface:
		if v.IsNil() {
			return scalar("!!null", "null")
		}
		return encode(v.Elem())
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		s := strconv.FormatFloat(v.Float(), 'f', -1, 64)
		if !strings.ContainsAny(s, ".eEIN") {
			s += ".0" // 50.0, as documented, not 50
		}
		return scalar("!!float", s)
	default:
		return scalar("!!str", v.String())
	}
}

// emptyList is an empty list of anything but strings (no schedules) or a
// nil map (no parameters), left
// out so that the output loads back as it was.
func emptyList(v reflect.Value) bool {
	return (v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.String && v.Len() == 0) ||
		(v.Kind() == reflect.Map && v.IsNil() && v.Type().Elem().Kind() != reflect.Struct)
}

// encodeSeq writes a list of anything but strings as a YAML sequence.
func encodeSeq(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i := range v.Len() {
		n.Content = append(n.Content, encode(v.Index(i)))
	}
	return n
}

// formatDuration writes 24h, 2m, 1m30s instead of 24h0m0s, 2m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// clone deep-copies the nats tree's lists and users.
func (n NATS) clone() NATS {
	n.ReplyPrefixes = slices.Clone(n.ReplyPrefixes)
	n.RedeliveryBackoff = slices.Clone(n.RedeliveryBackoff)
	if n.Server.Users != nil {
		users := make(map[string]NATSUser, len(n.Server.Users))
		for name, u := range n.Server.Users {
			u.Publish, u.Subscribe = slices.Clone(u.Publish), slices.Clone(u.Subscribe)
			users[name] = u
		}
		n.Server.Users = users
	}
	return n
}
