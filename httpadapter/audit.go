package httpadapter

import (
	"context"
	"net/http"
	"strings"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// AuditReader reads an execution's audit trail (bus.AuditLog).
type AuditReader interface {
	Entries(ctx context.Context, job, executionID string) ([]jobs.AuditEntry, error)
}

// ResultReader reads stored results (kv.ResultStore).
type ResultReader interface {
	Get(ctx context.Context, jobType, executionID string) (*jobs.Result, error)
}

// fillLargeResult completes an answer whose data was too large for a NATS
// message (the bus answers without it): over HTTP there is no such limit,
// so the data is read from the result store.
func (a *adapter) fillLargeResult(ctx context.Context, def *jobs.Definition, stage jobs.Stage, resp *jobs.Response) {
	if a.d.Results == nil || !resp.Success || resp.Data != nil || resp.Error == nil ||
		(stage != jobs.StageResult && stage != jobs.StageExecute) || !strings.Contains(*resp.Error, bus.LargeDataNote) {
		return
	}
	r, err := a.d.Results.Get(ctx, def.Name, resp.ExecutionID)
	if err != nil || r.Refused != "" {
		return
	}
	resp.Data, resp.Error = r.TransformedOutput, nil
}

// AuditTrail is the body of GET {base}/{executionId}/audit.
type AuditTrail struct {
	ExecutionID string            `json:"executionId"`
	JobType     string            `json:"jobType"`
	Entries     []jobs.AuditEntry `json:"entries"`
}

// audit answers an execution's audit entries in order; an execution with no
// entry is 404.
func (a *adapter) audit(def *jobs.Definition) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.jobType, info.stage = def.Name, "AUDIT"
		id, err := pathID(r)
		if err != nil {
			writeFailure(w, r, http.StatusBadRequest, "", "", err.Error())
			return
		}
		info.executionID = id
		if a.d.Audit == nil {
			writeFailure(w, r, http.StatusServiceUnavailable, "", id, "the audit trail is not available (orchestration.persistence.audit-enabled)")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
		defer cancel()
		entries, err := a.d.Audit.Entries(ctx, def.Name, id)
		if err != nil {
			writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), "", id, err.Error())
			return
		}
		if len(entries) == 0 {
			writeFailure(w, r, http.StatusNotFound, "", id, "no audit entry for execution "+id+" of job "+def.Name)
			return
		}
		writeJSON(w, http.StatusOK, AuditTrail{ExecutionID: id, JobType: def.Name, Entries: entries})
	}
}
