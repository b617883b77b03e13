package kv

import (
	"container/heap"

	"github.com/tidwall/btree"
)

// merge is a heap of tree iterators, each at its next entry, newest on
// top: popping it yields the entries of several trees in one order.
type merge struct{ its []*btree.IterG[*ientry] }

func (m *merge) Len() int           { return len(m.its) }
func (m *merge) Less(i, j int) bool { return newer(m.its[i].Item(), m.its[j].Item()) }
func (m *merge) Swap(i, j int)      { m.its[i], m.its[j] = m.its[j], m.its[i] }
func (m *merge) Push(v any)         { m.its = append(m.its, v.(*btree.IterG[*ientry])) }
func (m *merge) Pop() any {
	it := m.its[len(m.its)-1]
	m.its = m.its[:len(m.its)-1]
	return it
}

// push adds an iterator that is at an entry.
func (m *merge) push(it btree.IterG[*ientry]) { heap.Push(m, &it) }

// pop returns the newest entry and moves its iterator on; an iterator
// past its tree or past since (UnixNano) leaves the heap.
func (m *merge) pop(since int64) *ientry {
	it := m.its[0]
	en := it.Item()
	if it.Next() && it.Item().upd >= since {
		heap.Fix(m, 0)
	} else {
		it.Release()
		heap.Pop(m)
	}
	return en
}

// release lets go of the iterators left.
func (m *merge) release() {
	for _, it := range m.its {
		it.Release()
	}
	m.its = nil
}
