package alerting

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// The default rule set. deploy/rules/ holds a copy as the documented example (go:embed cannot
// reach outside this directory); TestDeployRulesMatchDefaults keeps the two equal.
//
//go:embed defaultrules/*.yaml
var defaultRules embed.FS

// embeddedPrefix marks rule "files" that come from defaultRules; the rules manager and the
// /rules API show them under this name.
const embeddedPrefix = "embedded:"

func defaultRuleFiles() ([]string, error) {
	names, err := fs.Glob(defaultRules, "defaultrules/*.yaml")
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		names[i] = embeddedPrefix + n
	}
	return names, nil
}

// DefaultRules returns the embedded default rule files by name (defaultrules/NAME.yaml).
func DefaultRules() (map[string][]byte, error) {
	names, err := fs.Glob(defaultRules, "defaultrules/*.yaml")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := defaultRules.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[path.Base(n)] = b
	}
	return out, nil
}

// groupLoader is rules.FileLoader that also reads the embedded defaults.
type groupLoader struct {
	parser parser.Parser
	logger *slog.Logger
}

var _ rules.GroupLoader = groupLoader{}

func newGroupLoader(logger *slog.Logger) groupLoader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return groupLoader{parser: parser.NewParser(parser.Options{}), logger: logger}
}

func (l groupLoader) Load(identifier string, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	name, ok := strings.CutPrefix(identifier, embeddedPrefix)
	if !ok {
		return rulefmt.ParseFile(identifier, ignoreUnknownFields, scheme, l.parser, l.logger)
	}
	b, err := defaultRules.ReadFile(name)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", identifier, err)}
	}
	rgs, errs := rulefmt.Parse(b, ignoreUnknownFields, scheme, l.parser, l.logger)
	for i := range errs {
		errs[i] = fmt.Errorf("%s: %w", identifier, errs[i])
	}
	return rgs, errs
}

func (l groupLoader) Parse(query string) (parser.Expr, error) { return l.parser.ParseExpr(query) }

// checkRuleFiles loads every file as the rules manager would (YAML, PromQL and templates),
// returning one error that names each bad file and, through rulefmt, the group and rule.
func checkRuleFiles(files []string) error {
	l := newGroupLoader(nil)
	var errs []error
	for _, f := range files {
		// Each error already starts with the file's name.
		_, ferrs := l.Load(f, false, model.UTF8Validation)
		errs = append(errs, ferrs...)
	}
	return errors.Join(errs...)
}
