package config

// Keys lists every key that can be set from the environment (every leaf
// outside the jobs map), dotted, in the order of the configuration tree:
// EnvName of each is a variable Load accepts. Tools and tests use it to
// check files that set JETJOBS_ variables (deploy/deploy_test.go).
func Keys() []string {
	out := make([]string, 0, len(leaves()))
	for _, l := range leaves() {
		out = append(out, l.key)
	}
	return out
}
