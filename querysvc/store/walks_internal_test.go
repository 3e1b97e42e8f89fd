package store

import (
	"slices"
	"testing"
	"time"
)

// TestWalksLapse: a search whose keep-alive has passed is released by
// Elasticsearch, so it neither counts toward its principal's bound (no
// live search is released for it) nor stays in memory once every search
// of its principal has lapsed; one that ended (last page) is forgotten at
// once.
func TestWalksLapse(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	w := newWalks(2, time.Minute)
	for _, pit := range []string{"a1", "a2"} {
		if ev := w.paged("alice", "", pit, t0); ev != nil {
			t.Fatalf("within the bound: got %v released, want none", ev)
		}
	}
	if ev := w.paged("alice", "", "a3", t0.Add(time.Second)); !slices.Equal(ev, []string{"a1"}) {
		t.Errorf("beyond the bound: got %v released, want [a1]", ev)
	}
	// Two minutes on, a2 and a3 have lapsed: two new searches release nothing.
	later := t0.Add(2 * time.Minute)
	for _, pit := range []string{"a4", "a5"} {
		if ev := w.paged("alice", "", pit, later); ev != nil {
			t.Errorf("after the others lapsed: got %v released, want none", ev)
		}
	}
	// A next page whose id changed replaces its entry rather than adding one.
	if ev := w.paged("alice", "a4", "a4'", later); ev != nil {
		t.Errorf("a next page: got %v released, want none", ev)
	}
	w.done("alice", "a5", "a5")
	if got := len(w.byOwner["alice"]); got != 1 {
		t.Errorf("after one search ended: got %d open, want 1", got)
	}
	w.paged("bob", "", "b1", later)
	w.paged("bob", "", "b2", later.Add(5*time.Minute)) // sweeps alice's lapsed search
	if _, ok := w.byOwner["alice"]; ok {
		t.Errorf("a principal whose searches all lapsed is still held: %v", w.byOwner["alice"])
	}
}
