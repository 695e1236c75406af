// Package ui serves Faultline's web app: the Vite build that `make ui` writes to
// ui/static/dist, embedded in the binary, or a placeholder page when the binary was compiled
// without it. The app itself (React + TypeScript) lives in ui/src.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// static holds placeholder.html and, after a build, dist/. "all:" keeps files whose names
// start with "_" or ".", which bundlers do emit.
//
//go:embed all:static
var static embed.FS

// Built reports whether this binary embeds the web app's build.
func Built() bool {
	_, err := fs.Stat(static, "static/dist/index.html")
	return err == nil
}

// Handler serves the web app at "/": its files, index.html for every other GET (the app routes
// in the browser), and JSON 404s for unknown paths under the API prefixes. Mount it as the
// catch-all route, so every API route takes precedence.
func Handler(logger *slog.Logger) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only on an invalid directory name, and "static" is a constant.
		panic(err)
	}
	return newHandler(sub, logger)
}

// securityHeaders go on every answer. The build loads nothing from other origins and runs no
// inline script; inline styles are allowed for the style attributes React and the chart
// libraries set. Layout runs in a blob: worker.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
}

// apiPrefixes are served by other routes. A request under one that reaches this handler named
// no endpoint: it gets a JSON 404, never the app's index.html (which a client would try to
// parse as JSON).
var apiPrefixes = []string{"/api", "/prometheus", "/jaeger", "/debug"}

const (
	// Vite names the files under assets/ by a hash of their content, so they never change.
	cacheImmutable = "public, max-age=31536000, immutable"
	// index.html and any other file keep their name across builds: revalidate (ETag) each time.
	cacheRevalidate = "no-cache"
	assetsDir       = "assets"
)

type handler struct {
	files       map[string]*asset // dist's files by slash path relative to dist
	index       *asset            // nil when the app is not built
	placeholder []byte
}

// asset is one file of the build; it is read, hashed and compressed on first use, then kept
// in memory (the build is a few megabytes and never changes while the process runs).
type asset struct {
	fsys         fs.FS
	name         string // path in fsys
	contentType  string
	compressible bool
	cacheControl string

	once         sync.Once
	err          error
	body, gz     []byte // gz is nil when compression does not make it smaller
	etag, gzETag string
}

func newHandler(fsys fs.FS, logger *slog.Logger) *handler {
	h := &handler{files: map[string]*asset{}}
	var err error
	if h.placeholder, err = fs.ReadFile(fsys, "placeholder.html"); err != nil {
		h.placeholder = []byte("The Faultline web UI has not been built. Run `make build` (or `make ui`) and restart; the API is at /api/v1/.\n")
	}
	if _, err := fs.Stat(fsys, "dist/index.html"); err == nil {
		_ = fs.WalkDir(fsys, "dist", func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil // an unreadable entry is left out: it answers as a missing file
			}
			rel := strings.TrimPrefix(p, "dist/")
			h.files[rel] = newAsset(fsys, p, rel)
			return nil
		})
		h.index = h.files["index.html"]
	}
	if h.index == nil {
		logger.Info("the web UI is not built: / serves a placeholder page (503); run `make build` or `make ui` and restart")
	}
	return h
}

func newAsset(fsys fs.FS, name, rel string) *asset {
	a := &asset{fsys: fsys, name: name, cacheControl: cacheRevalidate}
	if strings.HasPrefix(rel, assetsDir+"/") {
		a.cacheControl = cacheImmutable
	}
	ext := strings.ToLower(path.Ext(rel))
	a.contentType, a.compressible = contentType(ext)
	return a
}

// contentType is explicit for what a Vite build holds, so the answer does not depend on the
// host's mime.types; other extensions fall back to the standard library's table.
func contentType(ext string) (ctype string, compressible bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".json", ".map":
		return "application/json", true
	case ".txt":
		return "text/plain; charset=utf-8", true
	case ".webmanifest":
		return "application/manifest+json", true
	case ".wasm":
		return "application/wasm", true
	case ".png":
		return "image/png", false
	case ".ico":
		return "image/x-icon", false
	case ".woff2":
		return "font/woff2", false
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t, false
	}
	return "application/octet-stream", false
}

func (a *asset) load() error {
	a.once.Do(func() {
		if a.body, a.err = fs.ReadFile(a.fsys, a.name); a.err != nil {
			return
		}
		sum := sha256.Sum256(a.body)
		tag := hex.EncodeToString(sum[:12])
		a.etag = `"` + tag + `"`
		if !a.compressible {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.body)
		_ = zw.Close()
		if buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
			// Another representation, another strong validator.
			a.gzETag = `"` + tag + `-gz"`
		}
	})
	return a.err
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for k, v := range securityHeaders {
		hdr.Set(k, v)
	}
	// Decide on the cleaned path: "..", "%2e%2e" (decoded by net/http) and "//" collapse here,
	// and only names found in the build's file list are ever served, so nothing outside
	// dist/ can be reached.
	p := path.Clean("/" + r.URL.Path)
	if underAny(p, apiPrefixes) {
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		// json escapes <, > and & too: the echoed path cannot become markup.
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no such endpoint: " + r.URL.Path})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	inAssets := under(p, "/"+assetsDir)
	if h.index == nil {
		if inAssets {
			http.NotFound(w, r)
			return
		}
		h.servePlaceholder(w, r)
		return
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		name = "index.html"
	}
	if a, ok := h.files[name]; ok {
		serveAsset(w, r, a)
		return
	}
	if inAssets {
		// A stale or mistyped hashed name: index.html here would be parsed as a script.
		http.NotFound(w, r)
		return
	}
	// Any other path is one of the app's routes (/traces/ID, /hosts/NAME, ...): the app reads
	// the URL and renders the page.
	serveAsset(w, r, h.index)
}

// servePlaceholder answers 503 Service Unavailable: the UI is a part of this server that is
// not available in this build, and a probe or a person checking "/" should see that, not a
// healthy 200. no-store, so a browser does not keep showing it once a built binary runs.
func (h *handler) servePlaceholder(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(len(h.placeholder)))
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write(h.placeholder)
	}
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	if err := a.load(); err != nil {
		// Embedded files cannot fail to read; a directory on disk (tests) can.
		http.Error(w, "read "+a.name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cacheControl)
	body, etag := a.body, a.etag
	if a.compressible {
		hdr.Add("Vary", "Accept-Encoding")
		if a.gz != nil && acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, etag = a.gz, a.gzETag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and Range against the ETag set above.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3): gzip, or *, with a non-zero weight;
// an explicit "gzip;q=0" refuses it whatever "*" says.
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for param := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// under reports whether the clean path p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}
