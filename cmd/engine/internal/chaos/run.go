package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/natscluster"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// The kinds of work the load sends.
const (
	kindAsync = "async"
	kindSync  = "sync"
	kindSaga  = "saga"
)

// ackWait is the engines' nats.ack-wait: a killed instance's messages come
// back to the others after it, so it bounds how long its work waits.
const ackWait = 10 * time.Second

// sent is one START (or SAGA_START) the cluster accepted.
type sent struct {
	id, kind string
	fail     bool // a saga asked to fail: it must end COMPENSATED
	at       time.Time
}

// instance is an engine of this process; life counts its restarts.
type instance struct {
	idx, life int
	eng       *jetjobs.Engine
}

// runner is one chaos run.
type runner struct {
	cfg     Config
	out     io.Writer
	rng     *rand.Rand
	began   time.Time
	cl      *natscluster.Cluster // nil with --nats-url
	dir     string
	urls    []string
	ledger  *ledger
	prefix  string
	nc      *nats.Conn
	js      jetstream.JetStream
	client  *bus.Client
	sagas   *saga.Client
	mu      sync.Mutex
	inst    []*instance
	killed  map[run]bool // instance lives that were killed
	sent    []sent
	refused int
	doneAt  map[string]time.Time // completion seen on the core subject (recovery times only)
	faults  map[string]int
}

// Run runs the chaos scenario, printing a line per fault and the summary
// on out. Its error says why it could not run; a run that lost or doubled
// work returns its Summary and ErrUnsafe.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	r := &runner{cfg: cfg, out: out, rng: rand.New(rand.NewPCG(uint64(seed), 0)), began: time.Now(), ledger: newLedger(),
		prefix: jetjobs.DefaultConfig().NATS.SubjectPrefix, killed: map[run]bool{}, doneAt: map[string]time.Time{},
		faults: map[string]int{}}
	defer r.close()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	where := "an embedded 3-node cluster, R3"
	if r.cl == nil {
		where = bus.RedactURL(cfg.NATSURL)
	}
	r.say("chaos: seed %d, %d instances on %s, %.0f STARTs/s for %s, faults %s every ~%s",
		seed, len(r.inst), where, cfg.Rate, cfg.Duration, strings.Join(cfg.Faults, ","), cfg.Every)

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.load(runCtx) }()
	go func() { defer wg.Done(); r.faultLoop(runCtx, ctx) }()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := r.heal(ctx); err != nil {
		return nil, err
	}
	sum, err := r.count(ctx, seed)
	if err != nil {
		return nil, err
	}
	sum.Print(out)
	if !sum.Safe() {
		return sum, ErrUnsafe
	}
	return sum, nil
}

func (r *runner) say(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format+"\n", a...)
}

// since is the time into the run, for the fault lines.
func (r *runner) since(t time.Time) string {
	d := t.Sub(r.began).Round(time.Second)
	return fmt.Sprintf("+%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// setup starts the cluster (unless --nats-url), the instances and the load
// side's connection.
func (r *runner) setup(ctx context.Context) (err error) {
	if r.cfg.NATSURL == "" {
		if r.dir, err = os.MkdirTemp("", "jetjobs-chaos-"); err != nil {
			return err
		}
		if r.cl, err = natscluster.Start(natscluster.Config{Dir: r.dir}); err != nil {
			return err
		}
		hctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := r.cl.WaitHealthy(hctx); err != nil {
			return err
		}
		r.urls = r.cl.URLs()
	} else {
		r.urls = strings.Split(r.cfg.NATSURL, ",")
	}
	r.inst = make([]*instance, r.cfg.Instances)
	for i := range r.inst {
		if err := r.startInstance(ctx, i); err != nil {
			return err
		}
	}
	if r.nc, r.js, err = bus.Connect(bus.ConnConfig{URL: strings.Join(r.urls, ","), Name: "jetjobs-chaos-load"}); err != nil {
		return err
	}
	r.client = bus.NewClient(r.nc, r.js, bus.WithPrefix(r.prefix), bus.WithSource("/jetjobs/chaos"))
	r.sagas = saga.NewClient(r.js, saga.ClientOptions{Prefix: r.prefix, Source: "/jetjobs/chaos"})
	_, err = r.nc.Subscribe(r.prefix+".evt.*."+jobs.EventCompleted, func(m *nats.Msg) {
		id := m.Header.Get("ce-executionid")
		r.mu.Lock()
		if _, ok := r.doneAt[id]; !ok {
			r.doneAt[id] = time.Now()
		}
		r.mu.Unlock()
	})
	return err
}

// startInstance starts (again) instance i, connected first to node i.
func (r *runner) startInstance(ctx context.Context, i int) error {
	r.mu.Lock()
	life := 1
	if old := r.inst[i]; old != nil {
		life = old.life + 1
	}
	r.mu.Unlock()
	urls := append(append([]string(nil), r.urls[i%len(r.urls):]...), r.urls[:i%len(r.urls)]...)
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = strings.Join(urls, ",")
	cfg.NATS.Replicas = r.cfg.Replicas
	cfg.NATS.AckWait = ackWait
	cfg.HTTP.Addr = ""
	h := handlers{l: r.ledger, who: run{instance: i, life: life}}
	logger := jetjobs.NewLogger("error", "json", io.Discard)
	if r.cfg.LogLevel != "" {
		logger = jetjobs.NewLogger(r.cfg.LogLevel, "json", r.cfg.Progress).With().Int("instance", i+1).Logger()
	}
	eng, err := jetjobs.New(cfg, h.registry(), jetjobs.WithLogger(logger),
		jetjobs.WithComponents(saga.InEngine(orderSaga())), jetjobs.WithShutdownTimeout(5*time.Second))
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := eng.Start(sctx); err != nil {
		return fmt.Errorf("chaos: instance %d: %w", i+1, err)
	}
	r.mu.Lock()
	r.inst[i] = &instance{idx: i, life: life, eng: eng}
	r.mu.Unlock()
	return nil
}

// killInstance kills instance i as a crash would: its connection is cut
// first (nothing more is acknowledged or written), then what is left of it
// is stopped.
func (r *runner) killInstance(i int) *instance {
	r.mu.Lock()
	in := r.inst[i]
	r.inst[i] = &instance{idx: i, life: in.life}
	r.killed[run{instance: i, life: in.life}] = true
	r.mu.Unlock()
	if in.eng != nil {
		in.eng.Conn().Close()
		in.eng.Stop()
	}
	return in
}

// load sends STARTs at the configured rate until ctx ends: half async
// jobs, a third sync jobs, a sixth sagas (every other one asked to fail).
func (r *runner) load(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 256)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default: // the cluster is not answering: do not pile up
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.send(n)
		}()
	}
}

// send sends the n-th START and records whether the cluster accepted it.
func (r *runner) send(n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s := sent{kind: kindAsync}
	var err error
	switch n % 6 {
	case 0, 1, 2:
		s.id, err = r.client.Send(ctx, JobAsync, jobs.StageStart, &jobs.Request{}, bus.SendOptions{})
	case 3, 4:
		s.kind = kindSync
		s.id, err = r.client.Send(ctx, JobSync, jobs.StageExecute, &jobs.Request{}, bus.SendOptions{})
	default:
		s.kind, s.fail = kindSaga, n%12 == 11
		s.id, err = r.sagas.Start(ctx, Saga, saga.StartRequest{Input: map[string]any{"fail": s.fail}})
	}
	s.at = time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.refused++
		return
	}
	r.sent = append(r.sent, s)
}

func (r *runner) close() {
	r.mu.Lock()
	insts := append([]*instance(nil), r.inst...)
	r.mu.Unlock()
	for _, in := range insts {
		if in != nil && in.eng != nil {
			in.eng.Stop()
		}
	}
	if r.client != nil {
		r.client.Close()
	}
	if r.nc != nil {
		r.nc.Close()
	}
	if r.cl != nil {
		r.cl.Shutdown()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}
