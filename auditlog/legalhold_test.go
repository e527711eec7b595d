package auditlog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestParseLegalHold: a line that would hold nothing it was written for
// is an error ("subject patient", "subject patient/" and "subject
// patient/*" were accepted and held nothing); "subject TYPE/*" holds a
// whole subject type.
func TestParseLegalHold(t *testing.T) {
	rec := &Record{Subject: Subject{Type: "patient", ID: "P-1007"}, ConversationID: "conv-1", UserID: "u1"}
	tests := []struct {
		line    string
		wantErr string // "" for a valid line
		matches bool
	}{
		{line: "*", matches: true},
		{line: "subject patient/P-1007", matches: true},
		{line: "subject patient/P-1008"},
		{line: "subject\tpatient/P-1007", matches: true},
		{line: "subject patient/*", matches: true},
		{line: "subject customer/*"},
		{line: "subject Patient/P-1007", matches: true},
		{line: "subject PATIENT/*", matches: true},
		{line: "subject patient/p-1007"},
		{line: "conversation conv-1", matches: true},
		{line: "user u1", matches: true},
		{line: "user u2"},
		{line: "subject patient", wantErr: "a subject is TYPE/ID"},
		{line: "subject patient/", wantErr: "a subject is TYPE/ID"},
		{line: "subject /P-1007", wantErr: "a subject is TYPE/ID"},
		{line: "subject */P-1007", wantErr: "matched exactly"},
		{line: "subject */*", wantErr: "matched exactly"},
		{line: "subject patient/P-10*", wantErr: "matched exactly"},
		{line: "user *", wantErr: "matched exactly"},
		{line: "conversation conv-*", wantErr: "matched exactly"},
		{line: "subject", wantErr: "subject needs a value"},
		{line: "user", wantErr: "user needs a value"},
		{line: "patient P-1", wantErr: "not \"*\""},
		{line: "* everything", wantErr: "not \"*\""},
		{line: "Subject patient/P-1007", wantErr: "not \"*\""},
		{line: "user u1 # litigation 2026", wantErr: "without white space"},
		{line: "subject patient/P-1007 extra", wantErr: "without white space"},
		{line: "conversation conv-1\t#x", wantErr: "without white space"},
	}
	for _, tt := range tests {
		h, err := parseLegalHold(tt.line)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseLegalHold(%q) = %v, %v; want error %q", tt.line, h, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("parseLegalHold(%q): %v", tt.line, err)
		case h.matches(rec) != tt.matches:
			t.Errorf("parseLegalHold(%q).matches = %v, want %v", tt.line, !tt.matches, tt.matches)
		case h.String() != strings.Join(strings.Fields(tt.line), " "):
			t.Errorf("parseLegalHold(%q).String() = %q", tt.line, h.String())
		}
	}
}

// TestPruneLegalHoldFile: a bad line anywhere stops the prune before it
// removes anything, with the file, line number and line in the error; a
// whole subject type held keeps every segment of that type.
func TestPruneLegalHoldFile(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		file    string // relative to the store
		hold    string
		wantErr string
		pruned  bool // segments are removed
	}{
		{name: "no hold", file: "legal_hold", hold: "# nothing held\n", pruned: true},
		{name: "subject type held", file: "legal_hold", hold: "subject patient/*\n"},
		{name: "subject type held in the chain", file: "general/legal_hold", hold: "\uFEFFsubject patient/*\n"},
		// The records' subject type is "patient": a type matches in any
		// letter case, as report --subject does; an ID only exactly. P-0 is
		// in general's first segment, so holding it keeps every segment.
		{name: "subject type held in another case", file: "legal_hold", hold: "subject PATIENT/*\n"},
		{name: "subject held, type in another case", file: "legal_hold", hold: "subject Patient/P-0\n"},
		{name: "subject held", file: "legal_hold", hold: "subject patient/P-0\n"},
		{name: "subject ID in another case holds nothing", file: "legal_hold", hold: "subject patient/p-0\n", pruned: true},
		{name: "subject without ID", file: "legal_hold", hold: "# holds\nsubject patient\n", wantErr: `legal_hold line 2: "subject patient": a subject is TYPE/ID`},
		{name: "empty ID", file: "legal_hold", hold: "subject patient/\n", wantErr: `line 1: "subject patient/"`},
		// general is pruned first: the bad line of the later chain's file
		// must stop that too.
		{name: "bad line in the last chain's file", file: "healthcare/legal_hold", hold: "user u1\nuser u*\n", wantErr: `healthcare/legal_hold line 2: "user u*"`},
		// Every hold is signed into legal_hold.seen and the prune marker,
		// notes whose reader refuses invalid UTF-8 and ASCII control
		// characters: such holds were signed, the segments removed, and
		// verify could not open what prune wrote.
		{name: "invalid UTF-8", file: "legal_hold", hold: "# Latin-1\nuser M\xfcller\n", wantErr: `legal_hold line 2: "user M\xfcller": not valid UTF-8`},
		{name: "invalid UTF-8 in the last chain's file", file: "healthcare/legal_hold", hold: "subject patient/P-\xff\n", wantErr: `healthcare/legal_hold line 1: "subject patient/P-\xff": not valid UTF-8`},
		{name: "control character", file: "legal_hold", hold: "user u\x01\n", wantErr: `line 1: "user u\x01": control character U+0001`},
		{name: "escape sequence", file: "legal_hold", hold: "\uFEFFuser \x1b[8mu-1\n", wantErr: `line 1: "\ufeffuser \x1b[8mu-1": control character U+001B`},
		{name: "NUL", file: "legal_hold", hold: "user u-1\x00\n", wantErr: `control character U+0000`},
		{name: "DEL", file: "legal_hold", hold: "user u-1\x7f\n", wantErr: `control character U+007F`},
		{name: "C1 control", file: "legal_hold", hold: "user u-1\u0085x\n", wantErr: `control character U+0085`},
		{name: "vertical tab as separator", file: "legal_hold", hold: "subject\vpatient/P-0\n", wantErr: `control character U+000B`},
		{name: "control character before the line", file: "legal_hold", hold: "\fsubject patient/P-0\n", wantErr: `control character U+000C`},
		{name: "carriage return inside a line", file: "legal_hold", hold: "user u-1\rsubject patient/P-0\n", wantErr: `control character U+000D`},
		{name: "tabs as white space", file: "legal_hold", hold: "\tsubject\tpatient/P-0\t\n"},
		{name: "CRLF line ends", file: "legal_hold", hold: "# holds\r\nsubject patient/P-0\r\n"},
		{name: "comments may hold anything", file: "legal_hold", hold: "# M\xfcller \x01\n", pruned: true},
		{name: "non-ASCII ID", file: "legal_hold", hold: "\uFEFFuser M\u00fcller\n", pruned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.hold), 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := listSegments(filepath.Join(dir, "general"))
			res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("Prune = %+v, %v; want error %q naming the file", res, err, tt.wantErr)
				}
				if _, err := os.Lstat(filepath.Join(dir, "general", LegalHoldSeenFile)); err == nil {
					t.Errorf("a refused prune wrote %s", LegalHoldSeenFile)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			after, _ := listSegments(filepath.Join(dir, "general"))
			if pruned := len(after) < len(before); pruned != tt.pruned {
				t.Errorf("segments of general before %d, after %d; want pruned %v (%+v)", len(before), len(after), tt.pruned, res)
			}
		})
	}
}

// FuzzLegalHoldLine: every line a legal_hold file may hold can be signed
// into a legal_hold.seen that opens and reads back the same hold (a hold
// with invalid UTF-8 or a control character was signed into notes that
// note.Open refuses).
func FuzzLegalHoldLine(f *testing.F) {
	k := newTestKeys(f, "test")
	for _, s := range []string{"user u-1", "subject Patient/P-7", "\tconversation\tc-9\t", "*", "subject x/*", "user M\xfcller", "user u\x01", "user u\u0085", "\uFEFFuser u", "user \u00e9\u0301", "subject \u0130/x", "user \u2028x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		path := filepath.Join(t.TempDir(), legalHoldFile)
		if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		holds, err := readLegalHolds(path)
		if err != nil || len(holds) == 0 {
			return
		}
		want := seenHolds(nil, legalHoldFile, holds)
		rec := LegalHoldRecord{Chain: "general", Run: 1, Time: time.Unix(0, 0).UTC(), Holds: want}
		msg, err := note.Sign(&note.Note{Text: string(rec.Text())}, k.signer)
		if err != nil {
			t.Fatalf("%q: sign: %v", line, err)
		}
		got, err := OpenLegalHoldRecord(msg, k.verifiers)
		if err != nil {
			t.Fatalf("%q: the signed record does not open: %v", line, err)
		}
		if !slices.Equal(got.Holds, want) {
			t.Fatalf("%q: holds read back %v, want %v", line, got.Holds, want)
		}
	})
}
