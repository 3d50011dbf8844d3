package scrape

import (
	"bytes"
	"context"
	"fmt"
)

// seenFamilies records, from every line of an exposition (kept or dropped),
// which server families it names; flavour detection needs the dropped ones.
type seenFamilies struct {
	vllm, vllmV0, sglang, tgi bool
}

func (s *seenFamilies) note(name []byte) {
	switch {
	case bytes.HasPrefix(name, []byte("vllm:")):
		s.vllm = true
		if isV0Marker(name) {
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
//
// When every kept sample carries one and the same model_name label, the
// label is cut from the lines: summing over series ignores it anyway, and
// it is the longest label expfmt would otherwise copy into every series.
// Expositions that serve several models keep it. The one model name is
// returned ("" when there is none or there are several).
//
// It counts sample lines against MaxSeries and checks ctx as it goes: both
// end the pass with an error wrapping ErrOverBudget.
func prefilter(ctx context.Context, dst, in []byte, keep map[string]struct{}) ([]byte, seenFamilies, []byte, error) {
	out, seen, model, ok, err := filterLines(ctx, dst, in, keep, true)
	if err == nil && !ok {
		out, seen, _, _, err = filterLines(ctx, dst, in, keep, false)
		model = nil
	}
	return out, seen, model, err
}

// filterLines is one prefilter pass; with stripModel it returns ok=false
// as soon as a second model_name value shows up.
func filterLines(ctx context.Context, dst, in []byte, keep map[string]struct{}, stripModel bool) ([]byte, seenFamilies, []byte, bool, error) {
	var seen seenFamilies
	var model []byte
	haveModel := false
	lines, samples := 0, 0
	for len(in) > 0 {
		if lines++; lines%4096 == 0 {
			if err := overBudget(ctx); err != nil {
				return dst, seen, nil, false, err
			}
		}
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
		if samples++; samples > MaxSeries {
			return dst, seen, nil, false, fmt.Errorf("%w: more than %d series", ErrOverBudget, MaxSeries)
		}
		name := leadingToken(body)
		seen.note(name)
		if _, ok := keep[string(name)]; !ok {
			// Most lines end here. A kept name is a metric name by
			// construction, so only the others need checking: garbage
			// goes on to expfmt, which reports it.
			if !isMetricName(name) {
				dst = append(append(dst, line...), '\n')
			}
			continue
		}
		if stripModel {
			if value, before, after, found := cutLabel(line, len(line)-len(body)+len(name), modelLabel); found {
				if !haveModel {
					model, haveModel = value, true
				} else if !bytes.Equal(model, value) {
					return dst, seen, nil, false, nil
				}
				dst = append(append(append(dst, before...), after...), '\n')
				continue
			}
		}
		dst = append(append(dst, line...), '\n')
	}
	return dst, seen, model, true, nil
}

const modelLabel = `model_name="`

// cutLabel finds label (given as `name="`) in the label block that starts
// at line[at] and returns its value and the line without it (and without
// one neighbouring comma). found is false when the block or the label is
// absent or malformed; the line is then left to expfmt as it is.
func cutLabel(line []byte, at int, label string) (value, before, after []byte, found bool) {
	if at >= len(line) || line[at] != '{' {
		return nil, nil, nil, false
	}
	i := at + 1
	for {
		if bytes.HasPrefix(line[i:], []byte(label)) {
			break
		}
		// Skip one name="value" pair and its comma.
		q := bytes.IndexByte(line[i:], '"')
		if q < 0 {
			return nil, nil, nil, false
		}
		end, ok := closingQuote(line, i+q+1)
		if !ok || end+1 >= len(line) || line[end+1] != ',' {
			return nil, nil, nil, false
		}
		i = end + 2
	}
	start := i
	end, ok := closingQuote(line, i+len(label))
	if !ok {
		return nil, nil, nil, false
	}
	value = line[i+len(label) : end]
	stop := end + 1
	switch {
	case stop < len(line) && line[stop] == ',':
		stop++ // drop the comma after the label
	case start > at+1 && line[start-1] == ',':
		start-- // the label was last: drop the comma before it
	}
	return value, line[:start], line[stop:], true
}

// closingQuote returns the index of the quote that ends a label value whose
// first byte is line[from], honouring backslash escapes.
func closingQuote(line []byte, from int) (int, bool) {
	for i := from; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			return i, true
		}
	}
	return 0, false
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
