package jobs

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Definition is a registered job type.
type Definition struct {
	Name    string
	Async   AsyncJob // set for async jobs
	Sync    SyncJob  // set for sync jobs
	Options JobOptions

	Worker WorkerJob // set for worker jobs (jobs/worker.go)
}

// Mode is "async", "sync" or "worker".
func (d *Definition) Mode() string {
	switch {
	case d.Async != nil:
		return "async"
	case d.Worker != nil:
		return "worker"
	}
	return "sync"
}

// Supports reports whether the job answers the stage. A sync job answers
// RESULT too, from its stored result.
func (d *Definition) Supports(s Stage) bool {
	if s == StageExecute {
		return d.Sync != nil
	}
	return d.Async != nil || d.Worker != nil || s == StageResult
}

// JobOptions tune one job type; zero values take the engine's defaults.
type JobOptions struct {
	Description      string
	BasePath         string        // REST base path; default {base-path}/<job>
	DefaultTimeout   time.Duration // execution deadline; default orchestration.default-timeout
	CheckInterval    time.Duration // first engine-driven CHECK; default orchestration.check-interval
	MaxCheckInterval time.Duration // cap of the CHECK backoff; default orchestration.max-check-interval
	StageTimeout     time.Duration // one stage's limit; default orchestration.resiliency.stage-timeout
	Params           []ParamSpec   // the parameters it takes (OpenAPI, console); default none declared
	Concurrency      int           // worker jobs: Work calls at once per instance; default orchestration.worker-concurrency
}

// Option sets a JobOptions field at registration.
type Option func(*JobOptions)

// WithDescription documents the job (OpenAPI, health).
func WithDescription(s string) Option { return func(o *JobOptions) { o.Description = s } }

// WithBasePath sets the job's REST base path.
func WithBasePath(p string) Option { return func(o *JobOptions) { o.BasePath = p } }

// WithTimeout sets how long an execution may live before it ends TIMED_OUT.
func WithTimeout(d time.Duration) Option { return func(o *JobOptions) { o.DefaultTimeout = d } }

// WithCheckInterval sets the first delay and the cap of engine-driven CHECKs.
func WithCheckInterval(first, max time.Duration) Option {
	return func(o *JobOptions) { o.CheckInterval, o.MaxCheckInterval = first, max }
}

// WithStageTimeout sets how long one stage of this job may run before its
// context is cancelled.
func WithStageTimeout(d time.Duration) Option { return func(o *JobOptions) { o.StageTimeout = d } }

// Registry holds the job types an engine serves. It is safe for concurrent use.
type Registry struct {
	mu   sync.RWMutex
	defs map[string]*Definition
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{defs: map[string]*Definition{}} }

// Register adds a job type. job must implement exactly one of AsyncJob,
// SyncJob and WorkerJob.
func (r *Registry) Register(name string, job any, opts ...Option) error {
	if err := ValidateJobName(name); err != nil {
		return err
	}
	def := &Definition{Name: name}
	def.Async, _ = job.(AsyncJob)
	def.Sync, _ = job.(SyncJob)
	def.Worker, _ = job.(WorkerJob)
	if err := oneKind(name, job, def); err != nil {
		return err
	}
	for _, o := range opts {
		o(&def.Options)
	}
	if t, ok := job.(Typed); ok && len(def.Options.Params) == 0 {
		def.Options.Params = t.ParamSpecs() // typed parameters describe themselves
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.defs[name]; dup {
		return Errorf(CodeConflict, "job %q is already registered", name)
	}
	r.defs[name] = def
	return nil
}

// MustRegister is Register for set-up code: it panics on error.
func (r *Registry) MustRegister(name string, job any, opts ...Option) {
	if err := r.Register(name, job, opts...); err != nil {
		panic(err)
	}
}

// Lookup finds a job type.
func (r *Registry) Lookup(name string) (*Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[name]
	return d, ok
}

// Definitions lists the job types sorted by name.
func (r *Registry) Definitions() []*Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Definition, 0, len(r.defs))
	for _, d := range r.defs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// oneKind checks that a job implements exactly one kind.
func oneKind(name string, job any, def *Definition) error {
	var kinds []string
	if def.Async != nil {
		kinds = append(kinds, "AsyncJob")
	}
	if def.Sync != nil {
		kinds = append(kinds, "SyncJob")
	}
	if def.Worker != nil {
		kinds = append(kinds, "WorkerJob")
	}
	switch len(kinds) {
	case 0:
		return Errorf(CodeInvalidArgument, "job %q: %T implements neither AsyncJob, SyncJob nor WorkerJob", name, job)
	case 1:
		return nil
	}
	return Errorf(CodeInvalidArgument, "job %q: %T implements both %s; register one mode", name, job, strings.Join(kinds, " and "))
}
