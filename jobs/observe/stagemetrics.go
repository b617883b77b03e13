package observe

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jetjobs/jetjobs/jobs"
)

// stageKey names one job type's stage.
type stageKey struct{ job, stage string }

// stageMetrics is what the metrics of one job type's stage need on every
// call, found with one lookup: its in-flight counter (read at collection)
// and its attribute options by outcome and by error type, each made once.
type stageMetrics struct {
	job, stage string
	running    atomic.Int64
	base       *attrOpts // job_type and stage: the in-flight gauge's
	outcomes   sync.Map  // outcome -> *attrOpts
	errTypes   sync.Map  // error type -> *attrOpts
}

// attrOpts are the options of one attribute set: the slices are passed as
// they are (opts...), so a measurement allocates nothing for its options.
type attrOpts struct {
	add []metric.AddOption
	rec []metric.RecordOption
	obs []metric.ObserveOption
}

func newAttrOpts(kv ...attribute.KeyValue) *attrOpts {
	opt := metric.WithAttributeSet(attribute.NewSet(kv...))
	return &attrOpts{add: []metric.AddOption{opt}, rec: []metric.RecordOption{opt}, obs: []metric.ObserveOption{opt}}
}

// stageMetrics returns the metrics of the invocation's job type and stage,
// created on first use.
func (ob *Observer) stageMetrics(inv *jobs.Invocation) *stageMetrics {
	k := stageKey{job: inv.Job.Name, stage: string(inv.Stage)}
	if v, ok := ob.stages.Load(k); ok {
		return v.(*stageMetrics)
	}
	m := &stageMetrics{job: k.job, stage: k.stage,
		base: newAttrOpts(attribute.String("job_type", k.job), attribute.String("stage", k.stage))}
	v, _ := ob.stages.LoadOrStore(k, m)
	return v.(*stageMetrics)
}

// opts returns the options of the stage's attributes plus name=value, from
// cache (outcomes or errTypes).
func (m *stageMetrics) opts(cache *sync.Map, name, value string) *attrOpts {
	if v, ok := cache.Load(value); ok {
		return v.(*attrOpts)
	}
	v, _ := cache.LoadOrStore(value, newAttrOpts(attribute.String("job_type", m.job), attribute.String("stage", m.stage),
		attribute.String(name, value)))
	return v.(*attrOpts)
}
