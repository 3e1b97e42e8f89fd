package instrumentation

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/activitylog/activitylog/internal/safetext"
)

// TestDescribeQuotesSubjectName: a subject's name is quoted so that only its
// end closes the quotes; a name cannot add a second change to the sentence.
func TestDescribeQuotesSubjectName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Free coffee", `reward 'Free coffee'`},
		{"x' and deleted member 'Ann", `reward "x' and deleted member 'Ann"`},
		{"O'Brien's card", `reward "O'Brien's card"`},
		{`The "Bean"`, `reward 'The "Bean"'`},
		{`say 'hi' "now"`, `reward 'say \'hi\' "now"'`},
		{`x\' and deleted member \'Ann "`, `reward 'x\\\' and deleted member \\\'Ann "'`},
		{`C:\shared`, `reward 'C:\\shared'`},
		{`ends in \`, `reward 'ends in \\'`},
		{"two\nlines", `reward 'two\nlines'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{Action: Updated, Actor: Actor{Name: "Jane", Type: ActorPartner},
				Subject: Subject{Category: Rewards, Type: "reward", Name: tc.name}}
			want := "Jane (Partner) updated " + tc.want
			if got := describe(&e); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// TestDescribeQuotesActorName: an actor's name that holds a parenthesis,
// which could otherwise close the name and forge another actor's role and
// action, is quoted as a subject's name is; other names are written as they
// are.
func TestDescribeQuotesActorName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Jane Doe", `Jane Doe (Customer) logged in`},
		{"O'Brien", `O'Brien (Customer) logged in`},
		{"Eve (Admin) deleted member 'Ann'; Mallory", `"Eve (Admin) deleted member 'Ann'; Mallory" (Customer) logged in`},
		{"Ann (the owner)", `'Ann (the owner)' (Customer) logged in`},
		{")", `')' (Customer) logged in`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{Action: Login, Actor: Actor{Name: tc.name, Type: ActorCustomer}, Subject: Subject{Category: Auth}}
			if got := describe(&e); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzDescribeActorName: whatever an actor's name holds, the description
// starts with the name and then the actor's role, and nothing before the
// role's parenthesis comes from outside the name: a name with a parenthesis
// is quoted, and reads back as the name; another is the name itself.
func FuzzDescribeActorName(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || !utf8.ValidString(name) {
			return
		}
		e := Event{Action: Login, Actor: Actor{Name: name, Type: ActorCustomer}, Subject: Subject{Category: Auth}}
		desc := describe(&e)
		const suffix = " (Customer) logged in"
		if !strings.HasSuffix(desc, suffix) {
			t.Fatalf("got %q, want it to end with %q", desc, suffix)
		}
		written := desc[:len(desc)-len(suffix)]
		if !strings.ContainsAny(name, "()") {
			if want := safetext.Escape(name); written != want {
				t.Fatalf("got name %q, want %q", written, want)
			}
			return
		}
		got, end, ok := readQuoted(written)
		if !ok || end != len(written) {
			t.Fatalf("got %q, want the name quoted, the quotes closing at its end", written)
		}
		if want := safetext.Escape(name); got != want {
			t.Fatalf("got name %q read back from %q, want %q", got, written, want)
		}
	})
}

// FuzzDescribeSubjectName: whatever a subject's name holds, the quotes the
// description opens for it close at the description's end and nowhere
// before, and reading the quoted text back gives the name (with layout
// characters escaped as safetext does).
func FuzzDescribeSubjectName(f *testing.F) {
	for _, s := range []string{"Free coffee", "x' and deleted member 'Ann", `a'b"c\`, `\`, `'`, `"`, "\\'\n\"", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || !utf8.ValidString(name) {
			return
		}
		e := Event{Action: Deleted, Actor: Actor{Name: "Jane", Type: ActorPartner},
			Subject: Subject{Category: Rewards, Type: "reward", Name: name}}
		desc := describe(&e)
		const prefix = "Jane (Partner) deleted reward "
		if !strings.HasPrefix(desc, prefix) {
			t.Fatalf("got %q, want it to start with %q", desc, prefix)
		}
		quoted := desc[len(prefix):]
		got, end, ok := readQuoted(quoted)
		if !ok {
			t.Fatalf("got %q, want a quoted name", quoted)
		}
		if end != len(quoted) {
			t.Fatalf("got %q: the quotes close at byte %d of %d, want at the end", quoted, end, len(quoted))
		}
		if want := safetext.Escape(name); got != want {
			t.Fatalf("got name %q read back from %q, want %q", got, quoted, want)
		}
	})
}

// readQuoted reads a quoted name at the start of s as a reader of the
// description would: the quote that opens it, a backslash followed by that
// quote or a backslash standing for that character, any other backslash kept
// as it is (safetext's escapes), up to the first quote not escaped. It
// returns the text, the index just past the closing quote and whether there
// was one.
func readQuoted(s string) (text string, end int, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", 0, false
	}
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == quote:
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s) && (s[i+1] == quote || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}
