package logtail

import (
	"errors"
	"math"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written JSON reader rather than encoding/json: it flattens nested objects into
// dotted keys while it parses and keeps integers as int64, at a fraction of the cost of
// decoding into map[string]any and walking it again (the tailer parses every line). It
// accepts exactly what encoding/json accepts, bar nesting deeper than maxJSONDepth; the
// fuzz test checks both against each other.

const maxJSONDepth = 64

var (
	errJSONSyntax = errors.New("invalid JSON")
	errJSONDepth  = errors.New("JSON nested too deeply")
)

// fieldSink receives the leaves of a flattened JSON object.
type fieldSink interface {
	put(key string, v any)
}

type jsonReader struct {
	data  []byte
	pos   int
	depth int
	keys  *keyCache
}

// keyCache interns object keys: the lines of one file repeat the same few keys, so after
// the first lines a key costs a map lookup instead of an allocation.
type keyCache struct {
	m   map[string]string
	buf []byte
}

const maxCachedKeys = 4096

func (c *keyCache) intern(b []byte) string {
	if c == nil {
		return string(b)
	}
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[string]string, 64) // keys that never repeat (IDs as keys) start it over
	}
	s := string(b)
	c.m[s] = s
	return s
}

// join is prefix.key, interned.
func (c *keyCache) join(prefix, key string) string {
	if c == nil {
		return prefix + "." + key
	}
	c.buf = append(append(append(c.buf[:0], prefix...), '.'), key...)
	return c.intern(c.buf)
}

// parseJSONObject parses data, which must hold one JSON object and nothing but whitespace
// around it, handing each leaf to sink under its dotted key. An empty nested object is a
// leaf holding an empty map[string]any. On error, sink may have received some fields. keys
// may be nil.
func parseJSONObject(data []byte, sink fieldSink, keys *keyCache) error {
	p := jsonReader{data: data, keys: keys}
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		return errJSONSyntax
	}
	if err := p.flatObject("", sink); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return errJSONSyntax
	}
	return nil
}

func (p *jsonReader) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// flatObject reads an object at p.pos ('{'), handing leaves to sink as prefix.key.
func (p *jsonReader) flatObject(prefix string, sink fieldSink) error {
	if p.depth++; p.depth > maxJSONDepth {
		return errJSONDepth
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		if prefix != "" {
			sink.put(prefix, map[string]any{})
		}
		return nil
	}
	for {
		key, err := p.key()
		if err != nil {
			return err
		}
		if prefix != "" {
			key = p.keys.join(prefix, key)
		}
		if p.pos < len(p.data) && p.data[p.pos] == '{' {
			if err := p.flatObject(key, sink); err != nil {
				return err
			}
		} else {
			v, err := p.value()
			if err != nil {
				return err
			}
			sink.put(key, v)
		}
		if done, err := p.next('}'); err != nil || done {
			if err == nil {
				p.depth--
			}
			return err
		}
	}
}

// key reads `"key" :` and the whitespace after it.
func (p *jsonReader) key() (string, error) {
	d := p.data
	if p.pos >= len(d) || d[p.pos] != '"' {
		return "", errJSONSyntax
	}
	start, i := p.pos+1, p.pos+1
	for i < len(d) && d[i] != '"' && d[i] != '\\' && d[i] >= 0x20 && d[i] < utf8.RuneSelf {
		i++
	}
	var k string
	if i < len(d) && d[i] == '"' {
		k = p.keys.intern(d[start:i])
		p.pos = i + 1
	} else {
		var err error
		if k, err = p.str(); err != nil {
			return "", err
		}
	}
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != ':' {
		return "", errJSONSyntax
	}
	p.pos++
	p.skipSpace()
	return k, nil
}

// next reads the whitespace and the ',' or closing byte after a member or element; done
// when it was the closing byte.
func (p *jsonReader) next(closing byte) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, errJSONSyntax
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, errJSONSyntax
}

// value reads any JSON value at p.pos; objects inside arrays become map[string]any.
func (p *jsonReader) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, errJSONSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		return p.str()
	case c == '{':
		return p.mapObject()
	case c == '[':
		return p.array()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, errJSONSyntax
}

func (p *jsonReader) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return errJSONSyntax
	}
	p.pos += len(word)
	return nil
}

func (p *jsonReader) mapObject() (any, error) {
	if p.depth++; p.depth > maxJSONDepth {
		return nil, errJSONDepth
	}
	p.pos++ // '{'
	p.skipSpace()
	m := map[string]any{}
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m, nil
	}
	for {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		done, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			p.depth--
			return m, nil
		}
	}
}

func (p *jsonReader) array() (any, error) {
	if p.depth++; p.depth > maxJSONDepth {
		return nil, errJSONDepth
	}
	p.pos++ // '['
	p.skipSpace()
	a := []any{}
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		done, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			p.depth--
			return a, nil
		}
	}
}

// number reads a JSON number: int64 when it is an integer that fits, else float64; a number
// out of float64's range stays its literal text.
func (p *jsonReader) number() (any, error) {
	d := p.data
	start, i := p.pos, p.pos
	neg := d[i] == '-'
	if neg {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return nil, errJSONSyntax
	}
	integer := true
	if i < len(d) && d[i] == '.' {
		integer = false
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errJSONSyntax
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		integer = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errJSONSyntax
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i
	lit := d[start:i]
	if integer {
		if v, ok := parseInt64(lit); ok {
			return v, nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(lit), nil
	}
	return f, nil
}

// parseInt64 parses a JSON integer literal without allocating; false when it overflows.
func parseInt64(lit []byte) (int64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range lit {
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= 1<<63:
		return -int64(u-1) - 1, true
	}
	return 0, false
}

// str reads a JSON string at p.pos ('"'). Escapes are decoded as encoding/json does: a lone
// or mismatched surrogate becomes U+FFFD, as does invalid UTF-8.
func (p *jsonReader) str() (string, error) {
	d := p.data
	start := p.pos + 1
	i := start
	for i < len(d) {
		c := d[i]
		if c == '"' {
			p.pos = i + 1
			if !utf8.Valid(d[start:i]) {
				return string(toValidUTF8(nil, d[start:i])), nil
			}
			return string(d[start:i]), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", errJSONSyntax
		}
		i++
	}
	if i >= len(d) {
		return "", errJSONSyntax
	}
	buf := make([]byte, 0, i-start+16)
	buf = toValidUTF8(buf, d[start:i])
	for i < len(d) {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			return "", errJSONSyntax
		case c == '\\':
			i++
			if i >= len(d) {
				return "", errJSONSyntax
			}
			switch d[i] {
			case '"', '\\', '/':
				buf = append(buf, d[i])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(d[i+1:])
				if !ok {
					return "", errJSONSyntax
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A pair is two \u escapes in a row; anything else leaves the first one
					// unpaired and the second is read on its own.
					if len(d)-i > 2 && d[i+1] == '\\' && d[i+2] == 'u' {
						if r2, ok := hex4(d[i+3:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								r = dec
								i += 6
							} else {
								r = unicode.ReplacementChar
							}
						} else {
							r = unicode.ReplacementChar
						}
					} else {
						r = unicode.ReplacementChar
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", errJSONSyntax
			}
			i++
		default:
			// Copy a run of plain bytes at once, fixing invalid UTF-8 on the way.
			j := i
			for j < len(d) && d[j] != '"' && d[j] != '\\' && d[j] >= 0x20 {
				j++
			}
			buf = toValidUTF8(buf, d[i:j])
			i = j
		}
	}
	return "", errJSONSyntax
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// toValidUTF8 appends b to dst with every invalid byte replaced by U+FFFD, as encoding/json
// does (one replacement per invalid byte, unlike bytes.ToValidUTF8).
func toValidUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}
