package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// SoakConfig is one soak run (`engine soak`, `make soak`): continuous load
// on an engine process with its own embedded server, reported every Every.
// Zero values take the defaults in comments.
type SoakConfig struct {
	Duration time.Duration // 10m: how long the load runs
	Rate     float64       // 100: STARTs per second (of the no-op async job, which completes at START)
	Every    time.Duration // 1m: how often a report is printed
	Payload  int           // 128: bytes of JSON parameters per job
	Sync     string        // 1s: the embedded server's fsync (nats.sync)
	// EngineConfig is the engine's YAML configuration file (its retention
	// keys); "": the defaults.
	EngineConfig string
	Self         []string  // this executable: the engine process is `<Self> bench --serve-engine …`
	Progress     io.Writer // nil: no progress lines
}

// WithDefaults fills the zero fields.
func (c SoakConfig) WithDefaults() SoakConfig {
	if c.Duration <= 0 {
		c.Duration = 10 * time.Minute
	}
	if c.Rate <= 0 {
		c.Rate = 100
	}
	if c.Every <= 0 {
		c.Every = time.Minute
	}
	if c.Payload <= 0 {
		c.Payload = 128
	}
	if c.Sync == "" {
		c.Sync = "1s"
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// SoakSample is one report of a soak.
type SoakSample struct {
	Elapsed   time.Duration `json:"elapsed"`
	Sent      uint64        `json:"sent"`      // STARTs published so far
	Completed uint64        `json:"completed"` // JOB_COMPLETED seen so far
	PerSecond float64       `json:"perSecond"` // completions per second since the last sample
	RSSMiB    float64       `json:"rssMiB"`    // the engine process (engine and its embedded server)
	Streams   []StreamSize  `json:"streams"`   // every stream, the KV buckets' (KV_*) included
}

// StreamSize is one stream's (or bucket's) size.
type StreamSize struct {
	Name  string `json:"name"`
	Msgs  uint64 `json:"msgs"`
	Bytes uint64 `json:"bytes"`
}

// Soak runs the load for Duration and writes a report to out every Every
// (and at the end): throughput, the engine process's RSS, and the messages
// and bytes of every stream and bucket, so that a run shows whether memory
// and disk stay flat once retention applies.
func Soak(ctx context.Context, sc SoakConfig, out io.Writer) ([]SoakSample, error) {
	sc = sc.WithDefaults()
	cfg := Config{Payload: sc.Payload, Sync: sc.Sync, Self: sc.Self, Progress: sc.Progress, EngineConfig: sc.EngineConfig}.WithDefaults()
	if len(cfg.Self) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Self = []string{self}
	}
	e := &env{cfg: cfg, log: cfg.Progress, runID: jobs.NewExecutionID()[:6],
		subj: bus.Subjects{Prefix: jetjobs.DefaultConfig().NATS.SubjectPrefix}}
	if sc.EngineConfig != "" {
		c, err := jetjobs.LoadConfig(sc.EngineConfig, os.Environ())
		if err != nil {
			return nil, err
		}
		e.subj.Prefix = c.NATS.SubjectPrefix
	}
	e.params = map[string]any{"pad": strings.Repeat("x", max(sc.Payload-len(`{"pad":""}`), 0))}
	e.say("soak: starting an engine process (embedded server, nats.sync %s)", sc.Sync)
	p, err := e.startEngineProcess(ctx, embeddedPrefix+sc.Sync)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	d, err := e.dialed(p.url)
	if err != nil {
		return nil, err
	}
	defer d.close()
	var completed atomic.Uint64
	sub, err := d.nc.Subscribe(d.subj.Event(JobAsync, jobs.EventCompleted), func(*nats.Msg) { completed.Add(1) })
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(-1, -1)

	loadCtx, stopLoad := context.WithTimeout(ctx, sc.Duration)
	defer stopLoad()
	var sent atomic.Uint64
	loadErr := make(chan error, 1)
	go func() { loadErr <- d.soakLoad(loadCtx, sc.Rate, &sent) }()

	e.say("soak: %s at %.0f STARTs/s, a report every %s", sc.Duration, sc.Rate, sc.Every)
	var samples []SoakSample
	start, last := time.Now(), SoakSample{}
	tick := time.NewTicker(sc.Every)
	defer tick.Stop()
	take := func() error {
		s := SoakSample{Elapsed: time.Since(start).Round(time.Second), Sent: sent.Load(), Completed: completed.Load()}
		if dt := (s.Elapsed - last.Elapsed).Seconds(); dt > 0 {
			s.PerSecond = float64(s.Completed-last.Completed) / dt
		}
		s.RSSMiB, _ = p.rss()
		var err error
		if s.Streams, err = d.streamSizes(ctx); err != nil {
			return err
		}
		samples, last = append(samples, s), s
		return printSample(out, s)
	}
	for done := false; !done; {
		select {
		case <-tick.C:
			if err := take(); err != nil {
				return samples, err
			}
		case err := <-loadErr:
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				return samples, err
			}
			done = true
		}
	}
	if last.Elapsed < time.Since(start).Round(time.Second) {
		if err := take(); err != nil {
			return samples, err
		}
	}
	return samples, ctx.Err()
}

// soakLoad publishes STARTs at rate per second until ctx ends, in steps of
// 10ms, asynchronously with at most maxPending in flight.
func (e *env) soakLoad(ctx context.Context, rate float64, sent *atomic.Uint64) error {
	const step = 10 * time.Millisecond
	t := time.NewTicker(step)
	defer t.Stop()
	begin := time.Now()
	n := uint64(0)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		due := uint64(rate * time.Since(begin).Seconds())
		for ; n < due; n++ {
			msg, err := e.startMsg(ctx, JobAsync, fmt.Sprintf("soak%s-%d", e.runID, n))
			if err != nil {
				return err
			}
			if _, err := e.js.PublishMsgAsync(msg); err != nil {
				return fmt.Errorf("publish START: %w", err)
			}
			sent.Add(1)
		}
	}
}

// streamSizes reads every stream's messages and bytes, sorted by name.
func (e *env) streamSizes(ctx context.Context) ([]StreamSize, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []StreamSize
	l := e.js.ListStreams(ctx)
	for info := range l.Info() {
		out = append(out, StreamSize{Name: info.Config.Name, Msgs: info.State.Msgs, Bytes: info.State.Bytes})
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("soak: listing streams: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func printSample(w io.Writer, s SoakSample) error {
	fmt.Fprintf(w, "t=%s  sent=%d  completed=%d  throughput=%.1f/s  engine RSS=%.1f MiB\n",
		s.Elapsed, s.Sent, s.Completed, s.PerSecond, s.RSSMiB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STREAM/BUCKET\tMESSAGES\tBYTES")
	for _, st := range s.Streams {
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", st.Name, st.Msgs, st.Bytes)
	}
	return tw.Flush()
}
