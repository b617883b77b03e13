package jobstest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/jetjobs/jetjobs/jobs"
)

// MemoryStore is an in-memory jobs.StateStore for tests. Like the JetStream
// store it keeps records as JSON, so what Get returns never aliases what was
// stored and parameters come back as JSON decodes them (numbers as float64);
// its revisions grow across all keys, as a stream's sequence does.
//
// The zero MemoryStore is empty and ready to use; it is safe for concurrent
// use.
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string]memRecord
	last uint64 // revision of the last write
}

type memRecord struct {
	data []byte
	rev  uint64
}

var _ jobs.StateStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func memKey(jobType, executionID string) string { return jobType + "." + executionID }

// Get returns the record and its revision, or an error matching
// jobs.ErrNotFound.
func (s *MemoryStore) Get(ctx context.Context, jobType, executionID string) (*jobs.Execution, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	key := memKey(jobType, executionID)
	s.mu.Lock()
	rec, ok := s.recs[key]
	s.mu.Unlock()
	if !ok {
		return nil, 0, jobs.Errorf(jobs.CodeNotFound, "jobstest: execution %s not found", key)
	}
	var e jobs.Execution
	if err := json.Unmarshal(rec.data, &e); err != nil {
		return nil, 0, jobs.Errorf(jobs.CodeInternal, "jobstest: record %s is not valid JSON: %v", key, err)
	}
	return &e, rec.rev, nil
}

// Create stores a new record, or fails with jobs.ErrAlreadyExists.
func (s *MemoryStore) Create(ctx context.Context, e *jobs.Execution) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key := memKey(e.JobType, e.ExecutionID)
	b, err := json.Marshal(e)
	if err != nil {
		return 0, jobs.Errorf(jobs.CodeInternal, "jobstest: encode record %s: %v", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[key]; ok {
		return 0, fmt.Errorf("jobstest: create %s: %w", key, jobs.ErrAlreadyExists)
	}
	return s.put(key, b), nil
}

// Update replaces the record if it is still at revision rev, or fails with
// jobs.ErrRevisionConflict; like a JetStream compare-and-set, it also fails
// so when there is no record.
func (s *MemoryStore) Update(ctx context.Context, e *jobs.Execution, rev uint64) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key := memKey(e.JobType, e.ExecutionID)
	b, err := json.Marshal(e)
	if err != nil {
		return 0, jobs.Errorf(jobs.CodeInternal, "jobstest: encode record %s: %v", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.recs[key]
	switch {
	case !ok:
		return 0, fmt.Errorf("jobstest: update %s at revision %d: no such record: %w", key, rev, jobs.ErrRevisionConflict)
	case cur.rev != rev:
		return 0, fmt.Errorf("jobstest: update %s at revision %d, now %d: %w", key, rev, cur.rev, jobs.ErrRevisionConflict)
	}
	return s.put(key, b), nil
}

// Delete removes the record if it is still at revision rev, or fails with
// jobs.ErrRevisionConflict.
func (s *MemoryStore) Delete(ctx context.Context, jobType, executionID string, rev uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := memKey(jobType, executionID)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.recs[key]
	if !ok || cur.rev != rev {
		return fmt.Errorf("jobstest: delete %s at revision %d: %w", key, rev, jobs.ErrRevisionConflict)
	}
	delete(s.recs, key)
	return nil
}

// put stores data under key at a new revision; s.mu is held.
func (s *MemoryStore) put(key string, data []byte) uint64 {
	if s.recs == nil {
		s.recs = map[string]memRecord{}
	}
	s.last++
	s.recs[key] = memRecord{data: data, rev: s.last}
	return s.last
}
