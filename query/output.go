package query

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Format is an output format of the query commands.
type Format string

// Output formats. FormatText is aligned and meant for people; FormatJSON is
// the stable, documented form (query/README.md); FormatCSV has one header
// row and one row per item.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
)

// ParseFormat parses text, json or csv.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatCSV:
		return f, nil
	}
	return "", fmt.Errorf("invalid format %q: want text, json or csv", s)
}

// Renderable is a result that renders as text and as a table. Every result
// type of this package implements it; JSON output is the result's
// encoding/json form.
type Renderable interface {
	// WriteText writes the human-readable form.
	WriteText(w io.Writer) error
	// Table returns a header and one row per item, for CSV.
	Table() (header []string, rows [][]string)
}

// Render writes v to w in format f.
func Render(w io.Writer, f Format, v Renderable) error {
	switch f {
	case FormatJSON:
		return writeJSON(w, v)
	case FormatCSV:
		header, rows := v.Table()
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	case FormatText, "":
		return v.WriteText(w)
	}
	return fmt.Errorf("invalid format %q: want text, json or csv", string(f))
}

// writeJSON writes v as indented JSON without HTML escaping, so that
// arguments such as "a<b" read as written.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable writes an aligned table of sanitised cells.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, sanitize(c))
		}
		io.WriteString(tw, "\n")
	}
	writeRow(header)
	for _, r := range rows {
		writeRow(r)
	}
	return tw.Flush()
}

// sanitize makes s safe to print on a terminal: record content is
// attacker-influenced (tool arguments, error messages), so control
// characters, C1 controls such as CSI, line and paragraph separators and
// bidirectional overrides are shown escaped instead of acting on the
// terminal, and invalid UTF-8 becomes U+FFFD. Tabs are escaped too, because
// they would break table alignment.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029, r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == utf8.RuneError:
		return true
	}
	return false
}

// writeIntegrityText writes the integrity status paragraph used by the text
// output of reports.
func writeIntegrityText(w io.Writer, in *Integrity) {
	switch {
	case !in.Checked:
		fmt.Fprintf(w, "Integrity verified: NO (%s)\n", sanitize(in.Summary))
	case in.Verified:
		fmt.Fprintf(w, "Integrity verified: yes (%s)\n", sanitize(in.Summary))
	default:
		fmt.Fprintf(w, "Integrity verified: NO — integrity NOT verified, %d finding(s):\n", len(in.Findings))
		for _, f := range in.Findings {
			fmt.Fprintf(w, "  %s\n", sanitize(f.String()))
		}
	}
}

// String renders a finding on one line: chain, segment, seq, kind, detail.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Chain)
	if f.Segment != "" {
		b.WriteString(" segment=" + f.Segment)
	}
	if f.Seq >= 0 {
		fmt.Fprintf(&b, " seq=%d", f.Seq)
	}
	b.WriteString(" " + f.Kind)
	if f.Detail != "" {
		b.WriteString(": " + f.Detail)
	}
	return b.String()
}
