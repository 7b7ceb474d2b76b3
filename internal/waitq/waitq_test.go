package waitq

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestQueueKeepsArrivalOrderAndFindsTheEarliestDeadline checks Front,
// Earliest and Len against a plain slice under random pushes (mostly in
// deadline order, some due earlier than the last) and removals.
func TestQueueKeepsArrivalOrderAndFindsTheEarliestDeadline(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q Queue[int]
	var model []*Node[int] // arrival order
	base := time.Now()
	last := base
	for step := range 20000 {
		if len(model) == 0 || rng.IntN(3) > 0 {
			d := last.Add(time.Duration(rng.IntN(1000)) * time.Microsecond)
			if rng.IntN(5) == 0 {
				d = base.Add(time.Duration(rng.IntN(int(last.Sub(base))+1)) * time.Nanosecond)
			} else {
				last = d
			}
			n := &Node[int]{Value: step, Deadline: d}
			q.Push(n)
			model = append(model, n)
		} else {
			i := rng.IntN(len(model))
			if rng.IntN(2) == 0 {
				i = 0
			}
			q.Remove(model[i])
			model = slices.Delete(model, i, i+1)
		}
		if q.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", step, q.Len(), len(model))
		}
		if len(model) == 0 {
			if q.Front() != nil || q.Earliest() != nil {
				t.Fatalf("step %d: empty queue has a front or an earliest", step)
			}
			continue
		}
		if q.Front() != model[0] {
			t.Fatalf("step %d: Front is %d, want %d", step, q.Front().Value, model[0].Value)
		}
		earliest := slices.MinFunc(model, func(a, b *Node[int]) int { return a.Deadline.Compare(b.Deadline) })
		if got := q.Earliest(); !got.Deadline.Equal(earliest.Deadline) {
			t.Fatalf("step %d: Earliest due %v, want %v", step, got.Deadline.Sub(base), earliest.Deadline.Sub(base))
		}
		i := 0
		for n := q.Front(); n != nil; n = n.Next() {
			if n != model[i] {
				t.Fatalf("step %d: position %d holds %d, want %d", step, i, n.Value, model[i].Value)
			}
			i++
		}
	}
}
