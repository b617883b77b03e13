package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// CloudEvents extensions a replayed command carries: who replayed it and
// the DLQ entry it came from. The worker resumes the command's execution
// when it sees them (jobs.Runtime.Resume).
const (
	ExtReplayedBy = "replayedby"
	ExtReplayOf   = "replayof"
)

// DLQ reads and manages the dead letters of JOBS_DLQ (docs/operations.md,
// "Dead letters"): list, show, replay, delete, purge. It is what `engine
// dlq` and the REST DLQ routes use.
type DLQ struct {
	js       jetstream.JetStream
	subjects Subjects
	san      *jobs.Sanitizer
}

// NewDLQ manages the dead letters under prefix. Shown commands have the
// values of sanitizer's sensitive parameters and metadata masked (nil:
// shown as stored).
func NewDLQ(js jetstream.JetStream, prefix string, sanitizer *jobs.Sanitizer) *DLQ {
	return &DLQ{js: js, subjects: Subjects{Prefix: prefix}, san: sanitizer}
}

// DLQEntry is one dead letter.
type DLQEntry struct {
	Seq            uint64    `json:"seq"` // its sequence in JOBS_DLQ: its id
	JobType        string    `json:"jobType"`
	Stage          string    `json:"stage"`
	Reason         string    `json:"reason"`
	Subject        string    `json:"subject"`               // the command's subject
	CommandSeq     uint64    `json:"commandSeq,omitempty"`  // its sequence in JOBS_COMMANDS
	Deliveries     uint64    `json:"deliveries"`            // deliveries before it was dead-lettered
	DeadLetteredAt time.Time `json:"deadLetteredAt"`        // when
	CommandID      string    `json:"commandId,omitempty"`   // the command's CloudEvents id
	ExecutionID    string    `json:"executionId,omitempty"` // the execution it addresses, if it says
	Size           int       `json:"size"`                  // bytes of the command's body
	// Command is the original command (Show only): its headers and data,
	// sensitive values masked.
	Command *DLQCommand `json:"command,omitempty"`
}

// DLQCommand is a dead letter's original command.
type DLQCommand struct {
	Headers map[string]string `json:"headers"`
	Data    json.RawMessage   `json:"data,omitempty"` // JSON data as JSON
	Text    string            `json:"text,omitempty"` // any other body as text
}

// DLQFilter selects dead letters; zero values select all.
type DLQFilter struct {
	JobType string // only this job type
	Stage   string // only this stage token (start, check, …)
	After   uint64 // only entries after this sequence (paging)
	Limit   int    // at most this many; default 50, at most 1000
}

// DLQPage is one page of List.
type DLQPage struct {
	Entries []DLQEntry `json:"entries"`
	Total   uint64     `json:"total"` // entries matching the filter (all pages)
	Next    uint64     `json:"next"`  // the After of the next page; 0: no more
}

// DLQReplay says what Replay published.
type DLQReplay struct {
	Seq         uint64 `json:"seq"`
	JobType     string `json:"jobType"`
	Stage       string `json:"stage"`
	Subject     string `json:"subject"`
	CommandID   string `json:"commandId"` // the new id
	ExecutionID string `json:"executionId,omitempty"`
	ReplayedBy  string `json:"replayedBy"`
}

// Errors of the DLQ; both are *jobs.Error (a REST status follows from the
// code).
var (
	ErrDLQEntryNotFound = &jobs.Error{Code: jobs.CodeNotFound, Msg: "not found"}
	ErrNotReplayable    = &jobs.Error{Code: jobs.CodeInvalidArgument, Msg: "cannot be replayed, only deleted"}
)

func (d *DLQ) stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := d.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "stream " + StreamDLQ, Err: err}
	}
	return s, nil
}

// filterSubject is the DLQ subject filter of a job type and stage.
func (d *DLQ) filterSubject(f DLQFilter) (string, error) {
	job, stage := "*", "*"
	if f.JobType != "" {
		if f.JobType != "_invalid" && jobs.ValidateJobName(f.JobType) != nil {
			return "", &jobs.Error{Code: jobs.CodeInvalidArgument, Msg: fmt.Sprintf("invalid job type %q", f.JobType)}
		}
		job = f.JobType
	}
	if f.Stage != "" {
		if st, err := jobs.ParseStage(f.Stage); f.Stage != "_unknown" && (err != nil || st.Token() != f.Stage) {
			return "", &jobs.Error{Code: jobs.CodeInvalidArgument,
				Msg: fmt.Sprintf("invalid stage %q (want start, check, collect, result, stop or execute)", f.Stage)}
		}
		stage = f.Stage
	}
	return d.subjects.DLQ(job, stage), nil
}

// Depth is the number of dead letters.
func (d *DLQ) Depth(ctx context.Context) (uint64, error) {
	s, err := d.stream(ctx)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "stream " + StreamDLQ, Err: err}
	}
	return info.State.Msgs, nil
}

// count is the number of dead letters under a subject filter.
func count(ctx context.Context, s jetstream.Stream, filter string) (uint64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "stream " + StreamDLQ, Err: err}
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, nil
}

// List returns a page of dead letters in order, oldest first, without
// their commands.
func (d *DLQ) List(ctx context.Context, f DLQFilter) (*DLQPage, error) {
	filter, err := d.filterSubject(f)
	if err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	s, err := d.stream(ctx)
	if err != nil {
		return nil, err
	}
	page := &DLQPage{Entries: []DLQEntry{}}
	if page.Total, err = count(ctx, s, filter); err != nil || page.Total == 0 {
		return page, err
	}
	seq := f.After + 1
	for {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return page, nil
		}
		if err != nil {
			return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "reading " + StreamDLQ, Err: err}
		}
		if len(page.Entries) == f.Limit {
			page.Next = page.Entries[len(page.Entries)-1].Seq
			return page, nil
		}
		page.Entries = append(page.Entries, d.entry(raw))
		seq = raw.Sequence + 1
	}
}

// Show returns one dead letter with its original command.
func (d *DLQ) Show(ctx context.Context, seq uint64) (*DLQEntry, error) {
	raw, err := d.get(ctx, seq)
	if err != nil {
		return nil, err
	}
	e := d.entry(raw)
	e.Command = d.command(raw)
	return &e, nil
}

func (d *DLQ) get(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := d.stream(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) || (err == nil && !strings.HasPrefix(raw.Subject, d.subjects.Prefix+".dlq.")) {
		return nil, &jobs.Error{Code: jobs.CodeNotFound, Msg: fmt.Sprintf("dead letter %d", seq), Err: ErrDLQEntryNotFound}
	}
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "reading " + StreamDLQ, Err: err}
	}
	return raw, nil
}

// entry reads a dead letter's headers.
func (d *DLQ) entry(raw *jetstream.RawStreamMsg) DLQEntry {
	rest, _ := strings.CutPrefix(raw.Subject, d.subjects.Prefix+".dlq.")
	job, stage, _ := strings.Cut(rest, ".")
	h := raw.Header
	e := DLQEntry{Seq: raw.Sequence, JobType: job, Stage: stage, Reason: h.Get(HeaderDLQReason),
		Subject: h.Get(HeaderDLQSubject), Size: len(raw.Data), DeadLetteredAt: raw.Time.UTC()}
	e.CommandSeq, _ = strconv.ParseUint(h.Get(HeaderDLQStreamSeq), 10, 64)
	e.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDLQDeliveries), 10, 64)
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderDLQTime)); err == nil {
		e.DeadLetteredAt = t
	}
	if ev, err := Decode(h, raw.Data); err == nil {
		e.CommandID = ev.ID()
		e.ExecutionID = extString(&ev, "executionid")
		if e.ExecutionID == "" {
			var req struct {
				ExecutionID string `json:"executionId"`
			}
			_ = json.Unmarshal(ev.Data(), &req)
			e.ExecutionID = req.ExecutionID
		}
		if e.ExecutionID == "" && ev.Subject() != "" {
			e.ExecutionID = ev.Subject()
		}
	}
	return e
}

// command is a dead letter's original command: its headers but the DLQ's
// own and NATS's, its body as JSON or text, sensitive values masked.
func (d *DLQ) command(raw *jetstream.RawStreamMsg) *DLQCommand {
	c := &DLQCommand{Headers: map[string]string{}}
	for k, v := range raw.Header {
		if strings.HasPrefix(k, "Jobs-Dlq-") || strings.HasPrefix(k, "Nats-") || len(v) == 0 {
			continue
		}
		c.Headers[k] = v[0]
	}
	body := raw.Data
	if ev, err := Decode(raw.Header, raw.Data); err == nil {
		body = ev.Data()
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		if d.san != nil {
			if p, ok := m["parameters"].(map[string]any); ok {
				m["parameters"] = d.san.Map(p)
			}
			if md, ok := m["metadata"].(map[string]any); ok {
				m["metadata"] = d.san.Map(md)
			}
		}
		if b, err := json.Marshal(m); err == nil {
			c.Data = b
			return c
		}
	}
	if json.Valid(body) {
		c.Data = append(json.RawMessage(nil), body...)
	} else {
		c.Text = string(body)
	}
	return c
}

// Replay publishes a dead letter's command again on its subject with a new
// id (so the command stream's dedup does not drop it) and removes the
// entry. A START or EXECUTE whose execution id was derived from its
// original id is given that id explicitly, so the replay addresses the same
// execution; the worker then runs the command and resumes the execution
// if it exists (jobs.Runtime.Resume), and audits the replay under by.
func (d *DLQ) Replay(ctx context.Context, seq uint64, by string) (*DLQReplay, error) {
	raw, err := d.get(ctx, seq)
	if err != nil {
		return nil, err
	}
	e := d.entry(raw)
	if !strings.HasPrefix(e.Subject, d.subjects.Prefix+".cmd.") || !validPublishSubject(e.Subject) {
		return nil, &jobs.Error{Code: jobs.CodeInvalidArgument, Err: ErrNotReplayable,
			Msg: fmt.Sprintf("dead letter %d (no command subject %q)", seq, e.Subject)}
	}
	ev, err := Decode(raw.Header, raw.Data)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeInvalidArgument, Err: ErrNotReplayable,
			Msg: fmt.Sprintf("dead letter %d (not a CloudEvent: %v)", seq, err)}
	}
	if by == "" {
		by = "unknown"
	}
	rest, _ := strings.CutPrefix(e.Subject, d.subjects.Prefix+".cmd.")
	_, stage, _ := strings.Cut(rest, ".")
	if (stage == jobs.StageStart.Token() || stage == jobs.StageExecute.Token()) && e.ExecutionID == "" &&
		jobs.ValidateExecutionID(ev.ID()) == nil {
		ev.SetExtension("executionid", ev.ID())
		e.ExecutionID = ev.ID()
	}
	ev.SetID(newID())
	ev.SetExtension(ExtReplayedBy, by)
	ev.SetExtension(ExtReplayOf, strconv.FormatUint(seq, 10))
	h, body, err := Encode(ev)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeInvalidArgument, Err: ErrNotReplayable,
			Msg: fmt.Sprintf("dead letter %d (%v)", seq, err)}
	}
	for k, v := range raw.Header { // other headers travel on; DLQ and NATS control headers do not, nor the
		// original's Content-Type: a structured original is republished in binary mode
		if _, set := h[k]; set || strings.HasPrefix(k, "Jobs-Dlq-") || strings.HasPrefix(k, "Nats-") ||
			strings.HasPrefix(strings.ToLower(k), ceHeaderPrefix) || strings.EqualFold(k, contentTypeHeader) {
			continue
		}
		h[k] = v
	}
	h.Set(headerMsgID, ev.ID())
	if err := publish(ctx, d.js, &nats.Msg{Subject: e.Subject, Header: h, Data: body}); err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "republishing the command", Err: err}
	}
	out := &DLQReplay{Seq: seq, JobType: e.JobType, Stage: stage, Subject: e.Subject, CommandID: ev.ID(),
		ExecutionID: e.ExecutionID, ReplayedBy: by}
	if err := d.Delete(ctx, seq); err != nil && !errors.Is(err, ErrDLQEntryNotFound) {
		return out, fmt.Errorf("replayed as command %s, but the dead letter was not removed: %w", ev.ID(), err)
	}
	return out, nil
}

// Delete removes one dead letter.
func (d *DLQ) Delete(ctx context.Context, seq uint64) error {
	if _, err := d.get(ctx, seq); err != nil {
		return err
	}
	s, err := d.stream(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); errors.Is(err, jetstream.ErrMsgNotFound) {
		return &jobs.Error{Code: jobs.CodeNotFound, Msg: fmt.Sprintf("dead letter %d", seq), Err: ErrDLQEntryNotFound}
	} else if err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "deleting from " + StreamDLQ, Err: err}
	}
	return nil
}

// Purge removes every dead letter of a job type, or all of them when
// jobType is "". It returns how many there were.
func (d *DLQ) Purge(ctx context.Context, jobType string) (uint64, error) {
	filter, err := d.filterSubject(DLQFilter{JobType: jobType})
	if err != nil {
		return 0, err
	}
	s, err := d.stream(ctx)
	if err != nil {
		return 0, err
	}
	n, err := count(ctx, s, filter)
	if err != nil || n == 0 {
		return 0, err
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(filter)); err != nil {
		return 0, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "purging " + StreamDLQ, Err: err}
	}
	return n, nil
}
