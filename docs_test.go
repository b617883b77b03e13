package jetjobs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// architectureDoc is the document whose package table TestPackageTable
// keeps equal to the code.
const architectureDoc = "docs/architecture.md"

// updateDocsEnv set to 1 makes TestPackageTable rewrite the table's
// generated columns instead of failing (rows of new packages get a "what"
// to fill in, which fails until it is written).
const updateDocsEnv = "JETJOBS_UPDATE_DOCS"

// modulePath is this module; its root package is shown as jetjobs.
const modulePath = "github.com/jetjobs/jetjobs"

// todoWhat marks a row the update added: the test fails until a person
// says what the package is.
const todoWhat = "TODO: say what it is"

// The package table of docs/architecture.md is the package graph as `go
// list` reports it: one row per package of the module, its direct imports
// within the module, and whether NATS or net/http is among everything it
// links. Only the "what" column is written by hand; the test fails, naming
// the package and the difference, as soon as the code and the table part.
func TestPackageTable(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH, so %s's package table is not checked against `go list`", architectureDoc)
	}
	graph := packageGraph(t, goBin)
	raw, err := os.ReadFile(architectureDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	first, end, rows := packageTable(t, lines)

	var problems []string
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		g, ok := graph[r.pkg]
		if !ok {
			problems = append(problems, fmt.Sprintf("`%s` has a row but is no package of the module (moved or removed?)", r.pkg))
			continue
		}
		seen[r.pkg] = true
		if r.imports != g.imports {
			problems = append(problems, fmt.Sprintf("`%s` imports %s, the table says %s", r.pkg, g.imports, r.imports))
		}
		if r.reaches != g.reaches {
			problems = append(problems, fmt.Sprintf("`%s` reaches %s, the table says %s", r.pkg, g.reaches, r.reaches))
		}
		if r.what == "" || r.what == todoWhat {
			problems = append(problems, fmt.Sprintf("`%s`: say what the package is", r.pkg))
		}
		out = append(out, tableRow(r.pkg, r.what, g))
	}
	for _, pkg := range slices.Sorted(maps.Keys(graph)) {
		if !seen[pkg] {
			problems = append(problems, fmt.Sprintf("`%s` has no row", pkg))
			out = append(out, tableRow(pkg, todoWhat, graph[pkg]))
		}
	}
	if len(problems) == 0 {
		return
	}
	if os.Getenv(updateDocsEnv) == "1" {
		updated := slices.Concat(lines[:first], out, lines[end:])
		if err := os.WriteFile(architectureDoc, []byte(strings.Join(updated, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: package table rewritten (%d differences)", architectureDoc, len(problems))
		return
	}
	t.Errorf("%s's package table is out of date (rerun with %s=1 to rewrite its generated columns):\n  %s\nThe table from `go list`:\n%s",
		architectureDoc, updateDocsEnv, strings.Join(problems, "\n  "), strings.Join(out, "\n"))
}

// pkgNode is one package's generated columns, as the table writes them.
type pkgNode struct{ imports, reaches string }

// packageGraph runs `go list` on the module and returns, per package (by
// its path in the module; the root is jetjobs), its generated columns.
func packageGraph(t *testing.T, goBin string) map[string]pkgNode {
	t.Helper()
	cmd := exec.Command(goBin, "list", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string]pkgNode{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, imp := range p.Imports {
			if name, ok := inModule(imp); ok {
				own = append(own, "`"+name+"`")
			}
		}
		var reaches []string
		if slices.Contains(p.Deps, "github.com/nats-io/nats.go") {
			reaches = append(reaches, "NATS")
		}
		if slices.Contains(p.Deps, "net/http") {
			reaches = append(reaches, "net/http")
		}
		name, _ := inModule(p.ImportPath)
		graph[name] = pkgNode{imports: orNone(own), reaches: orNone(reaches)}
	}
	return graph
}

// inModule names an import path of this module as the table does.
func inModule(path string) (string, bool) {
	if path == modulePath {
		return "jetjobs", true
	}
	rest, ok := strings.CutPrefix(path, modulePath+"/")
	return rest, ok
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "—"
	}
	return strings.Join(list, ", ")
}

func tableRow(pkg, what string, g pkgNode) string {
	return fmt.Sprintf("| `%s` | %s | %s | %s |", pkg, what, g.imports, g.reaches)
}

// docRow is one row of the table as written.
type docRow struct{ pkg, what, imports, reaches string }

// packageTable finds the table under "## Packages and the dependency
// rule" and returns the index of its first row, the index after its last
// row, and its rows.
func packageTable(t *testing.T, lines []string) (first, end int, rows []docRow) {
	t.Helper()
	const heading = "## Packages and the dependency rule"
	const header = "| package | what | imports (in the module) | reaches |"
	h := slices.Index(lines, heading)
	if h < 0 {
		t.Fatalf("%s has no %q", architectureDoc, heading)
	}
	top := slices.Index(lines[h:], header)
	if top < 0 {
		t.Fatalf("%s: no table headed %q under %q", architectureDoc, header, heading)
	}
	first = h + top + 2 // past the header and its |---| line
	for end = first; end < len(lines) && strings.HasPrefix(lines[end], "|"); end++ {
		cells := strings.Split(strings.Trim(lines[end], "|"), " | ")
		if len(cells) != 4 {
			t.Fatalf("%s:%d: a row has 4 cells (package | what | imports | reaches): %s", architectureDoc, end+1, lines[end])
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, docRow{pkg: strings.Trim(cells[0], "`"), what: cells[1], imports: cells[2], reaches: cells[3]})
	}
	return first, end, rows
}
