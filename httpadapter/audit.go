package httpadapter

import (
	"context"
	"net/http"

	"github.com/jetjobs/jetjobs/jobs"
)

// AuditReader reads an execution's audit trail (bus.AuditLog).
type AuditReader interface {
	Entries(ctx context.Context, job, executionID string) ([]jobs.AuditEntry, error)
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
