package saga

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// File is the YAML form of saga definitions (deploy/sagas.example.yaml):
//
//	sagas:
//	  - name: customer-onboarding
//	    compensation: strict-sequential
//	    steps:
//	      - name: customers
//	        job: customer-import
//	        parameters: {datasetId: "${input.datasetId}"}
//	        timeout: 5m
//	        compensate: {job: customer-purge, critical: true, retry: {maxAttempts: 5, backoff: 2s}}
type File struct {
	Sagas []*Definition `yaml:"sagas"`
}

// LoadDefinitions reads definitions from YAML. Unknown keys are errors, and
// every definition is validated; the error names each bad key.
func LoadDefinitions(r io.Reader) ([]*Definition, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("saga: definitions: %w", err)
	}
	// A second document would be dropped without a word: its sagas would
	// simply not exist.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("saga: definitions: %w", err)
		}
		return nil, fmt.Errorf("saga: definitions: only one YAML document is allowed (a second starts at line %d); list every saga under one sagas: key", extra.Line)
	}
	var errs []error
	seen := map[string]bool{}
	for i, d := range f.Sagas {
		if d == nil {
			errs = append(errs, fmt.Errorf("sagas[%d]: empty definition", i))
			continue
		}
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("sagas[%s]: defined twice", d.Name))
		}
		seen[d.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("saga: definitions: %w", err)
	}
	return f.Sagas, nil
}

// LoadDefinitionsFile reads definitions from a YAML file.
func LoadDefinitionsFile(path string) ([]*Definition, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("saga: definitions: %w", err)
	}
	defs, err := LoadDefinitions(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return defs, nil
}
