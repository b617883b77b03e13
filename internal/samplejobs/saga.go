package samplejobs

import (
	"time"

	"github.com/jetjobs/jetjobs/saga"
)

// OnboardingSaga is the name of the sample saga.
const OnboardingSaga = "customer-onboarding"

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
