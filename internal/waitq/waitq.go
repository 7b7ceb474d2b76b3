// Package waitq is the queue of waiting acquirers: strict FIFO for service
// order, plus an index on deadlines so that expired waiters are found
// without scanning the queue. Not safe for concurrent use: its owner guards
// it.
//
// Most waiters share one timeout, so their deadlines grow in arrival order:
// those go on a second linked list, in deadline order, where pushing and
// removing cost O(1). Only a waiter due earlier than the last one on that
// list (a shorter timeout of its own) goes on a min-heap instead.
package waitq

import (
	"container/heap"
	"time"
)

// Node is one waiter.
type Node[T any] struct {
	Value    T
	Deadline time.Time

	prev, next   *Node[T] // arrival order
	dprev, dnext *Node[T] // deadline order, while on the in-order list
	index        int      // position in the heap; -1 when not on it
}

// list is an intrusive doubly linked list through one pair of links.
type list[T any] struct {
	head, tail *Node[T]
}

// Queue holds waiters in arrival order and by deadline.
type Queue[T any] struct {
	fifo       list[T]
	inOrder    list[T] // waiters whose deadlines came in ascending order
	byDeadline deadlineHeap[T]
	n          int
}

// Len is the number of waiters.
func (q *Queue[T]) Len() int { return q.n }

// Push appends n, whose Value and Deadline are set, to the queue. n must
// not be in a queue; callers embed it in the waiter so that queueing
// allocates nothing.
func (q *Queue[T]) Push(n *Node[T]) {
	q.n++
	n.prev, n.next = q.fifo.tail, nil
	if q.fifo.tail == nil {
		q.fifo.head = n
	} else {
		q.fifo.tail.next = n
	}
	q.fifo.tail = n
	if t := q.inOrder.tail; t == nil || !n.Deadline.Before(t.Deadline) {
		n.index = -1
		n.dprev, n.dnext = t, nil
		if t == nil {
			q.inOrder.head = n
		} else {
			t.dnext = n
		}
		q.inOrder.tail = n
		return
	}
	heap.Push(&q.byDeadline, n)
}

// Next returns the waiter after n, or nil.
func (n *Node[T]) Next() *Node[T] { return n.next }

// Front returns the oldest waiter, or nil.
func (q *Queue[T]) Front() *Node[T] { return q.fifo.head }

// Remove takes n out of the queue. n must be in it.
func (q *Queue[T]) Remove(n *Node[T]) {
	q.n--
	if n.prev == nil {
		q.fifo.head = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next == nil {
		q.fifo.tail = n.prev
	} else {
		n.next.prev = n.prev
	}
	n.prev, n.next = nil, nil
	if n.index >= 0 {
		heap.Remove(&q.byDeadline, n.index)
		n.index = -1
		return
	}
	if n.dprev == nil {
		q.inOrder.head = n.dnext
	} else {
		n.dprev.dnext = n.dnext
	}
	if n.dnext == nil {
		q.inOrder.tail = n.dprev
	} else {
		n.dnext.dprev = n.dprev
	}
	n.dprev, n.dnext = nil, nil
}

// Earliest returns the waiter whose deadline comes first, or nil.
func (q *Queue[T]) Earliest() *Node[T] {
	first := q.inOrder.head
	if len(q.byDeadline) > 0 && (first == nil || q.byDeadline[0].Deadline.Before(first.Deadline)) {
		first = q.byDeadline[0]
	}
	return first
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
