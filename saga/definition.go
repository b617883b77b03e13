package saga

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// Definition is a named saga: steps, each one job, forming a small DAG.
// Write it in Go or load it from YAML (LoadDefinitions); Validate checks it
// and fills the defaults.
type Definition struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Compensation is how completed steps are undone when a step fails:
	// strict-sequential (default), grouped-parallel or best-effort-parallel.
	Compensation Policy `yaml:"compensation" json:"compensation"`
	Steps        []Step `yaml:"steps" json:"steps"`

	index map[string]int // step name -> position, set by Validate
}

// Step runs one job. Its parameters come from Parameters (templates, see
// package doc) or from Params (Go only); the first is what YAML offers.
type Step struct {
	Name string `yaml:"name" json:"name"`
	Job  string `yaml:"job" json:"job"`
	// Mode is async (START, then events) or sync (EXECUTE). Empty: the
	// coordinator's registry decides, else async.
	Mode Mode `yaml:"mode" json:"mode,omitempty"`
	// DependsOn names earlier steps that must complete first. Absent (nil):
	// the previous step in the list. Empty (`dependsOn: []`, []string{}): none,
	// so the step starts with the saga.
	DependsOn  []string       `yaml:"dependsOn" json:"dependsOn"`
	Parameters map[string]any `yaml:"parameters" json:"parameters,omitempty"`
	Params     ParamsFunc     `yaml:"-" json:"-"`
	// Timeout bounds one attempt: a job still running then is stopped and
	// the attempt counts as failed. 0: no limit.
	Timeout    time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	Retry      Retry         `yaml:"retry" json:"retry"`
	Compensate *Compensation `yaml:"compensate" json:"compensate,omitempty"`
}

// Compensation is the job that undoes a completed step.
type Compensation struct {
	Job        string         `yaml:"job" json:"job"`
	Mode       Mode           `yaml:"mode" json:"mode,omitempty"`
	Parameters map[string]any `yaml:"parameters" json:"parameters,omitempty"`
	Params     ParamsFunc     `yaml:"-" json:"-"`
	Timeout    time.Duration  `yaml:"timeout" json:"timeout,omitempty"`
	Retry      Retry          `yaml:"retry" json:"retry"`
	// Critical stops every compensation not yet started once this one has
	// exhausted its retries (the circuit breaker of docs/sagas.md).
	// Any exhausted compensation, critical or not, ends the saga FAILED.
	Critical bool `yaml:"critical" json:"critical,omitempty"`
}

// Retry is the attempt budget of a step or a compensation; zero fields take
// the defaults in comments.
type Retry struct {
	MaxAttempts int           `yaml:"maxAttempts" json:"maxAttempts"` // steps 1, compensations 3
	Backoff     time.Duration `yaml:"backoff" json:"backoff"`         // 1s before the second attempt
	MaxBackoff  time.Duration `yaml:"maxBackoff" json:"maxBackoff"`   // 1m
	Multiplier  float64       `yaml:"multiplier" json:"multiplier"`   // 2
	Jitter      float64       `yaml:"jitter" json:"jitter"`           // 0.2: ±20% of each delay
}

// Delay is the wait after failed attempt n (from 1), with jitter.
func (r Retry) Delay(n int) time.Duration {
	d := float64(r.Backoff) * math.Pow(r.Multiplier, float64(max(n-1, 0)))
	d = min(d, float64(r.MaxBackoff))
	if r.Jitter > 0 {
		d *= 1 + r.Jitter*(2*rand.Float64()-1)
	}
	return max(time.Duration(d), time.Millisecond)
}

func (r Retry) withDefaults(attempts int) Retry {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = attempts
	}
	if r.Backoff == 0 {
		r.Backoff = time.Second
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = time.Minute
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = r.Backoff
	}
	if r.Multiplier == 0 {
		r.Multiplier = 2
	}
	if r.Jitter == 0 {
		r.Jitter = 0.2
	}
	return r
}

func (r Retry) check(c *checker, key string) {
	if r.MaxAttempts < 1 {
		c.add(key+".maxAttempts", "must be >= 1, got %d", r.MaxAttempts)
	}
	if r.Backoff < 0 {
		c.add(key+".backoff", "must be >= 0, got %s", r.Backoff)
	}
	if r.Multiplier < 1 {
		c.add(key+".multiplier", "must be >= 1, got %v", r.Multiplier)
	}
	if r.Jitter < 0 || r.Jitter > 1 {
		c.add(key+".jitter", "must be in [0,1], got %v", r.Jitter)
	}
}

// Mode says how a job is run.
type Mode string

// The modes: async jobs get START and finish with an event; sync jobs get
// EXECUTE and answer at once.
const (
	ModeAsync Mode = "async"
	ModeSync  Mode = "sync"
)

// Policy is a compensation policy (docs/sagas.md).
type Policy string

// The compensation policies.
const (
	// StrictSequential undoes one step at a time, in reverse completion order.
	StrictSequential Policy = "strict-sequential"
	// GroupedParallel undoes the completed steps of one DAG layer at once,
	// deepest layer first, waiting for a layer before the next.
	GroupedParallel Policy = "grouped-parallel"
	// BestEffortParallel undoes every completed step at once.
	BestEffortParallel Policy = "best-effort-parallel"
)

// Scope is what a step's parameters are built from.
type Scope struct {
	Saga   string
	SagaID string
	Input  map[string]any
	Steps  map[string]StepOutput // completed steps (and, for a compensation, its own step)
}

// StepOutput is what a step left behind.
type StepOutput struct {
	ExecutionID string
	Result      map[string]any
}

// ParamsFunc builds a job's parameters in Go.
type ParamsFunc func(s Scope) (map[string]any, error)

var (
	sagaNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	stepNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)
	sagaIDRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidateSagaID checks a saga instance id: 1 to 64 of A-Z a-z 0-9 _ -,
// so that it fits in subjects, KV keys and the execution ids of its steps.
func ValidateSagaID(id string) error {
	if !sagaIDRE.MatchString(id) {
		if len(id) > 80 {
			id = id[:80] + "…"
		}
		return jobs.Errorf(jobs.CodeInvalidArgument, "invalid sagaId %q: want 1 to 64 of A-Z a-z 0-9 _ -", id)
	}
	return nil
}

// ValidateSagaName checks a saga name (same rule as job names).
func ValidateSagaName(name string) error {
	if !sagaNameRE.MatchString(name) {
		return jobs.Errorf(jobs.CodeInvalidArgument, "invalid saga name %q: want ^[a-z0-9][a-z0-9-]{0,63}$", name)
	}
	return nil
}

// checker collects every problem so one start-up names all of them.
type checker struct{ errs []error }

func (c *checker) add(key, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// Validate checks the definition, naming each bad key (steps[orders].job),
// and fills the defaults. Steps may only depend on steps listed before
// them, which keeps the graph acyclic.
func (d *Definition) Validate() error {
	c := &checker{}
	root := "saga"
	if d.Name != "" {
		root = "sagas[" + d.Name + "]"
	}
	if err := ValidateSagaName(d.Name); err != nil {
		c.add(root+".name", "%v", err)
	}
	switch d.Compensation {
	case "":
		d.Compensation = StrictSequential
	case StrictSequential, GroupedParallel, BestEffortParallel:
	default:
		c.add(root+".compensation", "unknown policy %q (want strict-sequential, grouped-parallel or best-effort-parallel)", d.Compensation)
	}
	if len(d.Steps) == 0 {
		c.add(root+".steps", "a saga needs at least one step")
	}
	d.index = map[string]int{}
	for i := range d.Steps {
		s := &d.Steps[i]
		key := fmt.Sprintf("%s.steps[%d]", root, i)
		if s.Name != "" {
			key = root + ".steps[" + s.Name + "]"
		}
		if !stepNameRE.MatchString(s.Name) {
			c.add(key+".name", "invalid step name %q: want ^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", s.Name)
		} else if _, dup := d.index[s.Name]; dup {
			c.add(key+".name", "step %q is defined twice", s.Name)
		}
		if s.DependsOn == nil && i > 0 {
			s.DependsOn = []string{d.Steps[i-1].Name}
		}
		for _, dep := range s.DependsOn {
			if _, ok := d.index[dep]; !ok {
				c.add(key+".dependsOn", "%q is not a step listed before this one", dep)
			}
		}
		d.index[s.Name] = i
		s.Retry = s.Retry.withDefaults(1)
		checkRun(c, key, s.Job, s.Mode, s.Parameters, s.Params, s.Timeout, s.Retry)
		d.checkRefs(c, key+".parameters", s.Name, s.Parameters, false)
		if s.Compensate != nil {
			comp := s.Compensate
			comp.Retry = comp.Retry.withDefaults(3)
			checkRun(c, key+".compensate", comp.Job, comp.Mode, comp.Parameters, comp.Params, comp.Timeout, comp.Retry)
			d.checkRefs(c, key+".compensate.parameters", s.Name, comp.Parameters, true)
		}
	}
	return c.err()
}

func checkRun(c *checker, key, job string, mode Mode, params map[string]any, fn ParamsFunc, timeout time.Duration, r Retry) {
	if err := jobs.ValidateJobName(job); err != nil {
		c.add(key+".job", "%v", err)
	}
	if mode != "" && mode != ModeAsync && mode != ModeSync {
		c.add(key+".mode", "unknown mode %q (want async or sync)", mode)
	}
	if params != nil && fn != nil {
		c.add(key+".parameters", "set parameters or Params, not both")
	}
	if timeout < 0 {
		c.add(key+".timeout", "must be >= 0, got %s", timeout)
	}
	r.check(c, key+".retry")
}

// checkRefs makes sure every ${steps.X...} in a step's parameters names a
// step that is sure to be completed when they are built: an ancestor, or
// for a compensation the step itself.
func (d *Definition) checkRefs(c *checker, key, step string, params map[string]any, self bool) {
	anc := d.ancestors(step)
	if self {
		anc[step] = true
	}
	for _, ref := range templateRefs(params) {
		r, err := parseRef(ref)
		if err != nil {
			c.add(key, "%v", err)
			continue
		}
		if r.step != "" && !anc[r.step] {
			c.add(key, "${%s}: step %q does not come before %q (list it in dependsOn)", ref, r.step, step)
		}
	}
}

// ancestors is every step that step depends on, directly or not.
func (d *Definition) ancestors(step string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		i, ok := d.index[n]
		if !ok {
			return
		}
		for _, dep := range d.Steps[i].DependsOn {
			if !out[dep] {
				out[dep] = true
				walk(dep)
			}
		}
	}
	walk(step)
	return out
}

// layer is a step's depth in the DAG: 0 for a root, else one more than its
// deepest dependency. Grouped-parallel compensation undoes layer by layer.
func (d *Definition) layer(step string) int {
	i, ok := d.index[step]
	if !ok {
		return 0
	}
	l := 0
	for _, dep := range d.Steps[i].DependsOn {
		l = max(l, d.layer(dep)+1)
	}
	return l
}

// step finds a step by name (nil if the definition no longer has it).
func (d *Definition) step(name string) *Step {
	if i, ok := d.index[name]; ok {
		return &d.Steps[i]
	}
	return nil
}

// clone copies the definition so that the caller's later edits cannot
// reach a running coordinator.
func (d *Definition) clone() *Definition {
	cp := *d
	cp.Steps = slices.Clone(d.Steps)
	for i := range cp.Steps {
		cp.Steps[i].DependsOn = slices.Clone(cp.Steps[i].DependsOn)
		if c := cp.Steps[i].Compensate; c != nil {
			cc := *c
			cp.Steps[i].Compensate = &cc
		}
	}
	return &cp
}

// jobsUsed lists the job types of the steps and compensations.
func (d *Definition) jobsUsed() []string {
	var out []string
	for _, s := range d.Steps {
		out = append(out, s.Job)
		if s.Compensate != nil {
			out = append(out, s.Compensate.Job)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// String lists the steps and their dependencies, for logs.
func (d *Definition) String() string {
	var b strings.Builder
	b.WriteString(d.Name + ":")
	for _, s := range d.Steps {
		fmt.Fprintf(&b, " %s(%s)<-%v", s.Name, s.Job, s.DependsOn)
	}
	return b.String()
}
