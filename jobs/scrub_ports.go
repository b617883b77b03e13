package jobs

import "context"

// The runtime's ports, wrapped so that nothing reaches a store or the event
// stream unscrubbed: whatever path of the lifecycle writes an execution
// record, an audit entry, a result or an event, it goes through one of
// these. The scrubber is the command's (WithScrubber), else one that masks
// sensitive keys only (an engine-driven CHECK has no unmasked parameters).

func scrubberOf(ctx context.Context, base *Scrubber) *Scrubber {
	if sc := ScrubberFrom(ctx); sc != nil {
		return sc
	}
	return base
}

type scrubStore struct {
	StateStore
	base *Scrubber
}

var _ StateStore = (*scrubStore)(nil)

func (s *scrubStore) scrub(ctx context.Context, e *Execution) *Execution {
	sc := scrubberOf(ctx, s.base)
	if sc.clean(e.Parameters) && sc.clean(e.Metadata) && sc.clean(e.Message) && sc.clean(e.Error) {
		return e
	}
	cp := *e
	cp.Parameters = sc.Map(e.Parameters)
	cp.Metadata = sc.Strings(e.Metadata)
	cp.Message = sc.Text(e.Message)
	cp.Error = sc.Text(e.Error)
	return &cp
}

func (s *scrubStore) Create(ctx context.Context, e *Execution) (uint64, error) {
	return s.StateStore.Create(ctx, s.scrub(ctx, e))
}

func (s *scrubStore) Update(ctx context.Context, e *Execution, rev uint64) (uint64, error) {
	return s.StateStore.Update(ctx, s.scrub(ctx, e), rev)
}

type scrubEvents struct {
	next EventPublisher
	base *Scrubber
}

var _ EventPublisher = (*scrubEvents)(nil)

func (p *scrubEvents) Publish(ctx context.Context, ev *Event) error {
	sc := scrubberOf(ctx, p.base)
	if d := &ev.Data; sc.clean(d.Data) && sc.clean(d.Metadata) && sc.clean(d.Message) && (d.Error == nil || sc.clean(*d.Error)) {
		return p.next.Publish(ctx, ev)
	}
	cp := *ev
	d := &cp.Data
	d.Error = sc.TextPtr(d.Error)
	d.Message = sc.Text(d.Message)
	d.Data = sc.Map(d.Data)
	d.Metadata = sc.Strings(d.Metadata)
	return p.next.Publish(ctx, &cp)
}

type scrubAudit struct {
	next AuditSink
	base *Scrubber
}

var _ AuditSink = (*scrubAudit)(nil)

func (a *scrubAudit) Append(ctx context.Context, entries ...*AuditEntry) error {
	sc := scrubberOf(ctx, a.base)
	var out []*AuditEntry // nil while every entry so far is clean: they go as they are
	for i, e := range entries {
		if sc.clean(e.Parameters) && sc.clean(e.Metadata) && sc.clean(e.Message) && sc.clean(e.Error) && sc.clean(e.StackTrace) {
			if out != nil {
				out[i] = e
			}
			continue
		}
		if out == nil {
			out = make([]*AuditEntry, len(entries))
			copy(out, entries[:i])
		}
		cp := *e
		cp.Parameters = sc.Map(e.Parameters)
		cp.Metadata = sc.Strings(e.Metadata)
		cp.Message = sc.Text(e.Message)
		cp.Error = sc.Text(e.Error)
		cp.StackTrace = sc.Text(e.StackTrace)
		out[i] = &cp
	}
	if out == nil {
		out = entries
	}
	return a.next.Append(ctx, out...)
}

type scrubResults struct {
	ResultStore
	base *Scrubber
}

var _ ResultStore = (*scrubResults)(nil)

func (r *scrubResults) Put(ctx context.Context, res *Result) error {
	sc := scrubberOf(ctx, r.base)
	if sc.clean(res.RawOutput) && sc.clean(res.TransformedOutput) && sc.clean(res.Metadata) && sc.clean(res.Message) {
		return r.ResultStore.Put(ctx, res)
	}
	cp := *res
	cp.RawOutput = sc.Any(res.RawOutput)
	cp.TransformedOutput = sc.Map(res.TransformedOutput)
	cp.Metadata = sc.Strings(res.Metadata)
	cp.Message = sc.Text(res.Message)
	return r.ResultStore.Put(ctx, &cp)
}

// scrubResponse masks what a reply carries: data, metadata, message and
// error.
func scrubResponse(sc *Scrubber, resp *Response) *Response {
	if sc == nil || resp == nil {
		return resp
	}
	if sc.clean(resp.Data) && sc.clean(resp.Metadata) && sc.clean(resp.Message) && (resp.Error == nil || sc.clean(*resp.Error)) {
		return resp
	}
	cp := *resp
	cp.Data = sc.Map(resp.Data)
	cp.Metadata = sc.Strings(resp.Metadata)
	cp.Message = sc.Text(resp.Message)
	cp.Error = sc.TextPtr(resp.Error)
	return &cp
}
