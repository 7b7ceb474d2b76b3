// Package waitq is the broker's queue of waiting acquirers: strict FIFO for
// service order, plus a min-heap on deadlines so that expired waiters are
// found without scanning the queue. Not safe for concurrent use: the broker
// owns it.
package waitq

import (
	"container/heap"
	"time"
)

// Node is one waiter.
type Node[T any] struct {
	Value    T
	Deadline time.Time

	prev, next *Node[T]
	index      int
}

// Queue holds waiters in arrival order and by deadline.
type Queue[T any] struct {
	head, tail *Node[T]
	byDeadline deadlineHeap[T]
}

// Len is the number of waiters.
func (q *Queue[T]) Len() int { return len(q.byDeadline) }

// Push appends n, whose Value and Deadline are set, to the queue. n must
// not be in a queue; callers embed it in the waiter so that queueing
// allocates nothing.
func (q *Queue[T]) Push(n *Node[T]) {
	n.prev, n.next = q.tail, nil
	if q.tail == nil {
		q.head = n
	} else {
		q.tail.next = n
	}
	q.tail = n
	heap.Push(&q.byDeadline, n)
}

// Next returns the waiter after n, or nil.
func (n *Node[T]) Next() *Node[T] { return n.next }

// Front returns the oldest waiter, or nil.
func (q *Queue[T]) Front() *Node[T] { return q.head }

// Remove takes n out of the queue. n must be in it.
func (q *Queue[T]) Remove(n *Node[T]) {
	if n.prev == nil {
		q.head = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next == nil {
		q.tail = n.prev
	} else {
		n.next.prev = n.prev
	}
	n.prev, n.next = nil, nil
	heap.Remove(&q.byDeadline, n.index)
	n.index = -1
}

// Earliest returns the waiter whose deadline comes first, or nil.
func (q *Queue[T]) Earliest() *Node[T] {
	if len(q.byDeadline) == 0 {
		return nil
	}
	return q.byDeadline[0]
}

type deadlineHeap[T any] []*Node[T]

func (h deadlineHeap[T]) Len() int           { return len(h) }
func (h deadlineHeap[T]) Less(i, j int) bool { return h[i].Deadline.Before(h[j].Deadline) }
func (h deadlineHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *deadlineHeap[T]) Push(x any) {
	n := x.(*Node[T])
	n.index = len(*h)
	*h = append(*h, n)
}
func (h *deadlineHeap[T]) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return n
}
