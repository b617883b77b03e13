// Package jobstest helps test code built on package jobs without NATS: a
// conformance suite that any jobs.StateStore must pass, and MemoryStore, an
// in-memory StateStore that behaves like the JetStream one.
//
// An adapter proves itself with one test:
//
//	func TestStateStore(t *testing.T) {
//		jobstest.StateStoreConformance(t, func(t *testing.T) jobs.StateStore {
//			return newStoreForTest(t) // a fresh, empty store
//		})
//	}
package jobstest
