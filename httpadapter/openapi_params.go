package httpadapter

import (
	"github.com/jetjobs/jetjobs/jobs"
)

// jobRequestSchema is the name of the request schema of a job that
// declares its parameters (jobs.WithParams, typed parameters), "" when it
// declares none: its START/EXECUTE body is then a plain JobStageRequest.
func jobRequestSchema(def *jobs.Definition) string {
	if len(def.Params()) == 0 {
		return ""
	}
	return upperFirst(camel(def.Name)) + "Request"
}

// addJobSchemas adds, for every job that declares its parameters, the
// schema of its parameters (<Job>Parameters: an object with their
// properties and which are required) and of its request body (<Job>Request:
// a JobStageRequest whose parameters are those).
func addJobSchemas(schemas obj, base obj, defs []*jobs.Definition) {
	for _, def := range defs {
		name := jobRequestSchema(def)
		if name == "" {
			continue
		}
		params := upperFirst(camel(def.Name)) + "Parameters"
		schemas[params] = paramsSchema(def)
		props := obj{}
		for k, v := range base["properties"].(obj) {
			switch k {
			case "progressPercentage", "message", "status", "data", "error": // REPORT only
			default:
				props[k] = v
			}
		}
		props["parameters"] = ref(params)
		schemas[name] = obj{"type": "object", "additionalProperties": false, "properties": props,
			"description": "JobStageRequest of job " + def.Name + ", with its parameters."}
	}
}

// paramsSchema is the JSON Schema of a job's declared parameters.
func paramsSchema(def *jobs.Definition) obj {
	props := obj{}
	var required []string
	for _, p := range def.Params() {
		s := obj{}
		if p.Type != "" {
			s["type"] = p.Type
		}
		if p.Description != "" {
			s["description"] = p.Description
		}
		if len(p.Enum) > 0 {
			s["enum"] = p.Enum
		}
		if p.Default != nil {
			s["default"] = p.Default
		}
		props[p.Name] = s
		if p.Required {
			required = append(required, p.Name)
		}
	}
	out := obj{"type": "object", "properties": props, "description": "Parameters of job " + def.Name + "."}
	if len(required) > 0 {
		out["required"] = required
	}
	if typed(def) {
		out["additionalProperties"] = false // Request.Bind refuses unknown parameters
	}
	return out
}

// typed reports whether the job decodes typed parameters (jobs.Typed).
func typed(def *jobs.Definition) bool {
	_, async := def.Async.(jobs.Typed)
	_, sync := def.Sync.(jobs.Typed)
	_, worker := def.Worker.(jobs.Typed)
	return async || sync || worker
}
