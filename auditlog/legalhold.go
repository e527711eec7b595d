package auditlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// legalHold is one line of a legal_hold file.
type legalHold struct {
	// kind is "*", "subject", "subject_type", "conversation" or "user".
	kind string
	// value is TYPE/ID for "subject", TYPE for "subject_type", the ID
	// for "conversation" and "user".
	value string
}

// String returns the hold as its line reads.
func (h legalHold) String() string {
	switch h.kind {
	case "*":
		return "*"
	case "subject_type":
		return "subject " + h.value + "/*"
	}
	return h.kind + " " + h.value
}

// key returns the hold's line in its one spelling, its identity in hold
// records (legal_hold.seen, prune markers): a subject type in lower case,
// as holds match it in any case, so that "subject Patient/P-7" rewritten
// as "subject patient/P-7" is the same hold, not one removed and one new.
func (h legalHold) key() string {
	switch h.kind {
	case "subject":
		typ, id, _ := strings.Cut(h.value, "/")
		h.value = strings.ToLower(typ) + "/" + id
	case "subject_type":
		h.value = strings.ToLower(h.value)
	}
	return h.String()
}

// matches reports whether the hold keeps r. A subject type matches in
// any letter case, as it does everywhere else (retention classes, report
// --subject, calls, FHIR): "subject patient/P-7" must hold a record typed
// "Patient", or prune deletes what every query calls the same subject.
// IDs (subject, conversation, user) are matched exactly: "P-7" and "p-7"
// may be different people.
func (h legalHold) matches(r *Record) bool {
	switch h.kind {
	case "*":
		return true
	case "subject":
		typ, id, _ := strings.Cut(h.value, "/")
		return r.Subject.Same(Subject{Type: typ, ID: id})
	case "subject_type":
		return strings.EqualFold(r.Subject.Type, h.value)
	case "conversation":
		return r.ConversationID == h.value
	case "user":
		return r.UserID == h.value
	}
	return false
}

// legalHoldForms is what a line of a legal_hold file may be.
const legalHoldForms = `"*", "subject TYPE/ID", "subject TYPE/*", "conversation ID" or "user ID"`

// parseLegalHold parses one line, without its comment or surrounding
// space. A line that would match nothing it was meant to is an error:
// a subject without both TYPE and ID, and a '*' other than a line of its
// own or a whole subject ID, which reads as a pattern but would match
// only itself.
func parseLegalHold(line string) (legalHold, error) {
	if line == "*" {
		return legalHold{kind: "*"}, nil
	}
	kind, value := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		kind, value = line[:i], strings.TrimSpace(line[i:])
	}
	switch kind {
	case "subject", "conversation", "user":
	default:
		return legalHold{}, fmt.Errorf("not %s", legalHoldForms)
	}
	if value == "" {
		return legalHold{}, fmt.Errorf("%s needs a value: %s", kind, legalHoldForms)
	}
	// IDs hold no white space: "user u-1 # litigation 2026" would hold the
	// user "u-1 # litigation 2026", who does not exist. Comments go on
	// lines of their own.
	if strings.IndexFunc(value, unicode.IsSpace) >= 0 {
		return legalHold{}, errors.New("one ID per line, without white space; a comment (#) goes on a line of its own")
	}
	if kind != "subject" {
		if strings.Contains(value, "*") {
			return legalHold{}, fmt.Errorf("a %s ID is matched exactly, never as a pattern: hold everything with a line \"*\"", kind)
		}
		return legalHold{kind: kind, value: value}, nil
	}
	typ, id, ok := strings.Cut(value, "/")
	switch {
	case !ok || typ == "" || id == "":
		return legalHold{}, errors.New(`a subject is TYPE/ID (e.g. patient/P-1001), or TYPE/* for every subject of a type`)
	case id == "*" && !strings.Contains(typ, "*"):
		return legalHold{kind: "subject_type", value: typ}, nil
	case strings.Contains(value, "*"):
		return legalHold{}, errors.New(`a subject ID is matched exactly, never as a pattern: '*' may only be the whole ID (TYPE/*)`)
	}
	return legalHold{kind: "subject", value: value}, nil
}

// readLegalHolds reads the legal_hold file at path; none is no hold. An
// error names the file, the line number and the line.
//
// The file is read as the store's other small files are (OpenStoreFile):
// without blocking, only if regular, and up to MaxLegalHoldBytes. Prune
// reads it holding the prune lock, so a FIFO there hung every reader of
// the store with the prune, and a link to /dev/zero ran it out of memory.
func readLegalHolds(path string) ([]legalHold, error) {
	data, err := readLegalHoldFile(path)
	if err != nil || data == nil {
		return nil, err
	}
	var holds []legalHold
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if n == 1 {
			line = strings.TrimSpace(strings.TrimPrefix(line, "\uFEFF"))
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment is never signed: it may hold anything
		}
		if err := signableHoldLine(raw); err != nil {
			return nil, fmt.Errorf("auditlog: %s line %d: %q: %w", path, n, truncate(raw, 60), err)
		}
		if line == "" {
			continue
		}
		h, err := parseLegalHold(line)
		if err != nil {
			return nil, fmt.Errorf("auditlog: %s line %d: %q: %w", path, n, truncate(line, 60), err)
		}
		holds = append(holds, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auditlog: %s: %w", path, err)
	}
	return holds, nil
}

// readLegalHoldFile reads the legal_hold file at path whole, or returns
// nil, nil when there is none.
func readLegalHoldFile(path string) ([]byte, error) {
	f, err := openCapped(path, MaxLegalHoldBytes, "a legal_hold file")
	if errors.Is(err, os.ErrNotExist) {
		// No entry is no hold. A symbolic link whose target is gone (a
		// file on a share not mounted) is not: the holds are somewhere
		// prune cannot read, and pruning without them would remove what
		// they hold.
		st, lerr := os.Lstat(path)
		if errors.Is(lerr, os.ErrNotExist) {
			return nil, nil
		}
		if lerr == nil && st.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return nil, fmt.Errorf("auditlog: %s is a symbolic link to %s, which does not exist: mount or restore its target, or remove the link if nothing is held", path, target)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	defer f.Close()
	// The size read is what counts: the file may grow after openCapped's
	// stat.
	data, err := io.ReadAll(io.LimitReader(f, MaxLegalHoldBytes+1))
	if err != nil {
		return nil, fmt.Errorf("auditlog: %s: %w", path, err)
	}
	if len(data) > MaxLegalHoldBytes {
		return nil, fmt.Errorf("auditlog: %s has more than the %d bytes a legal_hold file can hold", path, MaxLegalHoldBytes)
	}
	if data == nil {
		data = []byte{} // an empty file is a file, of no hold
	}
	return data, nil
}

// signableHoldLine refuses a legal_hold line, as read, that a signed note
// cannot hold. Prune signs every hold into legal_hold.seen and its prune
// markers, whose reader (golang.org/x/mod/sumdb/note.Open) refuses text
// that is not UTF-8 or has an ASCII control character but the newline: a
// hold "user M\xfcller" was signed, and verify could not open the record.
// Every other control character (DEL, C1) is refused too: invisible in
// most editors, it makes an ID that is not the one its reader sees. A tab
// is white space between the keyword and the ID, and is signed as a space.
func signableHoldLine(line string) error {
	if !utf8.ValidString(line) {
		return errors.New("not valid UTF-8 (save the file as UTF-8): holds are signed into legal_hold.seen and prune markers, which hold UTF-8 text only")
	}
	for _, r := range line {
		if r != '\t' && unicode.IsControl(r) {
			return fmt.Errorf("control character %U: holds are signed into legal_hold.seen and prune markers, which refuse it", r)
		}
	}
	return nil
}
