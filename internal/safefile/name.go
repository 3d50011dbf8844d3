package safefile

import "strings"

// Name turns a GPU or served-model name into a file or folder name: runs
// of characters other than letters, digits, '-' and '.' become one '_',
// and leading or trailing '_' and '.' are cut ("unknown" when nothing
// is left), so a name can never climb out of its folder:
// "NVIDIA H100 80GB HBM3" → "NVIDIA_H100_80GB_HBM3".
func Name(name string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.TrimSpace(name) {
		ok := r == '-' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
			lastUnderscore = false
			continue
		}
		if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	s := strings.Trim(b.String(), "_.")
	if s == "" {
		return "unknown"
	}
	return s
}
