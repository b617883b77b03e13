package saga

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTemplates(t *testing.T) {
	t.Parallel()
	s := Scope{Saga: "s", SagaID: "id1", Input: map[string]any{"n": 3, "obj": map[string]any{"list": []any{"x", "y"}}},
		Steps: map[string]StepOutput{"a": {ExecutionID: "id1-a", Result: map[string]any{"count": 12.0, "name": "ann"}}}}
	got, err := render(map[string]any{
		"whole":   "${steps.a.result.count}",
		"typed":   "${input.n}",
		"text":    "${steps.a.result.name} has ${steps.a.result.count} (${steps.a.executionId}) in ${saga}/${sagaId}",
		"index":   "${input.obj.list.1}",
		"missing": "${input.nope}",
		"blank":   "[${input.nope}]",
		"escaped": "$${input.n} stays",
		"nested":  map[string]any{"l": []any{"${input.n}", 1}},
		"plain":   false,
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"whole": 12.0, "typed": 3, "text": "ann has 12 (id1-a) in s/id1", "index": "y",
		"missing": nil, "blank": "[]", "escaped": "${input.n} stays", "nested": map[string]any{"l": []any{3, 1}}, "plain": false}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("render\n got %#v\nwant %#v", got, want)
	}
	for _, bad := range []string{"${steps.a}", "${nope}", "${input..x}", "${steps.a.other}", "x ${input"} {
		if _, err := render(map[string]any{"p": bad}, s); err == nil {
			t.Fatalf("render(%q) succeeded", bad)
		}
	}
}

func TestValidateNamesBadKeys(t *testing.T) {
	t.Parallel()
	d := &Definition{Name: "Bad Name", Compensation: "sometimes", Steps: []Step{
		{Name: "a", Job: "work", Mode: "later", Timeout: -time.Second},
		{Name: "a", Job: "Work!"},
		{Name: "c", Job: "work", DependsOn: []string{"zz"}, Parameters: map[string]any{"p": "${steps.a.result.x}"}},
		{Name: "d", Job: "work", DependsOn: []string{}, Parameters: map[string]any{"p": "${steps.c.result.x}"},
			Retry: Retry{MaxAttempts: -1, Jitter: 2}, Compensate: &Compensation{Job: "undo", Parameters: map[string]any{"p": "${bad}"}}},
	}}
	err := d.Validate()
	if err == nil {
		t.Fatal("invalid definition passed")
	}
	for _, want := range []string{
		"sagas[Bad Name].name: invalid saga name", "sagas[Bad Name].compensation: unknown policy",
		"steps[a].mode: unknown mode", "steps[a].timeout: must be >= 0",
		`steps[a].name: step "a" is defined twice`, "steps[a].job: invalid job name",
		`steps[c].dependsOn: "zz" is not a step listed before`,
		`steps[d].parameters: ${steps.c.result.x}: step "c" does not come before "d"`,
		"steps[d].retry.maxAttempts: must be >= 1", "steps[d].retry.jitter", "steps[d].compensate.parameters: ${bad}",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDependsOnDefaultsAndLayers(t *testing.T) {
	t.Parallel()
	d := &Definition{Name: "dag", Steps: []Step{
		{Name: "a", Job: "j"}, {Name: "b", Job: "j"}, {Name: "r", Job: "j", DependsOn: []string{}},
		{Name: "z", Job: "j", DependsOn: []string{"b", "r"}, Compensate: &Compensation{Job: "u"}},
	}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Steps[1].DependsOn, []string{"a"}) || len(d.Steps[2].DependsOn) != 0 {
		t.Fatalf("dependsOn: %v", d)
	}
	if d.layer("a") != 0 || d.layer("b") != 1 || d.layer("r") != 0 || d.layer("z") != 2 {
		t.Fatalf("layers a=%d b=%d r=%d z=%d", d.layer("a"), d.layer("b"), d.layer("r"), d.layer("z"))
	}
	if r := d.Steps[3].Compensate.Retry; r.MaxAttempts != 3 || r.Backoff != time.Second || d.Steps[0].Retry.MaxAttempts != 1 {
		t.Fatalf("retry defaults: %+v / %+v", r, d.Steps[0].Retry)
	}
	in := newInstance(d, "x", nil, asyncMode, t0)
	wantRunning(t, in, "a", "r") // two roots start together
}

func TestLoadExampleYAML(t *testing.T) {
	t.Parallel()
	defs, err := LoadDefinitionsFile("../deploy/sagas.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 || defs[0].Name != "customer-onboarding" || defs[1].Compensation != GroupedParallel {
		t.Fatalf("definitions: %v", defs)
	}
	c := defs[0].Steps[0]
	if c.Timeout != 10*time.Minute || c.Compensate.Job != "customer-purge" || !c.Compensate.Critical ||
		c.Compensate.Retry.MaxAttempts != 5 || c.Compensate.Retry.MaxBackoff != 30*time.Second || c.Mode != ModeAsync {
		t.Fatalf("customers step: %+v / %+v", c, c.Compensate)
	}
	if got := defs[1].Steps[3].DependsOn; !reflect.DeepEqual(got, []string{"north", "south"}) {
		t.Fatalf("summary dependsOn %v", got)
	}
}

func TestLoadDefinitionsErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ yaml, want string }{
		{"sagas:\n  - name: a\n    stepz: []\n", "field stepz not found"},
		{"sagas:\n  - name: a\n    steps:\n      - {name: s, job: j, timeout: soon}\n", "soon"},
		{"sagas:\n  - name: a\n    steps:\n      - {name: s, job: j}\n  - name: a\n    steps:\n      - {name: s, job: j}\n", "sagas[a]: defined twice"},
		{"sagas:\n  - name: a\n    steps:\n      - {name: s, job: j, retry: {maxAttempts: -2}}\n", "sagas[a].steps[s].retry.maxAttempts"},
		{"sagas:\n  - name: a\n    steps:\n      - {name: s, job: j}\n---\nsagas:\n  - name: b\n    steps:\n      - {name: s, job: j}\n",
			"only one YAML document is allowed (a second starts at line 5)"},
	} {
		_, err := LoadDefinitions(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadDefinitions(%q) = %v, want an error with %q", c.yaml, err, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{Prefix: "Bad Prefix", Name: "a.b", Bucket: "SAGAS", Replicas: 7, Concurrency: -1,
		AckWait: 10 * time.Millisecond, CallTimeout: -1, DuplicateWindow: time.Minute}.Validate()
	for _, want := range []string{"sagas.prefix", "sagas.name", "sagas.replicas", "sagas.concurrency", "sagas.ack-wait: must be >= 100ms", "sagas.call-timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
