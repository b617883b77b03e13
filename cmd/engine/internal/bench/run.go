package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/internal/natscluster"
	"github.com/jetjobs/jetjobs/jobs"
)

// The bench's job types.
const (
	JobSync  = "bench-noop-sync"  // EXECUTE answers COMPLETED at once
	JobAsync = "bench-noop-async" // START answers COMPLETED at once: START → COMPLETED
	JobHold  = "bench-hold"       // START answers STARTED, CHECK answers RUNNING forever
	// JobWorker is a worker job whose Work returns at once: START queues
	// the work, Work completes it.
	JobWorker = "bench-noop-worker"
)

type noopWorker struct{}

func (noopWorker) Work(context.Context, *jobs.Request, jobs.Progress) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

type noopSync struct{}

func (noopSync) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

type noopAsync struct{ jobs.AsyncDefaults }

func (noopAsync) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}
func (noopAsync) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}
func (noopAsync) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

type hold struct{ jobs.AsyncDefaults }

func (hold) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("held"), nil
}
func (hold) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Running(0, "held"), nil
}
func (hold) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// Registry returns the bench's job types.
func Registry() *jobs.Registry {
	reg := jobs.NewRegistry()
	reg.MustRegister(JobSync, noopSync{})
	reg.MustRegister(JobAsync, noopAsync{})
	reg.MustRegister(JobWorker, noopWorker{})
	// CHECKs an hour apart: held executions cost memory, not timer work.
	reg.MustRegister(JobHold, hold{}, jobs.WithCheckInterval(time.Hour, time.Hour))
	return reg
}

// env is what every scenario shares: the server, the bench's own client
// connection (the load side), and the command parameters.
type env struct {
	cfg     Config
	log     io.Writer
	runID   string
	srv     *bus.Embedded
	cl      *natscluster.Cluster // --cluster without --nats-url
	dir     string
	url     string
	nc      *nats.Conn
	js      jetstream.JetStream // async publishes: at most 4096 in flight
	pubErrs atomic.Int64
	client  *bus.Client
	// ownServer: the engine runs its own embedded server (the memory
	// scenario's engine process) instead of connecting to url.
	ownServer *ownServer
	subj      bus.Subjects
	params    map[string]any
}

// maxPending bounds async publishes in flight, in the baseline and in the
// scenarios that publish commands.
const maxPending = 4096

func setup(ctx context.Context, cfg Config) (_ *env, err error) {
	e := &env{cfg: cfg, log: cfg.Progress, runID: jobs.NewExecutionID()[:6], url: cfg.NATSURL,
		subj: bus.Subjects{Prefix: jetjobs.DefaultConfig().NATS.SubjectPrefix}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	pad := max(cfg.Payload-len(`{"pad":""}`), 0)
	e.params = map[string]any{"pad": strings.Repeat("x", pad)}
	if err := e.open(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// open starts the embedded server (unless the run uses an external one),
// connects the load side and lets a first engine create the streams,
// buckets and consumers, so that every scenario starts from the same place.
func (e *env) open(ctx context.Context) (err error) {
	if e.cfg.NATSURL == "" && e.cfg.Cluster > 0 {
		if err := e.openCluster(ctx); err != nil {
			return err
		}
	} else if e.cfg.NATSURL == "" {
		if e.dir, err = os.MkdirTemp("", "jetjobs-bench-"); err != nil {
			return err
		}
		e.srv, err = bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: e.dir, Sync: e.cfg.Sync})
		if err != nil {
			return err
		}
		e.url = e.srv.ClientURL()
	}
	if err = e.dial(); err != nil {
		return err
	}
	eng, _, err := e.engine(ctx, false)
	if err != nil {
		return fmt.Errorf("bench: engine: %w", err)
	}
	eng.Stop()
	return nil
}

// openCluster starts an embedded cluster of Cluster nodes and waits until
// it is healthy; the engine and the load side connect to its first node.
func (e *env) openCluster(ctx context.Context) (err error) {
	if e.dir, err = os.MkdirTemp("", "jetjobs-bench-cluster-"); err != nil {
		return err
	}
	if e.cl, err = natscluster.Start(natscluster.Config{Nodes: e.cfg.Cluster, Dir: e.dir, Sync: e.cfg.Sync}); err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := e.cl.WaitHealthy(hctx); err != nil {
		return err
	}
	e.url = e.cl.URLs()[0]
	return nil
}

// replicas is the replica count of the baseline's stream and bucket.
func (e *env) replicas() int { return max(e.cfg.Cluster, 1) }

// between readies the next scenario: an embedded server is replaced by a
// fresh one, as empty as the baseline's was, so that no scenario is
// measured on what the earlier ones stored or still cache; with an
// external server the bench pauses for Settle instead.
func (e *env) between(ctx context.Context) error {
	if e.srv == nil && e.cl == nil {
		if e.cfg.Settle > 0 {
			e.settle(ctx, e.cfg.Settle)
		}
		return nil
	}
	e.close()
	e.client, e.nc, e.srv, e.cl, e.dir = nil, nil, nil, nil, ""
	runtime.GC()
	debug.FreeOSMemory()
	return e.open(ctx)
}

// dial opens the load side's connection to e.url.
func (e *env) dial() (err error) {
	if e.nc, _, err = bus.Connect(bus.ConnConfig{URL: e.url, Name: "jetjobs-bench"}); err != nil {
		return err
	}
	e.js, err = jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(maxPending),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { e.pubErrs.Add(1) }))
	if err != nil {
		return err
	}
	e.client = bus.NewClient(e.nc, e.js, bus.WithPrefix(e.subj.Prefix), bus.WithSource("/jetjobs/bench"))
	return nil
}

// dialed is a load side like e's on another server (the memory scenario's
// engine process's own); close it when done.
func (e *env) dialed(url string) (*env, error) {
	d := &env{cfg: e.cfg, log: e.log, runID: e.runID, url: url, subj: e.subj, params: e.params}
	if err := d.dial(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// ownServer is where an engine's own embedded server keeps its store.
type ownServer struct{ listen, dir, sync string }

func (e *env) close() {
	if e.client != nil {
		e.client.Close()
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.srv != nil {
		e.srv.Shutdown()
	}
	if e.cl != nil {
		e.cl.Shutdown()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

func (e *env) serverName() string {
	if e.srv != nil {
		return "embedded"
	}
	if e.cl != nil {
		return fmt.Sprintf("embedded %d-node cluster, R%d, engine on %s", e.cl.Size(), e.cfg.Cluster, e.cl.Name(0))
	}
	if e.cfg.Cluster > 0 {
		return fmt.Sprintf("%s, R%d", bus.RedactURL(e.nc.ConnectedUrl()), e.cfg.Cluster)
	}
	return bus.RedactURL(e.nc.ConnectedUrl()) // a token in the URL too
}

// engine starts an engine with the defaults (durability, resilience,
// telemetry, audit and results on), errors-only logs, and the REST
// adapter when asked.
func (e *env) engine(ctx context.Context, withHTTP bool) (*jetjobs.Engine, time.Duration, error) {
	cfg := jetjobs.DefaultConfig()
	if e.cfg.EngineConfig != "" { // the soak's retention settings
		var err error
		if cfg, err = jetjobs.LoadConfig(e.cfg.EngineConfig, os.Environ()); err != nil {
			return nil, 0, err
		}
	}
	cfg.NATS.URL = e.url
	if e.cfg.Cluster > 0 {
		cfg.NATS.Replicas = e.cfg.Cluster
	}
	if o := e.ownServer; o != nil {
		cfg.NATS.Listen, cfg.NATS.DataDir, cfg.NATS.Sync = o.listen, o.dir, o.sync
		// The load side connects to this server from another process, by
		// URL alone: the bench measures the engine, not authentication.
		cfg.NATS.Server.Auth = config.NATSAuthNone
	}
	cfg.HTTP.Addr = ""
	if withHTTP {
		cfg.HTTP.Addr = e.cfg.HTTPAddr
	}
	cfg.Log.Level = "error"
	eng, err := jetjobs.New(cfg, Registry(), jetjobs.WithLogger(jetjobs.NewLogger("error", "json", os.Stderr)),
		jetjobs.WithShutdownTimeout(15*time.Second))
	if err != nil {
		return nil, 0, err
	}
	t := time.Now()
	if err := eng.Start(ctx); err != nil {
		return nil, 0, err
	}
	return eng, time.Since(t), nil
}

// startMsg is the START command of execution id, as any client sends it
// without an idempotency key of its own: id is the command's CloudEvents id,
// which the engine takes as the execution id. (A client-chosen executionId
// makes START claim the id first: one more write per job.)
func (e *env) startMsg(ctx context.Context, job, id string) (*nats.Msg, error) {
	ev, err := e.client.Command(ctx, job, jobs.StageStart, &jobs.Request{Parameters: e.params}, bus.SendOptions{ID: id})
	if err != nil {
		return nil, err
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: e.subj.Command(job, jobs.StageStart.Token()), Header: h, Data: body}, nil
}

// settle waits between scenarios until the server has dropped the block
// caches of the last one (ten seconds after their last use) and collects,
// so that a scenario is not measured under the previous one's load.
func (e *env) settle(ctx context.Context, d time.Duration) {
	e.say("   (settling %s)", d)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	runtime.GC()
	debug.FreeOSMemory()
}

func (e *env) say(format string, a ...any) { fmt.Fprintf(e.log, format+"\n", a...) }

// Run runs the configured scenarios, prints the report on out and writes
// it as JSON when asked. A failed scenario is reported with its error and
// the others still run.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	rep := &Report{Started: started.UTC(), Machine: machine(started), Settings: Settings{Storage: cfg.Storage, Sync: cfg.Sync,
		Jobs: cfg.Jobs, Duration: cfg.Duration.Seconds(), Concurrency: cfg.Concurrency, Payload: cfg.Payload}}
	e, err := setup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	rep.Settings.Server = e.serverName()
	if e.cl != nil {
		rep.Settings.Notes = append(rep.Settings.Notes, fmt.Sprintf("every stream and bucket has %d replicas, the baseline's too; "+
			"stored/op counts the leader's writes (each is also written by %d followers)", e.cfg.Cluster, e.cfg.Cluster-1))
	} else if e.srv == nil {
		rep.Settings.Sync = "server's own"
		rep.Settings.Notes = append(rep.Settings.Notes, "external server: --sync does not apply, stored/op counts "+
			"every stream's writes, other traffic included")
	}
	if cfg.Storage == "memory" {
		rep.Settings.Notes = append(rep.Settings.Notes, "memory storage applies to the baseline's stream and bucket only: "+
			"the engine's streams and buckets always use file storage (no configuration key sets it)")
	}
	if cfg.Peer != "" {
		rep.Peer = &Peer{Command: cfg.Peer}
	}
	steps := []struct {
		name string
		run  func(context.Context) []Result
	}{
		{ScenarioBaseline, func(ctx context.Context) []Result {
			b, err := e.baseline(ctx)
			rep.Baseline = b
			if err != nil {
				return []Result{{Name: "baseline", Error: err.Error()}}
			}
			return nil
		}},
		{ScenarioSync, e.syncExecute},
		{ScenarioBurndown, func(ctx context.Context) []Result {
			if rep.Peer == nil {
				return e.withRawBurndown(ctx, e.burndown(ctx))
			}
			e.runPeer(ctx, rep.Peer) // before and after: alternated, same sitting
			r := e.burndown(ctx)
			e.runPeer(ctx, rep.Peer)
			return e.withRawBurndown(ctx, r)
		}},
		{ScenarioWorker, e.workerBurndown},
		{ScenarioContinuous, e.continuous},
		{ScenarioREST, e.rest},
		{ScenarioSaga, e.saga},
		{ScenarioMemory, e.memory},
	}
	stopTrace, err := executionTrace(cfg.Trace)
	if err != nil {
		return nil, err
	}
	defer stopTrace()
	if !cfg.has(ScenarioBurndown) && !cfg.has(ScenarioWorker) { // else they profile their drains
		stop, err := cpuProfile(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	ran := false
	for _, s := range steps {
		if !cfg.has(s.name) || ctx.Err() != nil {
			continue
		}
		if ran {
			if err := e.between(ctx); err != nil {
				return nil, err
			}
		}
		ran = true
		e.say("== %s", s.name)
		rep.Scenarios = append(rep.Scenarios, s.run(ctx)...)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !cfg.has(ScenarioMemory) {
		if err := heapProfile(cfg.MemProfile); err != nil {
			return nil, err
		}
	}
	rep.finish()
	rep.Took = time.Since(started).Seconds()
	rep.Print(out)
	if cfg.JSON != "" {
		if err := rep.WriteJSON(cfg.JSON); err != nil {
			return rep, fmt.Errorf("bench: --json: %w", err)
		}
	}
	return rep, nil
}

// failed is a scenario that could not run.
func failed(name string, err error) []Result {
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
	return []Result{{Name: name, Error: err.Error()}}
}
