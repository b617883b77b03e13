package kv

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/tidwall/btree"

	"github.com/jetjobs/jetjobs/jobs"
)

// ExecutionIndex lists and counts the executions of the state bucket from
// memory (docs/console.md, "The execution index"). One KV watch of the
// bucket feeds it: the current records first, then every write, delete and
// expiry (a delete or purge marker). Each execution is held as a compact
// entry in one ordered tree per job type and status, newest update first,
// so a page costs its size (plus one seek per tree the query spans) and a
// count is a tree's length: no page view reads the bucket.
type ExecutionIndex struct {
	kv     jetstream.KeyValue
	log    zerolog.Logger
	errMax int

	mu       sync.RWMutex
	jobs     []string          // interned job types: entry.job indexes this
	jobIdx   map[string]uint16 // and back
	byKey    entrySet
	trees    map[treeKey]*btree.BTreeG[*ientry]
	loaded   bool
	ready    chan struct{} // closed once the current records are in
	cancel   context.CancelFunc
	done     chan struct{}
	watchErr error

	chMu    sync.Mutex
	changed chan struct{} // closed by the next change (Changed)
}

var _ jobs.ExecutionLister = (*ExecutionIndex)(nil)

// IndexConfig tunes an ExecutionIndex; zero values take the defaults.
type IndexConfig struct {
	Logger zerolog.Logger // zero value: no log lines
	// ErrorMax is how many bytes of an execution's error the index keeps
	// for its listing line; default 120 (the detail page reads the record).
	ErrorMax int
}

// Default page sizes of ListExecutions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// treeKey names one tree: a job type and a status.
type treeKey struct {
	job    uint16
	status uint8
}

// ientry is what the index keeps of one execution: 48 bytes, its id, a
// slot of byKey and one of a tree (99 bytes in all with UUID ids,
// BenchmarkIndexMemory; 198 with the id as text and byKey a Go map). An
// id in the engine's form, a canonical UUID, is held as its 16 bytes
// rather than its 36 characters (a 16-byte allocation instead of 48); the
// saga id and the error, which most executions lack, are held apart
// (extra).
type ientry struct {
	upd, created int64  // UnixNano
	key          string // the id: a UUID's 16 bytes when hasUID, else as is
	extra        *ientryExtra
	job          uint16
	status       uint8 // index in statuses
	progress     uint8
	hasUID       bool
}

// ientryExtra is the rarer part of an entry.
type ientryExtra struct {
	saga string
	err  string // truncated to ErrorMax
}

// setID holds id in the entry.
func (en *ientry) setID(id string) {
	if u, ok := parseUUID(id); ok {
		en.key, en.hasUID = string(u[:]), true
		return
	}
	en.key, en.hasUID = id, false
}

// id is the entry's id as a string (made anew for a UUID).
func (en *ientry) id() string {
	if en.hasUID {
		var b [36]byte
		return string(en.idBytes(b[:0]))
	}
	return en.key
}

func (en *ientry) saga() string {
	if en.extra == nil {
		return ""
	}
	return en.extra.saga
}

func (en *ientry) err() string {
	if en.extra == nil {
		return ""
	}
	return en.extra.err
}

// statuses are the statuses an entry's byte stands for.
var statuses = []jobs.Status{jobs.StatusStarted, jobs.StatusRunning, jobs.StatusCompleted,
	jobs.StatusFailed, jobs.StatusStopped, jobs.StatusTimedOut}

func statusCode(s jobs.Status) (uint8, bool) {
	for i, st := range statuses {
		if st == s {
			return uint8(i), true
		}
	}
	return 0, false
}

// newer orders entries newest update first, then by id and job type
// (descending), so that every entry has one place and a cursor one
// successor.
func newer(a, b *ientry) bool {
	if a.upd != b.upd {
		return a.upd > b.upd
	}
	if c := compareIDs(a, b); c != 0 {
		return c > 0
	}
	return a.job > b.job
}

// NewExecutionIndex returns an index of the bucket; Start fills it.
func NewExecutionIndex(kv jetstream.KeyValue, cfg IndexConfig) *ExecutionIndex {
	if cfg.ErrorMax <= 0 {
		cfg.ErrorMax = 120
	}
	return &ExecutionIndex{kv: kv, log: cfg.Logger, errMax: cfg.ErrorMax, jobIdx: map[string]uint16{},
		byKey: newEntrySet(), trees: map[treeKey]*btree.BTreeG[*ientry]{}, ready: make(chan struct{}),
		done: make(chan struct{})}
}

// Start begins the watch and returns; the index answers once the current
// records are loaded (Ready). Stop ends it.
func (x *ExecutionIndex) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := x.kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("kv: watch the state bucket for the execution index: %w", translate(err))
	}
	x.cancel = cancel
	go x.run(wctx, w)
	return nil
}

// Stop ends the watch and waits for it.
func (x *ExecutionIndex) Stop() {
	if x.cancel == nil {
		return
	}
	x.cancel()
	<-x.done
}

// Ready is closed once the records present at Start are in the index.
func (x *ExecutionIndex) Ready() <-chan struct{} { return x.ready }

// maxBatch bounds how many updates the watch applies at once: those
// already waiting (the watch's channel holds 256).
const maxBatch = 256

func (x *ExecutionIndex) run(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(x.done)
	defer func() { _ = w.Stop() }()
	b := &indexBatch{last: map[string]struct{}{}}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			marker, closed := e == nil && ok, !ok
			if e != nil {
				b.add(e)
				marker, closed = b.drain(w.Updates())
			}
			x.applyBatch(b)
			if closed {
				x.mu.Lock()
				x.watchErr = errors.New("kv: the execution index's watch ended")
				x.mu.Unlock()
				return
			}
			if marker {
				x.mu.Lock()
				if !x.loaded {
					x.loaded = true
					close(x.ready)
				}
				x.mu.Unlock()
			}
		}
	}
}

// Put adds or replaces one execution (the watch calls it; benchmarks and
// tests fill an index with it directly). A status it does not know is
// left out.
func (x *ExecutionIndex) Put(jobType string, s jobs.ExecutionSummary) {
	x.mu.Lock()
	ok := x.putLocked(jobType, s)
	loaded := x.loaded
	x.mu.Unlock()
	if ok && loaded {
		x.notify()
	}
}

// putLocked is Put under x.mu, without the notification; false for a
// status the index does not know.
func (x *ExecutionIndex) putLocked(jobType string, s jobs.ExecutionSummary) bool {
	code, ok := statusCode(s.Status)
	if !ok {
		return false
	}
	j, ok := x.jobIdx[jobType]
	if !ok {
		j = uint16(len(x.jobs))
		x.jobs = append(x.jobs, jobType)
		x.jobIdx[jobType] = j
	}
	en := &ientry{upd: s.UpdatedAt.UnixNano(), created: s.CreatedAt.UnixNano(),
		job: j, status: code, progress: uint8(min(max(s.ProgressPercentage, 0), 100))}
	if old := x.byKey.get(keyOf(j, s.ExecutionID)); old != nil {
		x.tree(treeKey{old.job, old.status}).Delete(old)
		en.key, en.hasUID = old.key, old.hasUID // keep the string already held
	} else {
		en.setID(s.ExecutionID)
	}
	if s.SagaID != "" || s.Error != "" {
		en.extra = &ientryExtra{saga: s.SagaID}
		if s.Error != "" {
			en.extra.err = truncate(s.Error, x.errMax)
		}
	}
	x.byKey.set(en)
	x.tree(treeKey{j, code}).Set(en)
	return true
}

// truncate cuts s to at most n bytes at a rune boundary, copying it so the
// record's bytes are not kept alive.
func truncate(s string, n int) string {
	if len(s) > n {
		for n > 0 && s[n]&0xC0 == 0x80 {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.Clone(s)
}

// removeKey drops the execution of a KV key (<job>.<id>; a job type may
// hold dots, so each split that names a known job type is tried); false if
// the index did not hold it.
func (x *ExecutionIndex) removeKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		j, ok := x.jobIdx[key[:i]]
		if !ok {
			continue
		}
		if old := x.byKey.remove(keyOf(j, key[i+1:])); old != nil {
			x.tree(treeKey{old.job, old.status}).Delete(old)
			return true
		}
	}
	return false
}

func (x *ExecutionIndex) tree(k treeKey) *btree.BTreeG[*ientry] {
	t := x.trees[k]
	if t == nil {
		t = btree.NewBTreeGOptions(newer, btree.Options{NoLocks: true})
		x.trees[k] = t
	}
	return t
}

// Len is how many executions the index holds.
func (x *ExecutionIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byKey.n
}

// ErrIndexNotReady: the index is still loading the bucket's records.
var ErrIndexNotReady = errors.New("kv: the execution index is still loading")

func (x *ExecutionIndex) check() error {
	if !x.loaded {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: ErrIndexNotReady.Error(), Err: ErrIndexNotReady}
	}
	if x.watchErr != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: x.watchErr.Error(), Err: x.watchErr}
	}
	return nil
}

// CountExecutions implements jobs.ExecutionLister: the trees' lengths.
func (x *ExecutionIndex) CountExecutions(_ context.Context, jobType string) (map[jobs.Status]int, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if err := x.check(); err != nil {
		return nil, err
	}
	out := map[jobs.Status]int{}
	for k, t := range x.trees {
		if jobType != "" && x.jobs[k.job] != jobType {
			continue
		}
		if n := t.Len(); n > 0 {
			out[statuses[k.status]] += n
		}
	}
	return out, nil
}

// ListExecutions implements jobs.ExecutionLister: a k-way merge of the
// trees the query spans, each read from its seek position on, so a page
// costs O(limit · log trees) after one seek per tree.
func (x *ExecutionIndex) ListExecutions(_ context.Context, q jobs.ExecutionQuery) (jobs.ExecutionPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if err := x.check(); err != nil {
		return jobs.ExecutionPage{}, err
	}
	pivot, skip, err := x.pivot(q)
	if err != nil {
		return jobs.ExecutionPage{}, err
	}
	var since int64 = -1 << 63
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	m := &merge{}
	for k, t := range x.trees {
		if q.JobType != "" && x.jobs[k.job] != q.JobType {
			continue
		}
		if q.Status != "" && statuses[k.status] != q.Status {
			continue
		}
		it := t.Iter()
		ok := it.Seek(pivot)
		if ok && skip && it.Item() == pivot {
			ok = it.Next()
		}
		if ok && it.Item().upd >= since {
			m.push(it)
		} else {
			it.Release()
		}
	}
	defer m.release()
	page := jobs.ExecutionPage{Items: make([]jobs.ExecutionSummary, 0, min(limit, 64))}
	var last *ientry
	for m.Len() > 0 && len(page.Items) < limit {
		en := m.pop(since)
		page.Items = append(page.Items, x.summary(en))
		last = en
	}
	if m.Len() > 0 && last != nil {
		page.Next = x.cursor(last)
	}
	return page, nil
}

func (x *ExecutionIndex) summary(en *ientry) jobs.ExecutionSummary {
	return jobs.ExecutionSummary{JobType: x.jobs[en.job], ExecutionID: en.id(), Status: statuses[en.status],
		ProgressPercentage: int(en.progress), CreatedAt: time.Unix(0, en.created).UTC(),
		UpdatedAt: time.Unix(0, en.upd).UTC(), Error: en.err(), SagaID: en.saga()}
}

// ErrBadCursor: the cursor is not one this index made.
var ErrBadCursor = errors.New("kv: bad cursor")

// cursor encodes an entry's place: update time, job type and id.
func (x *ExecutionIndex) cursor(en *ientry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(en.upd, 10) + "|" + x.jobs[en.job] + "|" + en.id()))
}

// pivot is where the listing starts: after the cursor's entry (skip: the
// entry itself is left out if found), else at the query's Until.
func (x *ExecutionIndex) pivot(q jobs.ExecutionQuery) (*ientry, bool, error) {
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		parts := strings.SplitN(string(b), "|", 3)
		if err != nil || len(parts) != 3 {
			return nil, false, &jobs.Error{Code: jobs.CodeInvalidArgument, Msg: "cursor: not one this engine made", Err: ErrBadCursor}
		}
		upd, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return nil, false, &jobs.Error{Code: jobs.CodeInvalidArgument, Msg: "cursor: not one this engine made", Err: ErrBadCursor}
		}
		p := &ientry{upd: upd}
		p.setID(parts[2])
		j, ok := x.jobIdx[parts[1]]
		if ok {
			p.job = j
			if en := x.byKey.get(keyOf(j, parts[2])); en != nil && en.upd == upd {
				return en, true, nil
			}
		}
		// The entry moved on or is gone: start just after where it was.
		return p, true, nil
	}
	if !q.Until.IsZero() {
		return &ientry{upd: q.Until.UnixNano() + 1}, false, nil
	}
	return &ientry{upd: 1<<63 - 1}, false, nil
}

// NewExecutionIndexLoaded returns an index with no bucket behind it, ready
// at once, filled with Put: for benchmarks and tests of what reads it.
func NewExecutionIndexLoaded() *ExecutionIndex {
	x := NewExecutionIndex(nil, IndexConfig{})
	x.loaded = true
	close(x.ready)
	close(x.done)
	return x
}

// Lookup returns one execution's listing line.
func (x *ExecutionIndex) Lookup(jobType, executionID string) (jobs.ExecutionSummary, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	j, ok := x.jobIdx[jobType]
	if !ok {
		return jobs.ExecutionSummary{}, false
	}
	en := x.byKey.get(keyOf(j, executionID))
	if en == nil {
		return jobs.ExecutionSummary{}, false
	}
	return x.summary(en), true
}

// Changed returns a channel closed at the next change of the index: the
// console's live view waits on it instead of polling.
func (x *ExecutionIndex) Changed() <-chan struct{} {
	x.chMu.Lock()
	defer x.chMu.Unlock()
	if x.changed == nil {
		x.changed = make(chan struct{})
	}
	return x.changed
}

// notify closes the channel of Changed.
func (x *ExecutionIndex) notify() {
	x.chMu.Lock()
	defer x.chMu.Unlock()
	if x.changed != nil {
		close(x.changed)
		x.changed = nil
	}
}
