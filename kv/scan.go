package kv

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// Listing page sizes of ScanLister.
const (
	ScanDefaultLimit = 50
	ScanMaxLimit     = 1000
)

// ScanLister implements jobs.ExecutionLister by reading the state bucket
// itself: every call reads each record of the job type asked for (of the
// whole bucket when none is), then filters, sorts and pages in memory. That
// is what a command-line tool wants (no index to build or keep, nothing
// left running); it costs a read of the bucket per call, so a long-lived
// reader that lists often (the web console) uses an index instead.
type ScanLister struct {
	js     jetstream.JetStream
	bucket string
}

var _ jobs.ExecutionLister = (*ScanLister)(nil)

// NewScanLister reads the bucket named ("" for JOBS_STATE). It binds to
// the bucket on each call, so a missing bucket (no engine ever ran) is an
// error of that call.
func NewScanLister(js jetstream.JetStream, bucket string) *ScanLister {
	if bucket == "" {
		bucket = StateBucket
	}
	return &ScanLister{js: js, bucket: bucket}
}

// ListExecutions returns the executions q selects, the most recently
// updated first; ties in the update time go by job type and id.
func (l *ScanLister) ListExecutions(ctx context.Context, q jobs.ExecutionQuery) (jobs.ExecutionPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = ScanDefaultLimit
	}
	limit = min(limit, ScanMaxLimit)
	after, err := scanDecodeCursor(q.Cursor)
	if err != nil {
		return jobs.ExecutionPage{}, err
	}
	var items []jobs.ExecutionSummary
	err = l.scan(ctx, q.JobType, func(e *jobs.Execution) {
		if (q.Status != "" && e.Status != q.Status) || (!q.Since.IsZero() && e.UpdatedAt.Before(q.Since)) ||
			(!q.Until.IsZero() && e.UpdatedAt.After(q.Until)) {
			return
		}
		items = append(items, scanSummary(e))
	})
	if err != nil {
		return jobs.ExecutionPage{}, err
	}
	slices.SortFunc(items, scanCompare)
	if after != nil {
		i, _ := slices.BinarySearchFunc(items, *after, func(s jobs.ExecutionSummary, c scanCursor) int {
			return scanCompare(s, c.summary())
		})
		// Past the cursor's own position: it was the last item shown.
		for i < len(items) && scanCompare(items[i], after.summary()) <= 0 {
			i++
		}
		items = items[i:]
	}
	page := jobs.ExecutionPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = scanEncodeCursor(page.Items[limit-1])
	}
	if page.Items == nil {
		page.Items = []jobs.ExecutionSummary{}
	}
	return page, nil
}

// Get reads one execution record; an error matching jobs.ErrNotFound if
// there is none.
func (l *ScanLister) Get(ctx context.Context, jobType, executionID string) (*jobs.Execution, error) {
	bucket, err := scanBindBucket(ctx, l.js, l.bucket)
	if err != nil {
		return nil, err
	}
	entry, err := bucket.Get(ctx, Key(jobType, executionID))
	if err != nil {
		return nil, fmt.Errorf("kv: get %s: %w", Key(jobType, executionID), translate(err))
	}
	var e jobs.Execution
	if err := json.Unmarshal(entry.Value(), &e); err != nil {
		return nil, jobs.Errorf(jobs.CodeInternal, "kv: record %s is not valid JSON: %v", entry.Key(), err)
	}
	return &e, nil
}

// ReadResult reads an execution's stored result from JOBS_RESULTS (and
// JOBS_RESULTS_OBJECTS when it is large) without creating or changing the
// buckets, as a read-only tool must; an error matching jobs.ErrNotFound if
// there is none.
func ReadResult(ctx context.Context, js jetstream.JetStream, jobType, executionID string) (*jobs.Result, error) {
	key := Key(jobType, executionID)
	bucket, err := scanBindBucket(ctx, js, ResultsBucket)
	if err != nil {
		return nil, err
	}
	entry, err := bucket.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("kv: result %s: %w", key, translate(err))
	}
	objects, err := js.ObjectStore(ctx, ObjectsBucket)
	if err != nil {
		return nil, fmt.Errorf("kv: bucket %s: %w", ObjectsBucket, translate(err))
	}
	return decodeStoredResult(ctx, key, entry.Value(), objects)
}

// Scan calls fn with each execution record of jobType (every record when
// ""), in key order: one read of the bucket, for a caller that aggregates
// on its own (engine jobs ls).
func (l *ScanLister) Scan(ctx context.Context, jobType string, fn func(*jobs.Execution)) error {
	return l.scan(ctx, jobType, fn)
}

// CountExecutions counts a job type's executions by status ("" for every
// job type).
func (l *ScanLister) CountExecutions(ctx context.Context, jobType string) (map[jobs.Status]int, error) {
	counts := map[jobs.Status]int{}
	err := l.scan(ctx, jobType, func(e *jobs.Execution) { counts[e.Status]++ })
	return counts, err
}

// CountByJob counts the executions of every job type by status in one
// read of the bucket (engine jobs ls).
func (l *ScanLister) CountByJob(ctx context.Context) (map[string]map[jobs.Status]int, error) {
	counts := map[string]map[jobs.Status]int{}
	err := l.scan(ctx, "", func(e *jobs.Execution) {
		if counts[e.JobType] == nil {
			counts[e.JobType] = map[jobs.Status]int{}
		}
		counts[e.JobType][e.Status]++
	})
	return counts, err
}

// scan calls fn with each record of jobType (every record when ""): a
// watch of the keys with their values that ends at the initial values'
// end marker. Deleted and expired records are left out; a record that is
// not valid JSON is skipped (StateStore.Get reports it).
func (l *ScanLister) scan(ctx context.Context, jobType string, fn func(*jobs.Execution)) error {
	pattern := ">"
	if jobType != "" {
		if err := jobs.ValidateJobName(jobType); err != nil {
			return err
		}
		pattern = jobType + ".*"
	}
	bucket, err := scanBindBucket(ctx, l.js, l.bucket)
	if err != nil {
		return err
	}
	w, err := bucket.Watch(ctx, pattern, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("kv: read %s: %w", l.bucket, translate(err))
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case entry, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("kv: read %s: %w", l.bucket, errors.New("watch ended"))
			}
			if entry == nil {
				return nil // the end of the values present when the watch began
			}
			var e jobs.Execution
			if json.Unmarshal(entry.Value(), &e) != nil {
				continue
			}
			fn(&e)
		case <-ctx.Done():
			return fmt.Errorf("kv: read %s: %w", l.bucket, translate(ctx.Err()))
		}
	}
}

// scanBindBucket opens an existing bucket; one no engine created yet is an
// error matching jobs.ErrNotFound.
func scanBindBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	b, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, &jobs.Error{Code: jobs.CodeNotFound, Msg: "kv: bucket " + name + " not found (has an engine run with this configuration?)", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("kv: bucket %s: %w", name, translate(err))
	}
	return b, nil
}

func scanSummary(e *jobs.Execution) jobs.ExecutionSummary {
	return jobs.ExecutionSummary{JobType: e.JobType, ExecutionID: e.ExecutionID, Status: e.Status,
		ProgressPercentage: e.ProgressPercentage, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, Error: e.Error, SagaID: e.SagaID}
}

// scanCompare orders newest update first, then by job type and id.
func scanCompare(a, b jobs.ExecutionSummary) int {
	if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.JobType, b.JobType), strings.Compare(a.ExecutionID, b.ExecutionID))
}

// scanCursor is the position of the last item of a page: its update time
// and key, base64url JSON on the wire so it stays opaque.
type scanCursor struct {
	UpdatedAt   time.Time `json:"u"`
	JobType     string    `json:"j"`
	ExecutionID string    `json:"e"`
}

func (c scanCursor) summary() jobs.ExecutionSummary {
	return jobs.ExecutionSummary{UpdatedAt: c.UpdatedAt, JobType: c.JobType, ExecutionID: c.ExecutionID}
}

func scanEncodeCursor(s jobs.ExecutionSummary) string {
	b, _ := json.Marshal(scanCursor{UpdatedAt: s.UpdatedAt, JobType: s.JobType, ExecutionID: s.ExecutionID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func scanDecodeCursor(s string) (*scanCursor, error) {
	if s == "" {
		return nil, nil
	}
	var c scanCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return nil, jobs.Errorf(jobs.CodeInvalidArgument, "cursor %q is not one a listing returned", s)
	}
	return &c, nil
}
