package query

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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
//
// A result that holds one list as long as the store it comes from (calls,
// the FHIR export) is written one item at a time: its JSON and CSV forms
// take memory for one item, not for the whole output, and are the same
// bytes as the whole value's encoding.
func Render(w io.Writer, f Format, v Renderable) error {
	switch f {
	case FormatJSON:
		if l, ok := v.(lister); ok {
			return writeJSONList(w, l.list())
		}
		return writeJSON(w, v)
	case FormatCSV:
		if l, ok := v.(lister); ok {
			return writeCSV(w, l.list().table)
		}
		header, rows := v.Table()
		return writeCSV(w, rowsOf(header, rows))
	case FormatText, "":
		return v.WriteText(w)
	}
	return fmt.Errorf("invalid format %q: want text, json or csv", string(f))
}

// lister is implemented by results that hold one list as long as the
// store they come from, so that Render can write them item by item.
type lister interface {
	list() jsonList
}

// jsonList is a result whose JSON form is an object that ends with one
// long list, and whose table has one row per item of that list.
type jsonList struct {
	// head is the result with its list empty. Unless the list is empty,
	// its JSON form must end with the list, as "[]".
	head any
	// n is the number of items, item(i) the i-th as encoding/json is to
	// write it.
	n    int
	item func(i int) any
	// table is the result's table, one row per item.
	table rowSource
}

// rowSource is a table given row by row: a header, the number of rows and
// a function that returns row i.
type rowSource struct {
	header []string
	n      int
	row    func(i int) []string
}

// rowsOf is the rowSource of rows held in memory.
func rowsOf(header []string, rows [][]string) rowSource {
	return rowSource{header: header, n: len(rows), row: func(i int) []string { return rows[i] }}
}

// all returns every row, for Table.
func (t rowSource) all() (header []string, rows [][]string) {
	rows = make([][]string, t.n)
	for i := range rows {
		rows[i] = t.row(i)
	}
	return t.header, rows
}

// writeJSON writes v as indented JSON without HTML escaping, so that
// arguments such as "a<b" read as written.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// outputBuffer is the size of the buffer the item-by-item writers fill
// before they write: output goes out in pieces of about this size, or one
// chunk of JSON items (jsonChunk), whichever is larger.
const outputBuffer = 64 << 10

// writeJSONList writes l as writeJSON writes the whole value (head with
// its list filled in), one item at a time.
func writeJSONList(w io.Writer, l jsonList) error {
	if l.n == 0 {
		return writeJSON(w, l.head)
	}
	var head bytes.Buffer
	if err := writeJSON(&head, l.head); err != nil {
		return err
	}
	// The list is the object's last member, at depth 1.
	const emptyEnd = "[]\n}\n"
	text := head.Bytes()
	if !bytes.HasSuffix(text, []byte(emptyEnd)) {
		return errors.New("query: list is not the last member of the result") // a bug, not bad input
	}
	bw := bufio.NewWriterSize(w, outputBuffer)
	bw.Write(text[:len(text)-len(emptyEnd)+1]) // up to and including '['
	// Encoding is most of the time a large list takes (an AuditEvent is
	// about 100 µs), so the items are encoded in chunks by one goroutine per
	// processor, a round of chunks at a time, and written in order.
	workers := max(1, runtime.GOMAXPROCS(0))
	chunks := make([]bytes.Buffer, workers)
	errs := make([]error, workers)
	for base := 0; base < l.n; base += workers * jsonChunk {
		m := min(workers, (l.n-base+jsonChunk-1)/jsonChunk) // chunks this round
		var wg sync.WaitGroup
		for k := range m {
			lo := base + k*jsonChunk
			wg.Go(func() { errs[k] = encodeItems(&chunks[k], l, lo, min(lo+jsonChunk, l.n)) })
		}
		wg.Wait()
		for k := range m {
			if errs[k] != nil {
				return errs[k]
			}
			// A failed write is sticky: stop instead of encoding the rest.
			if _, err := bw.Write(chunks[k].Bytes()); err != nil {
				return err
			}
		}
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// jsonChunk is how many items of a list one goroutine encodes at a time.
const jsonChunk = 64

// encodeItems replaces the content of buf with items lo to hi-1 of l as
// they follow each other in the list's JSON text: each after a comma (but
// the first item of the list) and on a line of its own, at depth 2.
func encodeItems(buf *bytes.Buffer, l jsonList, lo, hi int) error {
	buf.Reset()
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	for i := lo; i < hi; i++ {
		item.Reset()
		if err := enc.Encode(l.item(i)); err != nil {
			return err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		buf.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	}
	return nil
}

// writeCSV writes t as CSV, one header row and one row per item, each
// cell through CSVCell.
func writeCSV(w io.Writer, t rowSource) error {
	bw := bufio.NewWriterSize(w, outputBuffer)
	cw := csv.NewWriter(bw)
	if err := cw.Write(t.header); err != nil {
		return err
	}
	var cells []string // the row's cells, made safe; the row itself is the caller's
	for i := range t.n {
		cells = cells[:0]
		for _, c := range t.row(i) {
			cells = append(cells, CSVCell(c))
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// CSVCell returns c as a CSV cell that a spreadsheet shows as text: a cell
// that starts with '=', '+', '-', '@', a tab or a carriage return, and is
// not a number, gets a leading apostrophe, so that a value an agent's span
// carried (a user id "=HYPERLINK(…)") is not run as a formula when an
// auditor opens the export (OWASP, CSV injection). Numbers (-1.5) and
// every other cell are unchanged.
func CSVCell(c string) string {
	if c == "" {
		return c
	}
	switch c[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(c, 64); err != nil {
			return "'" + c
		}
	}
	return c
}

// writeTable writes an aligned table of sanitised cells.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	return writeRows(w, rowsOf(header, rows))
}

// writeRows writes an aligned table of sanitised cells, as text/tabwriter
// (padding 2, spaces) would, taking its rows one at a time: a first pass
// measures the columns, a second writes the rows, so that the table is not
// held in memory (a million calls made text/tabwriter hold 1.3 GB).
// Every row must have as many cells as the header; the last cell of a row
// is not padded.
func writeRows(w io.Writer, t rowSource) error {
	const padding = 2
	widths := make([]int, len(t.header))
	measure := func(cells []string) error {
		if len(cells) != len(widths) {
			return fmt.Errorf("query: a table row has %d cells, its header %d", len(cells), len(widths)) // a bug
		}
		for j := 0; j < len(cells)-1; j++ {
			widths[j] = max(widths[j], utf8.RuneCountInString(sanitize(cells[j])))
		}
		return nil
	}
	if err := measure(t.header); err != nil {
		return err
	}
	for i := range t.n {
		if err := measure(t.row(i)); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(w, outputBuffer)
	spaces := strings.Repeat(" ", slices.Max(append(widths, 0))+padding)
	write := func(cells []string) error {
		for j, c := range cells {
			c = sanitize(c)
			bw.WriteString(c)
			if j < len(cells)-1 {
				bw.WriteString(spaces[:widths[j]+padding-utf8.RuneCountInString(c)])
			}
		}
		return bw.WriteByte('\n')
	}
	if err := write(t.header); err != nil {
		return err
	}
	for i := range t.n {
		if err := write(t.row(i)); err != nil {
			return err
		}
	}
	return bw.Flush()
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
	case in.Verified:
		fmt.Fprintf(w, "Integrity verified: yes (%s)\n", sanitize(in.Summary))
	case !in.Failed():
		// Not a finding: nothing was checked (the CLI exits 0). The
		// summaries of unchecked sources start "not checked: …".
		sum := sanitize(in.Summary)
		if !strings.HasPrefix(sum, "not checked") {
			sum = "not checked (" + sum + ")"
		}
		fmt.Fprintf(w, "Integrity verified: %s\n", sum)
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
