package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetjobs/jetjobs"
)

// drive runs n operations on conc workers. With rate 0 it is a closed loop
// (each worker calls back to back; latency is the call's). With rate > 0 it
// is an open loop: operation i is due at start + i/rate and its latency
// runs from that time, so a slow answer that delays the next calls counts
// against them too (no coordinated omission).
func drive(ctx context.Context, n, conc int, rate float64, done *atomic.Int64, op func(context.Context) error) (lats []time.Duration, errs int, first error, elapsed time.Duration) {
	var next atomic.Int64
	per := make([][]time.Duration, conc)
	perErr := make([]int, conc)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				at := time.Now()
				if rate > 0 {
					at = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if d := time.Until(at); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-t.C:
						case <-ctx.Done():
							t.Stop()
							return
						}
					}
				}
				if err := op(ctx); err != nil {
					perErr[w]++
					firstErr.CompareAndSwap(nil, err)
				} else {
					per[w] = append(per[w], time.Since(at))
				}
				if done != nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed = time.Since(start)
	for w := range conc {
		lats = append(lats, per[w]...)
		errs += perErr[w]
	}
	first, _ = firstErr.Load().(error)
	return lats, errs, first, elapsed
}

// halfRate is the rate and size of the second pass: half the measured
// throughput, for at most Duration.
func (e *env) halfRate(full Result) (float64, int) {
	rate := max(full.Throughput/2, 1)
	return rate, max(min(e.cfg.Jobs, int(rate*e.cfg.Duration.Seconds())), 1)
}

// syncExecute calls the no-op sync job over NATS (EXECUTE with a replyto,
// as bus.Client.Call does: a JetStream publish, then the answer on core
// NATS) from Concurrency callers in `engine loadgen`, a separate process,
// so that the engine's process holds only the engine and the embedded
// server, as in production; then again at half that rate.
//
// Then the raw call baseline: raw JetStream doing the same writes per call
// without the engine, at full speed and at the engine's half rate, which
// bounds the engine's throughput and latency on this machine.
func (e *env) syncExecute(ctx context.Context) []Result {
	out := e.viaLoadgen(ctx, "sync", false, func(*jetjobs.Engine) string { return e.url },
		"load from a separate process (engine loadgen) over NATS, %d callers on one connection; %d warm-up calls first")
	return e.withRawBaseline(ctx, out, "sync-raw", "over NATS", "sync-half-rate",
		func(context.Context) (string, func(), error) { return e.url, func() {}, nil }, "--raw-subject", rawCallSubject)
}

// rest runs `engine loadgen` against the REST adapter's POST
// {base}/bench-noop-sync/execute: full speed, then half that rate.
//
// Then the raw REST baseline: the raw call behind plain net/http, without
// the engine, at full speed and at the engine's half rate.
func (e *env) rest(ctx context.Context) []Result {
	out := e.viaLoadgen(ctx, "rest", true, func(eng *jetjobs.Engine) string {
		return "http://" + eng.HTTPAddr() + jetjobs.DefaultConfig().EffectiveJob(JobSync).BasePath + "/execute"
	}, "load from a separate process (engine loadgen), %d connections; %d warm-up requests first")
	return e.withRawBaseline(ctx, out, "rest-raw", "behind plain net/http", "rest-half-rate", e.rawREST)
}

// viaLoadgen starts an engine, drives it from `engine loadgen` at full
// speed and then at half that rate, and counts what was stored.
func (e *env) viaLoadgen(ctx context.Context, name string, withHTTP bool, target func(*jetjobs.Engine) string, note string) []Result {
	eng, _, err := e.engine(ctx, withHTTP)
	if err != nil {
		return failed(name, err)
	}
	defer eng.Stop()
	url := target(eng)
	before, err := snapshot(ctx, e.js)
	if err != nil {
		return failed(name, err)
	}
	full, sum, err := e.loadgen(ctx, name, url, e.cfg.Jobs, 0)
	if err != nil {
		return failed(name, err)
	}
	if after, err := quiesce(ctx, e.js); err == nil {
		full.PersistedOpsPerJob = float64(stored(before, after)) / float64(sum.Requests+sum.Warmup)
	}
	full.note(note, e.cfg.Concurrency, sum.Warmup)
	if full.Ops == 0 || ctx.Err() != nil {
		return []Result{full}
	}
	rate, n := e.halfRate(full)
	half, _, err := e.loadgen(ctx, name+"-half-rate", url, n, rate)
	if err != nil {
		return append([]Result{full}, failed(name+"-half-rate", err)...)
	}
	half.PersistedOpsPerJob = full.PersistedOpsPerJob
	half.note("open loop at %.0f/s (half the full-speed rate); latency from the scheduled send time", rate)
	return []Result{full, half}
}

// loadgen runs the load generator in a separate process and reads its
// summary.
func (e *env) loadgen(ctx context.Context, name, url string, n int, rate float64, extra ...string) (Result, *LoadSummary, error) {
	cmd := e.cfg.Self
	args := append(slices.Clone(cmd[1:]), "loadgen", "--url", url, "--concurrency", strconv.Itoa(e.cfg.Concurrency),
		"--requests", strconv.Itoa(n), "--payload", strconv.Itoa(e.cfg.Payload),
		"--rate", strconv.FormatFloat(rate, 'f', 2, 64), "--name", name)
	args = append(args, extra...)
	if rate > 0 {
		args = append(args, "--warmup", "0")
	}
	if e.log != io.Discard {
		args = append(args, "--progress")
	}
	p0 := readProc()
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, cmd[0], args...)
	c.Stdout, c.Stderr = &stdout, io.MultiWriter(e.log, &stderr)
	if err := c.Run(); err != nil {
		return Result{}, nil, fmt.Errorf("loadgen: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var s LoadSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return Result{}, nil, fmt.Errorf("loadgen: summary: %w: %q", err, stdout.String())
	}
	r := Result{Name: name, Ops: s.Requests - s.Errors, Errors: s.Errors, Seconds: s.Seconds, Throughput: s.Throughput,
		P50: s.P50, P90: s.P90, P99: s.P99, RSSMiB: rssMiB()}
	r.process(p0, s.Requests+s.Warmup)
	if s.FirstError != "" {
		r.note("first error: %s", s.FirstError)
	}
	if r.Ops == 0 {
		return r, &s, errors.New("loadgen: no request succeeded: " + s.FirstError)
	}
	return r, &s, nil
}
