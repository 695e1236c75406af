package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a free-text query, so that one request cannot make every record cost much.
const (
	maxTextTerms = 32
	maxTextLen   = 1024
)

// ErrBadText is wrapped by the errors of ParseText (and of Search for a bad Query.Text).
var ErrBadText = errors.New("bad text query")

// TextQuery is a parsed free-text query: every term and phrase must match the record body,
// and no excluded one may. The zero value matches every record.
type TextQuery struct {
	terms []textTerm
}

type textTerm struct {
	text    []byte // lower-cased
	phrase  bool   // substring match; a term matches whole words only
	exclude bool
	// For terms: whether the text starts or ends with a letter or digit, in which case the
	// neighbouring character in the body must not be one.
	wordStart, wordEnd bool
}

// ParseText parses a free-text query: whitespace-separated terms and double-quoted phrases,
// each optionally prefixed with '-' to exclude records that contain it. Inside a phrase, \"
// is a quote and \\ a backslash. It fails (wrapping ErrBadText) on an unbalanced quote, a
// quote inside a term, an empty phrase, a lone '-', more than 32 terms or more than 1024
// bytes.
//
// Matching is case-insensitive (Unicode simple case folding to lower case) and against the
// body only. A phrase matches anywhere in the body. A term matches whole words: where the term
// starts (ends) with a letter or digit, the body character before (after) it must not be one.
// So "timeout" matches "Timeout after 3s" and "read-timeout" but not "timeouts"; "user-42"
// matches "login user-42 failed" but not "user-420"; "10.0.0.1" matches "from 10.0.0.1:80".
func ParseText(q string) (TextQuery, error) {
	var tq TextQuery
	if len(q) > maxTextLen {
		return tq, fmt.Errorf("%w: longer than %d bytes", ErrBadText, maxTextLen)
	}
	for i := 0; ; {
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i == len(q) {
			break
		}
		start := i
		var t textTerm
		if q[i] == '-' {
			t.exclude = true
			i++
			if i == len(q) || isSpace(q[i]) {
				return TextQuery{}, fmt.Errorf("%w: '-' at position %d is not followed by a term or phrase", ErrBadText, start+1)
			}
		}
		if q[i] == '"' {
			i++
			var phrase []byte
			closed := false
			for i < len(q) {
				c := q[i]
				if c == '\\' && i+1 < len(q) && (q[i+1] == '"' || q[i+1] == '\\') {
					phrase = append(phrase, q[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				phrase = append(phrase, c)
			}
			if !closed {
				return TextQuery{}, fmt.Errorf("%w: unbalanced quote at position %d", ErrBadText, start+1)
			}
			if i < len(q) && !isSpace(q[i]) {
				return TextQuery{}, fmt.Errorf("%w: phrase ending at position %d must be followed by a space", ErrBadText, i)
			}
			if len(phrase) == 0 {
				return TextQuery{}, fmt.Errorf("%w: empty phrase at position %d", ErrBadText, start+1)
			}
			t.phrase = true
			t.text = appendLower(nil, phrase)
		} else {
			j := i
			for j < len(q) && !isSpace(q[j]) {
				if q[j] == '"' {
					return TextQuery{}, fmt.Errorf("%w: quote inside a term at position %d (quote the whole phrase)", ErrBadText, j+1)
				}
				j++
			}
			t.text = appendLower(nil, []byte(q[i:j]))
			i = j
			first, _ := utf8.DecodeRune(t.text)
			last, _ := utf8.DecodeLastRune(t.text)
			t.wordStart, t.wordEnd = isWordRune(first), isWordRune(last)
		}
		if len(tq.terms) == maxTextTerms {
			return TextQuery{}, fmt.Errorf("%w: more than %d terms", ErrBadText, maxTextTerms)
		}
		tq.terms = append(tq.terms, t)
	}
	return tq, nil
}

// IsZero reports whether the query has no term, so that it matches every record.
func (tq TextQuery) IsZero() bool { return len(tq.terms) == 0 }

// Match reports whether body satisfies the query.
func (tq TextQuery) Match(body string) bool {
	if tq.IsZero() {
		return true
	}
	return tq.matchLower(appendLower(nil, []byte(body)))
}

// String renders the query in the syntax ParseText reads.
func (tq TextQuery) String() string {
	var b strings.Builder
	for i, t := range tq.terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.exclude {
			b.WriteByte('-')
		}
		if !t.phrase {
			b.Write(t.text)
			continue
		}
		b.WriteByte('"')
		for _, c := range t.text {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	return b.String()
}

// matchLower matches a body already lower-cased with appendLower.
func (tq TextQuery) matchLower(body []byte) bool {
	for i := range tq.terms {
		t := &tq.terms[i]
		if t.contained(body) == t.exclude {
			return false
		}
	}
	return true
}

func (t *textTerm) contained(body []byte) bool {
	if t.phrase {
		return bytes.Contains(body, t.text)
	}
	for off := 0; off <= len(body)-len(t.text); {
		i := bytes.Index(body[off:], t.text)
		if i < 0 {
			return false
		}
		at := off + i
		end := at + len(t.text)
		ok := true
		if t.wordStart {
			if r, _ := utf8.DecodeLastRune(body[:at]); at > 0 && isWordRune(r) {
				ok = false
			}
		}
		if ok && t.wordEnd {
			if r, _ := utf8.DecodeRune(body[end:]); end < len(body) && isWordRune(r) {
				ok = false
			}
		}
		if ok {
			return true
		}
		_, n := utf8.DecodeRune(body[at:])
		off = at + n
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// appendLower appends s lower-cased rune by rune with unicode.ToLower, the mapping used for
// both queries and bodies; invalid UTF-8 bytes are copied as they are. Runs of ASCII go
// eight bytes at a time: it is the hot loop of a text search.
func appendLower(dst, s []byte) []byte {
	dst = slices.Grow(dst, len(s))
	for i := 0; i < len(s); {
		for ; i+8 <= len(s); i += 8 {
			w := binary.LittleEndian.Uint64(s[i:])
			if w&0x8080808080808080 != 0 {
				break
			}
			// Per byte (no carries: every byte is below 0x80): the high bit of w+0x3f is set
			// from 'A' up, that of w+0x25 from '[' (after 'Z') up.
			upper := (w + 0x3f3f3f3f3f3f3f3f) &^ (w + 0x2525252525252525) & 0x8080808080808080
			dst = binary.LittleEndian.AppendUint64(dst, w|upper>>2)
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += n
	}
	return dst
}
