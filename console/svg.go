package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// sparkline draws values as a small inline SVG line chart with a text
// alternative (its title); class picks the stroke colour in app.css.
func sparkline(values []float64, title, class string) template.HTML {
	const w, h = 160.0, 36.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark %s" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s"><title>%s</title>`,
		class, w, h, w, h, html.EscapeString(title), html.EscapeString(title))
	fmt.Fprintf(&b, `<line class="axis" x1="0" y1="%g" x2="%g" y2="%g"/>`, h-1, w, h-1)
	if len(values) > 0 {
		top := 1.0
		for _, v := range values {
			top = max(top, v)
		}
		step := w
		if len(values) > 1 {
			step = w / float64(len(values)-1)
		}
		b.WriteString(`<polyline points="`)
		for i, v := range values {
			fmt.Fprintf(&b, "%.1f,%.1f ", float64(i)*step, h-2-(v/top)*(h-6))
		}
		b.WriteString(`"/>`)
	} else {
		fmt.Fprintf(&b, `<text x="4" y="%g">collecting…</text>`, h/2+4)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers, and text escaped above
}

// dagNode is one step placed on the graph.
type dagNode struct {
	name, job, status string
	execID            string
	comp              *sagaRun
	col, row          int
	deps              []string
}

// sagaDAG draws a saga instance's steps as a graph: a column per depth,
// an arrow per dependency, each step's state as its colour and words, a
// link to its execution, and its compensation (if any ran) under it.
func sagaDAG(in sagaInstance, def *sagaDef) template.HTML {
	deps := map[string][]string{}
	if def != nil {
		for _, s := range def.Steps {
			deps[s.Name] = s.DependsOn
		}
	}
	nodes := map[string]*dagNode{}
	order := []*dagNode{}
	for i, s := range in.Steps {
		n := &dagNode{name: s.Name, job: s.Run.Job, status: s.Run.Status, execID: s.Run.ExecutionID, comp: s.Comp}
		if d, ok := deps[s.Name]; ok {
			n.deps = d
		} else if i > 0 {
			n.deps = []string{in.Steps[i-1].Name}
		}
		nodes[s.Name] = n
		order = append(order, n)
	}
	rows := map[int]int{}
	for _, n := range order { // steps come in dependency order
		for _, d := range n.deps {
			if p := nodes[d]; p != nil {
				n.col = max(n.col, p.col+1)
			}
		}
		n.row = rows[n.col]
		rows[n.col]++
	}
	const bw, bh, gx, gy, ch = 250, 58, 50, 24, 34
	cols, maxRows := 0, 1
	for _, n := range order {
		cols = max(cols, n.col+1)
		maxRows = max(maxRows, rows[n.col])
	}
	width, height := cols*(bw+gx)+10, maxRows*(bh+ch+gy)+10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="dag" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="dag-title"><title id="dag-title">Steps of saga %s</title>`,
		width, height, width, height, html.EscapeString(in.Saga))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>`)
	x := func(n *dagNode) int { return 5 + n.col*(bw+gx) }
	y := func(n *dagNode) int { return 5 + n.row*(bh+ch+gy) }
	for _, n := range order {
		for _, d := range n.deps {
			if p := nodes[d]; p != nil {
				fmt.Fprintf(&b, `<line class="edge" x1="%d" y1="%d" x2="%d" y2="%d" marker-end="url(#arrow)"/>`,
					x(p)+bw, y(p)+bh/2, x(n), y(n)+bh/2)
			}
		}
	}
	for _, n := range order {
		link := ""
		if n.execID != "" {
			link = Prefix + "/executions/" + pathEscape(n.job) + "/" + pathEscape(n.execID)
		}
		box(&b, link, "step st-"+strings.ToLower(n.status), x(n), y(n), bw, bh, n.name, n.job+" · "+n.status)
		if n.comp != nil && n.comp.Status != "" && n.comp.Status != "PENDING" {
			cl := ""
			if n.comp.ExecutionID != "" {
				cl = Prefix + "/executions/" + pathEscape(n.comp.Job) + "/" + pathEscape(n.comp.ExecutionID)
			}
			fmt.Fprintf(&b, `<line class="edge comp" x1="%d" y1="%d" x2="%d" y2="%d"/>`, x(n)+bw/2, y(n)+bh, x(n)+bw/2, y(n)+bh+8)
			box(&b, cl, "compensation st-"+strings.ToLower(n.comp.Status), x(n)+10, y(n)+bh+8, bw-20, ch-4,
				"↺ "+n.comp.Job, n.comp.Status)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text escaped in box
}

func box(b *strings.Builder, link, class string, x, y, w, h int, title, sub string) {
	if link != "" {
		fmt.Fprintf(b, `<a href="%s">`, html.EscapeString(link))
	}
	fmt.Fprintf(b, `<g class="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`, html.EscapeString(class), x, y, w, h)
	if h > 40 {
		fmt.Fprintf(b, `<text x="%d" y="%d" class="t1">%s</text><text x="%d" y="%d" class="t2">%s</text>`,
			x+10, y+22, html.EscapeString(title), x+10, y+42, html.EscapeString(sub))
	} else {
		fmt.Fprintf(b, `<text x="%d" y="%d" class="t2">%s: %s</text>`, x+8, y+h/2+4, html.EscapeString(title), html.EscapeString(sub))
	}
	b.WriteString(`</g>`)
	if link != "" {
		b.WriteString(`</a>`)
	}
}
