package tui

// layoutKind is the arrangement chosen for a terminal size.
type layoutKind int

const (
	layoutTiny    layoutKind = iota // one status line (and a prompt line)
	layoutCompact                   // header, arms, maybe sparklines, one footer line
	layoutStacked                   // full panes, one above another
	layoutWide                      // arms on the left, the rest on the right
)

func (k layoutKind) String() string {
	return [...]string{"tiny", "compact", "stacked", "wide"}[k]
}

// box is a rectangle of the screen. A zero-height box is not drawn.
type box struct{ X, Y, W, H int }

// layout places every pane. It is a pure function of the size (and of how
// many feature rows and GPUs there are), so it is tested over every size.
type layout struct {
	Kind     layoutKind
	W, H     int
	Header   box
	Strip    box // the GPU selector strip, only with several GPUs
	Body     box // everything between header and footer; the help screen uses it
	Arms     box
	Sparks   box
	Features box
	Pruned   box
	Footer   box
}

// Sizes at which the arrangement changes.
const (
	wideMinW    = 120
	stackedMinW = 80
	fullMinH    = 24
	tinyMaxW    = 40 // below this width: one status line
	tinyMaxH    = 10 // below this height: one status line
	sparkRows   = 5  // power, EDP per token, TTFT, TPOT, clock
)

func computeLayout(w, h, nFeatures, nGPUs int) layout {
	w, h = max(w, 0), max(h, 0)
	l := layout{W: w, H: h}
	// With several GPUs a strip under the header lists them all; the tiny
	// status line names the GPU shown instead.
	top := 2
	if nGPUs > 1 {
		top = 3
	}
	switch {
	case w < tinyMaxW || h < tinyMaxH:
		l.Kind = layoutTiny
		l.Header = box{0, 0, w, min(h, 1)}
		l.Footer = box{0, 1, w, min(max(h-1, 0), 1)}
		return l
	case w < stackedMinW || h < fullMinH:
		l.Kind = layoutCompact
		l.Header = box{0, 0, w, 2}
		l.Strip = box{0, 2, w, top - 2}
		l.Footer = box{0, h - 1, w, 1}
		l.Body = box{0, top, w, h - top - 1}
		y := l.Body.Y
		if l.Body.H >= 14 {
			l.Sparks = box{0, y, w, sparkRows}
			y += sparkRows
		}
		l.Arms = box{0, y, w, l.Body.Y + l.Body.H - y}
		return l
	}
	l.Header = box{0, 0, w, 2}
	l.Strip = box{0, 2, w, top - 2}
	l.Footer = box{0, h - 2, w, 2}
	l.Body = box{0, top, w, h - top - 2}
	featureH := 1 + max(nFeatures, 1)
	if w >= wideMinW {
		l.Kind = layoutWide
		leftW := min(80, w-51)
		rightX, rightW := leftW+1, w-leftW-1
		l.Arms = box{0, l.Body.Y, leftW, l.Body.H}
		y, left := l.Body.Y, l.Body.H
		l.Sparks = box{rightX, y, rightW, min(1+sparkRows, left)}
		y, left = y+l.Sparks.H, left-l.Sparks.H
		l.Features = box{rightX, y, rightW, min(featureH, left)}
		y, left = y+l.Features.H, left-l.Features.H
		l.Pruned = box{rightX, y, rightW, left}
		return l
	}
	l.Kind = layoutStacked
	y, left := l.Body.Y, l.Body.H
	l.Sparks = box{0, y, w, 1 + sparkRows}
	y, left = y+l.Sparks.H, left-l.Sparks.H
	// The arms table keeps at least 10 rows; features and pruned share one
	// band beside each other and give way first.
	if mid := min(max(featureH, 4), left-10); mid >= 3 {
		half := w / 2
		l.Features = box{0, y, half, mid}
		l.Pruned = box{half + 1, y, w - half - 1, mid}
		y, left = y+mid, left-mid
	}
	l.Arms = box{0, y, w, left}
	return l
}
