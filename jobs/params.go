package jobs

// ParamSpec describes one parameter a job takes, for the OpenAPI document
// (the job's request schema) and the console's start form. A job declares
// them with WithParams, or has them derived from its typed parameters.
type ParamSpec struct {
	Name string `json:"name"`
	// Type is the JSON Schema type: string, integer, number, boolean,
	// object or array.
	Type        string   `json:"type"`
	Required    bool     `json:"required,omitempty"`
	Description string   `json:"description,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Default     any      `json:"default,omitempty"`
}

// WithParams declares the parameters the job takes.
func WithParams(specs ...ParamSpec) Option {
	return func(o *JobOptions) { o.Params = append(o.Params, specs...) }
}

// Params lists the parameters the job declares, nil when it declares none.
func (d *Definition) Params() []ParamSpec { return d.Options.Params }
