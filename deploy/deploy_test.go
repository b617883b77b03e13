package deploy_test

import (
	"bufio"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// loadCompose decodes docker-compose.yaml with the fake secrets where the
// operator's deploy/.env would supply them.
func loadCompose(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(interpolate(t, string(raw), fakeSecrets)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// engineService reports whether a compose service runs the jetjobs image.
func engineService(svc map[string]any) bool {
	return svc["build"] != nil || strings.HasPrefix(str(svc["image"]), "jetjobs")
}

// composeEnv reads a service's environment, in map or list form.
func composeEnv(v any) map[string]string {
	env := map[string]string{}
	for k, val := range m(v) {
		env[k] = str(val)
	}
	for _, e := range strs(v) {
		k, val, _ := strings.Cut(e, "=")
		env[k] = val
	}
	return env
}

// nonRootUser reports whether a "uid[:gid]" names a non-root numeric user.
func nonRootUser(u string) bool {
	uid, gid, _ := strings.Cut(u, ":")
	num := regexp.MustCompile(`^[0-9]+$`)
	return num.MatchString(uid) && strings.TrimLeft(uid, "0") != "" &&
		(gid == "" || num.MatchString(gid) && strings.TrimLeft(gid, "0") != "")
}

func TestCompose(t *testing.T) {
	t.Parallel()
	doc := loadCompose(t)
	clusterYAML, err := os.ReadFile("engine.cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	services := m(doc["services"])
	var engines, natsServers int
	for name, v := range services {
		svc := m(v)
		env := composeEnv(svc["environment"])
		checkEnvKnown(t, "docker-compose.yaml "+name, env)
		for _, p := range strs(svc["ports"]) {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond loopback, want 127.0.0.1:<port>:<port>", name, p)
			}
		}
		if strings.HasPrefix(str(svc["image"]), "nats:") {
			natsServers++
			checkComposeNATS(t, name, svc, env)
		}
		if !engineService(svc) {
			continue
		}
		engines++
		if u := str(svc["user"]); !nonRootUser(u) {
			t.Errorf("%s: user %q, want the image's numeric non-root user", name, u)
		}
		if svc["read_only"] != true || !slices.Contains(strs(svc["cap_drop"]), "ALL") ||
			!slices.Contains(strs(svc["security_opt"]), "no-new-privileges:true") {
			t.Errorf("%s: want read_only, cap_drop ALL and no-new-privileges", name)
		}
		checkMemoryLimit(t, "docker-compose.yaml "+name, env["GOMEMLIMIT"],
			str(dig(svc, "deploy", "resources", "limits", "memory")), "docker")
		if !slices.Contains(strs(svc["volumes"]), "./engine.cluster.yaml:/etc/jetjobs/engine.yaml:ro") {
			t.Errorf("%s: engine.cluster.yaml is not its configuration", name)
		}
		cfg := loadEngineConfig(t, clusterYAML, env)
		if host, _, _ := net.SplitHostPort(cfg.HTTP.Addr); host != "0.0.0.0" {
			t.Errorf("%s: http.addr %q, want 0.0.0.0:<port> inside the container", name, cfg.HTTP.Addr)
		}
		if cfg.NATS.User != "engine" || cfg.NATS.Password != fakeSecrets["NATS_ENGINE_PASSWORD"] {
			t.Errorf("%s: nats.user %q and nats.password must be the NATS servers' engine user", name, cfg.NATS.User)
		}
		if cfg.NATS.Replicas != 3 || !strings.Contains(cfg.NATS.URL, "nats-1:4222") {
			t.Errorf("%s: replicas %d url %q", name, cfg.NATS.Replicas, cfg.NATS.URL)
		}
		keysFile := cfg.HTTP.Auth.APIKeysFile
		var mounted bool
		for _, s := range list(svc["secrets"]) {
			mounted = mounted || str(m(s)["target"]) == keysFile && m(doc["secrets"])[str(m(s)["source"])] != nil
		}
		if keysFile == "" || !mounted {
			t.Errorf("%s: http.auth.api-keys-file %q is not a mounted secret", name, keysFile)
		}
	}
	if engines != 2 || natsServers != 3 {
		t.Errorf("%d engines and %d NATS servers, want 2 and 3", engines, natsServers)
	}
}

// checkComposeNATS: the compose file gives a NATS server every variable its
// configuration file reads, and the file parses with them.
// configuration file reads, the values TestNATSClusterConfigs parses the
// files with.
func checkComposeNATS(t *testing.T, name string, svc map[string]any, env map[string]string) {
	t.Helper()
	var conf string
	for _, v := range strs(svc["volumes"]) {
		if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/nats/nats.conf") {
			conf = src
		}
	}
	refs, err := confVariables(conf)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	want := natsEnv(func(i int) string { return "nats-" + string(rune('0'+i)) })
	for _, ref := range refs {
		if env[ref] != want[ref] {
			t.Errorf("%s: %s=%q, want %q (%s reads it)", name, ref, env[ref], want[ref], conf)
		}
	}
	if len(refs) < len(want) {
		t.Errorf("%s: %s reads only %v", name, conf, refs)
	}
}

var confVariable = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)

// confVariables lists the $NAME references of a NATS configuration file,
// comments left out.
func confVariables(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return confVariablesIn(string(b)), nil
}

func confVariablesIn(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, m := range confVariable.FindAllStringSubmatch(line, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// api-keys.example.yaml has the format http.auth.api-keys-file reads, and
// no usable hash: a copy left unedited lets no key in.
func TestAPIKeysExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("api-keys.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Keys []struct {
			Name        string   `yaml:"name"`
			SHA256      string   `yaml:"sha256"`
			Permissions []string `yaml:"permissions"`
		} `yaml:"keys"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	hex := regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	for _, k := range file.Keys {
		if k.Name == "" || len(k.Permissions) == 0 || hex.MatchString(k.SHA256) {
			t.Errorf("key %q: want a name, permissions, and a placeholder instead of a hash", k.Name)
		}
	}
	if len(file.Keys) == 0 {
		t.Error("no keys")
	}
}
