package samplejobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// OrderImport is the saga's second step: it takes `duration` (default 2s),
// then reports 3 orders per customer; with fail=true it fails half-way, so
// a saga test sees the import before it compensated.
type OrderImport struct{ jobs.AsyncDefaults }

func orderPlan(req *jobs.Request) (dataset string, customers int64, d time.Duration, fail bool, err error) {
	if dataset, err = req.String("datasetId"); err != nil {
		return
	}
	if customers, err = req.IntOr("customers", 0); err != nil {
		return
	}
	d = 2 * time.Second
	if _, ok := req.Param("duration"); ok {
		if d, err = req.Duration("duration"); err != nil {
			return
		}
	}
	fail, err = req.BoolOr("fail", false)
	return
}

// Start validates the parameters.
func (OrderImport) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	ds, n, _, _, err := orderPlan(req)
	if err != nil {
		return nil, err
	}
	return jobs.Started(fmt.Sprintf("Importing the orders of %d customers of %s", n, ds)), nil
}

// Check completes after the duration, or fails half-way with fail=true.
func (OrderImport) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	ds, _, d, fail, err := orderPlan(req)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	elapsed := time.Since(req.StartedAt)
	switch {
	case fail && elapsed >= d/2:
		return jobs.Failed(fmt.Sprintf("dataset %s: the order service rejected the import", ds)), nil
	case elapsed >= d:
		return jobs.Completed("Orders imported", nil), nil
	}
	return jobs.Running(int(100*elapsed/d), "Importing orders"), nil
}

// Result reports ordersImported, 3 per customer.
func (OrderImport) Result(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	ds, n, _, _, err := orderPlan(req)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	return jobs.OK("Order import result", map[string]any{"datasetId": ds, "ordersImported": 3 * n}), nil
}

// Stop ends the import where it is.
func (OrderImport) Stop(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true, Status: jobs.StatusStopped, Message: "Order import stopped: " + req.Reason}, nil
}
