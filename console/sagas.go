package console

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// sagaDef is a saga definition as GET {base}/sagas/ answers it.
type sagaDef struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Steps       []struct {
		Name       string   `json:"name"`
		Job        string   `json:"job"`
		DependsOn  []string `json:"dependsOn"`
		Compensate string   `json:"compensate"`
	} `json:"steps"`
}

// sagaRun is one job run of a saga step.
type sagaRun struct {
	Job         string `json:"job"`
	Status      string `json:"status"`
	Attempt     int    `json:"attempt"`
	ExecutionID string `json:"executionId"`
	Error       string `json:"error"`
}

// sagaInstance is a saga instance as GET {base}/sagas/{saga}/{id} answers it.
type sagaInstance struct {
	Saga      string `json:"saga"`
	SagaID    string `json:"sagaId"`
	Status    string `json:"status"`
	Error     string `json:"error"`
	CompError string `json:"compensationError"`
	Failed    string `json:"failedStep"`
	Steps     []struct {
		Name string   `json:"name"`
		Run  sagaRun  `json:"run"`
		Comp *sagaRun `json:"compensation"`
	} `json:"steps"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// recentSaga is a saga instance found through its executions.
type recentSaga struct {
	Saga, SagaID string
	UpdatedAt    time.Time
}

// sagaList shows the definitions and the saga instances of the newest
// executions (the saga store has no listing: the index's executions name
// their saga).
func (c *Console) sagaList(w http.ResponseWriter, r *http.Request) {
	var defs []sagaDef
	err := c.get(r, c.o.BasePath+"/sagas/", &defs)
	recent := []recentSaga{}
	if c.o.Index != nil && c.o.Records != nil {
		seen := map[string]bool{}
		q := jobs.ExecutionQuery{Limit: 500}
		for pages := 0; pages < 4 && len(recent) < 25; pages++ {
			pg, lerr := c.o.Index.ListExecutions(r.Context(), q)
			if lerr != nil {
				break
			}
			for _, it := range pg.Items {
				if it.SagaID == "" || seen[it.SagaID] || !can(r, auth.Read, it.JobType) {
					continue
				}
				seen[it.SagaID] = true
				exec, _, gerr := c.o.Records.Get(r.Context(), it.JobType, it.ExecutionID)
				if gerr != nil || exec.Metadata["saga"] == "" {
					continue
				}
				recent = append(recent, recentSaga{Saga: exec.Metadata["saga"], SagaID: it.SagaID, UpdatedAt: it.UpdatedAt})
			}
			if pg.Next == "" {
				break
			}
			q.Cursor = pg.Next
		}
	}
	c.render(w, r, "sagas", err, map[string]any{"Defs": defs, "Recent": recent})
}

func (c *Console) sagaDetail(w http.ResponseWriter, r *http.Request) {
	name, id := chi.URLParam(r, "saga"), chi.URLParam(r, "id")
	var in sagaInstance
	if err := c.get(r, c.o.BasePath+"/sagas/"+pathEscape(name)+"/"+pathEscape(id), &in); err != nil {
		c.render(w, r, "saga", err, nil)
		return
	}
	var defs []sagaDef
	_ = c.get(r, c.o.BasePath+"/sagas/", &defs)
	var def *sagaDef
	for i := range defs {
		if defs[i].Name == name {
			def = &defs[i]
		}
	}
	compensated := false
	for _, s := range in.Steps {
		if s.Comp != nil && s.Comp.Status != "PENDING" && s.Comp.Status != "" {
			compensated = true
		}
	}
	base := c.o.BasePath + "/sagas/" + pathEscape(name) + "/" + pathEscape(id)
	c.render(w, r, "saga", nil, map[string]any{"In": in, "DAG": sagaDAG(in, def), "Compensated": compensated,
		"CanAdmin": can(r, auth.Admin, name), "Base": base,
		"CanCancel": in.Status == "RUNNING", "CanResume": in.Status == "FAILED"})
}
