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

	link  [2]links[T] // on the arrival list, and on the in-order list unless on the heap
	index int         // position in the heap; -1 when not on it
}

type links[T any] struct{ prev, next *Node[T] }

// The two linked lists, as indexes of Queue.lists and Node.link.
const (
	arrival = iota // every waiter, oldest first
	inOrder        // waiters whose deadlines came in ascending order, earliest first
)

// Queue holds waiters in arrival order and by deadline. The zero Queue is
// empty and ready to use.
type Queue[T any] struct {
	lists      [2]struct{ head, tail *Node[T] }
	byDeadline deadlineHeap[T]
	n          int
}

func (q *Queue[T]) pushBack(k int, n *Node[T]) {
	l := &q.lists[k]
	n.link[k] = links[T]{prev: l.tail}
	if l.tail == nil {
		l.head = n
	} else {
		l.tail.link[k].next = n
	}
	l.tail = n
}

func (q *Queue[T]) unlink(k int, n *Node[T]) {
	l, ln := &q.lists[k], &n.link[k]
	if ln.prev == nil {
		l.head = ln.next
	} else {
		ln.prev.link[k].next = ln.next
	}
	if ln.next == nil {
		l.tail = ln.prev
	} else {
		ln.next.link[k].prev = ln.prev
	}
	*ln = links[T]{}
}

// Len is the number of waiters.
func (q *Queue[T]) Len() int { return q.n }

// Push appends n, whose Value and Deadline are set, to the queue. n must
// not be in a queue; callers embed it in the waiter so that queueing
// allocates nothing.
func (q *Queue[T]) Push(n *Node[T]) {
	q.n++
	q.pushBack(arrival, n)
	if t := q.lists[inOrder].tail; t == nil || !n.Deadline.Before(t.Deadline) {
		n.index = -1
		q.pushBack(inOrder, n)
		return
	}
	heap.Push(&q.byDeadline, n)
}

// Next returns the waiter after n, or nil.
func (n *Node[T]) Next() *Node[T] { return n.link[arrival].next }

// Front returns the oldest waiter, or nil.
func (q *Queue[T]) Front() *Node[T] { return q.lists[arrival].head }

// Remove takes n out of the queue. n must be in it.
func (q *Queue[T]) Remove(n *Node[T]) {
	q.n--
	q.unlink(arrival, n)
	if n.index < 0 {
		q.unlink(inOrder, n)
		return
	}
	heap.Remove(&q.byDeadline, n.index)
	n.index = -1
}

// Earliest returns the waiter whose deadline comes first, or nil.
func (q *Queue[T]) Earliest() *Node[T] {
	first := q.lists[inOrder].head
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
