package restore

// Entry is one state file as Inspect found it.
type Entry struct {
	UUID  string
	Path  string
	State State
	// Held: a process holds the GPU's lock, so a live gputune owns it.
	Held bool
	// Stale: nobody holds the lock, so the clocks in State may still be
	// locked by a gputune that died; the next start or `gputune reset`
	// resets them.
	Stale bool
	// Err is set when the file could not be read; treat it as stale.
	Err error
}

// Inspect lists the state files in dir without changing anything, for the
// read-only modes (probe, --dry-run, --demo, bench), which report a stale
// lock and never reset it. A missing directory is an empty list.
func Inspect(dir string) ([]Entry, error) {
	uuids, err := listStates(dir)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(uuids))
	for _, uuid := range uuids {
		e := Entry{UUID: uuid, Path: statePath(dir, uuid)}
		st, ok, err := readState(e.Path)
		if !ok && err == nil {
			continue // released between listing and reading
		}
		e.State, e.Err = st, err
		held, err := lockHeld(lockPath(dir, uuid))
		if err != nil && e.Err == nil {
			e.Err = err
		}
		e.Held = held
		e.Stale = !held
		entries = append(entries, e)
	}
	return entries, nil
}
