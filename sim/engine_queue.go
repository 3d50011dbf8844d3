package sim

// request is one request inside the engine: a value, never pointed to.
type request struct {
	arrival, firstScheduled, firstToken, lastToken durationNS
	prompt, output                                 int32
	// generated counts sampled output tokens; computed counts tokens whose
	// KV is in the cache; scheduled is the step in flight's share.
	generated, computed, scheduled int32
	blocks                         int32
}

// durationNS is virtual time in nanoseconds (a time.Duration kept as an
// integer so that request stays small).
type durationNS = int64

// freshRequest is a request that has never been scheduled: all a queued
// request needs until then, in 16 bytes, so that a long queue clones fast.
type freshRequest struct {
	arrival        durationNS
	prompt, output int32
}

// queue holds the waiting requests in vLLM's order: preempted requests at
// the front (the most recently preempted first), then fresh arrivals in
// FIFO order. Preempted requests always precede fresh ones because they are
// only ever pushed to the front.
type queue struct {
	preempted []request // a stack: the last element is the head
	fresh     []freshRequest
	head      int // fresh[head:] are queued
}

func (q *queue) len() int { return len(q.preempted) + len(q.fresh) - q.head }

func (q *queue) pushBack(r freshRequest) { q.fresh = append(q.fresh, r) }

func (q *queue) pushFront(r request) { q.preempted = append(q.preempted, r) }

// front returns the head without removing it.
func (q *queue) front() request {
	if n := len(q.preempted); n > 0 {
		return q.preempted[n-1]
	}
	f := q.fresh[q.head]
	return request{arrival: f.arrival, firstScheduled: -1, prompt: f.prompt, output: f.output}
}

func (q *queue) popFront() request {
	r := q.front()
	if n := len(q.preempted); n > 0 {
		q.preempted = q.preempted[:n-1]
		return r
	}
	q.head++
	switch {
	case q.head == len(q.fresh):
		q.fresh, q.head = q.fresh[:0], 0
	case q.head >= 1024 && 2*q.head >= len(q.fresh):
		// Reclaim the consumed half; amortised O(1) per request.
		n := copy(q.fresh, q.fresh[q.head:])
		q.fresh, q.head = q.fresh[:n], 0
	}
	return r
}

// clone copies the queued part into storage of its own, so that the copy
// and the original never share it. Appending to nil skips zeroing.
func (q *queue) clone() queue {
	var c queue
	q.cloneInto(&c)
	return c
}

// cloneInto copies the queued part into dst, reusing dst's storage (which
// must not be shared with q).
func (q *queue) cloneInto(dst *queue) {
	dst.preempted = append(dst.preempted[:0], q.preempted...)
	dst.fresh = append(dst.fresh[:0], q.fresh[q.head:]...)
	dst.head = 0
	if len(dst.preempted) == 0 && cap(dst.preempted) == 0 {
		dst.preempted = nil
	}
}
