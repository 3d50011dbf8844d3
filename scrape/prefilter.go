package scrape

import "bytes"

// seenFamilies records, from every line of an exposition (kept or dropped),
// which server families it names; flavour detection needs the dropped ones.
type seenFamilies struct {
	vllm, vllmV0, sglang, tgi bool
}

func (s *seenFamilies) note(name []byte) {
	switch {
	case bytes.HasPrefix(name, []byte("vllm:")):
		s.vllm = true
		if isV0Marker(string(name)) {
			s.vllmV0 = true
		}
	case bytes.HasPrefix(name, []byte("sglang:")):
		s.sglang = true
	case bytes.HasPrefix(name, []byte("tgi_")):
		s.tgi = true
	}
}

func (s seenFamilies) flavor() Flavor {
	switch {
	case s.vllm && s.vllmV0:
		return FlavorVLLMV0
	case s.vllm:
		return FlavorVLLMV1
	case s.sglang:
		return FlavorSGLang
	case s.tgi:
		return FlavorTGI
	}
	return FlavorUnknown
}

// prefilter copies into dst only the lines expfmt must see: TYPE lines and
// samples of families some mapping table names. A real vLLM exposition is
// mostly process, Python, HTTP and _created families, and skipping them
// before expfmt builds its protobuf objects is most of the parse cost.
// Lines whose name is not a plain metric name (garbage, HTML, UTF-8 quoted
// names) are kept so that expfmt judges them and reports a clear error.
func prefilter(dst, in []byte, keep map[string]struct{}) ([]byte, seenFamilies) {
	var seen seenFamilies
	for len(in) > 0 {
		var line []byte
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line, in = in[:i], in[i+1:]
		} else {
			line, in = in, nil
		}
		// expfmt rejects CR; tolerate CRLF line ends.
		line = bytes.TrimSuffix(line, []byte("\r"))
		body := bytes.TrimLeft(line, " \t")
		if len(bytes.TrimRight(body, " \t\r")) == 0 {
			continue
		}
		if body[0] == '#' {
			rest := bytes.TrimLeft(body[1:], " \t")
			if !bytes.HasPrefix(rest, []byte("TYPE ")) && !bytes.HasPrefix(rest, []byte("TYPE\t")) {
				continue // HELP and free comments carry nothing gputune reads
			}
			name := leadingToken(bytes.TrimLeft(rest[5:], " \t"))
			seen.note(name)
			if _, ok := keep[string(name)]; ok || !isMetricName(name) {
				dst = append(append(dst, line...), '\n')
			}
			continue
		}
		name := leadingToken(body)
		if !isMetricName(name) {
			dst = append(append(dst, line...), '\n')
			continue
		}
		seen.note(name)
		if _, ok := keep[string(name)]; ok {
			dst = append(append(dst, line...), '\n')
		}
	}
	return dst, seen
}

// leadingToken returns b up to the first '{', blank or tab.
func leadingToken(b []byte) []byte {
	for i, c := range b {
		if c == '{' || c == ' ' || c == '\t' || c == '\r' {
			return b[:i]
		}
	}
	return b
}

// isMetricName reports whether b is a legacy Prometheus metric name,
// [a-zA-Z_:][a-zA-Z0-9_:]*.
func isMetricName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
