package samplejobs

import (
	"context"
	"strings"

	"github.com/jetjobs/jetjobs/jobs"
)

// ValidationArgs are Validation's typed parameters: Bind decodes them
// strictly (an unknown or mistyped parameter answers 422 naming it) and the
// job's parameter schema in openapi.json is derived from them.
type ValidationArgs struct {
	CustomerID string `json:"customerId" validate:"required" description:"The customer id to validate, e.g. CUST-000042"`
	// APIKey shows a sensitive parameter: it is masked in the record, the
	// events and the logs (sanitize-sensitive-data).
	APIKey string `json:"apiKey,omitempty" description:"A credential of the CRM (demo: unused; always masked)"`
}

// Validation answers at once whether a customer id looks like
// CUST-<digits>: data.valid, and the message "Valid customer" or "Invalid
// customer".
var Validation = jobs.SyncOf(validate)

func validate(_ context.Context, _ *jobs.Request, args ValidationArgs) (*jobs.Response, error) {
	id := args.CustomerID
	digits, ok := strings.CutPrefix(id, "CUST-")
	valid := ok && digits != "" && strings.Trim(digits, "0123456789") == ""
	msg := "Valid customer"
	if !valid {
		msg = "Invalid customer"
	}
	return jobs.Completed(msg, map[string]any{"customerId": id, "valid": valid}), nil
}

// Notification "sends" `message` on `channel` (default email).
type Notification struct{}

// Execute answers the message and the channel back, delivered.
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

// Purge is the import's compensation: it answers the `importExecutionId` it
// purged, so a test sees which execution was undone.
type Purge struct{}

// Execute "purges" the customers of importExecutionId.
func (Purge) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
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
