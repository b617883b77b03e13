package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfileStages reads a Dockerfile into its stages, each a list of
// instructions (continuation lines joined, comments dropped).
func dockerfileStages(t *testing.T, file string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string
	var cur strings.Builder
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		ins := cur.String()
		cur.Reset()
		if strings.HasPrefix(strings.ToUpper(ins), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q before FROM", file, ins)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], ins)
	}
	return stages
}

// instruction returns the arguments of every instruction named op in stage.
func instruction(stage []string, op string) []string {
	var out []string
	for _, ins := range stage {
		if name, args, _ := strings.Cut(ins, " "); strings.EqualFold(name, op) {
			out = append(out, strings.TrimSpace(args))
		}
	}
	return out
}

// The image: a static binary, run as a numeric non-root user, writing only
// to a volume owned by that user; and the compose and Kubernetes files run
// it as that same user.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	stages := dockerfileStages(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !slices.ContainsFunc(instruction(build, "RUN"), func(s string) bool {
		return strings.Contains(s, "CGO_ENABLED=0 go build")
	}) {
		t.Error("the binary is not built with CGO_ENABLED=0 (static)")
	}
	users := instruction(final, "USER")
	if len(users) != 1 || !nonRootUser(users[0]) {
		t.Fatalf("USER %v, want one numeric non-root uid:gid", users)
	}
	user := users[0]
	env := map[string]string{}
	for _, e := range instruction(final, "ENV") {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	checkEnvKnown(t, "Dockerfile", env)
	dataDir := env["JETJOBS_NATS_DATA_DIR"]
	if dataDir == "" || !slices.Contains(instruction(final, "VOLUME"), `["`+dataDir+`"]`) {
		t.Errorf("nats.data-dir %q is not the image's volume %v", dataDir, instruction(final, "VOLUME"))
	}
	owned := regexp.MustCompile(`^--from=\S+ --chown=` + regexp.QuoteMeta(user) + ` \S+ ` + regexp.QuoteMeta(dataDir) + `$`)
	if !slices.ContainsFunc(instruction(final, "COPY"), owned.MatchString) {
		t.Errorf("%s is not created owned by %s", dataDir, user)
	}

	uid, gid, _ := strings.Cut(user, ":")
	for name, svc := range m(loadCompose(t)["services"]) {
		if engineService(m(svc)) && str(m(svc)["user"]) != user {
			t.Errorf("docker-compose.yaml %s runs as %q, the image as %s", name, m(svc)["user"], user)
		}
	}
	psc := dig(loadK8s(t, "k8s/engine.yaml")["Deployment/jetjobs"], "spec", "template", "spec", "securityContext")
	if str(dig(psc, "runAsUser")) != uid || str(dig(psc, "runAsGroup")) != gid || str(dig(psc, "fsGroup")) != gid {
		t.Errorf("k8s/engine.yaml runs as %v, the image as %s", psc, user)
	}
}
