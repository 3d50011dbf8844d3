package sim

// InServerAgeS is Σ (now − arrival) over the requests in the server
// (running, preempted or queued), in seconds. With Σ end-to-end latency of
// the finished requests it gives, by Little's law, the time integral of the
// requests in the server: the delay a benchmark reference charges.
func (s *Sim) InServerAgeS() float64 {
	now := int64(s.now)
	var sum int64
	for i := range s.engine.running {
		sum += now - s.engine.running[i].arrival
	}
	q := &s.engine.waiting
	for i := range q.preempted {
		sum += now - q.preempted[i].arrival
	}
	for i := q.head; i < len(q.fresh); i++ {
		sum += now - q.fresh[i].arrival
	}
	return float64(sum) / 1e9
}
