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

// queue is a double-ended ring of requests: waiting requests in FIFO order,
// with preempted requests pushed back to the front as vLLM does.
type queue struct {
	buf  []request // len(buf) is zero or a power of two
	head int
	n    int
}

func (q *queue) len() int { return q.n }

func (q *queue) grow() {
	size := max(16, 2*len(q.buf))
	buf := make([]request, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}

func (q *queue) pushBack(r request) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = r
	q.n++
}

func (q *queue) pushFront(r request) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1) & (len(q.buf) - 1)
	q.buf[q.head] = r
	q.n++
}

func (q *queue) front() *request { return &q.buf[q.head] }

func (q *queue) popFront() request {
	r := q.buf[q.head]
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return r
}

// clone copies the live part into a new ring of its own, so that the copy
// and the original never share storage.
func (q queue) clone() queue {
	if q.n == 0 {
		return queue{}
	}
	size := 16
	for size < q.n {
		size *= 2
	}
	buf := make([]request, size)
	first := copy(buf, q.buf[q.head:min(q.head+q.n, len(q.buf))])
	copy(buf[first:q.n], q.buf[:q.n-first])
	return queue{buf: buf, n: q.n}
}
