package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// OnboardingSaga is the name of the demo saga.
const OnboardingSaga = "customer-onboarding"

// RegisterSagas adds the jobs of the demo saga (order-import, notification
// and customer-purge; customer-import comes from Register) and returns its
// definition, for saga.New.
func RegisterSagas(reg *jobs.Registry) ([]*saga.Definition, error) {
	for _, j := range []struct {
		name, desc string
		job        any
	}{
		{"order-import", "Imports the orders of a dataset's customers (demo, async; parameter fail=true makes it fail)", OrderImport{}},
		{"notification", "Sends a notification (demo, sync)", Notification{}},
		{"customer-purge", "Removes the customers an import added: the compensation of customer-import (demo, sync)", CustomerPurge{}},
	} {
		if err := reg.Register(j.name, j.job, jobs.WithDescription(j.desc)); err != nil {
			return nil, err
		}
	}
	return []*saga.Definition{Onboarding()}, nil
}

// Onboarding is customer import → order import → notification. When the
// order import fails (input failOrders=true), the customer import is
// compensated by customer-purge and the saga ends COMPENSATED. The same
// saga in YAML is deploy/sagas.example.yaml.
func Onboarding() *saga.Definition {
	return &saga.Definition{
		Name:        OnboardingSaga,
		Description: "Import a dataset's customers, then their orders, then tell someone",
		Steps: []saga.Step{
			{Name: "customers", Job: "customer-import", Mode: saga.ModeAsync, Timeout: 10 * time.Minute,
				Parameters: map[string]any{"datasetId": "${input.datasetId}", "records": "${input.records}",
					"batchSize": "${input.batchSize}", "batchDelay": "${input.batchDelay}"},
				Compensate: &saga.Compensation{Job: "customer-purge", Mode: saga.ModeSync, Critical: true,
					Retry:      saga.Retry{MaxAttempts: 5, Backoff: time.Second, MaxBackoff: 30 * time.Second},
					Parameters: map[string]any{"datasetId": "${input.datasetId}", "importExecutionId": "${steps.customers.executionId}"}}},
			{Name: "orders", Job: "order-import", Mode: saga.ModeAsync, Timeout: 10 * time.Minute,
				Parameters: map[string]any{"datasetId": "${input.datasetId}", "customers": "${steps.customers.result.successCount}",
					"fail": "${input.failOrders}", "duration": "${input.orderDuration}"}},
			{Name: "notify", Job: "notification", Mode: saga.ModeSync,
				Parameters: map[string]any{"channel": "${input.channel}",
					"message": "Imported ${steps.customers.result.successCount} customers and ${steps.orders.result.ordersImported} orders of ${input.datasetId}"}},
		},
	}
}

// OrderImport pretends to import 3 orders per customer; it takes
// `duration` (default 2s) and, with fail=true, fails half-way.
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

// Result reports the orders imported.
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

// Notification "sends" a message on a channel (default email).
type Notification struct{}

// Execute sends `message`.
func (Notification) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	msg, err := req.String("message")
	if err != nil {
		return nil, err
	}
	ch, err := req.StringOr("channel", "email")
	if err != nil {
		return nil, err
	}
	return jobs.Completed("Notification sent", map[string]any{"channel": ch, "message": msg, "delivered": true}), nil
}

// CustomerPurge removes what a customer import added (the compensation of
// customer-import in the demo saga).
type CustomerPurge struct{}

// Execute purges the customers of `importExecutionId`.
func (CustomerPurge) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	id, err := req.String("importExecutionId")
	if err != nil {
		return nil, err
	}
	ds, err := req.StringOr("datasetId", "")
	if err != nil {
		return nil, err
	}
	return jobs.Completed("Customers purged", map[string]any{"importExecutionId": id, "datasetId": ds, "purged": true}), nil
}
