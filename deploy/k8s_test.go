package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"
)

// loadK8s decodes every document of a manifest file, by "Kind/name".
func loadK8s(t *testing.T, file string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[str(doc["kind"])+"/"+str(dig(doc, "metadata", "name"))] = doc
	}
}

// secretValues stands in for the Secrets the READMEs tell operators to
// create, by "secret/key".
var secretValues = map[string]string{
	"nats-auth/engine-password": fakeSecrets["NATS_ENGINE_PASSWORD"],
	"nats-auth/sys-password":    fakeSecrets["NATS_SYS_PASSWORD"],
	"nats-auth/route-password":  fakeSecrets["NATS_ROUTE_PASSWORD"],
}

var k8sVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// k8sEnv resolves a container's env as the kubelet would, with the pod
// named podName; secretRefs records the variables taken from Secrets.
func k8sEnv(t *testing.T, where string, container map[string]any, podName string) (env map[string]string, secretRefs []string) {
	t.Helper()
	env = map[string]string{}
	for _, e := range list(container["env"]) {
		name, from := str(m(e)["name"]), m(m(e)["valueFrom"])
		switch {
		case from == nil:
			env[name] = k8sVarRef.ReplaceAllStringFunc(str(m(e)["value"]), func(ref string) string {
				return env[k8sVarRef.FindStringSubmatch(ref)[1]]
			})
		case from["secretKeyRef"] != nil:
			ref := str(dig(from, "secretKeyRef", "name")) + "/" + str(dig(from, "secretKeyRef", "key"))
			v, ok := secretValues[ref]
			if !ok {
				t.Errorf("%s: %s comes from %s, which the READMEs do not create", where, name, ref)
			}
			env[name] = v
			secretRefs = append(secretRefs, name)
		case str(dig(from, "fieldRef", "fieldPath")) == "metadata.name":
			env[name] = podName
		default:
			t.Errorf("%s: %s: unexpected valueFrom %v", where, name, from)
		}
	}
	return env, secretRefs
}

func TestK8sEngine(t *testing.T) {
	t.Parallel()
	docs := loadK8s(t, "k8s/engine.yaml")
	dep := docs["Deployment/jetjobs"]
	pod := m(dig(dep, "spec", "template", "spec"))
	if pod == nil {
		t.Fatal("no Deployment jetjobs")
	}
	psc := m(pod["securityContext"])
	if psc["runAsNonRoot"] != true || !nonRootUser(str(psc["runAsUser"])) ||
		str(dig(psc, "seccompProfile", "type")) != "RuntimeDefault" || pod["automountServiceAccountToken"] != false {
		t.Errorf("pod securityContext %v, automountServiceAccountToken %v", psc, pod["automountServiceAccountToken"])
	}
	var c map[string]any
	for _, x := range list(pod["containers"]) {
		if str(m(x)["name"]) == "engine" {
			c = m(x)
		}
	}
	if c == nil {
		t.Fatal("no engine container")
	}
	csc := m(c["securityContext"])
	if csc["allowPrivilegeEscalation"] != false || csc["readOnlyRootFilesystem"] != true ||
		!slices.Contains(strs(dig(csc, "capabilities", "drop")), "ALL") {
		t.Errorf("container securityContext %v", csc)
	}
	res := m(c["resources"])
	for _, k := range [][]string{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
		if dig(res, k...) == nil {
			t.Errorf("resources.%s not set", strings.Join(k, "."))
		}
	}
	for probe, want := range map[string]string{"livenessProbe": "/health/liveness", "readinessProbe": "/health/readiness", "startupProbe": "/health/liveness"} {
		if p := str(dig(c, probe, "httpGet", "path")); p != want {
			t.Errorf("%s on %q, want %s", probe, p, want)
		}
	}
	env, fromSecrets := k8sEnv(t, "k8s/engine.yaml", c, "jetjobs-0")
	checkEnvKnown(t, "k8s/engine.yaml", env)
	if !slices.Contains(fromSecrets, "JETJOBS_NATS_PASSWORD") {
		t.Error("JETJOBS_NATS_PASSWORD does not come from a Secret")
	}
	checkMemoryLimit(t, "k8s/engine.yaml", env["GOMEMLIMIT"], str(dig(res, "limits", "memory")), "k8s")

	cfg := loadEngineConfig(t, []byte(str(dig(docs["ConfigMap/jetjobs-config"], "data", "engine.yaml"))), env)
	if host, _, _ := net.SplitHostPort(cfg.HTTP.Addr); host != "0.0.0.0" {
		t.Errorf("http.addr %q, want 0.0.0.0:<port> in the pod", cfg.HTTP.Addr)
	}
	if cfg.NATS.User != "engine" || cfg.NATS.Password != fakeSecrets["NATS_ENGINE_PASSWORD"] || cfg.NATS.Replicas != 3 {
		t.Errorf("nats.user %q, replicas %d, and the password must be the NATS servers' engine password",
			cfg.NATS.User, cfg.NATS.Replicas)
	}
	// The config and the API keys file are mounted from the ConfigMap and a Secret.
	volumes := map[string]map[string]any{}
	for _, v := range list(pod["volumes"]) {
		volumes[str(m(v)["name"])] = m(v)
	}
	mountedFrom := func(file, kind string) bool {
		for _, vm := range list(c["volumeMounts"]) {
			if filepath.Dir(file) == str(m(vm)["mountPath"]) && volumes[str(m(vm)["name"])][kind] != nil {
				return true
			}
		}
		return false
	}
	if f := cfg.HTTP.Auth.APIKeysFile; f == "" || !mountedFrom(f, "secret") {
		t.Errorf("http.auth.api-keys-file %q is not mounted from a Secret", f)
	}
	args := strs(c["args"])
	if i := slices.Index(args, "--config"); i < 0 || i+1 >= len(args) || !mountedFrom(args[i+1], "configMap") {
		t.Errorf("args %v: --config is not the mounted ConfigMap", args)
	}
	checkServicesInternal(t, docs)
}

// checkServicesInternal: no Service opens a port outside the cluster.
func checkServicesInternal(t *testing.T, docs map[string]map[string]any) {
	t.Helper()
	for name, d := range docs {
		if typ := str(dig(d, "spec", "type")); strings.HasPrefix(name, "Service/") && typ != "" && typ != "ClusterIP" {
			t.Errorf("%s is of type %s: expose it through an ingress with TLS instead", name, typ)
		}
	}
}

func TestK8sNATS(t *testing.T) { // not parallel: setEnv
	docs := loadK8s(t, "k8s/nats.yaml")
	checkServicesInternal(t, docs)
	conf := str(dig(docs["ConfigMap/nats-config"], "data", "nats.conf"))
	pod := m(dig(docs["StatefulSet/nats"], "spec", "template", "spec"))
	cs := list(pod["containers"])
	if conf == "" || len(cs) != 1 {
		t.Fatalf("no nats.conf or not one container (%d)", len(cs))
	}
	c := m(cs[0])
	if sc := m(c["securityContext"]); sc["allowPrivilegeEscalation"] != false || !slices.Contains(strs(dig(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("nats container securityContext %v", sc)
	}
	env, fromSecrets := k8sEnv(t, "k8s/nats.yaml", c, "nats-0")
	for _, ref := range confVariablesIn(conf) {
		if _, ok := env[ref]; !ok {
			t.Errorf("nats.conf reads $%s, which the container's env does not set", ref)
		}
	}
	for _, k := range []string{"NATS_ENGINE_PASSWORD", "NATS_SYS_PASSWORD", "NATS_ROUTE_PASSWORD"} {
		if !slices.Contains(fromSecrets, k) {
			t.Errorf("%s does not come from a Secret", k)
		}
	}
	file := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	setEnv(t, env)
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ServerName != "nats-0" {
		t.Errorf("server_name %q", opts.ServerName)
	}
	checkNATSOptions(t, "k8s/nats.yaml", opts, []string{"nats-0.nats", "nats-1.nats", "nats-2.nats"})
}
