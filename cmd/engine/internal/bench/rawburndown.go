package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// The raw burn-down baseline: raw JetStream doing the NATS work the engine
// does for one START of the no-op async job, with no engine. Its streams
// and bucket copy the configuration of the engine's own (JOBS_COMMANDS,
// JOBS_EVENTS, JOBS_AUDIT, JOBS_STATE) under other names and subjects,
// so that duplicate windows, limits, retention and TTL markers match.
const (
	resultBurndownRaw = "burndown-raw" // a result of the burndown scenario, which it follows

	rawBDCommands = "BENCH_RAWBD_COMMANDS"
	rawBDEvents   = "BENCH_RAWBD_EVENTS"
	rawBDAudit    = "BENCH_RAWBD_AUDIT"
	rawBDBucket   = "BENCH_RAWBD_STATE" // its stream is KV_BENCH_RAWBD_STATE
	rawBDPrefix   = "benchraw"          // the subject prefix, in place of "jobs"
	rawBDConsumer = "rawbd"
)

// rawBDPieces says which parts of the per-job work the raw burn-down does;
// the report runs them all. The others exist to tell, by hand, what each
// part costs (docs/benchmarks.md).
type rawBDPieces struct {
	kvWatch bool // a watcher on the bucket, one delivery per job, like the execution index
	pubAcks bool // the events and audit entry wait for their PubAcks; false: fire and forget
}

var allRawBDPieces = rawBDPieces{kvWatch: true, pubAcks: true}

// rawBodies are the payloads of one job's writes, of the engine's sizes
// for the run's parameters: the same bytes for every job (the server does
// not look into them), so the row costs no encoding.
type rawBodies struct{ record, audit, started, completed []byte }

// newRawBodies shapes the bodies like the engine's (the execution record,
// the audit entries of START and RESULT, the two events' data) for an
// execution id of idLen bytes and the run's parameters.
func newRawBodies(job string, idLen int, params map[string]any) rawBodies {
	id := strings.Repeat("i", idLen)
	p := `{"pad":""}`
	if pad, ok := params["pad"].(string); ok {
		p = `{"pad":"` + pad + `"}`
	}
	const ts = "2026-01-02T03:04:05.123456789Z"
	record := `{"executionId":"` + id + `","jobType":"` + job + `","mode":"async","status":"COMPLETED","lastStage":"START",` +
		`"parameters":` + p + `,"progressPercentage":100,"message":"ok","commandId":"` + id + `","attempts":1,"checks":0,` +
		`"createdAt":"` + ts + `","updatedAt":"` + ts + `","endedAt":"` + ts + `","deadline":"` + ts + `"}`
	entry := func(stage, msg, extra string) string {
		return `{"executionId":"` + id + `","jobType":"` + job + `","stage":"` + stage + `","status":"COMPLETED",` +
			`"outcome":"success","startedAt":"` + ts + `","endedAt":"` + ts + `","durationMs":0.086,"attempt":1,` +
			`"parameters":` + p + `,"message":"` + msg + `"` + extra + `}`
	}
	event := func(typ, status string) []byte {
		return []byte(`{"eventType":"` + typ + `","executionId":"` + id + `","jobType":"` + job + `","success":true,` +
			`"status":"` + status + `","error":null,"timestamp":"` + ts + `","message":"ok"}`)
	}
	return rawBodies{record: []byte(record),
		audit:   []byte("[" + entry("START", "ok", "") + "," + entry("RESULT", "completed", `,"initiator":"engine"`) + "]"),
		started: event(jobs.EventStarted, "STARTED"), completed: event(jobs.EventCompleted, "COMPLETED")}
}

// rawSyncBodies are the payloads of one raw call (rawcall.go).
type rawSyncBodies struct{ record, audit, result, completed, reply []byte }

// newRawSyncBodies shapes the bodies like a sync EXECUTE's of the no-op
// job: the record, the audit entry, the stored result, JOB_COMPLETED's data
// and the answer (a JobStageResponse; the engine's is a binary CloudEvent).
func newRawSyncBodies(job string, idLen int, params map[string]any) rawSyncBodies {
	b := newRawBodies(job, idLen, params)
	id := strings.Repeat("i", idLen)
	const ts = "2026-01-02T03:04:05.123456789Z"
	record := bytes.Replace(bytes.Replace(b.record, []byte(`"mode":"async"`), []byte(`"mode":"sync"`), 1),
		[]byte(`"lastStage":"START"`), []byte(`"lastStage":"EXECUTE"`), 1)
	audit, _, _ := bytes.Cut(b.audit[1:], []byte(`},{`)) // the first entry, as EXECUTE's
	return rawSyncBodies{record: record,
		audit: append(bytes.Replace(audit, []byte(`"stage":"START"`), []byte(`"stage":"EXECUTE"`), 1), '}'),
		result: []byte(`{"executionId":"` + id + `","jobType":"` + job + `","status":"COMPLETED","message":"ok",` +
			`"completedAt":"` + ts + `","sizeBytes":180}`),
		completed: b.completed,
		reply: []byte(`{"success":true,"executionId":"` + id + `","stage":"EXECUTE","status":"COMPLETED",` +
			`"message":"ok","timestamp":"` + ts + `","progressPercentage":100}`)}
}

// rawBurndown is the engine's burn-down done by raw JetStream: Jobs START
// messages of the engine's (headers and body, on a subject of its own)
// are queued in a work-queue stream shaped like JOBS_COMMANDS, then
// drained with bus.Consume and the engine's pool size. Per message: a KV
// create of the record's size with the engine's headers (expected last
// subject sequence 0, a message id, the terminal record's TTL) waiting for
// its answer; the audit entry (one subject per execution) and the
// JOB_STARTED and JOB_COMPLETED events (binary CloudEvents headers, the
// engine's message ids) published asynchronously; their acks awaited; the
// command acked. A watcher on the bucket stands for the execution index
// and one on the completed events for the bench's tracker, which times
// the drain as the burndown scenario's does: the floor the wire contract
// sets on this machine.
func (e *env) rawBurndown(ctx context.Context, pieces rawBDPieces) (r Result) {
	const name, job = resultBurndownRaw, JobAsync
	n := e.cfg.Jobs
	fail := func(err error) Result { return failed(name, err)[0] }
	if err := e.rawBDStreams(ctx); err != nil {
		return fail(err)
	}
	defer e.dropRawBD(context.WithoutCancel(ctx))
	subj := bus.Subjects{Prefix: rawBDPrefix}
	cons, err := e.copyConsumer(ctx, job, subj.Command(job, jobs.StageStart.Token()))
	if err != nil {
		return fail(err)
	}
	bucket, err := e.js.KeyValue(ctx, rawBDBucket)
	if err != nil {
		return fail(err)
	}
	tr := newTracker("rb"+e.runID+"-", n, 0)
	stopWatch, err := watchStream(ctx, e.js, rawBDEvents, []string{subj.Event(job, jobs.EventCompleted)}, tr, nil)
	if err != nil {
		return fail(err)
	}
	defer stopWatch()
	t0 := time.Now()
	if _, err := e.publishStartsTo(ctx, subj.Command(job, jobs.StageStart.Token()), job, tr, n); err != nil {
		return fail(err)
	}
	e.say("  %d START-shaped messages queued in %.2fs; draining them with raw JetStream", n, time.Since(t0).Seconds())
	bodies := newRawBodies(job, len(tr.prefix)+len(strconv.Itoa(n-1)), e.params)
	ttl := rawRecordTTL()
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		return fail(err)
	}
	profile := ""
	if e.cfg.CPUProfile != "" {
		profile = e.cfg.CPUProfile + ".raw"
	}
	stopProf, err := cpuProfile(profile)
	if err != nil {
		return fail(err)
	}
	stopProf = sync.OnceFunc(stopProf)
	defer stopProf()
	stopProg := progress(e.log, name, n, func() int { d, _ := tr.progress(); return d })
	p0 := readProc()
	start := time.Now()
	var watched atomic.Int64
	if pieces.kvWatch {
		stopKV, err := watchBucket(ctx, bucket, &watched)
		if err != nil {
			stopProg()
			return fail(err)
		}
		defer stopKV()
	}
	var msgIDs atomic.Int64
	var failures atomic.Int64
	pool, err := bus.Consume(cons, jetjobsPool, func(m jetstream.Msg) {
		if err := rawJob(ctx, js, e.nc, m, subj, job, bodies, ttl, &msgIDs, pieces.pubAcks); err != nil {
			failures.Add(1)
			_ = m.Nak()
			return
		}
		_ = m.Ack()
	})
	if err != nil {
		stopProg()
		return fail(err)
	}
	err = tr.wait(ctx, n, stall)
	stopProf()
	pool.Stop(context.WithoutCancel(ctx))
	stopProg()
	r = Result{Name: name}
	r.drained(p0, tr, n, start, err)
	if after, err := quiesceWhere(ctx, e.js, isRawBD); err == nil {
		r.PersistedOpsPerJob = float64(stored(seqs{}, after)) / float64(n)
	}
	r.note("raw JetStream doing the engine's NATS work per job without the engine (START consumed and acked, KV create "+
		"awaited, audit entry and 2 events pipelined%s, %s), timed from the consumer's start; the burndown row's ratio "+
		"is burndown / this row", unless(pieces.pubAcks, " without waiting for their acks", " and their acks awaited"),
		unless(pieces.kvWatch, "NO KV watcher", "a KV watcher like the execution index"))
	if pieces.kvWatch {
		r.note("the KV watcher saw %d writes", watched.Load())
	}
	if profile != "" {
		r.note("CPU profile of the drain in %s", profile)
	}
	if f := failures.Load(); f > 0 {
		r.note("%d deliveries failed and were redelivered", f)
	}
	return r
}

// unless is no when cond is false, else yes.
func unless(cond bool, no, yes string) string {
	if !cond {
		return no
	}
	return yes
}

// rawJob is one job's NATS work (see rawBurndown).
func rawJob(ctx context.Context, js jetstream.JetStream, nc *nats.Conn, m jetstream.Msg, subj bus.Subjects, job string,
	b rawBodies, ttl string, msgIDs *atomic.Int64, pubAcks bool) error {
	id := m.Headers().Get("ce-id") // the engine takes the command's id as the execution id
	if err := rawCreate(ctx, js, job, id, b.record, ttl, msgIDs); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	msgs := [3]*nats.Msg{
		rawAuditMsg(subj, job, id, b.audit, msgIDs),
		{Subject: subj.Event(job, jobs.EventStarted), Data: b.started, Header: rawEventHeader(job, id, jobs.EventStarted, now)},
		{Subject: subj.Event(job, jobs.EventCompleted), Data: b.completed, Header: rawEventHeader(job, id, jobs.EventCompleted, now)},
	}
	if !pubAcks {
		for _, msg := range msgs {
			if err := nc.PublishMsg(msg); err != nil {
				return err
			}
		}
		return nil
	}
	return publishAll(ctx, js, msgs[:])
}

// rawCreate is the engine's creation of an execution record: a KV create
// in the state bucket's copy (expected last subject sequence 0, a message
// id, the terminal record's TTL), waiting for its answer. A record an
// earlier delivery created is taken as created, as the engine would.
func rawCreate(ctx context.Context, js jetstream.JetStream, job, id string, record []byte, ttl string, msgIDs *atomic.Int64) error {
	rec := nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"},
		nats.MsgIdHdr: {rawMsgID(msgIDs)}}
	if ttl != "" {
		rec[jetstream.MsgTTLHeader] = []string{ttl}
	}
	_, err := js.PublishMsg(ctx, &nats.Msg{Subject: "$KV." + rawBDBucket + "." + kv.Key(job, id), Header: rec, Data: record})
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return nil
	}
	return err
}

// rawRecordTTL is the Nats-TTL header the engine gives a terminal record
// with the default configuration.
func rawRecordTTL() string {
	days := jetjobs.DefaultConfig().Orchestration.Persistence.ExecutionRetentionDays
	return bus.TTLHeader(time.Duration(days) * 24 * time.Hour)
}

// rawMsgID is the next Nats-Msg-Id of a raw row's write without an id of
// its own (the engine's acknowledgement reader gives one to each).
func rawMsgID(msgIDs *atomic.Int64) string { return "rb-" + strconv.FormatInt(msgIDs.Add(1), 36) }

// rawAuditMsg is an execution's audit entry as the engine publishes it.
func rawAuditMsg(subj bus.Subjects, job, id string, body []byte, msgIDs *atomic.Int64) *nats.Msg {
	return &nats.Msg{Subject: subj.Audit(job, id), Data: body,
		Header: nats.Header{"Content-Type": {"application/json"}, nats.MsgIdHdr: {rawMsgID(msgIDs)}}}
}

// publishAll publishes msgs without waiting for each acknowledgement, then
// waits for them all: the engine's pipeline.
func publishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	futures := make([]jetstream.PubAckFuture, 0, 4)
	for _, msg := range msgs {
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// rawEventHeader is an event's binary-mode CloudEvents header, the
// engine's keys and message id.
func rawEventHeader(job, id, typ, now string) nats.Header {
	evID := job + "." + id + "." + typ
	return nats.Header{"Content-Type": {"application/json"}, nats.MsgIdHdr: {evID},
		"ce-datacontenttype": {"application/json"}, "ce-executionid": {id}, "ce-id": {evID}, "ce-jobtype": {job},
		"ce-source": {"/data-job-events/" + job}, "ce-specversion": {"1.0"}, "ce-subject": {id}, "ce-time": {now},
		"ce-type": {typ}}
}

// watchBucket counts every write to bucket until stop, as the execution
// index's watch receives them.
func watchBucket(ctx context.Context, bucket jetstream.KeyValue, seen *atomic.Int64) (stop func(), err error) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := bucket.WatchAll(wctx)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-wctx.Done():
				return
			case u, ok := <-w.Updates():
				if !ok {
					return
				}
				if u != nil {
					seen.Add(1)
				}
			}
		}
	}()
	return func() { cancel(); _ = w.Stop(); <-done }, nil
}

// rawBDStreams creates the raw burn-down's streams as copies of the
// engine's (which the bench's first engine created), under other names
// and subjects.
func (e *env) rawBDStreams(ctx context.Context) error {
	e.dropRawBD(ctx)
	for _, c := range []struct{ from, to, subject string }{
		{bus.StreamCommands, rawBDCommands, rawBDPrefix + ".cmd.>"},
		{bus.StreamEvents, rawBDEvents, rawBDPrefix + ".evt.>"},
		{bus.StreamAudit, rawBDAudit, rawBDPrefix + ".audit.>"},
		{"KV_" + kv.StateBucket, "KV_" + rawBDBucket, "$KV." + rawBDBucket + ".>"},
		{"KV_" + kv.ResultsBucket, "KV_" + rawBDResults, "$KV." + rawBDResults + ".>"},
	} {
		st, err := e.js.Stream(ctx, c.from)
		if err != nil {
			return fmt.Errorf("the engine's stream %s: %w", c.from, err)
		}
		sc := st.CachedInfo().Config
		sc.Name, sc.Subjects, sc.Metadata, sc.Description = c.to, []string{c.subject}, nil, "jetjobs bench: raw burn-down"
		if _, err := e.js.CreateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream %s: %w", c.to, err)
		}
	}
	return nil
}

// copyConsumer creates a raw row's durable consumer on subject as a copy
// of the engine's command consumer of job.
func (e *env) copyConsumer(ctx context.Context, job, subject string) (jetstream.Consumer, error) {
	c, err := e.js.Consumer(ctx, bus.StreamCommands, bus.CommandConsumer(job))
	if err != nil {
		return nil, fmt.Errorf("the engine's consumer: %w", err)
	}
	cc := c.CachedInfo().Config
	cc.Durable, cc.Name, cc.FilterSubject, cc.FilterSubjects, cc.Metadata = rawBDConsumer, "", subject, nil, nil
	cc.Description = "jetjobs bench: raw row"
	return e.js.CreateOrUpdateConsumer(ctx, rawBDCommands, cc)
}

func (e *env) dropRawBD(ctx context.Context) {
	for _, s := range []string{rawBDCommands, rawBDEvents, rawBDAudit, "KV_" + rawBDBucket, "KV_" + rawBDResults} {
		_ = e.js.DeleteStream(ctx, s)
	}
}

// isRawBD keeps the raw burn-down's streams in a snapshot.
func isRawBD(stream string) bool {
	switch stream {
	case rawBDCommands, rawBDEvents, rawBDAudit, "KV_" + rawBDBucket, "KV_" + rawBDResults:
		return true
	}
	return false
}

// withRawBurndown follows the burndown scenario's result with the raw
// burn-down on a fresh server, as the engine had; nothing when the
// burn-down failed.
func (e *env) withRawBurndown(ctx context.Context, out []Result) []Result {
	if len(out) == 0 || out[0].Error != "" || ctx.Err() != nil {
		return out
	}
	if err := e.between(ctx); err != nil {
		return append(out, failed(resultBurndownRaw, err)...)
	}
	e.say("== %s", resultBurndownRaw)
	return append(out, e.rawBurndown(ctx, allRawBDPieces))
}
