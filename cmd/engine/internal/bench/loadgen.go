package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// LoadSummary is what `engine loadgen` prints on stdout, as JSON.
type LoadSummary struct {
	Name        string         `json:"name,omitempty"`
	URL         string         `json:"url"`
	Concurrency int            `json:"concurrency"`
	Rate        float64        `json:"rate,omitempty"` // 0: full speed
	Warmup      int            `json:"warmup"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Status      map[string]int `json:"status"` // answers by HTTP status code, or by job status over NATS
	FirstError  string         `json:"firstError,omitempty"`
	Seconds     float64        `json:"seconds"`
	Throughput  float64        `json:"throughput"` // successful requests per second
	P50         float64        `json:"p50ms"`
	P90         float64        `json:"p90ms"`
	P99         float64        `json:"p99ms"`
}

// Loadgen is `engine loadgen`: a small load generator that sends a
// JobStageRequest with Payload bytes of parameters, closed loop or at a
// fixed rate (open loop), and prints a LoadSummary on stdout. To an http(s)
// URL it POSTs from Concurrency keep-alive connections (a non-2xx answer is
// an error); to a nats URL it sends EXECUTE of --job over NATS as
// bus.Client.Call does, from Concurrency callers on one connection (an
// answer that is not a success is an error).
func Loadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "URL to POST to, e.g. http://127.0.0.1:8080/api/v1/bench-noop-sync/execute, or a NATS server, e.g. nats://127.0.0.1:4222 (required)")
	job := fs.String("job", JobSync, "sync job whose EXECUTE is sent (nats URL only)")
	prefix := fs.String("prefix", jetjobs.DefaultConfig().NATS.SubjectPrefix, "subject prefix (nats URL only)")
	rawSubject := fs.String("raw-subject", "", "send the EXECUTE command to this subject of a raw stream instead, and wait "+
		"for an answer on the inbox in its "+rawReplyHeader+" header (nats URL only; the bench's raw call baseline)")
	conc := fs.Int("concurrency", 64, "concurrent connections")
	n := fs.Int("requests", 20000, "requests to send (after the warm-up)")
	rate := fs.Float64("rate", 0, "requests per second, open loop (0: as fast as the connections allow)")
	payload := fs.Int("payload", 128, "bytes of JSON parameters in each request body")
	warmup := fs.Int("warmup", -1, "requests sent first and not measured (-1: 2 per connection)")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout")
	name := fs.String("name", "", "label copied into the summary")
	showProgress := fs.Bool("progress", false, "print progress on stderr every second")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: engine loadgen --url <url> [flags]\n\nPOSTs JobStageRequests and prints a JSON summary.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	u, err := url.Parse(*target)
	if *target == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "nats") {
		errs = append(errs, fmt.Errorf("--url: want an http(s) or nats URL, got %q", *target))
	}
	if *conc < 1 {
		errs = append(errs, fmt.Errorf("--concurrency: must be >= 1, got %d", *conc))
	}
	if *n < 1 {
		errs = append(errs, fmt.Errorf("--requests: must be >= 1, got %d", *n))
	}
	if *rate < 0 {
		errs = append(errs, fmt.Errorf("--rate: must be >= 0, got %v", *rate))
	}
	if *payload < 0 {
		errs = append(errs, fmt.Errorf("--payload: must be >= 0, got %d", *payload))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if *warmup < 0 {
		*warmup = 2 * *conc
	}
	params := map[string]any{"pad": strings.Repeat("x", max(*payload-len(`{"pad":""}`), 0))}
	var mu sync.Mutex
	status := map[string]int{}
	var send func(ctx context.Context) error
	if u.Scheme == "nats" {
		nc, js, err := bus.Connect(bus.ConnConfig{URL: *target, Name: "jetjobs-loadgen"})
		if err != nil {
			return err
		}
		defer nc.Close()
		client := bus.NewClient(nc, js, bus.WithPrefix(*prefix), bus.WithSource("/jetjobs/loadgen"))
		defer client.Close()
		if *rawSubject != "" {
			rc := newRawCaller(nc, js, client, *job, *rawSubject, *timeout)
			send = func(ctx context.Context) error { return rc.call(ctx, params) }
		} else {
			send = func(ctx context.Context) error {
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				resp, err := client.Call(ctx, *job, jobs.StageExecute, &jobs.Request{Parameters: params}, bus.SendOptions{})
				if err != nil {
					return err
				}
				mu.Lock()
				status[string(resp.Status)]++
				mu.Unlock()
				if !resp.Success {
					return fmt.Errorf("EXECUTE failed: %s", resp.ErrorText())
				}
				return nil
			}
		}
	} else {
		send, err = httpSender(*target, params, *conc, *timeout, func(code int) {
			mu.Lock()
			status[fmt.Sprint(code)]++
			mu.Unlock()
		})
		if err != nil {
			return err
		}
	}
	if *warmup > 0 {
		drive(ctx, *warmup, *conc, 0, nil, send)
		mu.Lock()
		clear(status)
		mu.Unlock()
	}
	var done atomic.Int64
	stop := func() {}
	if *showProgress {
		stop = progress(stderr, "loadgen "+*name, *n, func() int { return int(done.Load()) })
	}
	lats, nerr, first, elapsed := drive(ctx, *n, *conc, *rate, &done, send)
	stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	r := Result{}
	r.rate(*n-nerr, elapsed)
	r.percentiles(lats)
	s := LoadSummary{Name: *name, URL: *target, Concurrency: *conc, Rate: *rate, Warmup: *warmup, Requests: *n,
		Errors: nerr, Status: status, Seconds: r.Seconds, Throughput: r.Throughput, P50: r.P50, P90: r.P90, P99: r.P99}
	if first != nil {
		s.FirstError = first.Error()
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// httpSender POSTs {"parameters": params} to target over keep-alive
// connections and reports each answer's status code.
func httpSender(target string, params map[string]any, conc int, timeout time.Duration, answered func(int)) (func(context.Context) error, error) {
	body, err := json.Marshal(map[string]any{"parameters": params})
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: timeout}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		answered(resp.StatusCode)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		return nil
	}, nil
}
