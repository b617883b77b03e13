package kv

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestEntrySetIsAMap: random puts and removes leave the set holding what
// a map would, UUID ids and others, the same id under two job types.
func TestEntrySetIsAMap(t *testing.T) {
	t.Parallel()
	type mk struct {
		job uint16
		id  string
	}
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 300)
	for i := range ids {
		switch i % 3 {
		case 0:
			ids[i] = uuid.NewString()
		case 1:
			ids[i] = strings.ToUpper(uuid.NewString()) // not canonical: held as a string
		default:
			ids[i] = fmt.Sprint("exec-", i)
		}
	}
	s := newEntrySet()
	ref := map[mk]*ientry{}
	for range 20000 {
		k := mk{uint16(r.IntN(3)), ids[r.IntN(len(ids))]}
		if r.IntN(3) == 0 {
			got := s.remove(keyOf(k.job, k.id))
			if got != ref[k] {
				t.Fatalf("remove %v = %p, want %p", k, got, ref[k])
			}
			delete(ref, k)
			continue
		}
		en := &ientry{job: k.job, upd: r.Int64()}
		en.setID(k.id)
		if en.id() != k.id {
			t.Fatalf("id %q comes back as %q", k.id, en.id())
		}
		s.set(en)
		ref[k] = en
		if s.n != len(ref) {
			t.Fatalf("n = %d, want %d", s.n, len(ref))
		}
	}
	for _, id := range ids {
		for j := range uint16(3) {
			if got, want := s.get(keyOf(j, id)), ref[mk{j, id}]; got != want {
				t.Fatalf("get %d %s = %p, want %p", j, id, got, want)
			}
		}
	}
}

// TestCompareIDsIsStringOrder: entries order by id as the id strings do,
// whichever way each is held.
func TestCompareIDsIsStringOrder(t *testing.T) {
	t.Parallel()
	ids := []string{"", "0", "exec-1", "zzz", "ffffffff-ffff-ffff-ffff-ffffffffffff0",
		"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000a",
		"0000000a-0000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000A"}
	for range 20 {
		ids = append(ids, uuid.NewString())
	}
	for _, a := range ids {
		for _, b := range ids {
			ea, eb := &ientry{}, &ientry{}
			ea.setID(a)
			eb.setID(b)
			if got, want := compareIDs(ea, eb), strings.Compare(a, b); got != want {
				t.Errorf("compareIDs(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func FuzzParseUUID(f *testing.F) {
	f.Add("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	f.Add("6BA7B810-9DAD-11D1-80B4-00C04FD430C8")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseUUID(s)
		if !ok {
			return
		}
		en := &ientry{key: string(u[:]), hasUID: true}
		if got := en.id(); got != s {
			t.Fatalf("parseUUID(%q) formats back as %q", s, got)
		}
	})
}
