package jobs_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetjobs/jetjobs/jobs"
)

// A missing parameter comes back as a *jobs.ParamError that names it; the
// engine answers it with REST 422 / success=false.
func ExampleRequest_RequireParam() {
	req := &jobs.Request{Parameters: map[string]any{"limit": float64(10)}}

	_, err := req.RequireParam("datasetId")
	fmt.Println(err)

	var pe *jobs.ParamError
	fmt.Println(errors.As(err, &pe), pe.Name)
	fmt.Println(errors.Is(err, jobs.ErrInvalidParameter), jobs.CodeOf(err))

	limit, err := req.Int("limit")
	fmt.Println(limit, err)
	// Output:
	// parameter "datasetId" is required
	// true datasetId
	// true invalid_parameter
	// 10 <nil>
}

// exportJob is an async job; embedding jobs.AsyncDefaults answers COLLECT
// and RESULT, so only Start, Check and Stop are written.
type exportJob struct {
	jobs.AsyncDefaults
}

func (exportJob) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	if _, err := req.String("datasetId"); err != nil {
		return nil, err
	}
	return jobs.Started("export queued"), nil
}

func (exportJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("exported", map[string]any{"rows": 1200}), nil
}

func (exportJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true, Message: "export cancelled"}, nil
}

func ExampleRegistry_Register() {
	reg := jobs.NewRegistry()
	if err := reg.Register("export", exportJob{}, jobs.WithDescription("exports a dataset")); err != nil {
		fmt.Println(err)
		return
	}

	def, _ := reg.Lookup("export")
	fmt.Println(def.Name, def.Mode(), def.Options.Description)
	fmt.Println(def.Supports(jobs.StageCollect), def.Supports(jobs.StageExecute))

	// Names become subject tokens and KV keys, so they are restricted.
	fmt.Println(reg.Register("Export.v2", exportJob{}))
	// Output:
	// export async exports a dataset
	// true false
	// invalid job name "Export.v2": want ^[a-z0-9][a-z0-9-]{0,63}$
}

// A plain error is retried by the retry policy; one marked Permanent fails the
// stage at once. Caller mistakes, such as a missing parameter, are permanent
// without being marked.
func ExamplePermanent() {
	transient := errors.New("warehouse busy")
	fatal := jobs.Permanent(errors.New("dataset was deleted"))
	missing := &jobs.ParamError{Name: "datasetId", Problem: "is required"}

	fmt.Println(jobs.IsPermanent(transient))
	fmt.Println(jobs.IsPermanent(fatal), fatal)
	fmt.Println(jobs.IsPermanent(fmt.Errorf("start: %w", fatal)))
	fmt.Println(jobs.IsPermanent(missing))
	fmt.Println(jobs.Permanent(nil) == nil)
	// Output:
	// false
	// true dataset was deleted
	// true
	// true
	// true
}

// Parameters are stored sanitized: any key that contains an excluded key,
// ignoring case and punctuation, is masked at any depth. fmt prints maps
// sorted by key.
func ExampleSanitizer_Map() {
	s := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
	params := map[string]any{
		"user":      "alice",
		"X-Api-Key": "k-123",
		"db": map[string]any{
			"host":        "db.local",
			"db_password": "hunter2",
		},
		"targets": []any{map[string]any{"name": "s3", "accessToken": "t-456"}},
	}

	fmt.Println(s.Map(params))
	fmt.Println(params["X-Api-Key"]) // the input is left as it was
	// Output:
	// map[X-Api-Key:**** db:map[db_password:**** host:db.local] targets:[map[accessToken:**** name:s3]] user:alice]
	// k-123
}

// resizeArgs are the typed parameters of a job: json names, validate rules
// and descriptions become its parameter schema (openapi.json).
type resizeArgs struct {
	ImageID   string `json:"imageId" validate:"required" description:"the image to resize"`
	Width     int    `json:"width" validate:"min=1,max=4096"`
	Format    string `json:"format,omitempty" validate:"omitempty,oneof=png jpeg"`
	KeepRatio bool   `json:"keepRatio,omitempty"`
}

// A sync job with typed parameters: SyncOf decodes them strictly before the
// function runs, and a refusal names the parameter (REST 422).
func ExampleSyncOf() {
	job := jobs.SyncOf(func(_ context.Context, _ *jobs.Request, a resizeArgs) (*jobs.Response, error) {
		return jobs.Completed("resized", map[string]any{"imageId": a.ImageID, "width": a.Width}), nil
	})
	reg := jobs.NewRegistry()
	reg.MustRegister("resize", job)
	def, _ := reg.Lookup("resize")
	for _, p := range def.Params() {
		fmt.Printf("%s %s required=%v %v\n", p.Name, p.Type, p.Required, p.Enum)
	}

	for _, params := range []map[string]any{
		{"imageId": "img-1", "width": float64(640)},
		{"imageId": "img-1", "width": "640"},
		{"imageId": "img-1", "width": 1.5},
		{"width": float64(640)},
		{"imageId": "img-1", "width": float64(640), "height": float64(480)},
		{"imageId": "img-1", "width": float64(640), "format": "gif"},
	} {
		resp, err := job.Execute(context.Background(), &jobs.Request{Parameters: params})
		if err != nil {
			fmt.Println(jobs.CodeOf(err), err)
			continue
		}
		fmt.Println(resp.Message, resp.Data["width"])
	}
	// Output:
	// imageId string required=true []
	// width integer required=false []
	// format string required=false [png jpeg]
	// keepRatio boolean required=false []
	// resized 640
	// invalid_parameter parameter "width" must be an integer, got string
	// invalid_parameter parameter "width" must be an integer, got number 1.5
	// invalid_parameter parameter "imageId" is required
	// invalid_parameter parameter "height" is not a parameter of this job
	// invalid_parameter parameter "format" must be one of png, jpeg
}
