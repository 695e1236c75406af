package topology

import (
	"github.com/faultline/faultline/internal/httpparam"
)

// ParamError is a bad request parameter; the handler answers it with 400 and its message.
type ParamError = httpparam.ParamError

var (
	badParam     = httpparam.BadParam
	maxTime      = httpparam.MaxTime
	IsParamError = httpparam.IsParamError // IsParamError reports a bad parameter (400) rather than a failure.
)

// ParseWindow reads the start and end parameters of a request (see httpparam.ParseWindow).
var ParseWindow = httpparam.ParseWindow
